/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed-note text
 *
 *     <origin>\n<decimal tree size>\n<base64 root hash>\n[<extension line>\n]*
 *
 * signed with C2SP signed-note signatures. The log's key name SHOULD be the origin.
 *
 * @module
 */
import { NoteError } from "./errors.js";
import { b64DecodeStrict, b64Encode, HASH_SIZE } from "./hash.js";
import { isTreeSize } from "./merkle.js";
import { openNote, signNote, type NoteSigner, type NoteVerifier, type OpenedNote } from "./note.js";

/** A checkpoint body. */
export interface Checkpoint {
  /** Log identity (first line). */
  readonly origin: string;
  /** Number of leaves. */
  readonly size: number;
  /** RFC 9162 root hash of the tree of `size` leaves. */
  readonly rootHash: Uint8Array;
  /** Opaque extension lines (non-empty; NOT RECOMMENDED). */
  readonly extensions: readonly string[];
}

/** A checkpoint opened from a signed note. */
export interface SignedCheckpoint extends Checkpoint {
  /** The full signed note text. */
  readonly note: string;
  /** Signature check outcome. */
  readonly opened: OpenedNote;
}

function malformed(message: string): NoteError {
  return new NoteError("ERR_CHECKPOINT_MALFORMED", `malformed checkpoint: ${message}`);
}

/** The checkpoint note text (ends with a newline). */
export function formatCheckpoint(checkpoint: Omit<Checkpoint, "extensions"> & { readonly extensions?: readonly string[] }): string {
  const { origin, size, rootHash } = checkpoint;
  const extensions = checkpoint.extensions ?? [];
  if (typeof origin !== "string" || origin.length === 0 || origin.includes("\n")) throw malformed("the origin must be a non-empty line");
  if (!isTreeSize(size)) throw malformed("the tree size must be a non-negative safe integer");
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== HASH_SIZE) throw malformed(`the root hash must be ${HASH_SIZE} bytes`);
  for (const line of extensions) if (typeof line !== "string" || line.length === 0 || line.includes("\n")) throw malformed("extension lines must be non-empty lines");
  return [origin, String(size), b64Encode(rootHash), ...extensions].join("\n") + "\n";
}

/** Parses a checkpoint note text (without signatures). */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== "string" || !text.endsWith("\n")) throw malformed("the text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw malformed("at least three lines (origin, size, root hash) are required");
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed("empty origin");
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw malformed("the tree size must be decimal without leading zeroes");
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw malformed("the tree size is too large");
  const rootHash = b64DecodeStrict(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) throw malformed(`the root hash must be base64 of ${HASH_SIZE} bytes`);
  if (extensions.some((l) => l.length === 0)) throw malformed("extension lines must be non-empty");
  return { origin, size, rootHash, extensions };
}

/** Formats and signs a checkpoint: the signed note text. */
export function signCheckpoint(checkpoint: Omit<Checkpoint, "extensions"> & { readonly extensions?: readonly string[] }, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/** Options of {@link openCheckpoint}. */
export interface OpenCheckpointOptions {
  /** When set, the checkpoint origin must equal it (`ERR_CHECKPOINT_ORIGIN_MISMATCH`). */
  readonly origin?: string;
}

/**
 * Verifies a signed checkpoint against trusted verifiers (signed-note rules, see note.ts) and
 * parses its body. Errors: the NoteError codes of `openNote`, `ERR_CHECKPOINT_MALFORMED`,
 * `ERR_CHECKPOINT_ORIGIN_MISMATCH`.
 */
export function openCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[], options: OpenCheckpointOptions = {}): SignedCheckpoint {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new NoteError("ERR_CHECKPOINT_ORIGIN_MISMATCH", `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(options.origin)}`, {
      detail: { origin: checkpoint.origin, expected: options.origin },
    });
  }
  return { ...checkpoint, note: typeof note === "string" ? note : new TextDecoder().decode(note), opened };
}
