import { describe, expect, it } from "vitest";
import {
  deriveX25519KeyPair,
  generateX25519KeyPair,
  x25519PrivateKeyFromJwk,
  x25519PrivateKeyToJwk,
  x25519PublicKeyFromJwk,
  x25519PublicKeyFromPrivate,
  x25519PublicKeyToJwk,
} from "../../../src/crypto/hpke/index.js";
import { b64uEncode } from "../../../src/util/base64url.js";
import { expectCode, expectCodeSync } from "./helpers.js";

describe("OHP §5.3 recipient keys: X25519 raw keys and RFC 8037 OKP JWKs", () => {
  it("generates 32-byte key pairs whose public half derives from the private half", async () => {
    const kp = await generateX25519KeyPair();
    expect(kp.publicKey.length).toBe(32);
    expect(kp.privateKey.length).toBe(32);
    expect(x25519PublicKeyFromPrivate(kp.privateKey)).toEqual(kp.publicKey);
  });

  it("JWK round-trips: {kty:OKP, crv:X25519, x[, d]} unpadded base64url", async () => {
    const kp = await generateX25519KeyPair();
    const pub = x25519PublicKeyToJwk(kp.publicKey);
    expect(pub).toEqual({ kty: "OKP", crv: "X25519", x: b64uEncode(kp.publicKey) });
    expect(pub.x).not.toMatch(/=/);
    expect(x25519PublicKeyFromJwk(pub)).toEqual(kp.publicKey);
    const priv = x25519PrivateKeyToJwk(kp.privateKey);
    expect(priv).toEqual({ kty: "OKP", crv: "X25519", x: pub.x, d: b64uEncode(kp.privateKey) });
    expect(x25519PrivateKeyFromJwk(priv)).toEqual(kp.privateKey);
    expect(x25519PrivateKeyFromJwk({ kty: "OKP", crv: "X25519", d: priv.d })).toEqual(kp.privateKey);
  });

  it("rejects wrong kty, crv, lengths, padding, d in a public JWK, and x not matching d: ERR_HPKE_KEY_INVALID", async () => {
    const kp = await generateX25519KeyPair();
    const x = b64uEncode(kp.publicKey);
    const d = b64uEncode(kp.privateKey);
    const bad: [string, () => unknown][] = [
      ["not an object", () => x25519PublicKeyFromJwk("x")],
      ["kty EC", () => x25519PublicKeyFromJwk({ kty: "EC", crv: "X25519", x })],
      ["crv Ed25519", () => x25519PublicKeyFromJwk({ kty: "OKP", crv: "Ed25519", x })],
      ["x missing", () => x25519PublicKeyFromJwk({ kty: "OKP", crv: "X25519" })],
      ["x 31 bytes", () => x25519PublicKeyFromJwk({ kty: "OKP", crv: "X25519", x: b64uEncode(new Uint8Array(31)) })],
      ["x padded", () => x25519PublicKeyFromJwk({ kty: "OKP", crv: "X25519", x: Buffer.from(kp.publicKey).toString("base64") })],
      ["d in a public JWK", () => x25519PublicKeyFromJwk({ kty: "OKP", crv: "X25519", x, d })],
      ["d missing", () => x25519PrivateKeyFromJwk({ kty: "OKP", crv: "X25519", x })],
      ["d 33 bytes", () => x25519PrivateKeyFromJwk({ kty: "OKP", crv: "X25519", d: b64uEncode(new Uint8Array(33)) })],
      ["x does not match d", () => x25519PrivateKeyFromJwk({ kty: "OKP", crv: "X25519", x: b64uEncode(new Uint8Array(32).fill(9)), d })],
      ["raw private key 16 bytes", () => x25519PublicKeyFromPrivate(new Uint8Array(16))],
      ["raw public key 33 bytes", () => x25519PublicKeyToJwk(new Uint8Array(33))],
    ];
    for (const [name, f] of bad) expect(() => expectCodeSync(f, "ERR_HPKE_KEY_INVALID"), name).not.toThrow();
    await expectCode(deriveX25519KeyPair(new Uint8Array(0)), "ERR_HPKE_KEY_INVALID");
  });
});
