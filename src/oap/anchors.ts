/**
 * §19.3 transparency-log anchoring of receipt hashes, on the agentwire log (src/trust/tlog,
 * RFC 9162 Merkle tree with C2SP signed-note checkpoints).
 *
 * The logged entry is the 32-byte receipt hash ({@link receiptHash}). A receipt's `anchors[]`
 * entry is `{log_id, log_index, inclusion_proof}` where `log_id` is the checkpoint origin,
 * `log_index` the entry index and `inclusion_proof` a c2sp.org/tlog-proof@v1 text (index,
 * RFC 9162 audit path, the signed checkpoint), so one anchor verifies offline with nothing but
 * the log's public key. Anchors are added after signing and are excluded from both the
 * signatures and the receipt hash (docs/oap-signatures.md).
 *
 * @module
 */
import { isJsonObject, type JsonObject } from "../json/types.js";
import { openCheckpoint, type SignedCheckpoint } from "../trust/tlog/checkpoint.js";
import { toVerifiers, verifyDigestInclusion, type TlogClient } from "../trust/tlog/client.js";
import { b64DecodeStrict, b64Encode, HASH_SIZE, parseSha256Digest } from "../trust/tlog/hash.js";
import type { AsyncTransparencyLog } from "../trust/tlog/async-log.js";
import type { TransparencyLog } from "../trust/tlog/log.js";
import type { NoteVerifier } from "../trust/tlog/note.js";
import { AgentwireError } from "../errors.js";
import { RECEIPT_SIGNATURE_EXCLUDED, signingInput } from "./sign.js";
import { sha256Digest } from "./util.js";

/** Codes of {@link AnchorError}. */
export type AnchorErrorCode = "ERR_OAP_ANCHOR_MALFORMED" | "ERR_OAP_ANCHOR_INVALID" | "ERR_OAP_ANCHOR_UNTRUSTED_LOG";

/** A malformed or failing anchor. */
export class AnchorError extends AgentwireError<AnchorErrorCode> {}

/** One `anchors[]` entry. */
export interface ReceiptAnchor {
  readonly log_id: string;
  readonly log_index: number;
  readonly inclusion_proof: string;
}

/**
 * The receipt hash: "sha256:" + hex of SHA-256 over the JCS form of the receipt without
 * `signatures` and `anchors` — i.e. of its signing input. The next receipt of the principal's
 * chain cites it as `previous_receipt_hash`, and it is the entry anchored in transparency logs.
 */
export function receiptHash(receipt: JsonObject): string {
  return sha256Digest(signingInput(receipt, RECEIPT_SIGNATURE_EXCLUDED));
}

// ---------------------------------------------------------------------------------------------
// c2sp.org/tlog-proof@v1
// ---------------------------------------------------------------------------------------------

/** The c2sp.org/tlog-proof@v1 header line. */
export const TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1";

/** A parsed tlog proof. */
export interface TlogProof {
  readonly index: number;
  readonly hashes: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  readonly checkpoint: string;
  /** Unauthenticated extra data, if any. */
  readonly extra?: Uint8Array;
}

/** Formats a c2sp.org/tlog-proof@v1 text. */
export function formatTlogProof(proof: TlogProof): string {
  if (!Number.isSafeInteger(proof.index) || proof.index < 0) throw new AnchorError("ERR_OAP_ANCHOR_MALFORMED", "the index must be a non-negative integer");
  const lines = [TLOG_PROOF_HEADER];
  if (proof.extra !== undefined) lines.push(`extra ${b64Encode(proof.extra)}`);
  lines.push(`index ${proof.index}`);
  for (const h of proof.hashes) lines.push(b64Encode(h));
  return `${lines.join("\n")}\n\n${proof.checkpoint}`;
}

/** Parses a c2sp.org/tlog-proof@v1 text (shape only; see {@link verifyReceiptAnchor}). */
export function parseTlogProof(text: unknown): TlogProof {
  const bad = (why: string): never => {
    throw new AnchorError("ERR_OAP_ANCHOR_MALFORMED", `not a ${TLOG_PROOF_HEADER} text: ${why}`);
  };
  if (typeof text !== "string") return bad("not a string");
  const split = text.indexOf("\n\n");
  if (split === -1) return bad("no blank line before the checkpoint");
  const lines = text.slice(0, split).split("\n");
  const checkpoint = text.slice(split + 2);
  if (lines[0] !== TLOG_PROOF_HEADER) return bad("missing header");
  let i = 1;
  let extra: Uint8Array | undefined;
  if (lines[i]?.startsWith("extra ")) {
    extra = b64DecodeStrict((lines[i] as string).slice(6)) ?? bad("extra is not base64");
    i++;
  }
  const m = /^index (0|[1-9][0-9]*)$/u.exec(lines[i] ?? "");
  if (m === null) return bad("missing index line");
  const index = Number(m[1]);
  if (!Number.isSafeInteger(index)) return bad("index out of range");
  const hashes = lines.slice(i + 1).map((l) => {
    const h = b64DecodeStrict(l);
    return h !== undefined && h.length === HASH_SIZE ? h : bad("a proof line is not a base64 SHA-256 hash");
  });
  if (hashes.length > 64) return bad("more than 64 proof hashes");
  if (checkpoint.length === 0) return bad("empty checkpoint");
  return extra === undefined ? { index, hashes, checkpoint } : { index, hashes, checkpoint, extra };
}

// ---------------------------------------------------------------------------------------------
// anchoring
// ---------------------------------------------------------------------------------------------

/** Submits the receipt hash to a log over HTTP (verified inclusion) and returns the anchor. */
export async function anchorReceipt(receipt: JsonObject, client: TlogClient): Promise<ReceiptAnchor> {
  const hash = receiptHash(receipt);
  const r = await client.submit(hash);
  return { log_id: r.checkpoint.origin, log_index: r.index, inclusion_proof: formatTlogProof({ index: r.index, hashes: r.proof.hashes.map((h) => b64DecodeStrict(h) as Uint8Array), checkpoint: r.checkpoint.note }) };
}

/** Appends the receipt hash to an in-process log (with origin and signer) and returns the anchor. */
export function anchorReceiptInLog(receipt: JsonObject, log: TransparencyLog): ReceiptAnchor {
  const entry = parseSha256Digest(receiptHash(receipt));
  const { index } = log.submit(entry);
  const checkpoint = log.signedCheckpoint();
  const hashes = log.inclusionProof(index, log.size);
  if (log.origin === undefined) throw new AnchorError("ERR_OAP_ANCHOR_MALFORMED", "the log has no origin");
  return { log_id: log.origin, log_index: index, inclusion_proof: formatTlogProof({ index, hashes, checkpoint }) };
}

/**
 * Appends the receipt hash to a log on a shared store (several nodes, one PostgreSQL log) and
 * returns the anchor: the proof is made for the size of the signed checkpoint it cites, which
 * may be larger than right after the append when other nodes appended meanwhile.
 */
export async function anchorReceiptInSharedLog(receipt: JsonObject, log: AsyncTransparencyLog): Promise<ReceiptAnchor> {
  const entry = parseSha256Digest(receiptHash(receipt));
  const { index } = await log.submit(entry);
  const checkpoint = await log.signedCheckpoint();
  const hashes = await log.inclusionProof(index, checkpoint.size);
  return { log_id: log.origin, log_index: index, inclusion_proof: formatTlogProof({ index, hashes, checkpoint: checkpoint.note }) };
}

/** The receipt with `anchors` added (existing anchors of the same log are replaced). */
export function withAnchors<T extends JsonObject>(receipt: T, anchors: readonly ReceiptAnchor[]): T {
  const previous = Array.isArray(receipt["anchors"]) ? receipt["anchors"].filter(isJsonObject) : [];
  const ids = new Set(anchors.map((a) => a.log_id));
  const kept = previous.filter((a) => !ids.has(String(a["log_id"])));
  return { ...receipt, anchors: [...kept, ...anchors.map((a) => ({ ...a }))] };
}

/** The result of verifying one anchor. */
export interface VerifiedAnchor {
  readonly log_id: string;
  readonly index: number;
  readonly checkpoint: SignedCheckpoint;
}

/**
 * Offline: the anchor's tlog proof commits the log (whose key is in `verifiers`) to `hash` at
 * `log_index`. Throws AnchorError (or the tlog NoteError / TlogError of the failing step).
 */
export function verifyReceiptAnchor(hash: string, anchor: unknown, verifiers: readonly (NoteVerifier | string)[]): VerifiedAnchor {
  if (!isJsonObject(anchor) || typeof anchor["log_id"] !== "string" || typeof anchor["log_index"] !== "number") {
    throw new AnchorError("ERR_OAP_ANCHOR_MALFORMED", "an anchor is {log_id, log_index, inclusion_proof}");
  }
  const proof = parseTlogProof(anchor["inclusion_proof"]);
  if (proof.index !== anchor["log_index"]) throw new AnchorError("ERR_OAP_ANCHOR_INVALID", "log_index differs from the proof's index");
  const keys = toVerifiers(verifiers);
  const checkpoint = openCheckpoint(proof.checkpoint, keys, { origin: anchor["log_id"] });
  verifyDigestInclusion(hash, { index: proof.index, size: checkpoint.size, hashes: proof.hashes.map(b64Encode) }, checkpoint);
  return { log_id: checkpoint.origin, index: proof.index, checkpoint };
}
