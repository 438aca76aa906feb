/**
 * OAP-CORE-1.0 §19 receipts: one signed receipt per invocation, an append-only hash chain per
 * Principal (first = "genesis"), §19.3 anchoring in transparency logs, and offline verification
 * that pinpoints the first broken receipt — on a chain of 10,000.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import {
  AnchorError,
  TLOG_PROOF_HEADER,
  anchorReceipt,
  anchorReceiptInLog,
  formatTlogProof,
  parseTlogProof,
  receiptHash,
  verifyReceiptAnchor,
} from "../../src/oap/anchors.js";
import { validateOapDocument } from "../../src/oap/documents.js";
import { MemoryReceiptStore, OAP_RECEIPT_GENESIS, ReceiptLedger, assertReceiptChain, invocationReceiptBody, verifyReceiptChain } from "../../src/oap/receipts.js";
import { addReceiptSignature, signingInput, RECEIPT_SIGNATURE_EXCLUDED } from "../../src/oap/sign.js";
import { jcsDigest, oapIds, sha256Digest } from "../../src/oap/util.js";
import { MemoryLogStore, TlogClient, TransparencyLog, ed25519NoteSigner, startTlogServer, verifierKeyOf } from "../../src/trust/tlog/index.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, codeOf, counterRandom, keys, resolver, toolSigner, unsignedRequest } from "./helpers.js";

const LOG_A = "log-a.agentwire.example";
const LOG_B = "log-b.agentwire.example";
const seedA = new Uint8Array(32).fill(0xa1);
const seedB = new Uint8Array(32).fill(0xb2);
const vkeyA = verifierKeyOf(LOG_A, seedA);
const vkeyB = verifierKeyOf(LOG_B, seedB);
const newLog = (origin: string, seed: Uint8Array): TransparencyLog => new TransparencyLog(new MemoryLogStore(), { origin, signers: [ed25519NoteSigner(origin, seed)] });

function ledger(clock: TestClock, extra: { logs?: TransparencyLog[]; logClients?: TlogClient[] } = {}): ReceiptLedger {
  return new ReceiptLedger({ signer: toolSigner, clock: clock.now, ids: oapIds(clock.now, counterRandom()), ...extra });
}

function body(clock: TestClock, principal = PRINCIPAL_DID, n = 0): ReturnType<typeof invocationReceiptBody> {
  const request = unsignedRequest(clock, { principal_did: principal, input: { location: "Berlin", days: (n % 14) + 1 } }) as never;
  return invocationReceiptBody({ request, response: { output: { forecast: [], n }, cost: { amount: "0.001", currency: "EUR" } }, toolDid: TOOL_DID, actionVersion: "2.4.1", policyDecisions: [{ id: "dec_1", outcome: "allow", rules: ["oap.10.1.api_key"] }] });
}

describe("§19.1 one receipt per invocation", () => {
  it("invocationReceiptBody: input/output hashes are sha256 of the JCS form; the issued receipt is schema-valid and signed by the Tool", async () => {
    const clock = new TestClock();
    const request = unsignedRequest(clock, { policy_assertions: { provenance_tags: ["nda:x"] } });
    const b = invocationReceiptBody({ request: request as never, response: { output: { b: 1, a: [2] }, model_version: "m1" }, toolDid: TOOL_DID });
    expect(b).toMatchObject({ type: "invocation", action_id: "get_forecast", input_hash: jcsDigest(request["input"]), output_hash: jcsDigest({ a: [2], b: 1 }), provenance_tags_in: ["nda:x"], model_version: "m1" });
    const { receipt, hash } = await ledger(clock).issue(b);
    expect(validateOapDocument("oap-receipt", receipt)).toEqual([]);
    expect(receipt["previous_receipt_hash"]).toBe(OAP_RECEIPT_GENESIS);
    expect(receipt["receipt_id"]).toMatch(/^urn:oap:receipt:[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(receipt["timestamp"]).toBe(clock.iso());
    expect(receipt["signatures"]).toEqual([{ by: `${TOOL_DID}#key-1`, alg: "EdDSA", value: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/) }]);
    expect(hash).toBe(sha256Digest(signingInput(receipt, RECEIPT_SIGNATURE_EXCLUDED)));
    expect((await verifyReceiptChain([receipt], { keys: resolver })).ok).toBe(true);
  });

  it("a failed invocation's receipt has no output_hash", () => {
    const clock = new TestClock();
    const b = invocationReceiptBody({ request: unsignedRequest(clock) as never, toolDid: TOOL_DID });
    expect(b).not.toHaveProperty("output_hash");
  });
});

describe("§19.2 per-Principal hash chains", () => {
  it("each Principal's first receipt cites genesis, later ones the hash of that Principal's previous receipt", async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    const a1 = await l.issue(body(clock, "did:plc:alice"));
    clock.advance(1);
    const b1 = await l.issue(body(clock, "did:plc:bob"));
    clock.advance(1);
    const a2 = await l.issue(body(clock, "did:plc:alice"));
    expect(a1.receipt["previous_receipt_hash"]).toBe("genesis");
    expect(b1.receipt["previous_receipt_hash"]).toBe("genesis");
    expect(a2.receipt["previous_receipt_hash"]).toBe(a1.hash);
    const report = await verifyReceiptChain([a1.receipt, b1.receipt, a2.receipt], { keys: resolver });
    expect(report).toMatchObject({ ok: true, receipts: 3, signaturesVerified: true });
    expect(report.principals).toEqual([
      { principal_did: "did:plc:alice", count: 2, head: a2.hash },
      { principal_did: "did:plc:bob", count: 1, head: b1.hash },
    ]);
  });

  it("concurrent issues for one Principal are serialised: no fork", async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    await Promise.all(Array.from({ length: 20 }, (_, i) => l.issue(body(clock, PRINCIPAL_DID, i))));
    const chain = await l.store.list(PRINCIPAL_DID);
    expect(chain).toHaveLength(20);
    expect((await verifyReceiptChain(chain, { keys: resolver })).ok).toBe(true);
  });

  it("the store refuses an append that does not extend its head", async () => {
    const store = new MemoryReceiptStore();
    const clock = new TestClock();
    const { receipt, hash } = await ledger(clock).issue(body(clock));
    store.append(PRINCIPAL_DID, receipt, hash, "genesis");
    expect(await codeOf(() => store.append(PRINCIPAL_DID, { ...receipt, receipt_id: "urn:oap:receipt:2" }, hash, "genesis"))).toBe("ERR_OAP_RECEIPT_CHAIN");
    expect(store.list(PRINCIPAL_DID, { offset: 0, limit: 1 })).toHaveLength(1);
    expect(store.get(String(receipt["receipt_id"]))).toEqual(receipt);
  });

  it("an agent counter-signature added later changes neither the hash nor the chain", async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    const r1 = await l.issue(body(clock));
    const r2 = await l.issue(body(clock));
    const cosigned = addReceiptSignature(r1.receipt, { key: keys.agent }) as unknown as JsonObject;
    expect(receiptHash(cosigned)).toBe(r1.hash);
    const report = await verifyReceiptChain([cosigned, r2.receipt], { keys: resolver, requiredSigners: (r) => (r === cosigned ? [TOOL_DID, AGENT_DID] : [TOOL_DID]) });
    expect(report.ok).toBe(true);
  });
});

describe("§19.2 offline verification of 10,000 receipts pinpoints the first broken one", () => {
  let chain: JsonObject[];
  let heads: string[];

  beforeAll(async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    chain = [];
    heads = [];
    for (let i = 0; i < 10_000; i++) {
      clock.advance(1);
      const { receipt, hash } = await l.issue(body(clock, PRINCIPAL_DID, i));
      chain.push(receipt);
      heads.push(hash);
    }
  }, 120_000);

  it("the intact chain verifies, signatures included", async () => {
    const report = await verifyReceiptChain(chain, { keys: resolver });
    expect(report).toMatchObject({ ok: true, receipts: 10_000, signaturesVerified: true });
    expect(report.principals).toEqual([{ principal_did: PRINCIPAL_DID, count: 10_000, head: heads[9_999] }]);
  }, 60_000);

  it("one altered receipt (position 6,421) is pinpointed by its signature; without keys by the next link", async () => {
    const altered = [...chain];
    altered[6421] = { ...(chain[6421] as JsonObject), cost: { amount: "0.000", currency: "EUR" } };
    const withKeys = await verifyReceiptChain(altered, { keys: resolver });
    expect(withKeys.firstBroken).toMatchObject({ index: 6421, code: "ERR_OAP_RECEIPT_SIGNATURE", receipt_id: chain[6421]!["receipt_id"] });
    const hashOnly = await verifyReceiptChain(altered);
    expect(hashOnly.firstBroken).toMatchObject({ index: 6422, previousIndex: 6421, code: "ERR_OAP_RECEIPT_LINK" });
    expect(await codeOf(() => assertReceiptChain(altered, { keys: resolver }))).toBe("ERR_OAP_RECEIPT_SIGNATURE");
  }, 60_000);

  it("a re-signed forgery (attacker key under the Tool's kid) is caught at the forged receipt", async () => {
    const forged = [...chain];
    const { signatures: _s, ...core } = chain[1234] as JsonObject;
    forged[1234] = addReceiptSignature({ ...core, output_hash: `sha256:${"f".repeat(64)}` }, { key: keys.attacker, kid: `${TOOL_DID}#key-1` }) as unknown as JsonObject;
    expect((await verifyReceiptChain(forged, { keys: resolver })).firstBroken).toMatchObject({ index: 1234, code: "ERR_OAP_RECEIPT_SIGNATURE" });
  }, 60_000);

  it("a deleted, a swapped, a duplicated receipt, a forged genesis and a stripped signature are each located", async () => {
    const deleted = [...chain.slice(0, 500), ...chain.slice(501)];
    expect((await verifyReceiptChain(deleted)).firstBroken).toMatchObject({ index: 500, code: "ERR_OAP_RECEIPT_LINK", previousIndex: 499 });
    const swapped = [...chain];
    [swapped[10], swapped[11]] = [swapped[11]!, swapped[10]!];
    expect((await verifyReceiptChain(swapped)).firstBroken).toMatchObject({ index: 10, code: "ERR_OAP_RECEIPT_LINK" });
    const duplicated = [...chain.slice(0, 3), chain[2]!, ...chain.slice(3)];
    expect((await verifyReceiptChain(duplicated)).firstBroken).toMatchObject({ index: 3, code: "ERR_OAP_RECEIPT_DUPLICATE" });
    expect((await verifyReceiptChain(chain.slice(1))).firstBroken).toMatchObject({ index: 0, code: "ERR_OAP_RECEIPT_GENESIS" });
    // A segment verifies when its start hash is given.
    expect((await verifyReceiptChain(chain.slice(5000, 5100), { startHashes: { [PRINCIPAL_DID]: heads[4999]! } })).ok).toBe(true);
    const stripped = [...chain];
    stripped[77] = { ...(chain[77] as JsonObject), signatures: [] };
    expect((await verifyReceiptChain(stripped)).firstBroken).toMatchObject({ index: 77, code: "ERR_OAP_RECEIPT_INVALID" });
  }, 60_000);
});

describe("§19.2 other breaks", () => {
  it("timestamps must not go backwards within a Principal's chain; non-objects and non-receipts are invalid", async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    const r1 = await l.issue(body(clock));
    clock.advance(-1000);
    const r2 = await l.issue(body(clock));
    expect((await verifyReceiptChain([r1.receipt, r2.receipt], { keys: resolver })).firstBroken).toMatchObject({ index: 1, code: "ERR_OAP_RECEIPT_TIME_ORDER" });
    expect((await verifyReceiptChain([r1.receipt, "x"])).firstBroken).toMatchObject({ index: 1, code: "ERR_OAP_RECEIPT_INVALID" });
    expect((await verifyReceiptChain([{ ...r1.receipt, previous_receipt_hash: null }])).firstBroken).toMatchObject({ index: 0, code: "ERR_OAP_RECEIPT_INVALID" });
    // Without the schema check a null link is simply the wrong citation.
    expect((await verifyReceiptChain([{ ...r1.receipt, previous_receipt_hash: null }], { checkSchema: false })).firstBroken).toMatchObject({ code: "ERR_OAP_RECEIPT_GENESIS" });
  });
});

describe("§19.3 transparency log anchoring", () => {
  it("anchors in two logs; each anchor verifies offline with only the log's key; anchors change neither hash nor signatures", async () => {
    const clock = new TestClock();
    const logA = newLog(LOG_A, seedA);
    const logB = newLog(LOG_B, seedB);
    for (let i = 0; i < 5; i++) logA.append(new Uint8Array(32).fill(i));
    const l = ledger(clock, { logs: [logA, logB] });
    const r1 = await l.issueAndAnchor(body(clock));
    const r2 = await l.issueAndAnchor(body(clock));
    const anchors = r1.receipt["anchors"] as JsonObject[];
    expect(anchors.map((a) => [a["log_id"], a["log_index"]])).toEqual([
      [LOG_A, 5],
      [LOG_B, 0],
    ]);
    expect(String(anchors[0]!["inclusion_proof"]).startsWith(`${TLOG_PROOF_HEADER}\nindex 5\n`)).toBe(true);
    expect(validateOapDocument("oap-receipt", r1.receipt)).toEqual([]);
    expect(receiptHash(r1.receipt)).toBe(r1.hash);
    expect((await l.store.list(PRINCIPAL_DID))[0]!["anchors"]).toEqual(anchors);
    const report = await verifyReceiptChain([r1.receipt, r2.receipt], { keys: resolver, logKeys: [vkeyA, vkeyB], minAnchors: 2 });
    expect(report).toMatchObject({ ok: true, anchorsVerified: 4, anchorsSkipped: 0 });
    // Only one log trusted: the other anchors are skipped, and two verified anchors can no longer be demanded.
    expect(await verifyReceiptChain([r1.receipt, r2.receipt], { logKeys: [vkeyA] })).toMatchObject({ ok: true, anchorsVerified: 2, anchorsSkipped: 2 });
    expect((await verifyReceiptChain([r1.receipt], { logKeys: [vkeyA], minAnchors: 2 })).firstBroken).toMatchObject({ code: "ERR_OAP_RECEIPT_ANCHOR" });
  });

  it("an anchor for another receipt, a wrong index or a checkpoint of another log fails", async () => {
    const clock = new TestClock();
    const logA = newLog(LOG_A, seedA);
    const l = ledger(clock, { logs: [logA] });
    const r1 = await l.issueAndAnchor(body(clock));
    const r2 = await l.issueAndAnchor(body(clock));
    const a1 = (r1.receipt["anchors"] as JsonObject[])[0]!;
    const a2 = (r2.receipt["anchors"] as JsonObject[])[0]!;
    expect(verifyReceiptAnchor(r1.hash, a1, [vkeyA]).index).toBe(0);
    expect(await codeOf(() => verifyReceiptAnchor(r1.hash, a2, [vkeyA]))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
    expect(await codeOf(() => verifyReceiptAnchor(r1.hash, { ...a1, log_index: 1 }, [vkeyA]))).toBe("ERR_OAP_ANCHOR_INVALID");
    expect(await codeOf(() => verifyReceiptAnchor(r1.hash, { ...a1, log_id: LOG_B }, [vkeyA]))).toMatch(/^ERR_(NOTE|CHECKPOINT)_/);
    const swapped = { ...r1.receipt, anchors: [a2] };
    expect((await verifyReceiptChain([swapped], { logKeys: [vkeyA] })).firstBroken).toMatchObject({ index: 0, code: "ERR_OAP_RECEIPT_ANCHOR" });
  });

  it("anchoring over HTTP with the tlog client", async () => {
    const logA = newLog(LOG_A, seedA);
    const server = await startTlogServer({ log: logA });
    try {
      const clock = new TestClock();
      const client = new TlogClient(server.url, { verifiers: [vkeyA], origin: LOG_A });
      const issued = await ledger(clock, { logClients: [client] }).issueAndAnchor(body(clock));
      const anchor = await anchorReceipt(issued.receipt, client);
      expect(anchor.log_id).toBe(LOG_A);
      expect(verifyReceiptAnchor(issued.hash, anchor, [vkeyA]).log_id).toBe(LOG_A);
      expect((await verifyReceiptChain([issued.receipt], { logKeys: [vkeyA], minAnchors: 1 })).ok).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("c2sp.org/tlog-proof@v1 text round-trips; malformed texts are refused", async () => {
    const log = newLog(LOG_A, seedA);
    const clock = new TestClock();
    const { receipt } = await ledger(clock).issue(body(clock));
    for (let i = 0; i < 6; i++) log.append(new Uint8Array(32).fill(i));
    const anchor = anchorReceiptInLog(receipt, log);
    const parsed = parseTlogProof(anchor.inclusion_proof);
    expect(parsed.index).toBe(6);
    expect(parsed.hashes.length).toBeGreaterThan(0);
    expect(formatTlogProof(parsed)).toBe(anchor.inclusion_proof);
    const withExtra = formatTlogProof({ ...parsed, extra: new Uint8Array([1, 2]) });
    expect(parseTlogProof(withExtra).extra).toEqual(new Uint8Array([1, 2]));
    for (const bad of ["", "c2sp.org/tlog-proof@v2\nindex 0\n\ncp", `${TLOG_PROOF_HEADER}\nindex 01\n\ncp`, `${TLOG_PROOF_HEADER}\nindex 0\nnot-base64!\n\ncp`, `${TLOG_PROOF_HEADER}\nindex 0\n`, 42]) {
      expect(() => parseTlogProof(bad)).toThrow(AnchorError);
    }
  });
});
