import { describe, expect, it } from "vitest";
import { openWithSuite } from "../../../src/crypto/hpke/open.js";
import { sealWithSuite } from "../../../src/crypto/hpke/seal.js";
import { cipherSuiteFor } from "../../../src/crypto/hpke/suite.js";
import { deriveXWingKeyPair, xwingPublicKeyFromPrivate } from "../../../src/crypto/hpke/xwing.js";
import { hex, loadVectors, toHex } from "./helpers.js";

const [v] = loadVectors("xwing-sha256-chacha20poly1305.hpke-pq.json");

describe("draft-ietf-hpke-pq test vector: X-Wing (KEM 0x647a), HKDF-SHA256, ChaCha20Poly1305, base mode (agentwire extension)", () => {
  if (v === undefined) throw new Error("X-Wing vector missing");

  it("is KEM 0x647a with the OHP KDF and AEAD", () => {
    expect([v.mode, v.kem_id, v.kdf_id, v.aead_id]).toEqual([0, 0x647a, 1, 3]);
  });

  it("DeriveKeyPair(ikmR) = KeyGen(SHAKE256.LabeledDerive(ikmR, \"DeriveKeyPair\", \"\", 32)) gives skRm and pkRm", async () => {
    const r = await deriveXWingKeyPair(hex(v.ikmR));
    expect(toHex(r.privateKey)).toBe(v.skRm);
    expect(toHex(r.publicKey)).toBe(v.pkRm);
    expect(toHex(await xwingPublicKeyFromPrivate(hex(v.skRm)))).toBe(v.pkRm);
  });

  it("sequence 0: sealing with ikmE as encapsulation randomness reproduces enc and ct; opening returns pt", async () => {
    const e0 = v.encryptions[0]!;
    const out = await sealWithSuite("xwing", hex(v.pkRm), hex(e0.pt), hex(e0.aad), hex(v.info), hex(v.ikmE));
    expect(toHex(out.enc)).toBe(v.enc);
    expect(toHex(out.ciphertext)).toBe(e0.ct);
    const pt = await openWithSuite("xwing", hex(v.skRm), hex(v.enc), hex(e0.ct), hex(e0.aad), hex(v.info));
    expect(toHex(pt)).toBe(e0.pt);
  });

  it("all 10 encryptions (sequence numbers 0..9) and all exported values, sender and recipient side", async () => {
    const cs = await cipherSuiteFor("xwing");
    const sender = await cs.createSenderContext({
      recipientPublicKey: await cs.kem.deserializePublicKey(hex(v.pkRm)),
      info: hex(v.info),
      ekm: hex(v.ikmE),
    });
    const recipient = await cs.createRecipientContext({
      recipientKey: await cs.kem.deserializePrivateKey(hex(v.skRm)),
      enc: hex(v.enc),
      info: hex(v.info),
    });
    for (const e of v.encryptions) {
      expect(toHex(await sender.seal(hex(e.pt), hex(e.aad)))).toBe(e.ct);
      expect(toHex(await recipient.open(hex(e.ct), hex(e.aad)))).toBe(e.pt);
    }
    for (const x of v.exports) {
      expect(toHex(await sender.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
      expect(toHex(await recipient.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
    }
  });
});
