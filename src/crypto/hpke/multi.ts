/**
 * Multi-recipient sealing: agentwire extension `agentwire-multi-1` (docs/hpke-multi-recipient.md).
 *
 * OHP §5.3 puts one `ciphertext` next to N recipient `enc`s, which single-shot HPKE cannot produce for N ≥ 2
 * (every recipient derives a different key). Construction, for a fresh random 32-byte content key CEK, with
 * `LP(x) = I2OSP(len(x), 4) || x` and `alg`/`kid` as UTF-8:
 *
 * - per recipient i: `(enc_i, wrappedKey_i) = SealBase(pkR_i, info = "agentwire-multi-1 cek-wrap",
 *   aad = LP("agentwire-multi-1 cek-wrap") || LP(alg) || LP(kid_i) || LP(envelopeAad), pt = CEK)`;
 * - body: ChaCha20-Poly1305 (RFC 8439) under CEK with a random 12-byte nonce,
 *   aad = `LP("agentwire-multi-1 body") || LP(alg) || I2OSP(N, 4) || LP(kid_1) || LP(enc_1) || LP(wrappedKey_1) || …
 *   || LP(envelopeAad)`, plaintext = 32 zero bytes || message (the zero block makes the body key-committing:
 *   the "padding fix" of Albertini et al., USENIX Security 2022); `ciphertext` = base64url(nonce || AEAD output).
 *
 * So the body binds the suite, the exact ordered recipient list (kids, encs, wrapped keys) and the envelope AAD;
 * each wrap binds the suite, its own kid and the envelope AAD. A single recipient never takes this path: it gets
 * the spec's shape from `sealSingle`.
 * @module
 */
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { b64uEncode, utf8 } from "../../util/base64url.js";
import {
  MAX_RECIPIENTS,
  checkFields,
  decodeMember,
  type MultiSealedBlock,
  type ParsedBlock,
  type WithFields,
  type WrappedRecipient,
} from "./block.js";
import { concatBytes, fromArrayBuffer, isAllZero, randomBytes } from "./bytes.js";
import { HpkeError, openFailed } from "./errors.js";
import { openWithSuite } from "./open.js";
import { checkBytes, sealWithSuite } from "./seal.js";
import { checkKid, checkSuite, type HpkeRecipient } from "./single.js";
import {
  HPKE_SUITES,
  HPKE_TAG_LENGTH,
  resolvePublicKey,
  type HpkeAlg,
  type HpkePrivateKeyInput,
  type HpkeSuiteName,
} from "./suite.js";

/** Name of the multi-recipient construction (used in the HPKE `info` and AAD labels, and in the docs). */
export const MULTI_RECIPIENT_MODE = "agentwire-multi-1";
/** Content-encryption key length (ChaCha20-Poly1305 key). */
export const CEK_LENGTH = 32;
/** Body nonce length (ChaCha20-Poly1305 nonce). */
export const BODY_NONCE_LENGTH = 12;
/** Length of the zero block prepended to the body plaintext for key commitment. */
export const COMMITMENT_BLOCK_LENGTH = 32;
/** Length of a decoded `wrappedKey`: the HPKE ciphertext of the CEK (32 + 16-byte tag). */
export const WRAPPED_KEY_LENGTH = CEK_LENGTH + HPKE_TAG_LENGTH;
/** Shortest decoded multi-recipient `ciphertext`: nonce, commitment block and tag around an empty message. */
export const MIN_MULTI_CIPHERTEXT_LENGTH = BODY_NONCE_LENGTH + COMMITMENT_BLOCK_LENGTH + HPKE_TAG_LENGTH;

/** HPKE `info` of every CEK wrap, and the first AAD field of a wrap. */
export const WRAP_LABEL = `${MULTI_RECIPIENT_MODE} cek-wrap`;
/** First AAD field of the body. */
export const BODY_LABEL = `${MULTI_RECIPIENT_MODE} body`;

const WRAP_INFO = utf8(WRAP_LABEL);
const aead = new Chacha20Poly1305();

/** `I2OSP(len(x), 4) || x`: the length-prefixed framing of every AAD field. */
function lp(bytes: Uint8Array): Uint8Array {
  return concatBytes(u32(bytes.length), bytes);
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** AAD of recipient `kid`'s CEK wrap: `LP(WRAP_LABEL) || LP(alg) || LP(kid) || LP(envelopeAad)`. */
export function wrapAad(alg: HpkeAlg, kid: string, envelopeAad: Uint8Array): Uint8Array {
  return concatBytes(lp(utf8(WRAP_LABEL)), lp(utf8(alg)), lp(utf8(kid)), lp(envelopeAad));
}

/** One recipient entry with `enc` and `wrappedKey` as decoded bytes. */
export interface DecodedEntry {
  kid: string;
  enc: Uint8Array;
  wrappedKey: Uint8Array;
}

/**
 * AAD of the body: `LP(BODY_LABEL) || LP(alg) || I2OSP(N, 4) || (LP(kid_i) || LP(enc_i) || LP(wrappedKey_i))_{i=1..N}
 * || LP(envelopeAad)`, entries in `recipients[]` order.
 */
export function bodyAad(alg: HpkeAlg, entries: readonly DecodedEntry[], envelopeAad: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [lp(utf8(BODY_LABEL)), lp(utf8(alg)), u32(entries.length)];
  for (const e of entries) parts.push(lp(utf8(e.kid)), lp(e.enc), lp(e.wrappedKey));
  parts.push(lp(envelopeAad));
  return concatBytes(...parts);
}

/** Input of {@link sealMulti}. */
export interface SealMultiParams {
  /** Two or more recipients with distinct `kid`s. */
  recipients: readonly HpkeRecipient[];
  plaintext: Uint8Array;
  /** The envelope AAD; bound to the body and to every wrapped key. */
  aad: Uint8Array;
  /** `"x25519"` (default) or `"xwing"` (opt-in). */
  suite?: HpkeSuiteName;
  /** Copied into the block's `fields` (see `SealSingleParams.fields`). */
  fields?: readonly string[];
}

/**
 * Seals `plaintext` once for two or more recipients (extension `agentwire-multi-1`).
 *
 * @returns `{ alg, recipients: [{ kid, enc, wrappedKey }, ...], ciphertext, fields }` (`fields` only when given)
 * @throws HpkeError `ERR_HPKE_INVALID_ARGUMENT` (fewer than 2 or more than 256 recipients, duplicate kids, bad
 *   fields), `ERR_HPKE_KEY_INVALID`, `ERR_HPKE_SUITE_UNSUPPORTED`, `ERR_HPKE_SEAL_FAILED`
 */
export async function sealMulti(params: SealMultiParams & { fields: readonly string[] }): Promise<WithFields<MultiSealedBlock>>;
export async function sealMulti(params: SealMultiParams): Promise<MultiSealedBlock>;
export async function sealMulti(params: SealMultiParams): Promise<MultiSealedBlock> {
  const suite = checkSuite(params.suite);
  const alg = HPKE_SUITES[suite].alg;
  const list = params.recipients;
  if (!Array.isArray(list) || list.length < 2) {
    throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "sealMulti needs at least 2 recipients (use sealSingle for one)");
  }
  if (list.length > MAX_RECIPIENTS) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", `at most ${MAX_RECIPIENTS} recipients`);
  const plaintext = checkBytes(params.plaintext, "plaintext");
  const aad = checkBytes(params.aad, "aad");
  const fields = params.fields === undefined ? undefined : checkFields(params.fields);
  const seen = new Set<string>();
  // Every key is validated before any randomness is drawn or anything is encrypted.
  const resolved = list.map((r: HpkeRecipient) => {
    const kid = checkKid(r?.kid);
    if (seen.has(kid)) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "duplicate recipient kid", { detail: { kid } });
    seen.add(kid);
    return { kid, publicKey: resolvePublicKey(suite, r.publicKey) };
  });

  const cek = randomBytes(CEK_LENGTH);
  try {
    const entries: DecodedEntry[] = await Promise.all(
      resolved.map(async ({ kid, publicKey }) => {
        const w = await sealWithSuite(suite, publicKey, cek, wrapAad(alg, kid, aad), WRAP_INFO);
        return { kid, enc: w.enc, wrappedKey: w.ciphertext };
      }),
    );
    const nonce = randomBytes(BODY_NONCE_LENGTH);
    const body = await sealBody(cek, nonce, plaintext, bodyAad(alg, entries, aad));
    const recipients: WrappedRecipient[] = entries.map((e) => ({
      kid: e.kid,
      enc: b64uEncode(e.enc),
      wrappedKey: b64uEncode(e.wrappedKey),
    }));
    const block: MultiSealedBlock = { alg, recipients, ciphertext: b64uEncode(concatBytes(nonce, body)) };
    if (fields !== undefined) block.fields = fields;
    return block;
  } finally {
    cek.fill(0);
  }
}

async function sealBody(cek: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const padded = concatBytes(new Uint8Array(COMMITMENT_BLOCK_LENGTH), plaintext);
  try {
    return fromArrayBuffer(await aead.createEncryptionContext(cek).seal(nonce, padded, aad));
  } catch (e) {
    throw new HpkeError("ERR_HPKE_SEAL_FAILED", "body encryption failed", { cause: e });
  } finally {
    padded.fill(0);
  }
}

/**
 * @internal Opens slot `index` of a parsed multi-recipient block: decodes every entry (all of them are bound into the
 * body AAD), unwraps the CEK with HPKE (wrap `info`, wrap AAD for this slot's `kid`), opens the body and checks the
 * commitment block in constant time.
 * @throws HpkeError `ERR_HPKE_MALFORMED` (base64url, lengths of any entry), `ERR_HPKE_OPEN_FAILED` (anything cryptographic)
 */
export async function openMultiSlot(
  privateKey: HpkePrivateKeyInput,
  block: ParsedBlock,
  index: number,
  aad: Uint8Array,
): Promise<Uint8Array> {
  const suite = block.suite;
  const alg = HPKE_SUITES[suite].alg;
  const entries: DecodedEntry[] = block.recipients.map((r) => {
    if (r.wrappedKey === undefined) throw new HpkeError("ERR_HPKE_MALFORMED", '"wrappedKey" missing');
    return {
      kid: r.kid,
      enc: decodeMember(r.enc, "enc", { exact: HPKE_SUITES[suite].encLength }),
      wrappedKey: decodeMember(r.wrappedKey, "wrappedKey", { exact: WRAPPED_KEY_LENGTH }),
    };
  });
  const ct = decodeMember(block.ciphertext, "ciphertext", { min: MIN_MULTI_CIPHERTEXT_LENGTH });
  const mine = entries[index];
  if (mine === undefined) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "no such recipient slot");
  const cek = await openWithSuite(suite, privateKey, mine.enc, mine.wrappedKey, wrapAad(alg, mine.kid, aad), WRAP_INFO);
  try {
    if (cek.length !== CEK_LENGTH) throw openFailed();
    let padded: Uint8Array;
    try {
      padded = fromArrayBuffer(
        await aead
          .createEncryptionContext(cek)
          .open(ct.subarray(0, BODY_NONCE_LENGTH), ct.subarray(BODY_NONCE_LENGTH), bodyAad(alg, entries, aad)),
      );
    } catch {
      throw openFailed();
    }
    const ok = isAllZero(padded.subarray(0, COMMITMENT_BLOCK_LENGTH));
    const message = padded.slice(COMMITMENT_BLOCK_LENGTH);
    padded.fill(0);
    if (!ok) {
      message.fill(0);
      throw openFailed();
    }
    return message;
  } finally {
    cek.fill(0);
  }
}
