import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { deriveX25519KeyPair, x25519PublicKeyFromPrivate } from "../../../src/crypto/hpke/keys.js";
import { hpkeOpenBase } from "../../../src/crypto/hpke/open.js";
import { sealWithSuite } from "../../../src/crypto/hpke/seal.js";
import { cipherSuiteFor } from "../../../src/crypto/hpke/suite.js";
import { hex, loadVectors, toHex, type HpkeVector } from "./helpers.js";

const vectors = loadVectors("x25519-sha256-chacha20poly1305.json");
const chacha = vectors.find((v) => v.aead_id === 3);
const aes = vectors.find((v) => v.aead_id === 1);

/** Seals with a fixed ephemeral (`ikmE`) through a context, returning the ct of every sequence number up to `max`. */
async function sealStream(cs: CipherSuite, v: HpkeVector, max: number): Promise<Map<number, { aad: Uint8Array; ct: Uint8Array }>> {
  const kem = cs.kem;
  const pkR = await kem.deserializePublicKey(hex(v.pkRm));
  const sender = await cs.createSenderContext({ recipientPublicKey: pkR, info: hex(v.info), ekm: hex(v.ikmE) });
  expect(toHex(sender.enc)).toBe(v.enc);
  const byAad = new Map(v.encryptions.map((e) => [e.sequence_number, e]));
  const out = new Map<number, { aad: Uint8Array; ct: Uint8Array }>();
  const pt = hex(v.encryptions[0]!.pt);
  for (let seq = 0; seq <= max; seq++) {
    // The vectors use aad "Count-<seq>"; sequences not listed in the RFC text use the same pattern.
    const aad = byAad.has(seq) ? hex(byAad.get(seq)!.aad) : new TextEncoder().encode(`Count-${seq}`);
    out.set(seq, { aad, ct: new Uint8Array(await sender.seal(pt, aad)) });
  }
  for (const e of v.exports) {
    expect(toHex(await sender.export(hex(e.exporter_context), e.L))).toBe(e.exported_value);
  }
  return out;
}

async function openStream(cs: CipherSuite, v: HpkeVector, stream: Map<number, { aad: Uint8Array; ct: Uint8Array }>): Promise<void> {
  const skR = await cs.kem.deserializePrivateKey(hex(v.skRm));
  const recipient = await cs.createRecipientContext({ recipientKey: skR, enc: hex(v.enc), info: hex(v.info) });
  const listed = new Map(v.encryptions.map((e) => [e.sequence_number, e]));
  for (const [seq, { aad, ct }] of [...stream.entries()].sort((a, b) => a[0] - b[0])) {
    const e = listed.get(seq);
    const input = e === undefined ? ct : hex(e.ct); // the vector's own ct where the RFC lists one
    expect(toHex(await recipient.open(input, aad))).toBe(toHex(hex(v.encryptions[0]!.pt)));
  }
  for (const e of v.exports) {
    expect(toHex(await recipient.export(hex(e.exporter_context), e.L))).toBe(e.exported_value);
  }
}

const enc8 = new TextEncoder();
const i2osp = (n: number, w: number): Uint8Array => Uint8Array.from({ length: w }, (_, i) => Math.floor(n / 256 ** (w - 1 - i)) % 256);
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** RFC 9180 §5.1 KeySchedule (base mode: empty psk and psk_id), recomputed independently with @noble/hashes. */
function keySchedule(v: HpkeVector, nk: number, nn: number) {
  const suiteId = cat(enc8.encode("HPKE"), i2osp(v.kem_id, 2), i2osp(v.kdf_id, 2), i2osp(v.aead_id, 2));
  const labeledExtract = (salt: Uint8Array, label: string, ikm: Uint8Array) =>
    extract(sha256, cat(enc8.encode("HPKE-v1"), suiteId, enc8.encode(label), ikm), salt);
  const labeledExpand = (prk: Uint8Array, label: string, info: Uint8Array, l: number) =>
    expand(sha256, prk, cat(i2osp(l, 2), enc8.encode("HPKE-v1"), suiteId, enc8.encode(label), info), l);
  const empty = new Uint8Array(0);
  const context = cat(i2osp(v.mode, 1), labeledExtract(empty, "psk_id_hash", empty), labeledExtract(empty, "info_hash", hex(v.info)));
  const secret = labeledExtract(hex(v.shared_secret), "secret", empty);
  return {
    context,
    secret,
    key: labeledExpand(secret, "key", context, nk),
    baseNonce: labeledExpand(secret, "base_nonce", context, nn),
    exporterSecret: labeledExpand(secret, "exp", context, 32),
  };
}

describe("RFC 9180 §A.2.1 test vectors: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode (the OHP §5.3 suite)", () => {
  if (chacha === undefined) throw new Error("vector file lacks the aead_id 3 entry");
  const v = chacha;

  it("RFC 9180 §A.2.1 is the OHP §5.3 suite: mode 0, kem 0x0020, kdf 0x0001, aead 0x0003", () => {
    expect([v.mode, v.kem_id, v.kdf_id, v.aead_id]).toEqual([0, 0x20, 1, 3]);
    expect(v.encryptions.map((e) => e.sequence_number)).toEqual([0, 1, 2, 4, 255, 256]);
  });

  it("RFC 9180 §A.2.1 DeriveKeyPair(ikmR) and DeriveKeyPair(ikmE) give skRm/pkRm and skEm/pkEm", async () => {
    const r = await deriveX25519KeyPair(hex(v.ikmR));
    expect(toHex(r.privateKey)).toBe(v.skRm);
    expect(toHex(r.publicKey)).toBe(v.pkRm);
    const e = await deriveX25519KeyPair(hex(v.ikmE));
    expect(toHex(e.privateKey)).toBe(v.skEm);
    expect(toHex(e.publicKey)).toBe(v.pkEm);
    expect(toHex(x25519PublicKeyFromPrivate(hex(v.skRm)))).toBe(v.pkRm);
  });

  it("RFC 9180 §A.2.1 Encap(pkR) with the ikmE ephemeral gives enc and shared_secret; Decap(enc, skR) gives shared_secret", async () => {
    const cs = await cipherSuiteFor("x25519");
    const out = await cs.kem.encap({ recipientPublicKey: await cs.kem.deserializePublicKey(hex(v.pkRm)), ekm: hex(v.ikmE) });
    expect(toHex(out.enc)).toBe(v.enc);
    expect(toHex(out.sharedSecret)).toBe(v.shared_secret);
    const dec = await cs.kem.decap({ recipientKey: await cs.kem.deserializePrivateKey(hex(v.skRm)), enc: hex(v.enc) });
    expect(toHex(dec)).toBe(v.shared_secret);
  });

  it("RFC 9180 §A.2.1 KeySchedule: key_schedule_context, secret, key (32), base_nonce (12), exporter_secret and every sequence's nonce", () => {
    const ks = keySchedule(v, 32, 12);
    expect(toHex(ks.context)).toBe((v as unknown as { key_schedule_context: string }).key_schedule_context);
    expect(toHex(ks.secret)).toBe((v as unknown as { secret: string }).secret);
    expect(toHex(ks.key)).toBe(v.key);
    expect(toHex(ks.baseNonce)).toBe(v.base_nonce);
    expect(toHex(ks.exporterSecret)).toBe(v.exporter_secret);
    for (const e of v.encryptions) {
      const seq = i2osp(e.sequence_number!, 12);
      expect(toHex(ks.baseNonce.map((b, i) => b ^ (seq[i] ?? 0))), `nonce of seq ${e.sequence_number}`).toBe(e.nonce);
    }
  });

  it("RFC 9180 §A.2.1 sequence 0: hpkeOpenBase(skRm, enc, ct, aad, info) returns pt", async () => {
    const e0 = v.encryptions[0]!;
    const pt = await hpkeOpenBase(hex(v.skRm), hex(v.enc), hex(e0.ct), hex(e0.aad), hex(v.info));
    expect(toHex(pt)).toBe(e0.pt);
  });

  it("RFC 9180 §A.2.1 sequence 0: sealing with the ikmE-derived ephemeral reproduces enc and ct byte for byte", async () => {
    const e0 = v.encryptions[0]!;
    const out = await sealWithSuite("x25519", hex(v.pkRm), hex(e0.pt), hex(e0.aad), hex(v.info), hex(v.ikmE));
    expect(toHex(out.enc)).toBe(v.enc);
    expect(toHex(out.ciphertext)).toBe(e0.ct);
  });

  it("RFC 9180 §A.2.1 sequences 0, 1, 2, 4, 255, 256 and the exported values, through the suite's sender and recipient contexts", async () => {
    const cs = await cipherSuiteFor("x25519");
    const stream = await sealStream(cs, v, 256);
    for (const e of v.encryptions) expect(toHex(stream.get(e.sequence_number!)!.ct), `seq ${e.sequence_number}`).toBe(e.ct);
    await openStream(cs, v, stream);
  });
});

describe("RFC 9180 §A.1.1 test vectors: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode (extra KEM/KDF coverage)", () => {
  if (aes === undefined) throw new Error("vector file lacks the aead_id 1 entry");
  const v = aes;
  const cs = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

  it("RFC 9180 §A.1.1 DeriveKeyPair(ikmR) gives skRm/pkRm", async () => {
    const r = await deriveX25519KeyPair(hex(v.ikmR));
    expect(toHex(r.privateKey)).toBe(v.skRm);
    expect(toHex(r.publicKey)).toBe(v.pkRm);
  });

  it("RFC 9180 §A.1.1 enc, every listed ct and every exported value", async () => {
    const stream = await sealStream(cs, v, 256);
    for (const e of v.encryptions) expect(toHex(stream.get(e.sequence_number!)!.ct), `seq ${e.sequence_number}`).toBe(e.ct);
    await openStream(cs, v, stream);
  });
});
