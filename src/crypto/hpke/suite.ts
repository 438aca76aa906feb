/**
 * The HPKE suites agentwire speaks (OHP §5.3) and their fixed parameters.
 *
 * - `"x25519"`: the OHP v0.1 suite, RFC 9180 base mode (0x00) with KEM 0x0020 DHKEM(X25519, HKDF-SHA256),
 *   KDF 0x0001 HKDF-SHA256 and AEAD 0x0003 ChaCha20Poly1305; identifier `HPKE/X25519-SHA256-CHACHA20POLY1305`.
 * - `"xwing"`: agentwire extension (not in OHP v0.1, never emitted unless the caller opts in): same KDF,
 *   AEAD and mode with KEM 0x647a X-Wing; identifier `HPKE/X-Wing-SHA256-CHACHA20POLY1305`.
 * @module
 */
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { isBytes } from "./bytes.js";
import { HpkeError } from "./errors.js";
import { X25519_KEY_LENGTH, resolveX25519PrivateKey, resolveX25519PublicKey, type X25519Jwk } from "./keys.js";
import {
  XWING_ENC_LENGTH,
  XWING_KEM_ID,
  XWING_PRIVATE_KEY_LENGTH,
  XWING_PUBLIC_KEY_LENGTH,
  createXWingKem,
} from "./xwing.js";

/** OHP §5.3 identifier of the v0.1 suite: the `sealed.alg` const, JWKS `alg` and `recipientKeys[].alg`. */
export const HPKE_ALG = "HPKE/X25519-SHA256-CHACHA20POLY1305";
/** Identifier of the opt-in post-quantum suite (agentwire extension; fails OHP v0.1 schema validation by design). */
export const HPKE_ALG_XWING = "HPKE/X-Wing-SHA256-CHACHA20POLY1305";

/** An `alg` string this module can produce or open. */
export type HpkeAlg = typeof HPKE_ALG | typeof HPKE_ALG_XWING;
/** Short name of a suite, as accepted by the `suite` options. */
export type HpkeSuiteName = "x25519" | "xwing";

/** RFC 9180 base mode: no PSK, no sender authentication. */
export const HPKE_MODE_BASE = 0x00;
/** RFC 9180 KDF identifier of HKDF-SHA256. */
export const HPKE_KDF_HKDF_SHA256 = 0x0001;
/** RFC 9180 AEAD identifier of ChaCha20Poly1305. */
export const HPKE_AEAD_CHACHA20POLY1305 = 0x0003;
/** RFC 9180 KEM identifier of DHKEM(X25519, HKDF-SHA256). */
export const HPKE_KEM_X25519_HKDF_SHA256 = 0x0020;
/** Poly1305 tag length in bytes (RFC 9180 Nt). */
export const HPKE_TAG_LENGTH = 16;

/** Fixed parameters of one suite. */
export interface HpkeSuiteInfo {
  readonly name: HpkeSuiteName;
  readonly alg: HpkeAlg;
  readonly mode: number;
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
  /** Nenc: bytes of the encapsulated key `enc`. */
  readonly encLength: number;
  /** Npk: bytes of a serialised public key. */
  readonly publicKeyLength: number;
  /** Nsk: bytes of a serialised private key. */
  readonly privateKeyLength: number;
  /** True for suites that are agentwire extensions rather than OHP v0.1. */
  readonly extension: boolean;
}

/** The suites by short name. */
export const HPKE_SUITES: Readonly<Record<HpkeSuiteName, HpkeSuiteInfo>> = Object.freeze({
  x25519: Object.freeze({
    name: "x25519",
    alg: HPKE_ALG,
    mode: HPKE_MODE_BASE,
    kemId: HPKE_KEM_X25519_HKDF_SHA256,
    kdfId: HPKE_KDF_HKDF_SHA256,
    aeadId: HPKE_AEAD_CHACHA20POLY1305,
    encLength: X25519_KEY_LENGTH,
    publicKeyLength: X25519_KEY_LENGTH,
    privateKeyLength: X25519_KEY_LENGTH,
    extension: false,
  }),
  xwing: Object.freeze({
    name: "xwing",
    alg: HPKE_ALG_XWING,
    mode: HPKE_MODE_BASE,
    kemId: XWING_KEM_ID,
    kdfId: HPKE_KDF_HKDF_SHA256,
    aeadId: HPKE_AEAD_CHACHA20POLY1305,
    encLength: XWING_ENC_LENGTH,
    publicKeyLength: XWING_PUBLIC_KEY_LENGTH,
    privateKeyLength: XWING_PRIVATE_KEY_LENGTH,
    extension: true,
  }),
});

/** The suite an `alg` string names, or `undefined` for anything else (compared exactly, case-sensitively). */
export function suiteNameForAlg(alg: string): HpkeSuiteName | undefined {
  if (alg === HPKE_ALG) return "x25519";
  if (alg === HPKE_ALG_XWING) return "xwing";
  return undefined;
}

/** Public key input of any suite: raw bytes, or (X25519 only) an OKP JWK. */
export type HpkePublicKeyInput = Uint8Array | X25519Jwk;
/** Private key input of any suite: raw bytes, or (X25519 only) an OKP JWK with `d`. */
export type HpkePrivateKeyInput = Uint8Array | X25519Jwk;

const cipherSuites = new Map<HpkeSuiteName, Promise<CipherSuite>>();

/** The @hpke/core `CipherSuite` of a suite, built once. Internal. */
export function cipherSuiteFor(name: HpkeSuiteName): Promise<CipherSuite> {
  let cs = cipherSuites.get(name);
  if (cs === undefined) {
    cs =
      name === "x25519"
        ? Promise.resolve(
            new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() }),
          )
        : createXWingKem().then((kem) => new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Chacha20Poly1305() }));
    // A failed load (X-Wing not installed) is not cached, so the error is reported on every call.
    cs.catch(() => cipherSuites.delete(name));
    cipherSuites.set(name, cs);
  }
  return cs;
}

function rawOfLength(input: unknown, length: number, what: string): Uint8Array {
  if (!isBytes(input)) throw new HpkeError("ERR_HPKE_KEY_INVALID", `${what} must be raw bytes`);
  if (input.length !== length) {
    throw new HpkeError("ERR_HPKE_KEY_INVALID", `${what} must be ${length} bytes, got ${input.length}`);
  }
  return Uint8Array.from(input);
}

/** Raw public key bytes for a suite, validated for type and length. Internal. */
export function resolvePublicKey(name: HpkeSuiteName, input: HpkePublicKeyInput): Uint8Array {
  return name === "x25519"
    ? resolveX25519PublicKey(input)
    : rawOfLength(input, XWING_PUBLIC_KEY_LENGTH, "X-Wing public key");
}

/** Raw private key bytes for a suite, validated for type and length. Internal. */
export function resolvePrivateKey(name: HpkeSuiteName, input: HpkePrivateKeyInput): Uint8Array {
  return name === "x25519"
    ? resolveX25519PrivateKey(input)
    : rawOfLength(input, XWING_PRIVATE_KEY_LENGTH, "X-Wing private key");
}
