import { describe, expect, it } from "vitest";
import { GENESIS_PREV, appendRecord, assertChain, recordDigest, verifyChain } from "../../../src/trust/chain/index.js";
import { canonicalizeJsonBytes } from "../../../src/jcs/index.js";
import { createHash } from "node:crypto";

type Receipt = Record<string, unknown>;

function build(n: number): Receipt[] {
  const chain: Receipt[] = [];
  for (let i = 0; i < n; i++) chain.push(appendRecord(chain, { seq: i, action: `step-${i}`, at: `2026-05-28T13:4${i % 10}:00Z` }));
  return chain;
}

function codeOfThrow(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (e) {
    return (e as { code: string }).code;
  }
}

describe("receipts hash chain", () => {
  it("genesis: the first record cites sha256:000…0; each next record cites SHA-256 of the previous RFC 8785 canonical bytes", () => {
    const chain = build(5);
    expect(chain[0]!["prev"]).toBe(GENESIS_PREV);
    const expected = `sha256:${createHash("sha256").update(canonicalizeJsonBytes(chain[2])).digest("hex")}`;
    expect(chain[3]!["prev"]).toBe(expected);
    expect(recordDigest(chain[2])).toBe(expected);
    const result = verifyChain(chain);
    expect(result).toEqual({ ok: true, length: 5, head: recordDigest(chain[4]) });
    expect(assertChain(chain)).toBe(recordDigest(chain[4]));
  });

  it("the digest does not depend on member order (JCS)", () => {
    expect(recordDigest({ a: 1, b: [true, null] })).toBe(recordDigest({ b: [true, null], a: 1 }));
  });

  it("an empty chain is valid; its head is the genesis value", () => {
    expect(verifyChain([])).toEqual({ ok: true, length: 0, head: GENESIS_PREV });
  });

  it("a modified record breaks the link of the NEXT record: the first broken index is pinpointed", () => {
    const chain = build(10);
    chain[4] = { ...chain[4], action: "forged" };
    const r = verifyChain(chain);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.index).toBe(5);
    expect(r.code).toBe("ERR_CHAIN_LINK_BROKEN");
    expect(r.error.code).toBe("ERR_CHAIN_LINK_BROKEN");
    expect(r.error.detail?.["index"]).toBe(5);
    expect(codeOfThrow(() => assertChain(chain))).toBe("ERR_CHAIN_LINK_BROKEN");
  });

  it("removed, reordered and inserted records are detected at the first affected position", () => {
    const chain = build(8);
    const removed = [...chain.slice(0, 3), ...chain.slice(4)];
    expect(verifyChain(removed)).toMatchObject({ ok: false, index: 3, code: "ERR_CHAIN_LINK_BROKEN" });
    const swapped = [...chain];
    [swapped[5], swapped[6]] = [swapped[6]!, swapped[5]!];
    expect(verifyChain(swapped)).toMatchObject({ ok: false, index: 5, code: "ERR_CHAIN_LINK_BROKEN" });
    // Two breaks: only the first is reported.
    const twice = [...chain];
    twice[2] = { ...twice[2], x: 1 };
    twice[6] = { ...twice[6], x: 1 };
    expect(verifyChain(twice)).toMatchObject({ ok: false, index: 3 });
  });

  it("genesis rules: the first record must cite the genesis value; a second genesis mid-chain is a broken link", () => {
    const chain = build(4);
    expect(verifyChain(chain.slice(1))).toMatchObject({ ok: false, index: 0, code: "ERR_CHAIN_GENESIS" });
    const restarted = [...chain, { seq: 9, prev: GENESIS_PREV }];
    expect(verifyChain(restarted)).toMatchObject({ ok: false, index: 4, code: "ERR_CHAIN_LINK_BROKEN" });
  });

  it("a segment verifies from an anchor (the digest of the record before it)", () => {
    const chain = build(6);
    const anchor = recordDigest(chain[2]);
    expect(verifyChain(chain.slice(3), { anchor })).toMatchObject({ ok: true, length: 3, head: recordDigest(chain[5]) });
    expect(verifyChain(chain.slice(4), { anchor })).toMatchObject({ ok: false, index: 0, code: "ERR_CHAIN_GENESIS" });
    const next = appendRecord(chain.slice(3), { seq: 6 }, { anchor });
    expect(next["prev"]).toBe(recordDigest(chain[5]));
    expect(appendRecord([], { seq: 0 }, { anchor })["prev"]).toBe(anchor);
  });

  it("malformed records: ERR_CHAIN_RECORD_INVALID with the index", () => {
    const chain = build(3);
    expect(verifyChain([...chain, "text" as unknown as Receipt])).toMatchObject({ ok: false, index: 3, code: "ERR_CHAIN_RECORD_INVALID" });
    expect(verifyChain([...chain, { seq: 3 }])).toMatchObject({ ok: false, index: 3, code: "ERR_CHAIN_RECORD_INVALID" });
    expect(verifyChain([...chain, { seq: 3, prev: "sha256:ABC" }])).toMatchObject({ ok: false, index: 3, code: "ERR_CHAIN_RECORD_INVALID" });
    expect(verifyChain([{ prev: GENESIS_PREV, bad: Number.NaN }, chain[1]!])).toMatchObject({ ok: false, index: 0, code: "ERR_CHAIN_RECORD_INVALID" });
    expect(verifyChain("nope" as unknown as Receipt[])).toMatchObject({ ok: false, index: 0, code: "ERR_CHAIN_RECORD_INVALID" });
    expect(codeOfThrow(() => appendRecord(chain, { prev: "x" }))).toBe("ERR_CHAIN_RECORD_INVALID");
    expect(codeOfThrow(() => appendRecord(chain, [] as unknown as Receipt))).toBe("ERR_CHAIN_RECORD_INVALID");
  });

  it("a custom link member and canonical form (e.g. OAP receipts)", () => {
    const opts = { linkField: "previousReceipt", canonicalBytes: (r: Receipt) => new TextEncoder().encode(JSON.stringify(r)) };
    const chain: Receipt[] = [];
    for (let i = 0; i < 4; i++) chain.push(appendRecord(chain, { n: i }, opts));
    expect(chain[0]!["previousReceipt"]).toBe(GENESIS_PREV);
    expect(verifyChain(chain, opts).ok).toBe(true);
    expect(verifyChain(chain).ok).toBe(false);
    chain[1] = { ...chain[1], n: 99 };
    expect(verifyChain(chain, opts)).toMatchObject({ ok: false, index: 2, code: "ERR_CHAIN_LINK_BROKEN" });
  });
});
