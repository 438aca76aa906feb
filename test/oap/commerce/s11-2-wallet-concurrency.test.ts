/**
 * OAP-CORE-1.0 §11.2 the Wallet under concurrency: many parallel captures against one hold never
 * capture more than it authorised, and parallel charges never spend a balance twice — through
 * the async API on one store, from two SQLite connections on one file, and from worker threads
 * racing on one file (real parallelism; SQLite `BEGIN IMMEDIATE`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { toLedgerUnits } from "../../../src/oap/commerce/money.js";
import { SqliteWalletStore } from "../../../src/oap/commerce/wallet-sqlite.js";
import { MemoryWalletStore, type WalletStore } from "../../../src/oap/commerce/wallet-store.js";
import { Wallet } from "../../../src/oap/commerce/wallet.js";
import { PRINCIPAL_DID, TOOL_DID } from "../helpers.js";
import { WALLET_DID, extraKeys } from "../governance/fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "aw-wallet-race-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const W = "did:web:wallet.example:race";

function walletOn(store: WalletStore): Wallet {
  return new Wallet({ providerDid: WALLET_DID, signer: extraKeys.wallet, store });
}

async function funded(store: WalletStore, amount = "10.00"): Promise<Wallet> {
  const w = walletOn(store);
  await w.open(W, PRINCIPAL_DID);
  await w.credit(W, { amount, currency: "EUR" });
  return w;
}

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

/** The ledger is consistent: the hold's capture, the sum of debit entries, and the balance. */
async function expectConsistent(w: Wallet, holdId: string | undefined, holdCaptured: string, debited: string, balance: string): Promise<void> {
  if (holdId !== undefined) expect((await w.hold(holdId)).captured).toBe(holdCaptured);
  expect((await w.balance(W)).balances[0]?.balance).toBe(balance);
  const debits = (await w.entries(W)).filter((e) => e.type === "debit");
  expect(debits.reduce((s, e) => s + toLedgerUnits(e.amount), 0n)).toBe(toLedgerUnits(debited));
}

describe("§11.2 concurrent captures against one hold", () => {
  it.each([
    ["memory", () => new MemoryWalletStore()],
    ["sqlite", () => new SqliteWalletStore(join(dir, "async.sqlite"))],
  ] as [string, () => WalletStore][])("§11.2 async API on the %s store: 100 parallel captures of 0.25 against a 10.00 hold → exactly 40 succeed", async (_n, make) => {
    const store = make();
    const w = await funded(store, "50.00");
    const hold = await w.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID });
    const result = await race(Array.from({ length: 100 }, (_, i) => () => w.capture(hold.hold_id, { amount: "0.25", receipt_id: `urn:oap:receipt:${i}` })));
    expect(result).toEqual({ ok: 40, refused: 60, errors: [] });
    await expectConsistent(w, hold.hold_id, "10.00", "10.00", "40.00");
    expect((await w.hold(hold.hold_id)).status).toBe("closed");
    store.close?.();
  });

  it("§11.2 two SQLite connections on one file, interleaved: no over-capture, no double spend", async () => {
    const file = join(dir, "two.sqlite");
    const s1 = new SqliteWalletStore(file);
    const s2 = new SqliteWalletStore(file);
    const w1 = await funded(s1, "10.00");
    const w2 = walletOn(s2);
    const hold = await w1.authorize(W, { amount: "7.00", currency: "EUR", tool_did: TOOL_DID });
    expect((await w2.hold(hold.hold_id)).amount).toBe("7.00"); // the second connection sees it
    const captures = await race(Array.from({ length: 60 }, (_, i) => () => (i % 2 === 0 ? w1 : w2).capture(hold.hold_id, { amount: "0.50", receipt_id: `urn:oap:receipt:c${i}` })));
    expect(captures).toEqual({ ok: 14, refused: 46, errors: [] });
    // the 3.00 left: charges from both connections spend it once
    const charges = await race(Array.from({ length: 20 }, (_, i) => () => (i % 2 === 0 ? w1 : w2).charge(W, { amount: "1.00", currency: "EUR", tool_did: TOOL_DID, receipt_id: `urn:oap:receipt:d${i}` })));
    expect(charges).toEqual({ ok: 3, refused: 17, errors: [] });
    await expectConsistent(w2, hold.hold_id, "7.00", "10.00", "0.00");
    s1.close();
    s2.close();
  });
});

async function runWorkers(n: number, data: Record<string, unknown>): Promise<Outcome> {
  const barrier = new SharedArrayBuffer(4);
  const results = await Promise.all(Array.from({ length: n }, (_, index) => runWorker({ ...data, index, barrier, workers: n })));
  return results.reduce((s, r) => ({ ok: s.ok + r.ok, refused: s.refused + r.refused, errors: [...s.errors, ...r.errors] }), { ok: 0, refused: 0, errors: [] as string[] });
}

function runWorker(data: Record<string, unknown>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./wallet-worker.mjs", import.meta.url), { workerData: data });
    w.once("message", (m: Outcome) => resolve(m));
    w.once("error", reject);
    w.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
  });
}

// The workers load the TypeScript sources with Node's built-in type stripping (Node ≥ 22.18 / 23.6).
describe.skipIf(!process.features.typescript)("§11.2 worker threads racing on one SQLite file", () => {
  it("§11.2 4 threads × 100 captures of 0.10 against a 10.00 hold → 100 succeed in total", { timeout: 60_000 }, async () => {
    const file = join(dir, "threads-capture.sqlite");
    const store = new SqliteWalletStore(file);
    const w = await funded(store, "20.00");
    const hold = await w.authorize(W, { amount: "10.00", currency: "EUR", tool_did: TOOL_DID, expires_in_seconds: 3600 });
    const total = await runWorkers(4, { file, mode: "capture", holdId: hold.hold_id, amount: "0.10", count: 100, seed: 0x61 });
    expect(total).toEqual({ ok: 100, refused: 300, errors: [] });
    await expectConsistent(w, hold.hold_id, "10.00", "10.00", "10.00");
    store.close();
  });

  it("§11.2 4 threads × 50 charges of 0.25 against a 10.00 balance → 40 succeed, the balance ends at 0.00", { timeout: 60_000 }, async () => {
    const file = join(dir, "threads-charge.sqlite");
    const store = new SqliteWalletStore(file);
    const w = await funded(store, "10.00");
    const total = await runWorkers(4, { file, mode: "charge", walletDid: W, toolDid: TOOL_DID, amount: "0.25", count: 50, seed: 0x61 });
    expect(total).toEqual({ ok: 40, refused: 160, errors: [] });
    await expectConsistent(w, undefined, "", "10.00", "0.00");
    expect((await w.balance(W)).balances[0]?.held).toBe("0.00");
    store.close();
  });
});
