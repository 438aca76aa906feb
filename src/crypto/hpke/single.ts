/**
 * OHP §5.3 single-recipient sealed block, exactly the spec's shape:
 * `{ alg, recipients: [{ kid, enc }], ciphertext, fields }` with `enc`/`ciphertext` from one `SealBase` call
 * (empty `info`, AAD supplied by the caller), both unpadded base64url; `fields` copied from the caller.
 * @module
 */
import { b64uEncode } from "../../util/base64url.js";
import { checkFields, decodeMember, isValidKid, type SealedBlock, type SingleSealedBlock, type WithFields } from "./block.js";
import { HpkeError } from "./errors.js";
import { openWithSuite } from "./open.js";
import { checkBytes, sealWithSuite } from "./seal.js";
import { HPKE_SUITES, HPKE_TAG_LENGTH, type HpkePrivateKeyInput, type HpkePublicKeyInput, type HpkeSuiteName } from "./suite.js";

/** A recipient to seal for: its published key id and public key. */
export interface HpkeRecipient {
  kid: string;
  /** X25519: 32 raw bytes or a public OKP JWK. X-Wing: 1216 raw bytes. */
  publicKey: HpkePublicKeyInput;
}

/** Input of {@link sealSingle}. */
export interface SealSingleParams {
  recipient: HpkeRecipient;
  plaintext: Uint8Array;
  /** The envelope AAD (OHP: canonical CBOR of `{id, issuedAt, audience.did, session.callId}`). */
  aad: Uint8Array;
  /** `"x25519"` (default, OHP v0.1) or `"xwing"` (opt-in agentwire extension). */
  suite?: HpkeSuiteName;
  /**
   * The dotted names of the sealed items (the keys of the plaintext map), copied into the block's `fields` so the
   * result is the envelope's whole `sealed` member. 1..1024 distinct non-empty strings. Not encrypted or bound by
   * HPKE (the JWS covers it, and the opener checks it against the decrypted map).
   */
  fields?: readonly string[];
}

/** @internal Validates a suite option. */
export function checkSuite(suite: unknown): HpkeSuiteName {
  if (suite === undefined) return "x25519";
  if (suite === "x25519" || suite === "xwing") return suite;
  throw new HpkeError("ERR_HPKE_SUITE_UNSUPPORTED", "unknown HPKE suite", { detail: { suite: String(suite) } });
}

/** @internal Validates a recipient's `kid`. */
export function checkKid(kid: unknown): string {
  if (!isValidKid(kid)) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "kid must be a non-empty string of at most 1024 bytes");
  return kid;
}

/**
 * Seals `plaintext` for one recipient into the OHP §5.3 block shape.
 *
 * @returns `{ alg, recipients: [{ kid, enc }], ciphertext, fields }` (`fields` only when given)
 * @throws HpkeError `ERR_HPKE_KEY_INVALID`, `ERR_HPKE_INVALID_ARGUMENT`, `ERR_HPKE_SUITE_UNSUPPORTED`, `ERR_HPKE_SEAL_FAILED`
 */
export async function sealSingle(params: SealSingleParams & { fields: readonly string[] }): Promise<WithFields<SingleSealedBlock>>;
export async function sealSingle(params: SealSingleParams): Promise<SingleSealedBlock>;
export async function sealSingle(params: SealSingleParams): Promise<SingleSealedBlock> {
  const suite = checkSuite(params.suite);
  const kid = checkKid(params.recipient?.kid);
  const fields = params.fields === undefined ? undefined : checkFields(params.fields);
  const { enc, ciphertext } = await sealWithSuite(
    suite,
    params.recipient.publicKey,
    checkBytes(params.plaintext, "plaintext"),
    checkBytes(params.aad, "aad"),
    undefined,
  );
  const block: SingleSealedBlock = { alg: HPKE_SUITES[suite].alg, recipients: [{ kid, enc: b64uEncode(enc) }], ciphertext: b64uEncode(ciphertext) };
  if (fields !== undefined) block.fields = fields;
  return block;
}

/**
 * @internal Opens the spec-mode slot chosen by the caller: `OpenBase(enc, skR, "", aad, ciphertext)`.
 * @throws HpkeError `ERR_HPKE_MALFORMED` (base64url, lengths), `ERR_HPKE_OPEN_FAILED`
 */
export function openSingleSlot(
  suite: HpkeSuiteName,
  privateKey: HpkePrivateKeyInput,
  entry: { enc: string },
  ciphertext: string,
  aad: Uint8Array,
): Promise<Uint8Array> {
  const enc = decodeMember(entry.enc, "enc", { exact: HPKE_SUITES[suite].encLength });
  const ct = decodeMember(ciphertext, "ciphertext", { min: HPKE_TAG_LENGTH });
  return openWithSuite(suite, privateKey, enc, ct, aad, undefined);
}

/** True when a block is in the spec's single-ciphertext shape (no `wrappedKey` on any entry). */
export function isSingleSealedBlock(block: SealedBlock): block is SingleSealedBlock {
  return block.recipients.every((r) => !("wrappedKey" in r));
}
