import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HpkeError, generateX25519KeyPair, hpkeOpenBase, hpkeSealBase, x25519PrivateKeyToJwk, x25519PublicKeyToJwk } from "../../../src/crypto/hpke/index.js";
import { expectCode, flip, text } from "./helpers.js";

const aad = text("OHP §5.3 aad");

describe("OHP §5.3 HPKE sealing: RFC 9180 SealBase / OpenBase with X25519-SHA256-ChaCha20Poly1305", () => {
  it("round-trips; enc is 32 bytes and ciphertext = plaintext + 16-byte tag", async () => {
    const r = await generateX25519KeyPair();
    const pt = text("payment.disputeDetail");
    const { enc, ciphertext } = await hpkeSealBase(r.publicKey, pt, aad);
    expect(enc.length).toBe(32);
    expect(ciphertext.length).toBe(pt.length + 16);
    expect(await hpkeOpenBase(r.privateKey, enc, ciphertext, aad)).toEqual(pt);
  });

  it("accepts keys as raw bytes or as OKP JWKs", async () => {
    const r = await generateX25519KeyPair();
    const sealed = await hpkeSealBase(x25519PublicKeyToJwk(r.publicKey), text("x"), aad);
    expect(await hpkeOpenBase(x25519PrivateKeyToJwk(r.privateKey), sealed.enc, sealed.ciphertext, aad)).toEqual(text("x"));
  });

  it("info defaults to empty (OHP): an explicit empty info opens, a non-empty one does not", async () => {
    const r = await generateX25519KeyPair();
    const s = await hpkeSealBase(r.publicKey, text("x"), aad);
    expect(await hpkeOpenBase(r.privateKey, s.enc, s.ciphertext, aad, new Uint8Array(0))).toEqual(text("x"));
    await expectCode(hpkeOpenBase(r.privateKey, s.enc, s.ciphertext, aad, text("i")), "ERR_HPKE_OPEN_FAILED");
    const withInfo = await hpkeSealBase(r.publicKey, text("x"), aad, text("i"));
    expect(await hpkeOpenBase(r.privateKey, withInfo.enc, withInfo.ciphertext, aad, text("i"))).toEqual(text("x"));
  });

  it("a fresh ephemeral key per call: sealing twice gives different enc and ciphertext", async () => {
    const r = await generateX25519KeyPair();
    const a = await hpkeSealBase(r.publicKey, text("same"), aad);
    const b = await hpkeSealBase(r.publicKey, text("same"), aad);
    expect(a.enc).not.toEqual(b.enc);
    expect(a.ciphertext).not.toEqual(b.ciphertext);
  });

  it("every failure to open is ERR_HPKE_OPEN_FAILED with no cause and no detail (wrong key, tampered enc/ct/aad, bad lengths, low-order enc)", async () => {
    const r = await generateX25519KeyPair();
    const other = await generateX25519KeyPair();
    const s = await hpkeSealBase(r.publicKey, text("secret"), aad);
    const failures: (() => Promise<unknown>)[] = [
      () => hpkeOpenBase(other.privateKey, s.enc, s.ciphertext, aad),
      () => hpkeOpenBase(r.privateKey, flip(s.enc, 5), s.ciphertext, aad),
      () => hpkeOpenBase(r.privateKey, s.enc, flip(s.ciphertext, 0), aad),
      () => hpkeOpenBase(r.privateKey, s.enc, flip(s.ciphertext, s.ciphertext.length - 1, 7), aad),
      () => hpkeOpenBase(r.privateKey, s.enc, s.ciphertext, flip(aad, 3)),
      () => hpkeOpenBase(r.privateKey, s.enc.subarray(1), s.ciphertext, aad),
      () => hpkeOpenBase(r.privateKey, s.enc, s.ciphertext.subarray(0, 10), aad),
      () => hpkeOpenBase(r.privateKey, new Uint8Array(32), s.ciphertext, aad), // low-order point 0: all-zero DH
      () => hpkeOpenBase(r.privateKey, Uint8Array.of(1, ...new Uint8Array(31)), s.ciphertext, aad), // low-order point 1
    ];
    for (const f of failures) {
      const e = await expectCode(f(), "ERR_HPKE_OPEN_FAILED");
      expect(e).toBeInstanceOf(HpkeError);
      expect(e.cause).toBeUndefined();
      expect((e as HpkeError).detail).toBeUndefined();
      expect(e.message).toBe("HPKE open failed");
    }
  });

  it("rejects unusable recipient public keys with ERR_HPKE_KEY_INVALID (wrong length, low-order point)", async () => {
    await expectCode(hpkeSealBase(new Uint8Array(31), text("x"), aad), "ERR_HPKE_KEY_INVALID");
    await expectCode(hpkeSealBase(new Uint8Array(32), text("x"), aad), "ERR_HPKE_KEY_INVALID");
    await expectCode(hpkeSealBase(Uint8Array.of(1, ...new Uint8Array(31)), text("x"), aad), "ERR_HPKE_KEY_INVALID");
  });

  it("rejects a malformed own private key with ERR_HPKE_KEY_INVALID (caller error, not an oracle)", async () => {
    const r = await generateX25519KeyPair();
    const s = await hpkeSealBase(r.publicKey, text("x"), aad);
    await expectCode(hpkeOpenBase(new Uint8Array(33), s.enc, s.ciphertext, aad), "ERR_HPKE_KEY_INVALID");
  });

  it("property: any plaintext and aad round-trip, and flipping any bit of enc or ciphertext fails", async () => {
    const r = await generateX25519KeyPair();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (pt, a, pos, bit) => {
          const s = await hpkeSealBase(r.publicKey, pt, a);
          expect(await hpkeOpenBase(r.privateKey, s.enc, s.ciphertext, a)).toEqual(pt);
          const all = s.enc.length + s.ciphertext.length;
          const i = pos % all;
          const enc = i < 32 ? flip(s.enc, i, bit) : s.enc;
          const ct = i >= 32 ? flip(s.ciphertext, i - 32, bit) : s.ciphertext;
          await expectCode(hpkeOpenBase(r.privateKey, enc, ct, a), "ERR_HPKE_OPEN_FAILED");
        },
      ),
      { numRuns: 60 },
    );
  });
});
