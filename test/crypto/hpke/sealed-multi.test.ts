import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { CipherSuite } from "@hpke/core";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BODY_NONCE_LENGTH,
  COMMITMENT_BLOCK_LENGTH,
  HPKE_ALG,
  HPKE_ALG_XWING,
  WRAPPED_KEY_LENGTH,
  generateX25519KeyPair,
  generateXWingKeyPair,
  hpkeOpenBase,
  openSealed,
  sealForRecipients,
  sealMulti,
  sealSingle,
  xwingAvailable,
  type HpkeRecipientKey,
  type MultiSealedBlock,
  type SealedBlockInput,
  type X25519KeyPair,
} from "../../../src/crypto/hpke/index.js";
import { bodyAad, wrapAad, WRAP_LABEL } from "../../../src/crypto/hpke/multi.js";
import { sealWithSuite } from "../../../src/crypto/hpke/seal.js";
import { b64uDecode, b64uEncode } from "../../../src/util/base64url.js";
import { expectCode, flip, text, validSealedPerSchema } from "./helpers.js";

const aad = text("canonical CBOR of {id, issuedAt, audience.did, session.callId}");
const fields = ["payment.disputeDetail", "caller.vulnerable"];
const pt = text("canonical CBOR map of the sealed fields");

afterEach(() => vi.restoreAllMocks());

interface Party {
  kid: string;
  pair: X25519KeyPair;
  key: HpkeRecipientKey;
}

async function parties(...kids: string[]): Promise<Party[]> {
  return Promise.all(
    kids.map(async (kid) => {
      const pair = await generateX25519KeyPair();
      return { kid, pair, key: { kid, privateKey: pair.privateKey } };
    }),
  );
}

async function sealFor(ps: readonly Party[], plaintext = pt): Promise<MultiSealedBlock & { fields: string[] }> {
  const block = await sealForRecipients({ recipients: ps.map((p) => ({ kid: p.kid, publicKey: p.pair.publicKey })), plaintext, aad, fields });
  return block as MultiSealedBlock & { fields: string[] };
}

/** A block whose entries at i and j have member `m` exchanged. */
function swap(block: MultiSealedBlock, i: number, j: number, members: readonly ("enc" | "wrappedKey")[]): MultiSealedBlock {
  const recipients = block.recipients.map((r) => ({ ...r }));
  const a = recipients[i]!;
  const b = recipients[j]!;
  for (const m of members) [a[m], b[m]] = [b[m], a[m]];
  return { ...block, recipients };
}

describe("OHP §5.3 multi-recipient extension agentwire-multi-1: shape and round trip", () => {
  it("OHP §5.3 agentwire-multi-1: every recipient opens its own slot and gets the same plaintext and fields", async () => {
    const ps = await parties("rcv_a", "rcv_b", "rcv_c");
    const block = await sealFor(ps);
    for (const p of ps) {
      const opened = await openSealed(block, [p.key], aad);
      expect(opened).toEqual({ plaintext: pt, kid: p.kid, alg: HPKE_ALG, mode: "multi", fields });
    }
  });

  it("OHP §5.3 agentwire-multi-1: block is {alg, recipients:[{kid, enc, wrappedKey}], ciphertext, fields}, unpadded base64url, exact lengths, valid against the OHP sealed schema", async () => {
    const ps = await parties("rcv_a", "rcv_b", "rcv_c");
    const block = await sealFor(ps);
    expect(Object.keys(block).sort()).toEqual(["alg", "ciphertext", "fields", "recipients"]);
    expect(block.alg).toBe(HPKE_ALG);
    expect(block.fields).toEqual(fields);
    expect(block.recipients.map((r) => r.kid)).toEqual(["rcv_a", "rcv_b", "rcv_c"]);
    for (const r of block.recipients) {
      expect(Object.keys(r).sort()).toEqual(["enc", "kid", "wrappedKey"]);
      for (const s of [r.enc, r.wrappedKey]) expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(b64uDecode(r.enc)).toHaveLength(32);
      expect(b64uDecode(r.wrappedKey)).toHaveLength(WRAPPED_KEY_LENGTH);
    }
    expect(new Set(block.recipients.map((r) => r.enc)).size).toBe(3);
    expect(b64uDecode(block.ciphertext)).toHaveLength(BODY_NONCE_LENGTH + COMMITMENT_BLOCK_LENGTH + pt.length + 16);
    expect(validSealedPerSchema(block)).toBe(true);
  });

  it("OHP D09 step 13 (multi): only the matching slot is decapsulated", async () => {
    const ps = await parties("a", "b", "c");
    const block = await sealFor(ps);
    const spy = vi.spyOn(CipherSuite.prototype, "createRecipientContext");
    await openSealed(block, [ps[1]!.key], aad);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(b64uEncode(new Uint8Array(spy.mock.calls[0]![0].enc as Uint8Array))).toBe(block.recipients[1]!.enc);
  });

  it("OHP §5.3 agentwire-multi-1 property: any plaintext, AAD and 2..4 recipients round-trip for every recipient", async () => {
    const ps = await parties("p0", "p1", "p2", "p3");
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 2, max: 4 }), async (m, a, n) => {
        const chosen = ps.slice(0, n);
        const block = await sealForRecipients({ recipients: chosen.map((p) => ({ kid: p.kid, publicKey: p.pair.publicKey })), plaintext: m, aad: a });
        for (const p of chosen) expect((await openSealed(block, [p.key], a)).plaintext).toEqual(m);
      }),
      { numRuns: 25 },
    );
  });
});

describe("OHP §5.3 agentwire-multi-1: recipient binding (a recipient cannot open another's slot)", () => {
  it("OHP §5.3 agentwire-multi-1: A's private key presented under B's kid fails with ERR_HPKE_OPEN_FAILED", async () => {
    const [a, b] = await parties("a", "b");
    const block = await sealFor([a!, b!]);
    await expectCode(openSealed(block, [{ kid: "b", privateKey: a!.pair.privateKey }], aad), "ERR_HPKE_OPEN_FAILED");
  });

  it("OHP §5.3 agentwire-multi-1: swapping wrappedKey, enc, or both between slots makes both slots fail", async () => {
    const ps = await parties("a", "b", "c");
    const block = await sealFor(ps);
    for (const members of [["wrappedKey"], ["enc"], ["enc", "wrappedKey"]] as const) {
      const swapped = swap(block, 0, 1, members);
      for (const p of ps) await expectCode(openSealed(swapped, [p.key], aad), "ERR_HPKE_OPEN_FAILED");
    }
  });

  it("OHP §5.3 agentwire-multi-1: B's slot relabelled with A's kid (A's own slot dropped) does not open for A", async () => {
    const [a, b] = await parties("a", "b");
    const block = await sealFor([a!, b!]);
    const bSlot = block.recipients[1]!;
    const relabelled = { ...block, recipients: [{ ...bSlot, kid: "a" }, bSlot] };
    await expectCode(openSealed(relabelled, [a!.key], aad), "ERR_HPKE_OPEN_FAILED");
    // Even with B's own key under the relabelled kid: the wrap AAD binds the original kid.
    await expectCode(openSealed({ ...block, recipients: [{ ...bSlot, kid: "a" }] }, [{ kid: "a", privateKey: b!.pair.privateKey }], aad), "ERR_HPKE_OPEN_FAILED");
  });

  it("OHP §5.3 agentwire-multi-1: a plain RFC 9180 OpenBase of a slot's enc over the shared ciphertext (what a spec-only peer does) fails", async () => {
    const [a, b] = await parties("a", "b");
    const block = await sealFor([a!, b!]);
    const slot = block.recipients[0]!;
    await expectCode(hpkeOpenBase(a!.pair.privateKey, b64uDecode(slot.enc), b64uDecode(block.ciphertext), aad), "ERR_HPKE_OPEN_FAILED");
    await expectCode(hpkeOpenBase(a!.pair.privateKey, b64uDecode(slot.enc), b64uDecode(slot.wrappedKey), aad), "ERR_HPKE_OPEN_FAILED");
  });
});

describe("OHP §5.3 agentwire-multi-1: integrity of the recipient list, the body and the AAD", () => {
  it("OHP §5.3 agentwire-multi-1: removing a recipient is detected by every remaining recipient", async () => {
    const ps = await parties("a", "b", "c");
    const block = await sealFor(ps);
    for (let drop = 0; drop < 3; drop++) {
      const fewer = { ...block, recipients: block.recipients.filter((_, i) => i !== drop) };
      for (const [i, p] of ps.entries()) if (i !== drop) await expectCode(openSealed(fewer, [p.key], aad), "ERR_HPKE_OPEN_FAILED");
    }
  });

  it("OHP §5.3 agentwire-multi-1: adding a recipient (a well-formed slot from another sealing) is detected", async () => {
    const [a, b, c] = await parties("a", "b", "c");
    const block = await sealFor([a!, b!]);
    const other = await sealFor([c!, b!]);
    const more = { ...block, recipients: [...block.recipients, other.recipients[0]!] };
    for (const p of [a!, b!]) await expectCode(openSealed(more, [p.key], aad), "ERR_HPKE_OPEN_FAILED");
    // The added recipient gets nothing either: its wrapped key belongs to another message.
    await expectCode(openSealed(more, [c!.key], aad), "ERR_HPKE_OPEN_FAILED");
  });

  it("OHP §5.3 agentwire-multi-1: reordering the recipients is detected", async () => {
    const ps = await parties("a", "b");
    const block = await sealFor(ps);
    const reordered = { ...block, recipients: [...block.recipients].reverse() };
    for (const p of ps) await expectCode(openSealed(reordered, [p.key], aad), "ERR_HPKE_OPEN_FAILED");
  });

  it("OHP §5.3 agentwire-multi-1: tampering with any byte of the ciphertext, of any slot's enc/wrappedKey, or of the AAD fails", async () => {
    const ps = await parties("a", "b");
    const block = await sealFor(ps, text("short"));
    const me = ps[0]!.key;
    const ct = b64uDecode(block.ciphertext);
    for (let i = 0; i < ct.length; i++) {
      await expectCode(openSealed({ ...block, ciphertext: b64uEncode(flip(ct, i, i % 8)) }, [me], aad), "ERR_HPKE_OPEN_FAILED");
    }
    for (const slot of [0, 1]) {
      for (const member of ["enc", "wrappedKey"] as const) {
        const bytes = b64uDecode(block.recipients[slot]![member]);
        for (const i of [0, 7, bytes.length - 1]) {
          const recipients = block.recipients.map((r, k) => (k === slot ? { ...r, [member]: b64uEncode(flip(bytes, i, 3)) } : r));
          await expectCode(openSealed({ ...block, recipients }, [me], aad), "ERR_HPKE_OPEN_FAILED");
        }
      }
    }
    for (let i = 0; i < aad.length; i += 5) await expectCode(openSealed(block, [me], flip(aad, i)), "ERR_HPKE_OPEN_FAILED");
    await expectCode(openSealed(block, [me], new Uint8Array(0)), "ERR_HPKE_OPEN_FAILED");
  });

  it("OHP §5.3 agentwire-multi-1: the mode cannot be switched (wrappedKey stripped → spec mode fails; added to a spec block → fails)", async () => {
    const [a, b] = await parties("a", "b");
    const block = await sealFor([a!, b!]);
    const stripped = { ...block, recipients: block.recipients.map(({ kid, enc }) => ({ kid, enc })) };
    await expectCode(openSealed(stripped, [a!.key], aad), "ERR_HPKE_OPEN_FAILED");
    // Long enough that the spec-mode ciphertext also passes the multi-mode minimum length: the failure is cryptographic.
    const single = await sealSingle({ recipient: { kid: "a", publicKey: a!.pair.publicKey }, plaintext: new Uint8Array(100), aad, fields });
    const dressed = { ...single, recipients: [{ ...single.recipients[0], wrappedKey: block.recipients[0]!.wrappedKey }] };
    await expectCode(openSealed(dressed, [a!.key], aad), "ERR_HPKE_OPEN_FAILED");
  });
});

describe("OHP §5.3 agentwire-multi-1: key commitment (a malicious sender cannot split recipients)", () => {
  const body = new Chacha20Poly1305();

  /** Builds a multi block by hand, with a CEK per recipient and a chosen body plaintext: what a malicious sender can do. */
  async function forge(ps: readonly Party[], ceks: readonly Uint8Array[], bodyKey: Uint8Array, bodyPlaintext: Uint8Array): Promise<MultiSealedBlock> {
    const entries = await Promise.all(
      ps.map(async (p, i) => {
        const w = await sealWithSuite("x25519", p.pair.publicKey, ceks[i]!, wrapAad(HPKE_ALG, p.kid, aad), text(WRAP_LABEL));
        return { kid: p.kid, enc: w.enc, wrappedKey: w.ciphertext };
      }),
    );
    const nonce = new Uint8Array(BODY_NONCE_LENGTH).fill(7);
    const ct = new Uint8Array(await body.createEncryptionContext(bodyKey).seal(nonce, bodyPlaintext, bodyAad(HPKE_ALG, entries, aad)));
    return {
      alg: HPKE_ALG,
      recipients: entries.map((e) => ({ kid: e.kid, enc: b64uEncode(e.enc), wrappedKey: b64uEncode(e.wrappedKey) })),
      ciphertext: b64uEncode(Uint8Array.of(...nonce, ...ct)),
    };
  }

  it("OHP §5.3 agentwire-multi-1: a hand-built block following the documented wire format opens (the docs are the construction)", async () => {
    const ps = await parties("a", "b");
    const cek = new Uint8Array(32).fill(1);
    const block = await forge(ps, [cek, cek], cek, Uint8Array.of(...new Uint8Array(COMMITMENT_BLOCK_LENGTH), ...pt));
    for (const p of ps) expect((await openSealed(block, [p.key], aad)).plaintext).toEqual(pt);
  });

  it("OHP §5.3 agentwire-multi-1: a body without the all-zero commitment block is rejected even though the AEAD tag verifies", async () => {
    const ps = await parties("a", "b");
    const cek = new Uint8Array(32).fill(1);
    const padding = new Uint8Array(COMMITMENT_BLOCK_LENGTH);
    padding[31] = 1;
    const block = await forge(ps, [cek, cek], cek, Uint8Array.of(...padding, ...pt));
    for (const p of ps) await expectCode(openSealed(block, [p.key], aad), "ERR_HPKE_OPEN_FAILED");
  });

  it("OHP §5.3 agentwire-multi-1: different content keys for different recipients: only the one the body was made under opens", async () => {
    const ps = await parties("a", "b");
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const block = await forge(ps, [k1, k2], k1, Uint8Array.of(...new Uint8Array(COMMITMENT_BLOCK_LENGTH), ...pt));
    expect((await openSealed(block, [ps[0]!.key], aad)).plaintext).toEqual(pt);
    await expectCode(openSealed(block, [ps[1]!.key], aad), "ERR_HPKE_OPEN_FAILED");
  });
});

describe("OHP §5.3 sealed block validation (multi-recipient and fields)", () => {
  it("OHP §5.3 agentwire-multi-1: malformed members → ERR_HPKE_MALFORMED (base64url, lengths, mixed modes, in any slot)", async () => {
    const ps = await parties("a", "b");
    const block = await sealFor(ps);
    const [r0, r1] = [block.recipients[0]!, block.recipients[1]!];
    const wk = b64uDecode(r1.wrappedKey);
    const bad: unknown[] = [
      { ...block, recipients: [r0, { kid: "b", enc: r1.enc }] },
      { ...block, recipients: [r0, { ...r1, wrappedKey: `${r1.wrappedKey}=` }] },
      { ...block, recipients: [r0, { ...r1, wrappedKey: "not base64url!" }] },
      { ...block, recipients: [r0, { ...r1, wrappedKey: b64uEncode(wk.subarray(1)) }] },
      { ...block, recipients: [r0, { ...r1, enc: b64uEncode(new Uint8Array(31)) }] },
      { ...block, recipients: [r0, { ...r1, enc: "" }] },
      { ...block, ciphertext: b64uEncode(new Uint8Array(BODY_NONCE_LENGTH + COMMITMENT_BLOCK_LENGTH + 15)) },
      { ...block, ciphertext: `${block.ciphertext}==` },
      { ...block, fields: "payment.disputeDetail" },
      { ...block, fields: [] },
      { ...block, fields: [1] },
      { ...block, fields: ["a", "a"] },
    ];
    for (const b of bad) await expectCode(openSealed(b as SealedBlockInput, [ps[0]!.key], aad), "ERR_HPKE_MALFORMED");
  });

  it("OHP §5.3 unknown alg on a multi-recipient block → ERR_HPKE_SUITE_UNSUPPORTED", async () => {
    const ps = await parties("a", "b");
    const block = await sealFor(ps);
    for (const alg of ["HPKE/X25519-SHA256-AES128GCM", "", "HPKE/X25519-SHA256-CHACHA20POLY1305 "]) {
      await expectCode(openSealed({ ...block, alg }, [ps[0]!.key], aad), "ERR_HPKE_SUITE_UNSUPPORTED");
    }
  });

  it("OHP §5.3 sealForRecipients caller errors → typed codes (no recipients, duplicate kids, too many, bad key, bad fields, unknown suite)", async () => {
    const [a] = await parties("a");
    const r = { kid: "a", publicKey: a!.pair.publicKey };
    await expectCode(sealForRecipients({ recipients: [], plaintext: pt, aad }), "ERR_HPKE_INVALID_ARGUMENT");
    await expectCode(sealForRecipients({ recipients: [r, r], plaintext: pt, aad }), "ERR_HPKE_INVALID_ARGUMENT");
    await expectCode(
      sealForRecipients({ recipients: Array.from({ length: 257 }, (_, i) => ({ ...r, kid: `k${i}` })), plaintext: pt, aad }),
      "ERR_HPKE_INVALID_ARGUMENT",
    );
    await expectCode(sealForRecipients({ recipients: [r, { kid: "b", publicKey: new Uint8Array(31) }], plaintext: pt, aad }), "ERR_HPKE_KEY_INVALID");
    await expectCode(sealForRecipients({ recipients: [r, { kid: "b", publicKey: new Uint8Array(32) }], plaintext: pt, aad }), "ERR_HPKE_KEY_INVALID");
    for (const f of [[], [""], ["x", "x"], "x", [7]]) {
      await expectCode(sealForRecipients({ recipients: [r], plaintext: pt, aad, fields: f as string[] }), "ERR_HPKE_INVALID_ARGUMENT");
      await expectCode(sealForRecipients({ recipients: [r, { ...r, kid: "b" }], plaintext: pt, aad, fields: f as string[] }), "ERR_HPKE_INVALID_ARGUMENT");
    }
    await expectCode(sealForRecipients({ recipients: [r], plaintext: pt, aad, suite: "p256" as never }), "ERR_HPKE_SUITE_UNSUPPORTED");
    await expectCode(sealMulti({ recipients: [r], plaintext: pt, aad }), "ERR_HPKE_INVALID_ARGUMENT");
  });
});

describe("OHP §5.3 post-quantum suite X-Wing (agentwire extension) behind the capability flag", () => {
  it("X-Wing is installed (capability probe xwingAvailable)", async () => {
    expect(await xwingAvailable()).toBe(true);
  });

  it("OHP §5.3 X-Wing: single and multi blocks carry alg HPKE/X-Wing-SHA256-CHACHA20POLY1305; off by default → ERR_HPKE_SUITE_UNSUPPORTED; enabled → opens", async () => {
    const a = await generateXWingKeyPair();
    const b = await generateXWingKeyPair();
    const single = await sealForRecipients({ recipients: [{ kid: "a", publicKey: a.publicKey }], plaintext: pt, aad, suite: "xwing", fields });
    const multi = await sealForRecipients({
      recipients: [
        { kid: "a", publicKey: a.publicKey },
        { kid: "b", publicKey: b.publicKey },
      ],
      plaintext: pt,
      aad,
      suite: "xwing",
      fields,
    });
    for (const block of [single, multi]) {
      expect(block.alg).toBe(HPKE_ALG_XWING);
      expect(b64uDecode(block.recipients[0]!.enc)).toHaveLength(1120);
      expect(validSealedPerSchema(block)).toBe(false); // not OHP v0.1: the schema's alg const refuses it
      await expectCode(openSealed(block, [{ kid: "a", privateKey: a.privateKey }], aad), "ERR_HPKE_SUITE_UNSUPPORTED");
      const opened = await openSealed(block, [{ kid: "a", privateKey: a.privateKey, suite: "xwing" }], aad, { suites: ["x25519", "xwing"] });
      expect(opened.plaintext).toEqual(pt);
      expect(opened.alg).toBe(HPKE_ALG_XWING);
      // An X25519-only key under the same kid is never used on an X-Wing block.
      await expectCode(openSealed(block, [{ kid: "a", privateKey: a.privateKey, suite: "x25519" }], aad, { suites: ["xwing"] }), "ERR_HPKE_NO_RECIPIENT");
    }
    expect((await openSealed(multi, [{ kid: "b", privateKey: b.privateKey }], aad, { suites: ["xwing"] })).mode).toBe("multi");
    // X-Wing public keys are 1216 raw bytes: an X25519 key is refused.
    const x = await generateX25519KeyPair();
    await expectCode(sealForRecipients({ recipients: [{ kid: "x", publicKey: x.publicKey }], plaintext: pt, aad, suite: "xwing" }), "ERR_HPKE_KEY_INVALID");
  });

  it("OHP §5.3 X-Wing: a block relabelled from X-Wing to the X25519 alg (or back) does not open", async () => {
    const a = await generateXWingKeyPair();
    const block = await sealForRecipients({ recipients: [{ kid: "a", publicKey: a.publicKey }], plaintext: pt, aad, suite: "xwing" });
    await expectCode(openSealed({ ...block, alg: HPKE_ALG }, [{ kid: "a", privateKey: a.privateKey }], aad), "ERR_HPKE_MALFORMED");
  });
});
