import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  COMPOSITE_LABEL,
  COMPOSITE_PREFIX,
  compositeKeyFromSeed,
  compositeMessage,
  compositePublicKey,
  compositeSign,
  compositeVerify,
} from "../../src/crypto/composite.js";
import { ed25519Verify } from "../../src/crypto/ed25519.js";
import {
  ALG_MLDSA65_ED25519,
  COMPOSITE_PRIVATE_KEY_LENGTH,
  COMPOSITE_PUBLIC_KEY_LENGTH,
  COMPOSITE_SIGNATURE_LENGTH,
  KeyError,
  MLDSA65_PUBLIC_KEY_LENGTH,
  MLDSA65_SIGNATURE_LENGTH,
} from "../../src/crypto/jwk.js";
import { DEFAULT_ALLOWED_ALGS, JwsError, verifyDetached } from "../../src/crypto/jws.js";
import { importPrivateJwk, parseJwks, publicJwks } from "../../src/crypto/keys.js";
import { mldsa65Verify, nobleMlDsa65Backend, nodeMlDsa65Backend, type MlDsa65Backend } from "../../src/crypto/mldsa.js";
import { jwkThumbprint } from "../../src/crypto/thumbprint.js";
import { compositeExample, expectCode, flip, hex, seed, text, toHex, unb64u } from "./helpers.js";

const EX = compositeExample();
const [EX_HEADER, EX_PAYLOAD, EX_SIG] = EX.jws.split(".") as [string, string, string];
const EX_SIGNING_INPUT = text(`${EX_HEADER}.${EX_PAYLOAD}`);
const BACKENDS: MlDsa65Backend[] = nodeMlDsa65Backend === undefined ? [nobleMlDsa65Backend] : [nodeMlDsa65Backend, nobleMlDsa65Backend];

describe("draft-ietf-jose-pq-composite-sigs ML-DSA-65-Ed25519 published example (KAT)", () => {
  it("the example is internally consistent: raw signature = JWS signature, raw public key = JWK pub", () => {
    expect(toHex(unb64u(EX_SIG))).toBe(EX.raw_composite_signature);
    expect(toHex(unb64u(EX.jwk.pub))).toBe(EX.raw_composite_public_key);
    expect(unb64u(EX_SIG).length).toBe(COMPOSITE_SIGNATURE_LENGTH);
    expect(unb64u(EX.jwk.pub).length).toBe(COMPOSITE_PUBLIC_KEY_LENGTH);
    expect(JSON.parse(Buffer.from(EX_HEADER, "base64url").toString("utf8"))).toEqual({ alg: ALG_MLDSA65_ED25519, kid: EX.jwk.kid });
  });

  it("§ Composite Signature Generation: M' = Prefix || Label || 0x00 || SHA-512(JWS signing input) equals the published to-be-signed bytes", () => {
    expect(Buffer.from(COMPOSITE_PREFIX).toString("ascii")).toBe("CompositeAlgorithmSignatures2025");
    expect(Buffer.from(COMPOSITE_LABEL).toString("ascii")).toBe("COMPSIG-MLDSA65-Ed25519-SHA512");
    expect(toHex(compositeMessage(EX_SIGNING_INPUT))).toBe(EX.raw_to_be_signed);
    // Independently assembled.
    const independent = Buffer.concat([
      Buffer.from("CompositeAlgorithmSignatures2025"),
      Buffer.from("COMPSIG-MLDSA65-Ed25519-SHA512"),
      Buffer.of(0),
      createHash("sha512").update(EX_SIGNING_INPUT).digest(),
    ]);
    expect(independent.toString("hex")).toBe(EX.raw_to_be_signed);
  });

  it.each(BACKENDS.map((b) => [b.name, b] as const))(
    "the published signature verifies over the published message with the published public key (%s backend)",
    (_name, backend) => {
      expect(compositeVerify(compositePublicKey(unb64u(EX.jwk.pub), backend), EX_SIGNING_INPUT, unb64u(EX_SIG))).toBe(true);
    },
  );

  it("the published signature verifies from raw public-key bytes (default backend)", () => {
    expect(compositeVerify(hex(EX.raw_composite_public_key), EX_SIGNING_INPUT, hex(EX.raw_composite_signature))).toBe(true);
  });

  it("each published component verifies on its own: ML-DSA-65 over M' with ctx = Label, Ed25519 over M'", () => {
    const sig = hex(EX.raw_composite_signature);
    const pub = hex(EX.raw_composite_public_key);
    const mPrime = hex(EX.raw_to_be_signed);
    expect(mldsa65Verify(pub.subarray(0, MLDSA65_PUBLIC_KEY_LENGTH), mPrime, sig.subarray(0, MLDSA65_SIGNATURE_LENGTH), COMPOSITE_LABEL)).toBe(true);
    expect(mldsa65Verify(pub.subarray(0, MLDSA65_PUBLIC_KEY_LENGTH), mPrime, sig.subarray(0, MLDSA65_SIGNATURE_LENGTH))).toBe(false);
    expect(ed25519Verify(pub.subarray(MLDSA65_PUBLIC_KEY_LENGTH), mPrime, sig.subarray(MLDSA65_SIGNATURE_LENGTH))).toBe(true);
  });

  it.each(BACKENDS.map((b) => [b.name, b] as const))(
    "§ Composite Key Generation: the published seeds regenerate the published public key byte-identically (%s backend)",
    (_name, backend) => {
      const priv = new Uint8Array([...hex(EX.mldsa_seed), ...hex(EX.eddsa_seed)]);
      expect(toHex(priv)).toBe(toHex(unb64u(EX.jwk.priv)));
      expect(priv.length).toBe(COMPOSITE_PRIVATE_KEY_LENGTH);
      expect(toHex(compositeKeyFromSeed(priv, backend).publicKey)).toBe(EX.raw_composite_public_key);
    },
  );

  it("RFC 7638 / RFC 9964 AKP thumbprint of the published JWK equals its published kid", () => {
    expect(jwkThumbprint(EX.jwk)).toBe(EX.jwk.kid);
    const record = importPrivateJwk(EX.jwk);
    expect(record.kid).toBe(EX.jwk.kid);
    expect(record.publicJwk).toMatchObject({ kty: "AKP", alg: ALG_MLDSA65_ED25519, pub: EX.jwk.pub, use: "sig" });
  });

  it("RFC 7515 Appendix F: the published JWS, detached, verifies through verifyDetached only when the composite is allowed", () => {
    const detached = `${EX_HEADER}..${EX_SIG}`;
    const payload = unb64u(EX_PAYLOAD);
    const jwks = parseJwks({ keys: [{ kid: EX.jwk.kid, kty: EX.jwk.kty, alg: EX.jwk.alg, pub: EX.jwk.pub }] });
    expect(DEFAULT_ALLOWED_ALGS).not.toContain(ALG_MLDSA65_ED25519);
    expectCode(() => verifyDetached(detached, payload, jwks), "ERR_JWS_ALG_UNSUPPORTED", JwsError);
    const ok = verifyDetached(detached, payload, jwks, { allowAlgs: [ALG_MLDSA65_ED25519] });
    expect(ok).toMatchObject({ alg: ALG_MLDSA65_ED25519, kid: EX.jwk.kid });
    expect(Buffer.from(payload).toString("utf8")).toBe("It's a dangerous business, Frodo, going out your door.");
  });

  it("the published signature does not verify over another message", () => {
    expect(compositeVerify(hex(EX.raw_composite_public_key), flip(EX_SIGNING_INPUT, 5), hex(EX.raw_composite_signature))).toBe(false);
  });
});

describe("composite ML-DSA-65-Ed25519 sign/verify", () => {
  const key = compositeKeyFromSeed(new Uint8Array([...seed(0xa1), ...seed(0xb2)]));
  const msg = text("OHP §5.2 composite signing input");
  const sig = compositeSign(key, msg);

  it("round trip: 3373-byte signature verifies with the private key's public half and with raw bytes", () => {
    expect(sig.length).toBe(COMPOSITE_SIGNATURE_LENGTH);
    expect(compositeVerify(compositePublicKey(key.publicKey), msg, sig)).toBe(true);
    expect(compositeVerify(key.publicKey, msg, sig)).toBe(true);
  });

  it.each(BACKENDS.map((b) => [b.name, b] as const))("signatures interoperate across ML-DSA backends (sign with default, verify with %s)", (_n, b) => {
    expect(compositeVerify(compositePublicKey(key.publicKey, b), msg, sig)).toBe(true);
    const other = compositeKeyFromSeed(new Uint8Array([...seed(0xa1), ...seed(0xb2)]), b);
    expect(toHex(other.publicKey)).toBe(toHex(key.publicKey));
    expect(compositeVerify(key.publicKey, msg, compositeSign(other, msg))).toBe(true);
  });

  it("tampering with the ML-DSA half fails", () => {
    expect(compositeVerify(key.publicKey, msg, flip(sig, 0))).toBe(false);
    expect(compositeVerify(key.publicKey, msg, flip(sig, MLDSA65_SIGNATURE_LENGTH - 1, 0x80))).toBe(false);
  });

  it("tampering with the Ed25519 half fails", () => {
    expect(compositeVerify(key.publicKey, msg, flip(sig, MLDSA65_SIGNATURE_LENGTH))).toBe(false);
    expect(compositeVerify(key.publicKey, msg, flip(sig, -1, 0x40))).toBe(false);
  });

  it("mixing halves of two valid signatures over different messages fails", () => {
    const msg2 = text("another message");
    const sig2 = compositeSign(key, msg2);
    const mixed = new Uint8Array([...sig.subarray(0, MLDSA65_SIGNATURE_LENGTH), ...sig2.subarray(MLDSA65_SIGNATURE_LENGTH)]);
    expect(compositeVerify(key.publicKey, msg, mixed)).toBe(false);
    expect(compositeVerify(key.publicKey, msg2, mixed)).toBe(false);
  });

  it("a tampered message or another key's public half fails", () => {
    expect(compositeVerify(key.publicKey, flip(msg, 0), sig)).toBe(false);
    const otherPub = compositeKeyFromSeed(new Uint8Array([...seed(0xa1), ...seed(0xb3)])).publicKey;
    // Same ML-DSA key, different Ed25519 key: only the Ed25519 half is wrong.
    expect(compositeVerify(otherPub, msg, sig)).toBe(false);
  });

  it("component signatures are not separable: a plain Ed25519 signature over the message is not the Ed25519 half", () => {
    const edHalf = sig.subarray(MLDSA65_SIGNATURE_LENGTH);
    expect(ed25519Verify(key.publicKey.subarray(MLDSA65_PUBLIC_KEY_LENGTH), msg, edHalf)).toBe(false);
    expect(ed25519Verify(key.publicKey.subarray(MLDSA65_PUBLIC_KEY_LENGTH), compositeMessage(msg), edHalf)).toBe(true);
  });

  it.each([0, 64, 3309, 3372, 3374])("a %i-byte signature is false", (n) => {
    expect(compositeVerify(key.publicKey, msg, new Uint8Array(n))).toBe(false);
  });

  it.each([0, 32, 1952, 1983, 1985])("a %i-byte public key is a KeyError", (n) => {
    expectCode(() => compositePublicKey(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => compositeVerify(new Uint8Array(n), msg, sig), "ERR_KEY_INVALID", KeyError);
  });

  it.each([0, 32, 63, 65])("a %i-byte private key is a KeyError", (n) => {
    expectCode(() => compositeKeyFromSeed(new Uint8Array(n)), "ERR_KEY_INVALID", KeyError);
  });

  it("a composite key record from the published JWK signs and its public JWKS carries only the public half", () => {
    const record = importPrivateJwk(EX.jwk);
    const jwks = publicJwks([record]);
    expect(JSON.stringify(jwks)).not.toContain('"priv"');
    expect(compositeVerify(unb64u(EX.jwk.pub), msg, record.sign(msg))).toBe(true);
  });
});
