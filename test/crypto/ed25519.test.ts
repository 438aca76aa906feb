import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { ed25519 as nobleEd25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import {
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyBytes,
  ed25519PublicKeyFromBytes,
  ed25519Sign,
  ed25519Verify,
  x25519PrivateKeyFromBytes,
  x25519PublicKeyBytes,
  x25519PublicKeyFromBytes,
} from "../../src/crypto/ed25519.js";
import { KeyError } from "../../src/crypto/jwk.js";
import { expectCode, flip, hex, rfc8032Cases, seed, text, toHex } from "./helpers.js";

const CASES = rfc8032Cases();

describe("RFC 8032 §7.1 Ed25519 test vectors", () => {
  it("has all five §7.1 cases", () => {
    expect(CASES.map((c) => c.name)).toEqual(["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"]);
  });

  for (const c of CASES) {
    describe(c.name, () => {
      const secret = hex(c.secretKey);
      const message = hex(c.message);
      const signature = hex(c.signature);

      it("RFC 8032 §5.1.5: the seed derives the published public key", () => {
        expect(toHex(ed25519PublicKeyBytes(ed25519PrivateKeyFromSeed(secret)))).toBe(c.publicKey);
      });

      it("RFC 8032 §5.1.6: signing is deterministic and reproduces the published signature", () => {
        expect(toHex(ed25519Sign(secret, message))).toBe(c.signature);
        expect(toHex(ed25519Sign(ed25519PrivateKeyFromSeed(secret), message))).toBe(c.signature);
      });

      it("RFC 8032 §5.1.7: the published signature verifies (raw bytes and cached KeyObject)", () => {
        expect(ed25519Verify(hex(c.publicKey), message, signature)).toBe(true);
        expect(ed25519Verify(ed25519PublicKeyFromBytes(hex(c.publicKey)), message, signature)).toBe(true);
      });

      it("RFC 8032 §5.1.7: any flipped bit of signature or message fails", () => {
        expect(ed25519Verify(hex(c.publicKey), message, flip(signature, 0))).toBe(false);
        expect(ed25519Verify(hex(c.publicKey), message, flip(signature, -1, 0x80))).toBe(false);
        const tampered = message.length === 0 ? Uint8Array.of(0) : flip(message, 0);
        expect(ed25519Verify(hex(c.publicKey), tampered, signature)).toBe(false);
      });
    });
  }
});

describe("Ed25519 via node:crypto, cross-checked against @noble/curves", () => {
  it("RFC 8032 §5.1: our signatures verify with noble, noble's with ours (random key)", () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pub = ed25519PublicKeyBytes(privateKey);
    const msg = text("OHP §5.2 detached signing input");
    expect(nobleEd25519.verify(ed25519Sign(privateKey, msg), msg, pub)).toBe(true);

    const secret = seed(0x42);
    const noblePub = nobleEd25519.getPublicKey(secret);
    expect(toHex(ed25519PublicKeyBytes(ed25519PrivateKeyFromSeed(secret)))).toBe(toHex(noblePub));
    const nobleSig = nobleEd25519.sign(msg, secret);
    expect(ed25519Verify(noblePub, msg, nobleSig)).toBe(true);
    expect(toHex(ed25519Sign(secret, msg))).toBe(toHex(nobleSig));
  });

  it("RFC 8410: KeyObjects built from raw bytes match node's own DER/JWK encodings", () => {
    const key = ed25519PrivateKeyFromSeed(hex(CASES[0]!.secretKey));
    expect(key.asymmetricKeyType).toBe("ed25519");
    const jwk = key.export({ format: "jwk" });
    expect(jwk.d).toBe(Buffer.from(CASES[0]!.secretKey, "hex").toString("base64url"));
    expect(jwk.x).toBe(Buffer.from(CASES[0]!.publicKey, "hex").toString("base64url"));
    const pub = createPublicKey(key);
    expect(nodeVerify(null, text("m"), pub, nodeSign(null, text("m"), key))).toBe(true);
    expect(ed25519Verify(pub, text("m"), ed25519Sign(key, text("m")))).toBe(true);
    const reimported = createPrivateKey({ key: jwk, format: "jwk" });
    expect(toHex(ed25519PublicKeyBytes(reimported))).toBe(CASES[0]!.publicKey);
  });

  it("RFC 8032 §5.1.7: a non-canonical S (S + L) is rejected", () => {
    const c = CASES[1]!;
    const sig = hex(c.signature);
    // L = 2^252 + 27742317777372353535851937790883648493, little-endian, added to S.
    const L = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    const out = Uint8Array.from(sig);
    let carry = 0;
    for (let i = 0; i < 32; i++) {
      const v = (out[32 + i] ?? 0) + (L[i] ?? 0) + carry;
      out[32 + i] = v & 0xff;
      carry = v >> 8;
    }
    expect(ed25519Verify(hex(c.publicKey), hex(c.message), out)).toBe(false);
  });
});

describe("Ed25519 wrong-length and wrong-type inputs give typed errors", () => {
  const pub = hex(CASES[0]!.publicKey);
  const sig = hex(CASES[0]!.signature);

  it.each([0, 31, 33, 64])("seed of %i bytes: KeyError ERR_KEY_INVALID", (n) => {
    expectCode(() => ed25519PrivateKeyFromSeed(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => ed25519Sign(new Uint8Array(n), text("m")), "ERR_KEY_INVALID", KeyError);
  });

  it.each([0, 31, 33])("public key of %i bytes: KeyError ERR_KEY_INVALID", (n) => {
    expectCode(() => ed25519PublicKeyFromBytes(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => ed25519Verify(new Uint8Array(n), new Uint8Array(0), sig), "ERR_KEY_INVALID", KeyError);
  });

  it.each([0, 63, 65, 128])("signature of %i bytes: verification is false (never an exception)", (n) => {
    expect(ed25519Verify(pub, new Uint8Array(0), new Uint8Array(n))).toBe(false);
  });

  it("a wrong KeyObject type or kind is a KeyError", () => {
    const priv = ed25519PrivateKeyFromSeed(seed(1));
    const pubKey = createPublicKey(priv);
    expectCode(() => ed25519Sign(pubKey, text("m")), "ERR_KEY_INVALID", KeyError);
    expectCode(() => ed25519Verify(priv, text("m"), new Uint8Array(64)), "ERR_KEY_INVALID", KeyError);
    const x = x25519PrivateKeyFromBytes(seed(2));
    expectCode(() => ed25519Sign(x, text("m")), "ERR_KEY_INVALID", KeyError);
    expectCode(() => ed25519PublicKeyBytes(x), "ERR_KEY_INVALID", KeyError);
    expectCode(() => x25519PublicKeyBytes(priv), "ERR_KEY_INVALID", KeyError);
  });

  it("a non-Uint8Array seed is a KeyError", () => {
    expectCode(() => ed25519PrivateKeyFromSeed("00".repeat(32) as unknown as Uint8Array), "ERR_KEY_INVALID", KeyError);
  });
});

describe("X25519 raw-key plumbing (RFC 7748)", () => {
  it("RFC 7748 §6.1: Alice's and Bob's private keys derive the published public keys", () => {
    const alice = x25519PrivateKeyFromBytes(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    expect(toHex(x25519PublicKeyBytes(alice))).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    const bob = x25519PrivateKeyFromBytes(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    expect(toHex(x25519PublicKeyBytes(bob))).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    const pub = x25519PublicKeyFromBytes(x25519PublicKeyBytes(bob));
    expect(toHex(x25519PublicKeyBytes(pub))).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  });

  it.each([31, 33])("X25519 key of %i bytes: KeyError ERR_KEY_INVALID", (n) => {
    expectCode(() => x25519PrivateKeyFromBytes(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => x25519PublicKeyFromBytes(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
  });
});
