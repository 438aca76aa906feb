/**
 * OAP-CORE-1.0 §11.3 settlement (a signed Settlement Receipt referencing the underlying
 * invocation receipts) and §23.4 the refund endpoint (disputes referencing receipts,
 * acknowledgement within 72 hours, resolution within 30 days or escalation).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { RefundDesk } from "../../../src/oap/commerce/disputes.js";
import { SettlementService, acceptSettlement, settlementHash, verifySettlement } from "../../../src/oap/commerce/settlement.js";
import { Wallet } from "../../../src/oap/commerce/wallet.js";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { invocationReceiptBody, verifyReceiptChain, type ReceiptLedger } from "../../../src/oap/receipts.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, keys, thrown, unsignedRequest } from "../helpers.js";
import { WALLET_DID, allKeys, extraKeys, testLedger } from "../governance/fixtures.js";

let clock: TestClock;
let ledger: ReceiptLedger;
let receipts: string[];

async function invoke(amount: string, principal = PRINCIPAL_DID): Promise<string> {
  const request = unsignedRequest(clock, { principal_did: principal }) as never;
  const { receipt } = await ledger.issue(invocationReceiptBody({ request, response: { output: { ok: true }, cost: { amount, currency: "EUR" } }, toolDid: TOOL_DID }));
  return String(receipt["receipt_id"]);
}

beforeEach(async () => {
  clock = new TestClock();
  ledger = testLedger(clock);
  receipts = [await invoke("0.001"), await invoke("0.50"), await invoke("2.00")];
});

describe("§11.3 settlement", () => {
  it("§11.3 a signed, schema-valid statement referencing the invocation receipts; its receipt joins the chain", async () => {
    const svc = new SettlementService({ providerDid: TOOL_DID, signer: keys.tool, receipts: ledger.store, ledger, clock: clock.now, random: counterRandom() });
    const { statement, receipt } = await svc.settle({
      agent_did: AGENT_DID,
      principal_did: PRINCIPAL_DID,
      currency: "EUR",
      window_start: "2026-05-01T00:00:00Z",
      window_end: "2026-05-31T23:59:59Z",
      lines: [
        { receipt_id: receipts[0] as string, amount: "0.001", model: "per_invocation", unit: "call", count: 1 },
        { receipt_id: receipts[1] as string, amount: "0.50", model: "per_invocation" },
        { receipt_id: receipts[2] as string, amount: "2", model: "per_outcome" },
      ],
      adjustments: [{ reason: "volume_discount", amount: "-0.101" }],
      payment_instrument: { type: "wallet_transfer", instrument_id: WALLET_DID },
    });
    expect(validateOapDocument("oap-settlement-statement", statement)).toEqual([]);
    expect(statement.total_amount_due).toBe("2.40");
    expect(statement.statement_id).toMatch(/^urn:oap:settlement:/);
    expect(statement.signatures).toEqual([{ by: keys.tool.kid, alg: "EdDSA", value: expect.any(String), role: "provider_issuance" }]);
    await verifySettlement(statement, allKeys);
    await expect(verifySettlement(statement, allKeys, { requireAgent: true })).rejects.toMatchObject({ code: "ERR_OAP_SIGNATURE_MISSING" });
    const accepted = acceptSettlement(statement, keys.agent);
    expect(accepted.signatures.map((s) => s.role)).toEqual(["provider_issuance", "agent_acceptance"]);
    await verifySettlement(accepted, allKeys, { requireAgent: true });
    await expect(verifySettlement({ ...accepted, total_amount_due: "0.01" }, allKeys)).rejects.toMatchObject({ code: "ERR_OAP_SIGNATURE_INVALID" });
    expect(receipt).toMatchObject({ type: "settlement", cost: { amount: "2.40", currency: "EUR" }, output_hash: settlementHash(statement) });
    const chain = await ledger.store.list(PRINCIPAL_DID);
    expect(chain.map((r) => r["type"])).toEqual(["invocation", "invocation", "invocation", "settlement"]);
    expect((await verifyReceiptChain(chain, { keys: allKeys })).ok).toBe(true);
  });

  it("§11.3 lines must match their receipts; a receipt is settled at most once", async () => {
    const svc = new SettlementService({ providerDid: TOOL_DID, signer: keys.tool, receipts: ledger.store, clock: clock.now });
    const base = { agent_did: AGENT_DID, principal_did: PRINCIPAL_DID, currency: "EUR", window_start: "2026-05-01T00:00:00Z", window_end: "2026-05-31T00:00:00Z" };
    expect((await thrown(() => svc.settle({ ...base, lines: [{ receipt_id: receipts[1] as string, amount: "0.51", model: "per_invocation" }] }))).code).toBe("ERR_OAP_INPUT_INVALID");
    expect((await thrown(() => svc.settle({ ...base, lines: [{ receipt_id: "urn:oap:receipt:nope", amount: "1", model: "per_invocation" }] }))).code).toBe("ERR_OAP_NOT_FOUND");
    expect((await thrown(() => svc.settle({ ...base, principal_did: "did:plc:other", lines: [{ receipt_id: receipts[1] as string, amount: "0.50", model: "per_invocation" }] }))).message).toContain("another Principal");
    expect((await thrown(() => svc.settle({ ...base, lines: [{ receipt_id: receipts[1] as string, amount: "0.50", model: "per_invocation" }], adjustments: [{ reason: "refund", amount: "-1" }] }))).message).toContain("negative");
    await svc.settle({ ...base, lines: [{ receipt_id: receipts[1] as string, amount: "0.50", model: "per_invocation" }] });
    const again = await thrown(() => svc.settle({ ...base, lines: [{ receipt_id: receipts[1] as string, amount: "0.50", model: "per_invocation" }] }));
    expect(again.code).toBe("ERR_OAP_CONFLICT");
    expect(() => new SettlementService({ providerDid: TOOL_DID, signer: keys.agent })).toThrow();
  });
});

describe("§23.4 refund endpoint", () => {
  let wallet: Wallet;
  const W = "did:web:wallet.example:alice";

  beforeEach(async () => {
    wallet = new Wallet({ providerDid: WALLET_DID, signer: extraKeys.wallet, clock: clock.now });
    await wallet.open(W, PRINCIPAL_DID);
    await wallet.credit(W, { amount: "10", currency: "EUR" });
    for (const [i, amount] of [["0", "0.001"], ["1", "0.50"], ["2", "2.00"]] as const) await wallet.charge(W, { amount, currency: "EUR", tool_did: TOOL_DID, receipt_id: receipts[Number(i)] as string });
  });

  function desk(): RefundDesk {
    return new RefundDesk({
      toolDid: TOOL_DID,
      receipts: ledger.store,
      clock: clock.now,
      random: counterRandom(),
      refunds: { refund: async (r) => ({ reference: (await wallet.refund(W, { receipt_id: r.receipt_id, amount: r.amount.amount, dispute_id: r.dispute_id })).entry_id }) },
    });
  }

  it("§23.4 a dispute cites receipts; deadlines 72 h / 30 days; a refund is paid back through the wallet per receipt", async () => {
    const d = desk();
    const dispute = await d.file({ principal_did: PRINCIPAL_DID, agent_did: AGENT_DID, receipt_ids: [receipts[1] as string, receipts[2] as string], reason: "forecast was empty", amount: { amount: "2.25", currency: "EUR" } });
    expect(dispute).toMatchObject({ status: "received", acknowledge_by: clock.iso(72 * 3_600_000), resolve_by: clock.iso(30 * 86_400_000) });
    expect(dispute.dispute_id).toMatch(/^urn:oap:dispute:/);
    expect((await d.acknowledge(dispute.dispute_id)).status).toBe("acknowledged");
    const resolved = await d.resolve(dispute.dispute_id, { outcome: "refund", note: "goodwill" });
    expect(resolved.status).toBe("resolved");
    expect(resolved.resolution).toMatchObject({ outcome: "refunded", amount: { amount: "2.25", currency: "EUR" } });
    expect(resolved.resolution?.refunds?.map((r) => [r.receipt_id, r.amount])).toEqual([
      [receipts[1], "0.50"],
      [receipts[2], "1.75"],
    ]);
    expect((await wallet.balance(W)).balances[0]?.balance).toBe("9.749");
    expect((await wallet.entries(W)).filter((e) => e.type === "refund").map((e) => e.memo)).toEqual([`dispute ${dispute.dispute_id}`, `dispute ${dispute.dispute_id}`]);
    expect((await thrown(() => d.resolve(dispute.dispute_id, { outcome: "reject" }))).code).toBe("ERR_OAP_CONFLICT");
  });

  it("§23.4 disputes need the Principal's own receipts of this Tool, and cannot ask for more than they cost", async () => {
    const d = desk();
    expect((await thrown(() => d.file({ principal_did: PRINCIPAL_DID, receipt_ids: [], reason: "x" }))).code).toBe("ERR_OAP_INPUT_INVALID");
    expect((await thrown(() => d.file({ principal_did: PRINCIPAL_DID, receipt_ids: ["urn:oap:receipt:nope"], reason: "x" }))).code).toBe("ERR_OAP_NOT_FOUND");
    const foreign = await invoke("1.00", "did:plc:someone-else");
    expect((await thrown(() => d.file({ principal_did: PRINCIPAL_DID, receipt_ids: [foreign], reason: "x" }))).code).toBe("ERR_OAP_SCOPE_INSUFFICIENT");
    expect((await thrown(() => d.file({ principal_did: PRINCIPAL_DID, receipt_ids: [receipts[1] as string], reason: "x", amount: { amount: "0.51", currency: "EUR" } }))).code).toBe("ERR_OAP_INPUT_INVALID");
    const rejected = await d.resolve((await d.file({ principal_did: PRINCIPAL_DID, receipt_ids: [receipts[0] as string], reason: "x" })).dispute_id, { outcome: "reject", note: "service delivered" });
    expect(rejected.resolution).toEqual({ outcome: "rejected", note: "service delivered" });
  });

  it("§23.4 unresolved after 30 days: escalated to the community process; missed acknowledgements are reported", async () => {
    const d = desk();
    const late = await d.file({ principal_did: PRINCIPAL_DID, receipt_ids: [receipts[2] as string], reason: "wrong data" });
    clock.advance(73 * 3_600_000);
    const second = await d.file({ principal_did: PRINCIPAL_DID, receipt_ids: [receipts[1] as string], reason: "slow" });
    let sweep = await d.sweep();
    expect(sweep.escalated).toEqual([]);
    expect(sweep.acknowledgementOverdue.map((x) => x.dispute_id)).toEqual([late.dispute_id]);
    clock.advance(30 * 86_400_000);
    sweep = await d.sweep();
    expect(sweep.escalated.map((x) => x.dispute_id).sort()).toEqual([late.dispute_id, second.dispute_id].sort());
    expect((await d.get(late.dispute_id))?.escalation).toEqual({ process: "OAP Community Dispute Resolution Process (§23.5)", reason: "not resolved within 30 days (§23.4)" });
    expect((await thrown(() => d.resolve(late.dispute_id, { outcome: "reject" }))).code).toBe("ERR_OAP_CONFLICT");
    expect(await d.list(PRINCIPAL_DID)).toHaveLength(2);
  });
});
