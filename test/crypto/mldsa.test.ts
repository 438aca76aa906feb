import { inspect } from "node:util";
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { describe, expect, it } from "vitest";
import { KeyError, MLDSA65_PUBLIC_KEY_LENGTH, MLDSA65_SEED_LENGTH, MLDSA65_SIGNATURE_LENGTH } from "../../src/crypto/jwk.js";
import {
  MLDSA65_PKCS8_SEED_PREFIX,
  MLDSA_MAX_CONTEXT_LENGTH,
  mlDsa65Backend,
  mldsa65KeyFromSeed,
  mldsa65PublicKey,
  mldsa65Sign,
  mldsa65Verify,
  nobleMlDsa65Backend,
  nodeMlDsa65Backend,
  type MlDsa65Backend,
} from "../../src/crypto/mldsa.js";
import { compositeExample, expectCode, flip, hex, seed, text, toHex } from "./helpers.js";

const HAS_NODE = nodeMlDsa65Backend !== undefined;
const node = nodeMlDsa65Backend as MlDsa65Backend;
const noble = nobleMlDsa65Backend;
const MSG = text("OHP §5.2 ML-DSA-65 signing input");

describe("FIPS 204 ML-DSA-65 backend selection", () => {
  it("node:crypto is detected on Node >= 24 (OpenSSL 3.5) and preferred", () => {
    const major = Number(process.versions.node.split(".")[0]);
    if (major >= 24) expect(nodeMlDsa65Backend?.name).toBe("node");
    const forced = process.env["AGENTWIRE_MLDSA_BACKEND"] === "noble";
    expect(mlDsa65Backend.name).toBe(forced || !HAS_NODE ? "noble" : "node");
  });

  it("RFC 9881 seed-only PKCS#8 prefix is 22 bytes for a 54-byte OneAsymmetricKey", () => {
    expect(MLDSA65_PKCS8_SEED_PREFIX.length).toBe(22);
    expect(MLDSA65_PKCS8_SEED_PREFIX.length + MLDSA65_SEED_LENGTH).toBe(54);
  });

  it("FIPS 204 Table 2 sizes: 1952-byte public key, 3309-byte signature", () => {
    const key = mldsa65KeyFromSeed(seed(1));
    expect(key.publicKey.length).toBe(MLDSA65_PUBLIC_KEY_LENGTH);
    expect(mldsa65Sign(key, MSG).length).toBe(MLDSA65_SIGNATURE_LENGTH);
  });
});

describe.skipIf(!HAS_NODE)("FIPS 204 ML-DSA-65 node:crypto ⇄ @noble/post-quantum interop", () => {
  it.each([0x00, 0x01, 0x5a, 0xff])("FIPS 204 §6.1 KeyGen_internal(ξ = %i…): both backends derive the same public key", (byte) => {
    const s = seed(byte);
    const a = node.keyFromSeed(s);
    const b = noble.keyFromSeed(s);
    expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
    // And equal to @noble/post-quantum called directly.
    expect(toHex(a.publicKey)).toBe(toHex(ml_dsa65.keygen(s).publicKey));
  });

  it("RFC 9964 / draft-ietf-jose-pq-composite-sigs example: the all-zero ML-DSA seed gives the published ML-DSA public key", () => {
    const ex = compositeExample();
    const published = hex(ex.raw_composite_public_key).subarray(0, MLDSA65_PUBLIC_KEY_LENGTH);
    expect(toHex(node.keyFromSeed(hex(ex.mldsa_seed)).publicKey)).toBe(toHex(published));
    expect(toHex(noble.keyFromSeed(hex(ex.mldsa_seed)).publicKey)).toBe(toHex(published));
  });

  it("FIPS 204 §5.2: signed by node, verified by noble (and by node)", () => {
    const s = seed(0x11);
    const sig = node.sign(node.keyFromSeed(s), MSG);
    const pub = node.keyFromSeed(s).publicKey;
    expect(noble.verify(noble.publicKey(pub), MSG, sig)).toBe(true);
    expect(node.verify(node.publicKey(pub), MSG, sig)).toBe(true);
    expect(ml_dsa65.verify(sig, MSG, pub)).toBe(true);
  });

  it("FIPS 204 §5.2: signed by noble, verified by node (and by noble)", () => {
    const s = seed(0x22);
    const key = noble.keyFromSeed(s);
    const sig = noble.sign(key, MSG);
    expect(node.verify(node.publicKey(key.publicKey), MSG, sig)).toBe(true);
    expect(noble.verify(noble.publicKey(key.publicKey), MSG, sig)).toBe(true);
  });

  it("FIPS 204 §5.2: a context string is honoured identically in both directions", () => {
    const s = seed(0x33);
    const ctx = text("agentwire-ctx");
    const pubNode = node.publicKey(node.keyFromSeed(s).publicKey);
    const pubNoble = noble.publicKey(noble.keyFromSeed(s).publicKey);
    const byNode = node.sign(node.keyFromSeed(s), MSG, ctx);
    const byNoble = noble.sign(noble.keyFromSeed(s), MSG, ctx);
    for (const sig of [byNode, byNoble]) {
      expect(node.verify(pubNode, MSG, sig, ctx)).toBe(true);
      expect(noble.verify(pubNoble, MSG, sig, ctx)).toBe(true);
      // Without the context, or with another one, both reject.
      expect(node.verify(pubNode, MSG, sig)).toBe(false);
      expect(noble.verify(pubNoble, MSG, sig)).toBe(false);
      expect(node.verify(pubNode, MSG, sig, text("agentwire-ctx2"))).toBe(false);
      expect(noble.verify(pubNoble, MSG, sig, text("agentwire-ctx2"))).toBe(false);
    }
  });

  it("FIPS 204 §5.2: a signature without context does not verify under a context", () => {
    const s = seed(0x34);
    const sig = node.sign(node.keyFromSeed(s), MSG);
    expect(noble.verify(noble.publicKey(noble.keyFromSeed(s).publicKey), MSG, sig, text("x"))).toBe(false);
    expect(node.verify(node.publicKey(node.keyFromSeed(s).publicKey), MSG, sig, new Uint8Array(0))).toBe(true);
  });

  it("FIPS 204 §5.2: a 255-byte context is the maximum, 256 bytes is rejected on both backends", () => {
    const s = seed(0x35);
    const max = new Uint8Array(MLDSA_MAX_CONTEXT_LENGTH).fill(7);
    for (const b of [node, noble]) {
      const key = b.keyFromSeed(s);
      const sig = b.sign(key, MSG, max);
      expect(node.verify(node.publicKey(key.publicKey), MSG, sig, max)).toBe(true);
      expect(noble.verify(noble.publicKey(key.publicKey), MSG, sig, max)).toBe(true);
      expect(() => b.sign(key, MSG, new Uint8Array(256))).toThrow(RangeError);
      expect(() => b.verify(b.publicKey(key.publicKey), MSG, sig, new Uint8Array(256))).toThrow(RangeError);
    }
  });

  it("FIPS 204 §3.4 hedged signing: two signatures differ yet both verify", () => {
    for (const b of [node, noble]) {
      const key = b.keyFromSeed(seed(0x36));
      const s1 = b.sign(key, MSG);
      const s2 = b.sign(key, MSG);
      expect(toHex(s1)).not.toBe(toHex(s2));
      expect(b.verify(b.publicKey(key.publicKey), MSG, s1)).toBe(true);
      expect(b.verify(b.publicKey(key.publicKey), MSG, s2)).toBe(true);
    }
  });

  it("tampered message, signature or public key fail on both backends", () => {
    const key = noble.keyFromSeed(seed(0x44));
    const sig = node.sign(node.keyFromSeed(seed(0x44)), MSG);
    const other = noble.keyFromSeed(seed(0x45)).publicKey;
    for (const b of [node, noble]) {
      expect(b.verify(b.publicKey(key.publicKey), flip(MSG, 3), sig)).toBe(false);
      expect(b.verify(b.publicKey(key.publicKey), MSG, flip(sig, 100))).toBe(false);
      expect(b.verify(b.publicKey(key.publicKey), MSG, flip(sig, -1, 0x80))).toBe(false);
      expect(b.verify(b.publicKey(other), MSG, sig)).toBe(false);
    }
  });

  it("keys are bound to the backend that created them", () => {
    const k = noble.keyFromSeed(seed(1));
    expectCode(() => node.sign(k, MSG), "ERR_KEY_UNSUPPORTED", KeyError);
    expectCode(() => noble.verify(node.publicKey(k.publicKey), MSG, new Uint8Array(MLDSA65_SIGNATURE_LENGTH)), "ERR_KEY_UNSUPPORTED", KeyError);
    // The dispatching helpers pick the right backend for each key.
    expect(mldsa65Verify(node.publicKey(k.publicKey), MSG, mldsa65Sign(k, MSG))).toBe(true);
    expect(mldsa65Verify(noble.publicKey(k.publicKey), MSG, mldsa65Sign(node.keyFromSeed(seed(1)), MSG))).toBe(true);
  });
});

describe("ML-DSA-65 wrong sizes are rejected", () => {
  const backends: MlDsa65Backend[] = HAS_NODE ? [node, noble] : [noble];

  it.each([0, 31, 33, 64])("seed of %i bytes: KeyError ERR_KEY_INVALID on every backend", (n) => {
    for (const b of backends) expectCode(() => b.keyFromSeed(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => mldsa65KeyFromSeed(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
  });

  it.each([0, 1951, 1953, 2592])("public key of %i bytes: KeyError ERR_KEY_INVALID on every backend", (n) => {
    for (const b of backends) expectCode(() => b.publicKey(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => mldsa65PublicKey(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => mldsa65Verify(new Uint8Array(n), MSG, new Uint8Array(MLDSA65_SIGNATURE_LENGTH)), "ERR_KEY_INVALID", KeyError);
  });

  it.each([0, 64, 3308, 3310, 4627])("signature of %i bytes: verification is false on every backend", (n) => {
    const key = mldsa65KeyFromSeed(seed(9));
    for (const b of backends) expect(b.verify(b.publicKey(key.publicKey), MSG, new Uint8Array(n))).toBe(false);
    expect(mldsa65Verify(key.publicKey, MSG, new Uint8Array(n))).toBe(false);
  });

  it("a random 3309-byte signature is false, not an exception", () => {
    const key = mldsa65KeyFromSeed(seed(10));
    const junk = new Uint8Array(MLDSA65_SIGNATURE_LENGTH).fill(0xff);
    for (const b of backends) expect(b.verify(b.publicKey(key.publicKey), MSG, junk)).toBe(false);
  });
});

describe("ML-DSA-65 key handles never print the secret", () => {
  it("the noble handle keeps the expanded secret key off the object", () => {
    const s = seed(0x77);
    const handle = noble.keyFromSeed(s);
    // The only own members are the backend name and the public key: nothing to leak.
    expect(Object.keys(handle).sort()).toEqual(["backend", "publicKey"]);
    expect(Object.getOwnPropertySymbols(handle)).toEqual([]);
    expect(inspect(handle, { depth: 5, showHidden: true })).not.toContain("secretKey");
    expect(Object.isFrozen(handle)).toBe(true);
    // Still signs: the secret lives in a module-private WeakMap.
    expect(mldsa65Verify(handle.publicKey, MSG, noble.sign(handle, MSG))).toBe(true);
  });
});
