import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CipherSuite } from "@hpke/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  HPKE_ALG,
  generateX25519KeyPair,
  hpkeOpenBase,
  openSealed,
  sealForRecipients,
  sealSingle,
  x25519PrivateKeyToJwk,
  type SealedBlockInput,
} from "../../../src/crypto/hpke/index.js";
import { b64uDecode, b64uEncode } from "../../../src/util/base64url.js";
import { VECTOR_DIR, expectCode, flip, text, validSealedPerSchema } from "./helpers.js";

const aad = text("canonical CBOR of {id, issuedAt, audience.did, session.callId}");
const fields = ["payment.disputeDetail", "caller.vulnerable"];

afterEach(() => vi.restoreAllMocks());

describe("OHP §5.3 sealed block, single recipient (spec shape)", () => {
  it("OHP §5.3 sealSingle emits exactly { alg, recipients: [{ kid, enc }], ciphertext } with unpadded base64url", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "rcv_2026_05_x25519", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    expect(Object.keys(block).sort()).toEqual(["alg", "ciphertext", "recipients"]);
    expect(block.alg).toBe("HPKE/X25519-SHA256-CHACHA20POLY1305");
    expect(block.alg).toBe(HPKE_ALG);
    expect(block.recipients).toHaveLength(1);
    expect(Object.keys(block.recipients[0]).sort()).toEqual(["enc", "kid"]);
    expect(block.recipients[0].kid).toBe("rcv_2026_05_x25519");
    for (const s of [block.recipients[0].enc, block.ciphertext]) expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(b64uDecode(block.recipients[0].enc)).toHaveLength(32);
    expect(b64uDecode(block.ciphertext)).toHaveLength(2 + 16);
    expect(validSealedPerSchema({ ...block, fields })).toBe(true);
  });

  it("OHP §5.3 the spec's construction: ciphertext = SealBase(pkR, info = \"\", aad, pt), openable by any plain RFC 9180 receiver", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    const pt = await hpkeOpenBase(r.privateKey, b64uDecode(block.recipients[0].enc), b64uDecode(block.ciphertext), aad);
    expect(pt).toEqual(text("pt"));
  });

  it("OHP §5.3 openSealed returns the plaintext, the opened kid, the mode and the block's fields", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    const opened = await openSealed({ ...block, fields }, [{ kid: "k", privateKey: x25519PrivateKeyToJwk(r.privateKey) }], aad);
    expect(opened).toEqual({ plaintext: text("pt"), kid: "k", alg: HPKE_ALG, mode: "single", fields });
    const withoutFields = await openSealed(block, [{ kid: "k", privateKey: r.privateKey }], aad);
    expect("fields" in withoutFields).toBe(false);
  });

  it("OHP §5.3 sealForRecipients with one recipient gives the same spec shape (no wrappedKey)", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealForRecipients({ recipients: [{ kid: "k", publicKey: r.publicKey }], plaintext: text("pt"), aad });
    expect(Object.keys(block).sort()).toEqual(["alg", "ciphertext", "recipients"]);
    expect(Object.keys(block.recipients[0]!).sort()).toEqual(["enc", "kid"]);
  });

  it("OHP §5.3 sealForRecipients with fields returns the whole sealed member {alg, recipients:[{kid, enc}], ciphertext, fields}, schema-valid", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealForRecipients({ recipients: [{ kid: "rcv_2026_05_x25519", publicKey: r.publicKey }], plaintext: text("pt"), aad, fields });
    expect(Object.keys(block).sort()).toEqual(["alg", "ciphertext", "fields", "recipients"]);
    expect(block.fields).toEqual(fields);
    expect(block.fields).not.toBe(fields); // a copy, not the caller's array
    expect(validSealedPerSchema(block)).toBe(true);
    // It survives a JSON round trip (it is what goes on the wire) and opens.
    const wire = JSON.parse(JSON.stringify(block)) as SealedBlockInput;
    const opened = await openSealed(wire, [{ kid: "rcv_2026_05_x25519", privateKey: r.privateKey }], aad);
    expect(opened.plaintext).toEqual(text("pt"));
    expect(opened.fields).toEqual(fields);
  });

  it("OHP §5.3 wrong private key under the right kid → ERR_HPKE_OPEN_FAILED (no detail)", async () => {
    const r = await generateX25519KeyPair();
    const wrong = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad, fields });
    const e = await expectCode(openSealed(block, [{ kid: "k", privateKey: wrong.privateKey }], aad), "ERR_HPKE_OPEN_FAILED");
    expect(e.cause).toBeUndefined();
  });

  it("OHP §5.3 the AAD binds: changing any byte of the AAD fails with ERR_HPKE_OPEN_FAILED", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    for (let i = 0; i < aad.length; i++) {
      await expectCode(openSealed(block, [{ kid: "k", privateKey: r.privateKey }], flip(aad, i)), "ERR_HPKE_OPEN_FAILED");
    }
    await expectCode(openSealed(block, [{ kid: "k", privateKey: r.privateKey }], aad.subarray(1)), "ERR_HPKE_OPEN_FAILED");
  });

  it("OHP §5.3 tampering with any byte of enc or ciphertext fails with ERR_HPKE_OPEN_FAILED", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("abc"), aad });
    const keys = [{ kid: "k", privateKey: r.privateKey }];
    const enc = b64uDecode(block.recipients[0].enc);
    const ct = b64uDecode(block.ciphertext);
    for (let i = 0; i < enc.length; i++) {
      const t = { ...block, recipients: [{ kid: "k", enc: b64uEncode(flip(enc, i, i % 8)) }] };
      await expectCode(openSealed(t, keys, aad), "ERR_HPKE_OPEN_FAILED");
    }
    for (let i = 0; i < ct.length; i++) {
      await expectCode(openSealed({ ...block, ciphertext: b64uEncode(flip(ct, i, i % 8)) }, keys, aad), "ERR_HPKE_OPEN_FAILED");
    }
  });
});

describe("OHP D09 step 13: open only the slot keyed to the receiver's own key", () => {
  it("D09 step 13: other slots are never tried (exactly one HPKE decapsulation, on the matching slot)", async () => {
    const mine = await generateX25519KeyPair();
    const a = await generateX25519KeyPair();
    const b = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "mine", publicKey: mine.publicKey }, plaintext: text("pt"), aad });
    const otherA = await sealSingle({ recipient: { kid: "a", publicKey: a.publicKey }, plaintext: text("x"), aad });
    // A spec-shaped block listing three slots; ours is the last one.
    const listed: SealedBlockInput = {
      alg: HPKE_ALG,
      recipients: [otherA.recipients[0], { kid: "b", enc: "not even base64url!" }, block.recipients[0]],
      ciphertext: block.ciphertext,
    };
    const spy = vi.spyOn(CipherSuite.prototype, "createRecipientContext");
    const opened = await openSealed(listed, [{ kid: "mine", privateKey: mine.privateKey }, { kid: "b", privateKey: b.privateKey, suite: "xwing" }], aad);
    expect(opened.kid).toBe("mine");
    expect(spy).toHaveBeenCalledTimes(1);
    expect(b64uEncode(new Uint8Array(spy.mock.calls[0]![0].enc as Uint8Array))).toBe(block.recipients[0].enc);
  });

  it("D09 step 13: when the matching slot fails, no other slot or key is tried", async () => {
    const mine = await generateX25519KeyPair();
    const other = await generateX25519KeyPair();
    const forOther = await sealSingle({ recipient: { kid: "other", publicKey: other.publicKey }, plaintext: text("pt"), aad });
    // Our kid points at an enc that was made for someone else; the other slot would open with our second key.
    const listed = {
      alg: HPKE_ALG,
      recipients: [{ kid: "mine", enc: forOther.recipients[0].enc }, { kid: "other", enc: forOther.recipients[0].enc }],
      ciphertext: forOther.ciphertext,
    };
    const spy = vi.spyOn(CipherSuite.prototype, "createRecipientContext");
    await expectCode(
      openSealed(listed, [{ kid: "mine", privateKey: mine.privateKey }, { kid: "other", privateKey: other.privateKey }], aad),
      "ERR_HPKE_OPEN_FAILED",
    );
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("OHP D09 step 13: no entry with one of the receiver's kids: ERR_HPKE_NO_RECIPIENT, without any decryption attempt", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    const spy = vi.spyOn(CipherSuite.prototype, "createRecipientContext");
    await expectCode(openSealed(block, [{ kid: "someone-else", privateKey: r.privateKey }], aad), "ERR_HPKE_NO_RECIPIENT");
    await expectCode(openSealed(block, [], aad), "ERR_HPKE_NO_RECIPIENT");
    // A key restricted to another suite does not match either.
    await expectCode(openSealed(block, [{ kid: "k", privateKey: r.privateKey, suite: "xwing" }], aad), "ERR_HPKE_NO_RECIPIENT");
    expect(spy).not.toHaveBeenCalled();
  });

  it("OHP §5.3 the upstream sealed/01 conformance block: our kid matches, its placeholder enc is not base64url → ERR_HPKE_MALFORMED; other kid → ERR_HPKE_NO_RECIPIENT", async () => {
    const path = join(VECTOR_DIR, "..", "..", "upstream", "ohp", "conformance", "test-vectors", "sealed", "01-hpke-roundtrip", "envelope.json");
    const sealed = (JSON.parse(readFileSync(path, "utf8")) as { sealed: SealedBlockInput }).sealed;
    expect(validSealedPerSchema(sealed)).toBe(true);
    const r = await generateX25519KeyPair();
    await expectCode(openSealed(sealed, [{ kid: "rcv_2026_05_x25519", privateKey: r.privateKey }], aad), "ERR_HPKE_MALFORMED");
    await expectCode(openSealed(sealed, [{ kid: "rcv_other", privateKey: r.privateKey }], aad), "ERR_HPKE_NO_RECIPIENT");
  });
});

describe("OHP §5.3 sealed block validation", () => {
  it("OHP §5.3 unknown alg → ERR_HPKE_SUITE_UNSUPPORTED; the X-Wing alg is refused unless the receiver enables it", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    const keys = [{ kid: "k", privateKey: r.privateKey }];
    await expectCode(openSealed({ ...block, alg: "HPKE/P256-SHA256-AES128GCM" }, keys, aad), "ERR_HPKE_SUITE_UNSUPPORTED");
    await expectCode(openSealed({ ...block, alg: "hpke/x25519-sha256-chacha20poly1305" }, keys, aad), "ERR_HPKE_SUITE_UNSUPPORTED");
    await expectCode(openSealed({ ...block, alg: "HPKE/X-Wing-SHA256-CHACHA20POLY1305" }, keys, aad), "ERR_HPKE_SUITE_UNSUPPORTED");
    await expectCode(openSealed(block, keys, aad, { suites: ["xwing"] }), "ERR_HPKE_SUITE_UNSUPPORTED");
  });

  it("OHP §5.3 structural errors (incl. malformed base64url) → ERR_HPKE_MALFORMED", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    const keys = [{ kid: "k", privateKey: r.privateKey }];
    const entry = block.recipients[0];
    const enc = b64uDecode(entry.enc);
    const bad: unknown[] = [
      null,
      [],
      { ...block, alg: 7 },
      { ...block, recipients: [] },
      { ...block, recipients: "k" },
      { ...block, recipients: [entry, entry] },
      { ...block, recipients: [{ kid: "", enc: entry.enc }] },
      { ...block, recipients: [{ kid: "k" }] },
      { ...block, recipients: [{ kid: "k", enc: entry.enc, wrappedKey: 5 }] },
      { ...block, recipients: Array.from({ length: 257 }, (_, i) => ({ kid: `k${i}`, enc: entry.enc })) },
      { ...block, ciphertext: undefined },
      { ...block, ciphertext: `${block.ciphertext}=` },
      { ...block, ciphertext: "AAAA" },
      { ...block, recipients: [{ kid: "k", enc: `${entry.enc}==` }] },
      { ...block, recipients: [{ kid: "k", enc: b64uEncode(enc.subarray(1)) }] },
      { ...block, recipients: [{ kid: "k", enc: b64uEncode(Uint8Array.of(...enc, 0)) }] },
      { ...block, recipients: [{ kid: "k", enc: entry.enc.replace(/.$/, "+") }] },
      { ...block, recipients: [{ kid: "k", enc: `${entry.enc} ` }] },
      { ...block, ciphertext: block.ciphertext.replace(/^./, "/") },
      { ...block, fields: ["a", 2] },
      { ...block, fields: {} },
    ];
    for (const b of bad) await expectCode(openSealed(b as SealedBlockInput, keys, aad), "ERR_HPKE_MALFORMED");
  });

  it("OHP §5.3 caller errors → ERR_HPKE_INVALID_ARGUMENT (duplicate kids in the key list, non-byte AAD, bad recipient kid)", async () => {
    const r = await generateX25519KeyPair();
    const block = await sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: text("pt"), aad });
    const k = { kid: "k", privateKey: r.privateKey };
    await expectCode(openSealed(block, [k, k], aad), "ERR_HPKE_INVALID_ARGUMENT");
    await expectCode(openSealed(block, [k], "aad" as unknown as Uint8Array), "ERR_HPKE_INVALID_ARGUMENT");
    await expectCode(sealSingle({ recipient: { kid: "", publicKey: r.publicKey }, plaintext: text("pt"), aad }), "ERR_HPKE_INVALID_ARGUMENT");
    await expectCode(sealSingle({ recipient: { kid: "k", publicKey: r.publicKey }, plaintext: "pt" as unknown as Uint8Array, aad }), "ERR_HPKE_INVALID_ARGUMENT");
  });
});
