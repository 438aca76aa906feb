/**
 * The OHP §5.3 `sealed` block on the wire, and its structural checks.
 *
 * Spec shape (OHP v0.1): `{ alg, recipients: [{ kid, enc }], ciphertext, fields }`. agentwire's multi-recipient
 * extension (docs/hpke-multi-recipient.md) adds one member, `wrappedKey`, to every `recipients[]` entry. The mode
 * is read off that member with no guessing: every entry has it → multi-recipient, no entry has it → the spec's
 * single-ciphertext mode, a mix → malformed.
 * @module
 */
import { b64uDecode } from "../../util/base64url.js";
import { HpkeError } from "./errors.js";
import { suiteNameForAlg, type HpkeAlg, type HpkeSuiteName } from "./suite.js";

/** A `recipients[]` entry as OHP v0.1 defines it: key id and base64url `enc`. */
export interface SealedRecipient {
  kid: string;
  enc: string;
}

/** A multi-recipient entry: the spec members plus `wrappedKey`, the base64url HPKE ciphertext of the content key. */
export interface WrappedRecipient extends SealedRecipient {
  wrappedKey: string;
}

/**
 * A single-recipient block, exactly the spec's shape `{ alg, recipients: [{ kid, enc }], ciphertext, fields }`.
 * `fields` (the dotted names of the sealed items, schema-required) is present when the sealing call was given
 * `fields`; it is carried, not encrypted: see docs/hpke-multi-recipient.md §5.
 */
export interface SingleSealedBlock {
  alg: HpkeAlg;
  recipients: [SealedRecipient];
  ciphertext: string;
  fields?: string[];
}

/** A multi-recipient block (agentwire extension `agentwire-multi-1`); `fields` as in {@link SingleSealedBlock}. */
export interface MultiSealedBlock {
  alg: HpkeAlg;
  recipients: WrappedRecipient[];
  ciphertext: string;
  fields?: string[];
}

/** Either block this module emits. */
export type SealedBlock = SingleSealedBlock | MultiSealedBlock;

/** A block with its `fields` member set: what the sealing functions return when given `fields`. */
export type WithFields<B extends SealedBlock> = B & { fields: string[] };

/**
 * What {@link openSealed} accepts: any object of the wire shape. `fields` is optional here (the HPKE layer does not
 * need it) but, when present, must be an array of strings; other extra members are ignored.
 */
export interface SealedBlockInput {
  readonly alg: string;
  readonly recipients: readonly { readonly kid: string; readonly enc: string; readonly wrappedKey?: string }[];
  readonly ciphertext: string;
  readonly fields?: readonly string[];
}

/** How a block's ciphertext is laid out: the spec's one HPKE ciphertext, or agentwire's wrapped content key. */
export type SealedMode = "single" | "multi";

/** Upper bound on `recipients[]` entries (agentwire limit, bounds the work an incoming block can cause). */
export const MAX_RECIPIENTS = 256;
/** Upper bound on a `kid`, in UTF-8 bytes (agentwire limit; keeps the multi-recipient HPKE `info` small). */
export const MAX_KID_BYTES = 1024;
/** Upper bound on `fields[]` entries (agentwire limit). */
export const MAX_FIELDS = 1024;
/** Upper bound on one `fields[]` name, in UTF-8 bytes (agentwire limit). */
export const MAX_FIELD_NAME_BYTES = 1024;

/** A structurally valid block. Internal. */
export interface ParsedBlock {
  suite: HpkeSuiteName;
  alg: HpkeAlg;
  mode: SealedMode;
  recipients: { kid: string; enc: string; wrappedKey?: string }[];
  ciphertext: string;
  /** Copy of the block's `fields`, when it has one. */
  fields?: string[];
}

function malformed(message: string): HpkeError {
  return new HpkeError("ERR_HPKE_MALFORMED", message);
}

/** True for a `kid` agentwire accepts: a non-empty string of at most {@link MAX_KID_BYTES} UTF-8 bytes. */
export function isValidKid(kid: unknown): kid is string {
  return typeof kid === "string" && kid.length > 0 && Buffer.byteLength(kid, "utf8") <= MAX_KID_BYTES;
}

function isValidFieldName(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && Buffer.byteLength(name, "utf8") <= MAX_FIELD_NAME_BYTES;
}

/**
 * Validates a caller's `fields` list for sealing: 1..{@link MAX_FIELDS} distinct non-empty strings. Returns a copy.
 * Internal.
 * @throws HpkeError `ERR_HPKE_INVALID_ARGUMENT`
 */
export function checkFields(fields: unknown): string[] {
  const bad = (m: string): HpkeError => new HpkeError("ERR_HPKE_INVALID_ARGUMENT", m);
  if (!Array.isArray(fields) || fields.length === 0) throw bad("fields must be a non-empty array of field names");
  if (fields.length > MAX_FIELDS) throw bad(`at most ${MAX_FIELDS} fields`);
  const seen = new Set<string>();
  for (const f of fields as unknown[]) {
    if (!isValidFieldName(f)) throw bad(`every field name must be a non-empty string of at most ${MAX_FIELD_NAME_BYTES} bytes`);
    if (seen.has(f)) throw bad("duplicate field name");
    seen.add(f);
  }
  return [...(fields as string[])];
}

/**
 * Structural check of a sealed block (no base64 decoding, no cryptography): `alg` names a suite in `enabled`,
 * `recipients` has 1..{@link MAX_RECIPIENTS} entries with distinct valid `kid`s and string `enc`, `wrappedKey` on
 * all entries or none, `ciphertext` a string, `fields` (when present) 1..{@link MAX_FIELDS} distinct non-empty
 * strings. Internal.
 *
 * @throws HpkeError `ERR_HPKE_MALFORMED`, or `ERR_HPKE_SUITE_UNSUPPORTED` for an unknown or disabled `alg`
 */
export function parseSealedBlock(block: unknown, enabled: readonly HpkeSuiteName[]): ParsedBlock {
  if (typeof block !== "object" || block === null || Array.isArray(block)) throw malformed("sealed block must be an object");
  const b = block as Record<string, unknown>;
  const alg = b["alg"];
  if (typeof alg !== "string") throw malformed('sealed block "alg" must be a string');
  const suite = suiteNameForAlg(alg);
  if (suite === undefined || !enabled.includes(suite)) {
    throw new HpkeError("ERR_HPKE_SUITE_UNSUPPORTED", "sealed block alg is not supported", { detail: { alg } });
  }
  const list = b["recipients"];
  if (!Array.isArray(list) || list.length === 0) throw malformed('sealed block "recipients" must be a non-empty array');
  if (list.length > MAX_RECIPIENTS) throw malformed(`sealed block has more than ${MAX_RECIPIENTS} recipients`);
  const seen = new Set<string>();
  const recipients: ParsedBlock["recipients"] = [];
  let wrapped = 0;
  for (const entry of list as unknown[]) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw malformed("recipient entry must be an object");
    const e = entry as Record<string, unknown>;
    const kid = e["kid"];
    const enc = e["enc"];
    const wrappedKey = e["wrappedKey"];
    if (!isValidKid(kid)) throw malformed('recipient "kid" must be a non-empty string of at most 1024 bytes');
    if (seen.has(kid)) throw malformed("duplicate recipient kid");
    seen.add(kid);
    if (typeof enc !== "string") throw malformed('recipient "enc" must be a string');
    if (wrappedKey === undefined) {
      recipients.push({ kid, enc });
    } else {
      if (typeof wrappedKey !== "string") throw malformed('recipient "wrappedKey" must be a string');
      recipients.push({ kid, enc, wrappedKey });
      wrapped++;
    }
  }
  if (wrapped !== 0 && wrapped !== recipients.length) {
    throw malformed('"wrappedKey" must be present on every recipient entry or on none');
  }
  const ciphertext = b["ciphertext"];
  if (typeof ciphertext !== "string") throw malformed('sealed block "ciphertext" must be a string');
  const parsed: ParsedBlock = { suite, alg: alg as HpkeAlg, mode: wrapped === 0 ? "single" : "multi", recipients, ciphertext };
  const fields = b["fields"];
  if (fields !== undefined) {
    try {
      parsed.fields = checkFields(fields);
    } catch {
      throw malformed('sealed block "fields" must be a non-empty array of distinct non-empty strings');
    }
  }
  return parsed;
}

/**
 * Strict unpadded base64url decode of one block member with an exact or minimum length. Internal.
 * @throws HpkeError `ERR_HPKE_MALFORMED`
 */
export function decodeMember(text: string, name: string, length: { exact?: number; min?: number }): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = b64uDecode(text);
  } catch {
    throw malformed(`"${name}" is not unpadded base64url`);
  }
  if (length.exact !== undefined && bytes.length !== length.exact) throw malformed(`"${name}" must be ${length.exact} bytes`);
  if (length.min !== undefined && bytes.length < length.min) throw malformed(`"${name}" must be at least ${length.min} bytes`);
  return bytes;
}
