import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks, type PrivateKeyRecord } from "../../src/crypto/keys.js";

function seed(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

/** A deterministic key set: EdDSA, ML-DSA-65 and X25519 from fixed seeds (`n` picks the set). */
export function testKeys(n = 1): { ed: PrivateKeyRecord; mldsa: PrivateKeyRecord; x25519: PrivateKeyRecord; all: PrivateKeyRecord[] } {
  const ed = keyPairFromSeed(ALG_EDDSA, seed(0x10 + n));
  const mldsa = keyPairFromSeed(ALG_MLDSA65, seed(0x20 + n));
  const x25519 = keyPairFromSeed(ALG_HPKE_X25519, seed(0x30 + n));
  return { ed, mldsa, x25519, all: [ed, mldsa, x25519] };
}

/** The public JWKS of {@link testKeys}. */
export function testJwks(n = 1) {
  return publicJwks(testKeys(n).all);
}
