/**
 * OAP-CORE-1.0 §11.2 the Wallet on PostgresWalletStore: the behaviour tests of
 * test/oap/commerce/s11-2-wallet.test.ts (memory and SQLite there), here on a fresh PostgreSQL
 * database per test, plus the concurrency cases of s11-2-wallet-concurrency.test.ts with two
 * pools on one database standing in for two nodes: parallel captures never exceed the hold,
 * parallel charges never spend a balance twice. Skipped only when the PostgreSQL binaries are absent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toLedgerUnits } from "../../src/oap/commerce/money.js";
import type { WalletStore } from "../../src/oap/commerce/wallet-store.js";
import { Wallet } from "../../src/oap/commerce/wallet.js";
import { validateOapDocument } from "../../src/oap/documents.js";
import { verifyDocument } from "../../src/oap/sign.js";
import { PostgresWalletStore } from "../../src/store/index.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, thrown } from "../oap/helpers.js";
import { WALLET_DID, allKeys, extraKeys } from "../oap/governance/fixtures.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "./postgres-server.js";

let server: TestPostgres | undefined;
const opened: PostgresWalletStore[] = [];
beforeAll(async () => {
  if (HAVE_POSTGRES) server = await startTestPostgres();
}, 60_000);
afterAll(async () => {
  for (const s of opened) await s.close();
  await server?.stop();
});

async function track(s: Promise<PostgresWalletStore>): Promise<PostgresWalletStore> {
  const store = await s;
  opened.push(store);
  return store;
}

/** A fresh database per store, like a fresh SQLite file. */
async function freshStore(): Promise<PostgresWalletStore> {
  return track(PostgresWalletStore.open({ connectionString: await server!.createDatabase(), maxConnections: 4 }));
}

const W = "did:web:wallet.example:alice";
const OTHER_TOOL = "did:web:tool-a.example";

describe.skipIf(!HAVE_POSTGRES)("§11.2 the Wallet on the PostgreSQL store", () => {
  const makeStore = freshStore;
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

describe.skipIf(!HAVE_POSTGRES)("§11.2 the Wallet under concurrency on PostgreSQL (two pools = two nodes)", () => {
  const R = "did:web:wallet.example:race";
  type Outcome = { ok: number; refused: number; errors: string[] };
  async function race(ops: (() => Promise<unknown>)[]): Promise<Outcome> {
    const out: Outcome = { ok: 0, refused: 0, errors: [] };
    await Promise.all(
      ops.map((op) =>
        op().then(
          () => void out.ok++,
          (e: { code?: string; message?: string }) => (e.code === "ERR_OAP_CONFLICT" || e.code === "ERR_OAP_SUBSCRIPTION_REQUIRED" ? void out.refused++ : void out.errors.push(`${e.code}: ${e.message}`)),
        ),
      ),
    );
    return out;
  }
  const walletOn = (store: WalletStore): Wallet => new Wallet({ providerDid: WALLET_DID, signer: extraKeys.wallet, store });
  async function expectConsistent(w: Wallet, holdId: string, holdCaptured: string, debited: string, balance: string): Promise<void> {
    expect((await w.hold(holdId)).captured).toBe(holdCaptured);
    expect((await w.balance(R)).balances[0]?.balance).toBe(balance);
    const debits = (await w.entries(R)).filter((e) => e.type === "debit");
    expect(debits.reduce((s, e) => s + toLedgerUnits(e.amount), 0n)).toBe(toLedgerUnits(debited));
  }

  it("§11.2 one pool: 100 parallel captures of 0.25 against a 10.00 hold → exactly 40 succeed", async () => {
    const store = await freshStore();
    const w = walletOn(store);
    await w.open(R, PRINCIPAL_DID);
    await w.credit(R, { amount: "50.00", currency: "EUR" });
    const hold = await w.authorize(R, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID });
    const result = await race(Array.from({ length: 100 }, (_, i) => () => w.capture(hold.hold_id, { amount: "0.25", receipt_id: `urn:oap:receipt:${i}` })));
    expect(result).toEqual({ ok: 40, refused: 60, errors: [] });
    await expectConsistent(w, hold.hold_id, "10.00", "10.00", "40.00");
    expect((await w.hold(hold.hold_id)).status).toBe("closed");
  });

  it("§11.2 two pools on one database, interleaved: no over-capture, no double spend", async () => {
    const db = await server!.createDatabase();
    const [s1, s2] = await Promise.all([track(PostgresWalletStore.open({ connectionString: db, maxConnections: 5 })), track(PostgresWalletStore.open({ connectionString: db, maxConnections: 5 }))]);
    const w1 = walletOn(s1);
    const w2 = walletOn(s2);
    await w1.open(R, PRINCIPAL_DID);
    await w1.credit(R, { amount: "10.00", currency: "EUR" });
    const hold = await w1.authorize(R, { amount: "7.00", currency: "EUR", tool_did: TOOL_DID });
    expect((await w2.hold(hold.hold_id)).amount).toBe("7.00"); // the second pool sees it
    const captures = await race(Array.from({ length: 60 }, (_, i) => () => (i % 2 === 0 ? w1 : w2).capture(hold.hold_id, { amount: "0.50", receipt_id: `urn:oap:receipt:c${i}` })));
    expect(captures).toEqual({ ok: 14, refused: 46, errors: [] });
    // the 3.00 left: charges from both pools spend it once
    const charges = await race(Array.from({ length: 20 }, (_, i) => () => (i % 2 === 0 ? w1 : w2).charge(R, { amount: "1.00", currency: "EUR", tool_did: TOOL_DID, receipt_id: `urn:oap:receipt:d${i}` })));
    expect(charges).toEqual({ ok: 3, refused: 17, errors: [] });
    await expectConsistent(w2, hold.hold_id, "7.00", "10.00", "0.00");
    // An idempotent capture retried on both pools at once is applied once.
    const h2 = await w1.credit(R, { amount: "5.00", currency: "EUR" }).then(() => w2.authorize(R, { amount: "5.00", currency: "EUR", tool_did: TOOL_DID }));
    const same = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? w1 : w2).capture(h2.hold_id, { amount: "1.00", receipt_id: "urn:oap:receipt:idem", idempotency_key: "cap-1" })));
    expect(same.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    expect((await w2.hold(h2.hold_id)).captured).toBe("1.00");
  });
});
