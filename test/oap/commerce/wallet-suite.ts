/**
 * The §11.2 Wallet behaviour suite, run against every wallet store (memory and SQLite in
 * s11-2-wallet.test.ts, PostgreSQL in test/store/wallet-store.test.ts).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { WalletStore } from "../../../src/oap/commerce/wallet-store.js";
import { Wallet } from "../../../src/oap/commerce/wallet.js";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { verifyDocument } from "../../../src/oap/sign.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, thrown } from "../helpers.js";
import { WALLET_DID, allKeys, extraKeys } from "../governance/fixtures.js";

const W = "did:web:wallet.example:alice";
const OTHER_TOOL = "did:web:tool-a.example";

/** Registers the behaviour tests of the Wallet on the store `makeStore` opens (fresh each test). */
export function walletBehaviourSuite(name: string, makeStore: () => WalletStore | Promise<WalletStore>, options: { readonly skip?: boolean } = {}): void {
  describe.skipIf(options.skip === true)(`§11.2 the Wallet on the ${name} store`, () => {
  let clock: TestClock;
  let wallet: Wallet;
  let store: WalletStore;

  beforeEach(async () => {
    clock = new TestClock();
    store = await makeStore();
    wallet = new Wallet({ providerDid: WALLET_DID, signer: extraKeys.wallet, store, clock: clock.now, random: counterRandom(1) });
    await wallet.open(W, PRINCIPAL_DID);
    await wallet.credit(W, { amount: "100.00", currency: "EUR", memo: "top-up" });
  });

  it("§11.2 wallet.balance: per currency, held and available", async () => {
    await wallet.credit(W, { amount: "5", currency: "USD" });
    await wallet.authorize(W, { amount: "30.00", currency: "EUR", tool_did: TOOL_DID });
    expect(await wallet.balance(W)).toEqual({
      wallet_did: W,
      principal_did: PRINCIPAL_DID,
      status: "open",
      balances: [
        { currency: "EUR", balance: "100.00", held: "30.00", available: "70.00" },
        { currency: "USD", balance: "5.00", held: "0.00", available: "5.00" },
      ],
    });
    expect(await wallet.walletOf(PRINCIPAL_DID)).toBe(W);
  });

  it("§11.2 authorize → partial captures → final capture releases the rest", async () => {
    const hold = await wallet.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID, agent_did: AGENT_DID, expires_in_seconds: 600 });
    expect(hold).toMatchObject({ amount: "10.00", captured: "0.00", remaining: "10.00", status: "active", expires_at: clock.iso(600_000) });
    expect(hold.hold_id).toMatch(/^urn:oap:hold:/);
    const c1 = await wallet.capture(hold.hold_id, { amount: "0.001", receipt_id: "urn:oap:receipt:1" });
    expect(c1.entry).toMatchObject({ type: "debit", amount: "0.001", receipt_id: "urn:oap:receipt:1", counterparty_did: TOOL_DID });
    expect(c1.hold.remaining).toBe("9.999");
    const c2 = await wallet.capture(hold.hold_id, { amount: "2.50", receipt_id: "urn:oap:receipt:2", final: true });
    expect(c2.hold).toMatchObject({ status: "closed", captured: "2.501", remaining: "7.499" });
    expect((await wallet.balance(W)).balances[0]).toEqual({ currency: "EUR", balance: "97.499", held: "0.00", available: "97.499" });
    const e = await thrown(() => wallet.capture(hold.hold_id, { amount: "0.01", receipt_id: "urn:oap:receipt:3" }));
    expect(e.code).toBe("ERR_OAP_CONFLICT");
    expect(e.details?.["reason"]).toBe("hold_closed");
  });

  it("§11.2 a capture above the hold's remainder is 409; insufficient funds are 402", async () => {
    const hold = await wallet.authorize(W, { amount: "1.00", currency: "EUR", tool_did: TOOL_DID });
    const e = await thrown(() => wallet.capture(hold.hold_id, { amount: "1.01", receipt_id: "urn:oap:receipt:x" }));
    expect(e.code).toBe("ERR_OAP_CONFLICT");
    expect(e.details).toMatchObject({ reason: "hold_exhausted", remaining: "1.00" });
    const f = await thrown(() => wallet.authorize(W, { amount: "99.01", currency: "EUR", tool_did: TOOL_DID }));
    expect(f.httpStatus).toBe(402);
    expect(f.details).toMatchObject({ reason: "insufficient_funds", available: "99.00" });
    expect((await thrown(() => wallet.authorize(W, { amount: "0", currency: "EUR", tool_did: TOOL_DID }))).code).toBe("ERR_OAP_INPUT_INVALID");
    expect((await thrown(() => wallet.authorize(W, { amount: "0.000000001", currency: "EUR", tool_did: TOOL_DID }))).code).toBe("ERR_OAP_INPUT_INVALID");
  });

  it("§11.2 an expired hold frees its funds and cannot be captured", async () => {
    const hold = await wallet.authorize(W, { amount: "60.00", currency: "EUR", tool_did: TOOL_DID, expires_in_seconds: 60 });
    clock.advance(60_000);
    const e = await thrown(() => wallet.capture(hold.hold_id, { amount: "1.00", receipt_id: "urn:oap:receipt:late" }));
    expect(e.details?.["reason"]).toBe("hold_expired");
    expect((await wallet.hold(hold.hold_id)).status).toBe("expired");
    expect((await wallet.balance(W)).balances[0]?.available).toBe("100.00");
    const released = await wallet.authorize(W, { amount: "5", currency: "EUR", tool_did: TOOL_DID });
    expect((await wallet.release(released.hold_id)).status).toBe("released");
    expect((await wallet.balance(W)).balances[0]?.held).toBe("0.00");
  });

  it("§11.2 wallet.refund: up to the captured amount, by entry or by receipt", async () => {
    const hold = await wallet.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID });
    const { entry } = await wallet.capture(hold.hold_id, { amount: "4.00", receipt_id: "urn:oap:receipt:buy", final: true });
    const r1 = await wallet.refund(W, { entry_id: entry.entry_id, amount: "1.50", reason: "partial outage" });
    expect(r1).toMatchObject({ type: "refund", amount: "1.50", receipt_id: "urn:oap:receipt:buy", refund_of: entry.entry_id, memo: "partial outage" });
    const r2 = await wallet.refund(W, { receipt_id: "urn:oap:receipt:buy", amount: "2.50", dispute_id: "urn:oap:dispute:1" });
    expect(r2.memo).toBe("dispute urn:oap:dispute:1");
    const e = await thrown(() => wallet.refund(W, { receipt_id: "urn:oap:receipt:buy", amount: "0.01" }));
    expect(e.code).toBe("ERR_OAP_NOT_FOUND"); // nothing refundable left on that receipt
    expect((await thrown(() => wallet.refund(W, { entry_id: entry.entry_id, amount: "0.01" }))).details?.["reason"]).toBe("refund_exceeds_capture");
    expect((await wallet.balance(W)).balances[0]?.balance).toBe("100.00");
  });

  it("§11.2 idempotency keys: a retried capture answers the first result; reuse for another request is 409", async () => {
    const hold = await wallet.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID, idempotency_key: "auth-1" });
    expect((await wallet.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID, idempotency_key: "auth-1" })).hold_id).toBe(hold.hold_id);
    const a = await wallet.capture(hold.hold_id, { amount: "3.00", receipt_id: "urn:oap:receipt:r", idempotency_key: "cap-1" });
    const b = await wallet.capture(hold.hold_id, { amount: "3.00", receipt_id: "urn:oap:receipt:r", idempotency_key: "cap-1" });
    expect(b.entry.entry_id).toBe(a.entry.entry_id);
    expect((await wallet.hold(hold.hold_id)).captured).toBe("3.00");
    expect((await thrown(() => wallet.capture(hold.hold_id, { amount: "4.00", receipt_id: "urn:oap:receipt:r", idempotency_key: "cap-1" }))).code).toBe("ERR_OAP_IDEMPOTENCY_MISMATCH");
  });

  it("§11.2 wallet.limits per Tool, per Agent and per period (holds count against the limit)", async () => {
    await wallet.setLimits(W, [
      { id: "per-call", period: "transaction", amount: "20.00", currency: "EUR" },
      { id: "weather-daily", period: "day", amount: "5.00", currency: "EUR", applies_to: { tool_did: TOOL_DID } },
      { id: "agent-monthly", period: "month", amount: "30.00", currency: "EUR", applies_to: { agent_did: AGENT_DID } },
    ]);
    expect((await wallet.limits(W)).map((l) => l.id)).toEqual(["per-call", "weather-daily", "agent-monthly"]);
    const big = await thrown(() => wallet.authorize(W, { amount: "20.01", currency: "EUR", tool_did: OTHER_TOOL }));
    expect(big.httpStatus).toBe(403);
    expect(big.details).toMatchObject({ reason: "limit_exceeded", limit_id: "per-call" });
    const h = await wallet.authorize(W, { amount: "3.00", currency: "EUR", tool_did: TOOL_DID });
    await wallet.capture(h.hold_id, { amount: "3.00", receipt_id: "urn:oap:receipt:w1" });
    await wallet.authorize(W, { amount: "1.50", currency: "EUR", tool_did: TOOL_DID }); // held, counts
    const daily = await thrown(() => wallet.authorize(W, { amount: "0.51", currency: "EUR", tool_did: TOOL_DID }));
    expect(daily.details).toMatchObject({ limit_id: "weather-daily", used: "4.50" });
    await wallet.authorize(W, { amount: "0.50", currency: "EUR", tool_did: TOOL_DID });
    clock.advance(86_400_000); // next day: the daily limit resets (the 2.00 still held count)
    await wallet.authorize(W, { amount: "3.00", currency: "EUR", tool_did: TOOL_DID });
    for (let i = 0; i < 2; i++) await wallet.authorize(W, { amount: "14.00", currency: "EUR", tool_did: OTHER_TOOL, agent_did: AGENT_DID });
    expect((await thrown(() => wallet.authorize(W, { amount: "2.01", currency: "EUR", tool_did: OTHER_TOOL, agent_did: AGENT_DID }))).details).toMatchObject({ limit_id: "agent-monthly" });
    await wallet.authorize(W, { amount: "2.01", currency: "EUR", tool_did: OTHER_TOOL, agent_did: "did:web:agent-b.example" });
    expect((await thrown(() => wallet.setLimits(W, [{ id: "x", period: "fortnight" as never, amount: "1", currency: "EUR" }]))).code).toBe("ERR_OAP_INPUT_INVALID");
  });

  it("§11.2 wallet.statement: signed, schema-valid; opening + entries = closing", async () => {
    clock.advance(1000);
    const from = clock.iso(); // after the top-up
    const hold = await wallet.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID });
    const { entry } = await wallet.capture(hold.hold_id, { amount: "2.00", receipt_id: "urn:oap:receipt:s1", final: true });
    await wallet.refund(W, { entry_id: entry.entry_id, amount: "0.50" });
    await wallet.credit(W, { amount: "1", currency: "USD" });
    clock.advance(1000);
    const s = await wallet.statement(W, { currency: "EUR", from, to: clock.iso() });
    expect(validateOapDocument("oap-wallet-statement", s)).toEqual([]);
    expect(s).toMatchObject({ wallet_did: W, principal_did: PRINCIPAL_DID, currency: "EUR", opening_balance: "100.00", closing_balance: "98.50" });
    expect(s.entries.map((e) => [e.type, e.amount])).toEqual([
      ["hold", "10.00"],
      ["debit", "2.00"],
      ["release", "8.00"],
      ["refund", "0.50"],
    ]);
    expect(s.entries.every((e) => typeof e.receipt_id === "string" && e.receipt_id.length > 0)).toBe(true);
    const v = await verifyDocument(s, allKeys, { expectedSigner: WALLET_DID });
    expect(v.kid).toBe(extraKeys.wallet.kid);
    await expect(verifyDocument({ ...s, closing_balance: "1000.00" }, allKeys)).rejects.toMatchObject({ code: "ERR_OAP_SIGNATURE_INVALID" });
    const all = await wallet.statement(W, { currency: "EUR", from: "2026-01-01T00:00:00Z", to: clock.iso() });
    expect(all.opening_balance).toBe("0.00");
    expect(all.entries[0]).toMatchObject({ type: "credit", amount: "100.00", memo: "top-up" });
  });

  it("§11.2 portability: a transfer export closes and empties the source; the import carries balances and history once", async () => {
    const hold = await wallet.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID });
    expect((await thrown(() => wallet.exportLedger(W, { transfer: true }))).details?.["reason"]).toBe("holds_active");
    await wallet.capture(hold.hold_id, { amount: "4.00", receipt_id: "urn:oap:receipt:p1", final: true });
    await wallet.setLimits(W, [{ id: "d", period: "day", amount: "50", currency: "EUR" }]);
    const copy = await wallet.exportLedger(W);
    expect(copy.transfer).toBe(false);
    const moved = await wallet.exportLedger(W, { transfer: true });
    expect(moved).toMatchObject({ format: "agentwire-oap-wallet-ledger/1", provider_did: WALLET_DID, wallet_did: W, principal_did: PRINCIPAL_DID, transfer: true, balances: [{ currency: "EUR", balance: "96.00" }] });
    expect((await wallet.balance(W))).toMatchObject({ status: "closed", balances: [{ balance: "0.00" }] });
    expect((await thrown(() => wallet.credit(W, { amount: "1", currency: "EUR" }))).details?.["reason"]).toBe("wallet_closed");

    const other = new Wallet({ providerDid: "did:web:wallet-b.example", signer: extraKeys.walletB, store: await makeStore(), clock: clock.now, random: counterRandom(900) });
    const imported = await other.importLedger(moved, "did:web:wallet-b.example:alice", allKeys);
    expect(imported).toMatchObject({ principal_did: PRINCIPAL_DID, status: "open", balances: [{ currency: "EUR", balance: "96.00", available: "96.00" }] });
    expect((await other.entries("did:web:wallet-b.example:alice")).map((e) => e.type)).toEqual(["credit", "hold", "debit", "release"]);
    expect((await other.limits("did:web:wallet-b.example:alice")).map((l) => l.id)).toEqual(["d"]);
    expect((await thrown(() => other.importLedger(moved, "did:web:wallet-b.example:alice2", allKeys))).details?.["reason"]).toBe("export_imported");
    const history = await other.importLedger(copy, "did:web:wallet-b.example:alice-history", allKeys);
    expect(history.balances).toEqual([]);
    await expect(other.importLedger({ ...moved, export_id: "urn:oap:wallet-export:forged", balances: [{ currency: "EUR", balance: "960.00" }] }, "did:web:x", allKeys)).rejects.toMatchObject({ code: "ERR_OAP_SIGNATURE_INVALID" });
  });

  it("§11.2 statement by Principal: the Principal's wallet, or an empty signed statement of the provider", async () => {
    const period = { currency: "EUR", from: "2026-05-01T00:00:00Z", to: "2026-06-01T00:00:00Z" };
    expect((await wallet.statementForPrincipal(PRINCIPAL_DID, period)).closing_balance).toBe("100.00");
    const empty = await wallet.statementForPrincipal("did:web:probe-wallet.example", period);
    expect(validateOapDocument("oap-wallet-statement", empty)).toEqual([]);
    expect(empty).toMatchObject({ wallet_did: WALLET_DID, principal_did: "did:web:probe-wallet.example", opening_balance: "0.00", closing_balance: "0.00", entries: [] });
    await verifyDocument(empty, allKeys, { expectedSigner: WALLET_DID });
  });

  it("§11.2 unknown wallets and holds are 404; a taken wallet DID is 409", async () => {
    expect((await thrown(() => wallet.balance("did:web:nope"))).code).toBe("ERR_OAP_NOT_FOUND");
    expect((await thrown(() => wallet.capture("urn:oap:hold:nope", { amount: "1", receipt_id: "r" }))).code).toBe("ERR_OAP_NOT_FOUND");
    expect((await thrown(() => wallet.open(W, PRINCIPAL_DID))).code).toBe("ERR_OAP_CONFLICT");
  });
  });
}
