/**
 * Optional post-quantum KEM (agentwire extension, never emitted unless a caller opts in): X-Wing,
 * i.e. the hybrid ML-KEM-768 + X25519 KEM of draft-connolly-cfrg-xwing-kem, registered for HPKE as
 * KEM 0x647a ("MLKEM768-X25519") by draft-ietf-hpke-pq.
 *
 * The KEM primitive comes from `@noble/post-quantum/hybrid.js` (`ml_kem768_x25519`, which is X-Wing);
 * it is loaded lazily, so the X25519 path never pulls it in and {@link xwingAvailable} is a real
 * capability probe. The KEM is plugged into @hpke/core's RFC 9180 key schedule through its public
 * `KemInterface`, with HKDF-SHA256 and ChaCha20Poly1305: nothing here re-implements a primitive.
 *
 * HPKE mapping (draft-ietf-hpke-pq §4): `Nsecret` 32, `Nenc` 1120, `Npk` 1216, `Nsk` 32 (the X-Wing seed);
 * serialisation is the identity; `DeriveKeyPair(ikm) = KeyGen(SHAKE256.LabeledDerive(ikm, "DeriveKeyPair", "", 32))`
 * with `suite_id = "KEM" || I2OSP(0x647a, 2)`; `Encap`/`Decap` are X-Wing's.
 * @module
 */
import type { webcrypto } from "node:crypto";
import type { KemInterface, RecipientContextParams, SenderContextParams } from "@hpke/core";
import { DecapError, DeserializeError, EncapError, KemId, NotSupportedError, SerializeError } from "@hpke/core";
import { concatBytes, isBytes, randomBytes } from "./bytes.js";
import { HpkeError } from "./errors.js";

/** HPKE KEM identifier of X-Wing (MLKEM768-X25519), draft-ietf-hpke-pq. */
export const XWING_KEM_ID = 0x647a;
/** X-Wing encapsulation (`enc`) length in bytes. */
export const XWING_ENC_LENGTH = 1120;
/** X-Wing public (encapsulation) key length in bytes. */
export const XWING_PUBLIC_KEY_LENGTH = 1216;
/** X-Wing private (decapsulation) key length in bytes: the 32-byte seed form. */
export const XWING_PRIVATE_KEY_LENGTH = 32;
/** Length of the randomness X-Wing encapsulation consumes (32 for ML-KEM, 32 for the X25519 ephemeral). */
export const XWING_ENCAP_RANDOMNESS_LENGTH = 64;

/** An X-Wing key pair: 1216-byte public key, 32-byte private seed. */
export interface XWingKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** The subset of noble's KEM object this module uses. */
interface XWingPrimitive {
  keygen(seed?: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array };
  getPublicKey(secretKey: Uint8Array): Uint8Array;
  encapsulate(publicKey: Uint8Array, randomness?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

interface XWingModules {
  kem: XWingPrimitive;
  shake256: (message: Uint8Array, options: { dkLen: number }) => Uint8Array;
}

let loading: Promise<XWingModules | undefined> | undefined;

/** Loads the installed X-Wing primitive once; `undefined` when the package or export is missing. */
function loadModules(): Promise<XWingModules | undefined> {
  loading ??= (async () => {
    try {
      const [hybrid, sha3] = await Promise.all([import("@noble/post-quantum/hybrid.js"), import("@noble/hashes/sha3.js")]);
      const kem = (hybrid as { ml_kem768_x25519?: XWingPrimitive }).ml_kem768_x25519;
      if (kem === undefined) return undefined;
      return { kem, shake256: sha3.shake256 };
    } catch {
      return undefined;
    }
  })();
  return loading;
}

async function requireModules(): Promise<XWingModules> {
  const m = await loadModules();
  if (m === undefined) throw new HpkeError("ERR_HPKE_SUITE_UNSUPPORTED", "X-Wing is not available in this installation");
  return m;
}

/** Capability flag: resolves `true` when an installed package provides X-Wing (`@noble/post-quantum` ≥ 0.5). */
export async function xwingAvailable(): Promise<boolean> {
  return (await loadModules()) !== undefined;
}

/** A raw-bytes key object satisfying the `CryptoKey` shape @hpke/core passes between KEM calls. */
class RawKemKey implements webcrypto.CryptoKey {
  readonly algorithm: webcrypto.KeyAlgorithm = { name: "X-Wing" };
  readonly extractable = true;
  readonly usages: webcrypto.KeyUsage[];
  constructor(
    readonly key: Uint8Array,
    readonly type: "public" | "private",
  ) {
    this.usages = type === "public" ? [] : ["deriveBits"];
  }
}

function rawOf(key: unknown, type: "public" | "private", length: number): Uint8Array {
  if (!(key instanceof RawKemKey) || key.type !== type || key.key.length !== length) {
    throw new Error(`not an X-Wing ${type} key`);
  }
  return key.key;
}

function toBytes(input: ArrayBufferLike | ArrayBufferView): Uint8Array {
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength).slice();
  return new Uint8Array(input).slice();
}

function exactCopy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

const LABEL_DERIVE_KEY_PAIR = new TextEncoder().encode("DeriveKeyPair");
const HPKE_V1 = new TextEncoder().encode("HPKE-v1");
const KEM_SUITE_ID = new Uint8Array([0x4b, 0x45, 0x4d, XWING_KEM_ID >> 8, XWING_KEM_ID & 0xff]);

function i2osp2(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

/** draft-ietf-hpke-pq DeriveKeyPair seed: `SHAKE256.LabeledDerive(ikm, "DeriveKeyPair", "", 32)`. */
function deriveSeed(m: XWingModules, ikm: Uint8Array): Uint8Array {
  const labeledIkm = concatBytes(
    ikm,
    HPKE_V1,
    KEM_SUITE_ID,
    i2osp2(LABEL_DERIVE_KEY_PAIR.length),
    LABEL_DERIVE_KEY_PAIR,
    i2osp2(XWING_PRIVATE_KEY_LENGTH),
  );
  return m.shake256(labeledIkm, { dkLen: XWING_PRIVATE_KEY_LENGTH });
}

/**
 * X-Wing as an @hpke/core `KemInterface` (base mode only). Internal: reached through the `"xwing"` suite.
 * The `ekm` test hook of `SenderContextParams` is honoured as the 64 bytes of encapsulation randomness,
 * which is how the draft-ietf-hpke-pq vectors define `ikmE`.
 */
export class XWingKem implements KemInterface {
  readonly id = KemId.XWing;
  readonly secretSize = 32;
  readonly encSize = XWING_ENC_LENGTH;
  readonly publicKeySize = XWING_PUBLIC_KEY_LENGTH;
  readonly privateKeySize = XWING_PRIVATE_KEY_LENGTH;

  constructor(private readonly m: XWingModules) {}

  async serializePublicKey(key: webcrypto.CryptoKey): Promise<ArrayBuffer> {
    try {
      return exactCopy(rawOf(key, "public", XWING_PUBLIC_KEY_LENGTH));
    } catch (e) {
      throw new SerializeError(e);
    }
  }

  async deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<webcrypto.CryptoKey> {
    const raw = toBytes(key);
    if (raw.length !== XWING_PUBLIC_KEY_LENGTH) throw new DeserializeError("invalid X-Wing public key length");
    return new RawKemKey(raw, "public");
  }

  async serializePrivateKey(key: webcrypto.CryptoKey): Promise<ArrayBuffer> {
    try {
      return exactCopy(rawOf(key, "private", XWING_PRIVATE_KEY_LENGTH));
    } catch (e) {
      throw new SerializeError(e);
    }
  }

  async deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<webcrypto.CryptoKey> {
    const raw = toBytes(key);
    if (raw.length !== XWING_PRIVATE_KEY_LENGTH) throw new DeserializeError("invalid X-Wing private key length");
    return new RawKemKey(raw, "private");
  }

  async importKey(format: "raw" | "jwk", key: ArrayBuffer | webcrypto.JsonWebKey, isPublic = true): Promise<webcrypto.CryptoKey> {
    if (format !== "raw" || !(key instanceof ArrayBuffer)) throw new DeserializeError("X-Wing keys are raw bytes only");
    return isPublic ? this.deserializePublicKey(key) : this.deserializePrivateKey(key);
  }

  async generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
    return this.pairFromSeed(randomBytes(XWING_PRIVATE_KEY_LENGTH));
  }

  async deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<webcrypto.CryptoKeyPair> {
    return this.pairFromSeed(deriveSeed(this.m, toBytes(ikm)));
  }

  async encap(params: SenderContextParams): Promise<{ sharedSecret: ArrayBuffer; enc: ArrayBuffer }> {
    if (params.senderKey !== undefined) throw new NotSupportedError("X-Wing has no authenticated mode");
    try {
      const pk = rawOf(params.recipientPublicKey, "public", XWING_PUBLIC_KEY_LENGTH);
      let randomness: Uint8Array | undefined;
      if (params.ekm !== undefined) {
        if (!(params.ekm instanceof ArrayBuffer) && !ArrayBuffer.isView(params.ekm)) throw new Error("ekm must be bytes");
        randomness = toBytes(params.ekm);
        if (randomness.length !== XWING_ENCAP_RANDOMNESS_LENGTH) throw new Error("ekm must be 64 bytes");
      }
      const out = this.m.kem.encapsulate(pk, randomness);
      return { sharedSecret: exactCopy(out.sharedSecret), enc: exactCopy(out.cipherText) };
    } catch (e) {
      throw new EncapError(e);
    }
  }

  async decap(params: RecipientContextParams): Promise<ArrayBuffer> {
    if (params.senderPublicKey !== undefined) throw new NotSupportedError("X-Wing has no authenticated mode");
    try {
      const rk = params.recipientKey;
      const sk = rawOf("privateKey" in rk ? rk.privateKey : rk, "private", XWING_PRIVATE_KEY_LENGTH);
      const enc = toBytes(params.enc);
      if (enc.length !== XWING_ENC_LENGTH) throw new Error("invalid X-Wing enc length");
      return exactCopy(this.m.kem.decapsulate(enc, sk));
    } catch (e) {
      throw new DecapError(e);
    }
  }

  private pairFromSeed(seed: Uint8Array): webcrypto.CryptoKeyPair {
    const { publicKey } = this.m.kem.keygen(seed.slice());
    return { publicKey: new RawKemKey(publicKey, "public"), privateKey: new RawKemKey(seed, "private") };
  }
}

/** Builds the X-Wing KEM object, loading the primitive on first use. Internal. */
export async function createXWingKem(): Promise<XWingKem> {
  return new XWingKem(await requireModules());
}

/** Generates an X-Wing key pair (32-byte seed private key). Throws `ERR_HPKE_SUITE_UNSUPPORTED` when unavailable. */
export async function generateXWingKeyPair(): Promise<XWingKeyPair> {
  const m = await requireModules();
  const seed = randomBytes(XWING_PRIVATE_KEY_LENGTH);
  return { publicKey: m.kem.keygen(seed.slice()).publicKey, privateKey: seed };
}

/** draft-ietf-hpke-pq `DeriveKeyPair(ikm)` for X-Wing: deterministic key pair from input keying material. */
export async function deriveXWingKeyPair(ikm: Uint8Array): Promise<XWingKeyPair> {
  if (!isBytes(ikm) || ikm.length === 0) throw new HpkeError("ERR_HPKE_KEY_INVALID", "ikm must be a non-empty Uint8Array");
  const m = await requireModules();
  const seed = deriveSeed(m, ikm);
  return { publicKey: m.kem.keygen(seed.slice()).publicKey, privateKey: seed };
}

/** The 1216-byte X-Wing public key of a 32-byte private seed. */
export async function xwingPublicKeyFromPrivate(privateKey: Uint8Array): Promise<Uint8Array> {
  if (!isBytes(privateKey) || privateKey.length !== XWING_PRIVATE_KEY_LENGTH) {
    throw new HpkeError("ERR_HPKE_KEY_INVALID", `X-Wing private key must be ${XWING_PRIVATE_KEY_LENGTH} bytes`);
  }
  const m = await requireModules();
  return m.kem.keygen(privateKey.slice()).publicKey;
}
