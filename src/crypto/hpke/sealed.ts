/**
 * Opening a received OHP §5.3 `sealed` block (D09 step 13), and sealing for any number of recipients.
 * @module
 */
import { parseSealedBlock, type SealedBlock, type SealedBlockInput, type SealedMode, type WithFields } from "./block.js";
import { isBytes } from "./bytes.js";
import { HpkeError } from "./errors.js";
import { openMultiSlot, sealMulti } from "./multi.js";
import { openSingleSlot, sealSingle, type HpkeRecipient } from "./single.js";
import { HPKE_SUITES, type HpkeAlg, type HpkePrivateKeyInput, type HpkeSuiteName } from "./suite.js";

/** One of the receiver's own HPKE keys: the `kid` it publishes and the private key. */
export interface HpkeRecipientKey {
  kid: string;
  /** X25519: 32 raw bytes or a private OKP JWK. X-Wing: the 32-byte seed. */
  privateKey: HpkePrivateKeyInput;
  /** When set, the key is only used for blocks of this suite (keeps an X25519 key away from X-Wing blocks). */
  suite?: HpkeSuiteName;
}

/** Options of {@link openSealed}. */
export interface OpenSealedOptions {
  /**
   * Suites the receiver accepts. Default `["x25519"]` (OHP v0.1 only); add `"xwing"` to accept the
   * post-quantum extension. A block whose `alg` is not listed fails with `ERR_HPKE_SUITE_UNSUPPORTED`.
   */
  suites?: readonly HpkeSuiteName[];
}

/** Result of {@link openSealed}. */
export interface OpenedSealed {
  plaintext: Uint8Array;
  /** The `kid` of the slot that was opened (the only slot that was touched). */
  kid: string;
  alg: HpkeAlg;
  /** `"single"`: the spec's shape; `"multi"`: extension `agentwire-multi-1`. */
  mode: SealedMode;
  /**
   * Copy of the block's `fields` when it has one. Not authenticated by HPKE: the caller checks it lists exactly the
   * keys of the decrypted plaintext map (which is authenticated), as src/ohp does.
   */
  fields?: string[];
}

/** Input of {@link sealForRecipients}. */
export interface SealForRecipientsParams {
  /** One or more recipients (at most 256) with distinct `kid`s. */
  recipients: readonly HpkeRecipient[];
  /** OHP: canonical CBOR map of dotted field names to values. */
  plaintext: Uint8Array;
  /** OHP: canonical CBOR of `{id, issuedAt, audience.did, session.callId}`. */
  aad: Uint8Array;
  /**
   * `"x25519"` (default, OHP v0.1). `"xwing"` is the post-quantum agentwire extension: only use it for receivers that
   * advertise it, and they must enable it when opening (`OpenSealedOptions.suites`).
   */
  suite?: HpkeSuiteName;
  /** The dotted names of the sealed items; copied into the returned block's `fields` (recommended: always give it). */
  fields?: readonly string[];
}

/**
 * Seals for one or more recipients: one recipient gives exactly the OHP §5.3 shape ({@link sealSingle}),
 * two or more give the `agentwire-multi-1` extension ({@link sealMulti}). With `fields`, the result is the whole
 * `sealed` member of the envelope.
 */
export function sealForRecipients(params: SealForRecipientsParams & { fields: readonly string[] }): Promise<WithFields<SealedBlock>>;
export function sealForRecipients(params: SealForRecipientsParams): Promise<SealedBlock>;
export async function sealForRecipients(params: SealForRecipientsParams): Promise<SealedBlock> {
  const list: unknown = params?.recipients;
  if (!Array.isArray(list) || list.length === 0) {
    throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "sealForRecipients needs at least one recipient");
  }
  const common = {
    plaintext: params.plaintext,
    aad: params.aad,
    ...(params.suite === undefined ? {} : { suite: params.suite }),
    ...(params.fields === undefined ? {} : { fields: params.fields }),
  };
  const first = list[0] as HpkeRecipient | undefined;
  if (list.length === 1 && first !== undefined) return sealSingle({ recipient: first, ...common });
  return sealMulti({ recipients: list as readonly HpkeRecipient[], ...common });
}

function checkKeys(keys: unknown): Map<string, HpkeRecipientKey> {
  if (!Array.isArray(keys)) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "keys must be an array");
  const byKid = new Map<string, HpkeRecipientKey>();
  for (const k of keys as unknown[]) {
    const key = k as HpkeRecipientKey | null;
    if (typeof key !== "object" || key === null || typeof key.kid !== "string" || key.kid.length === 0) {
      throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "every key needs a non-empty string kid");
    }
    if (byKid.has(key.kid)) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "duplicate kid in key list", { detail: { kid: key.kid } });
    byKid.set(key.kid, key);
  }
  return byKid;
}

/**
 * OHP D09 step 13: finds the first `recipients[]` entry whose `kid` matches one of the caller's keys, opens that
 * slot, and discards the rest without any decryption attempt. If the chosen slot does not open, that is the
 * answer: no other slot or key is tried.
 *
 * Works for the spec's single-ciphertext shape and for the `agentwire-multi-1` extension (told apart by
 * `wrappedKey`, see `block.ts`).
 *
 * In the multi-recipient mode every entry is decoded (all are bound into the body AAD), but only the matching one
 * is decrypted.
 *
 * @param block the `sealed` member; checked structurally first (`fields`, when present, must be an array of strings
 *   and is returned as is; other extra members are ignored)
 * @param keys the receiver's own HPKE keys
 * @param aad the AAD the receiver recomputed from the envelope
 * @throws HpkeError `ERR_HPKE_SUITE_UNSUPPORTED` (unknown or disabled `alg`), `ERR_HPKE_MALFORMED`,
 *   `ERR_HPKE_NO_RECIPIENT` (no matching `kid`), `ERR_HPKE_OPEN_FAILED`, `ERR_HPKE_KEY_INVALID` (own key malformed),
 *   `ERR_HPKE_INVALID_ARGUMENT`
 */
export async function openSealed(
  block: SealedBlockInput,
  keys: readonly HpkeRecipientKey[],
  aad: Uint8Array,
  options: OpenSealedOptions = {},
): Promise<OpenedSealed> {
  const parsed = parseSealedBlock(block, options.suites ?? ["x25519"]);
  const byKid = checkKeys(keys);
  if (!isBytes(aad)) throw new HpkeError("ERR_HPKE_INVALID_ARGUMENT", "aad must be a Uint8Array");

  let index = -1;
  let key: HpkeRecipientKey | undefined;
  for (const [i, entry] of parsed.recipients.entries()) {
    const k = byKid.get(entry.kid);
    if (k !== undefined && (k.suite === undefined || k.suite === parsed.suite)) {
      index = i;
      key = k;
      break;
    }
  }
  const slot = parsed.recipients[index];
  if (slot === undefined || key === undefined) {
    throw new HpkeError("ERR_HPKE_NO_RECIPIENT", "no recipient entry matches a key of this receiver");
  }

  const plaintext =
    parsed.mode === "single"
      ? await openSingleSlot(parsed.suite, key.privateKey, slot, parsed.ciphertext, aad)
      : await openMultiSlot(key.privateKey, parsed, index, aad);
  const opened: OpenedSealed = { plaintext, kid: slot.kid, alg: HPKE_SUITES[parsed.suite].alg, mode: parsed.mode };
  if (parsed.fields !== undefined) opened.fields = parsed.fields;
  return opened;
}
