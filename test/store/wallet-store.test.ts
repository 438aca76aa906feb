/**
 * OAP-CORE-1.0 §11.2 the Wallet on PostgresWalletStore: the shared behaviour suite
 * (test/oap/commerce/wallet-suite.ts; memory and SQLite in s11-2-wallet.test.ts), here on a fresh PostgreSQL
 * database per test, plus the concurrency cases of s11-2-wallet-concurrency.test.ts with two
 * pools on one database standing in for two nodes: parallel captures never exceed the hold,
 * parallel charges never spend a balance twice. Skipped only when the PostgreSQL binaries are absent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toLedgerUnits } from "../../src/oap/commerce/money.js";
import type { WalletStore } from "../../src/oap/commerce/wallet-store.js";
import { Wallet } from "../../src/oap/commerce/wallet.js";
import { PostgresWalletStore } from "../../src/store/index.js";
import { PRINCIPAL_DID, TOOL_DID } from "../oap/helpers.js";
import { WALLET_DID, extraKeys } from "../oap/governance/fixtures.js";
import { walletBehaviourSuite } from "../oap/commerce/wallet-suite.js";
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

walletBehaviourSuite("PostgreSQL", freshStore, { skip: !HAVE_POSTGRES });

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
