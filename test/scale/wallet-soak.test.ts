/**
 * Wallet crash soak (bounded): `agentwire serve` hosts the weather Tool with
 * `oap.commerce.wallet` (get_forecast costs 0.001 EUR per call) and funded wallets
 * (`oap.commerce.fund`); four client loops (one Principal each) invoke get_forecast while the
 * node is SIGKILLed at random points (150–1100 ms after each restart) and restarted on the same
 * data directory / database. A client retries an invocation whose answer it did not get with a
 * NEW envelope carrying the SAME OAP-Idempotency-Key and input. Afterwards, with the node
 * stopped, the wallet ledger and the receipt chains are read directly:
 *
 * - every acknowledged paid invocation (receipt received) has exactly one capture (debit) in
 *   the ledger citing its receipt (a node killed between the receipt commit and the capture is
 *   settled when the retry is answered from the idempotency cache);
 * - every capture cites a committed receipt of that Principal;
 * - no money lost: credited = balance + captured; held = Σ holds − Σ releases − captured;
 * - every receipt chain verifies.
 *
 * Runs on SQLite (`DIR/wallet.sqlite`, `DIR/oap-weather-pro.sqlite`) and, when a PostgreSQL
 * server is available, on PostgreSQL (`--store postgres://…`). Bounded:
 * AGENTWIRE_WALLET_SOAK_MS per backend (default 6 000); figures as one JSON line
 * ("wallet-soak-result").
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportPublicJwk, publicKeyFor } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { loadOrCreateKeys } from "../../src/node/node.js";
import { Wallet } from "../../src/oap/commerce/wallet.js";
import { SqliteWalletStore } from "../../src/oap/commerce/wallet-sqlite.js";
import type { WalletStore } from "../../src/oap/commerce/wallet-store.js";
import { verifyReceiptChain } from "../../src/oap/receipts.js";
import { SqliteOapStore } from "../../src/oap/server/sqlite-store.js";
import type { OapStore } from "../../src/oap/server/store.js";
import { PostgresOapStore, PostgresWalletStore } from "../../src/store/index.js";
import { didKeyIdentity, envelope, oapHeaders, post } from "../oap/server-helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "../store/postgres-server.js";
import { BIN, CLUSTER_IDENTITY, freePort, kill9, prepareCluster, serve, stop, type Served } from "./cluster.js";

const SOAK_MS = Number(process.env["AGENTWIRE_WALLET_SOAK_MS"] ?? 6_000);
const WORKERS = 4;
const FUND = "50.00";
const PRICE_UNITS = 100_000n; // 0.001 EUR in 10^-8 units
const UNITS = (s: string): bigint => {
  const [i, f = ""] = s.split(".");
  return BigInt(i!) * 100_000_000n + BigInt((f + "00000000").slice(0, 8));
};

const backends = [
  { name: "sqlite", run: true },
  { name: "postgres", run: HAVE_POSTGRES },
] as const;

describe.skipIf(!existsSync(BIN)).each(backends.filter((b) => b.run))("wallet crash soak on $name (SIGKILL under paid load)", ({ name }) => {
  const dir = mkdtempSync(join(tmpdir(), `agentwire-wallet-soak-${name}-`));
  let pgServer: TestPostgres | undefined;
  afterAll(async () => {
    await pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`each acknowledged paid call is captured once citing its receipt; no money lost (${SOAK_MS} ms)`, async () => {
    let url: string | undefined;
    if (name === "postgres") {
      pgServer = await startTestPostgres();
      url = await pgServer.createDatabase();
    }
    const principals = Array.from({ length: WORKERS }, (_, i) => didKeyIdentity(0x90 + i).did);
    const { dataDirs, config } = await prepareCluster(dir, 1, []);
    const cfg = JSON.parse(readFileSync(config, "utf8")) as JsonObject;
    // Per-node rate limits (reset by every restart), so the loops keep paying between kills.
    cfg["oap"] = { rateLimits: "node", commerce: { wallet: true, fund: principals.map((p) => ({ principal_did: p, amount: FUND, currency: "EUR" })) } };
    writeFileSync(config, JSON.stringify(cfg));
    const data = dataDirs[0]!;
    const port = await freePort();
    const start = (): Promise<Served> => serve({ data, config, port, ...(url === undefined ? {} : { store: url }) });
    let node = await start();
    const base = node.url;

    const acked = new Map<string, { principal: string; receiptId: string; cost: unknown }>();
    const stats = { invocations: 0, attempts: 0, networkErrors: 0, statuses: {} as Record<string, number>, gaveUp: 0 };
    const attemptsOf = new Map<string, number>();
    let running = true;
    const worker = async (w: number): Promise<void> => {
      const principal = principals[w]!;
      for (let n = 0; running; n++) {
        const key = `wallet-soak-${w}-${n}`;
        const input = { location: `Soak ${w}-${n}`, days: 1 };
        stats.invocations++;
        let done = false;
        for (let attempt = 0; attempt < 40 && !done; attempt++) {
          stats.attempts++;
          attemptsOf.set(key, attempt + 1);
          const env = envelope({ idempotency_key: key, input }, undefined, principal);
          try {
            const r = await post(`${base}/oap/invoke`, env, oapHeaders(env));
            stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
            if (r.status === 200 && r.body["status"] === "ok") {
              acked.set(key, { principal, receiptId: String((r.body["receipt"] as JsonObject)["id"]), cost: r.body["cost"] });
              done = true;
            } else await new Promise((res) => setTimeout(res, r.status === 429 ? 250 : 60));
          } catch {
            stats.networkErrors++;
            await new Promise((res) => setTimeout(res, 40));
          }
        }
        if (!done) stats.gaveUp++;
      }
    };

    const began = Date.now();
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    let kills = 0;
    while (Date.now() - began < SOAK_MS) {
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 950));
      await kill9(node);
      kills++;
      node = await start();
    }
    running = false;
    await Promise.all(workers);
    const elapsed = Date.now() - began;
    await stop(node);

    // --- the stores, read directly (node stopped)
    const walletStore: WalletStore = url === undefined ? new SqliteWalletStore(join(data, "wallet.sqlite")) : await PostgresWalletStore.open({ connectionString: url, migrate: false });
    const oapStore: OapStore = url === undefined ? new SqliteOapStore(join(data, "oap-weather-pro.sqlite")) : await PostgresOapStore.open({ connectionString: url, tool: "weather-pro", migrate: false });
    const keys = await loadOrCreateKeys(data);
    const signingRecord = keys.keys.find((k) => k.alg === "EdDSA")!;
    const signing = publicKeyFor(exportPublicJwk(signingRecord));
    const wallet = new Wallet({ providerDid: CLUSTER_IDENTITY.did, signer: { key: signingRecord, kid: `${CLUSTER_IDENTITY.did}#${signingRecord.kid}` }, store: walletStore });
    const figures = { receipts: 0, captures: 0, unpaidReceipts: 0, openHolds: 0, releasedHolds: 0, heldEur: "0" };
    let heldTotal = 0n;
    const violations: JsonObject[] = [];
    try {
      for (const principal of principals) {
        const chain = await oapStore.receipts.list(principal);
        figures.receipts += chain.length;
        const report = await verifyReceiptChain(chain, { keys: { resolve: (kid) => (kid.startsWith(`${CLUSTER_IDENTITY.did}#`) ? signing : undefined) } });
        expect(report.firstBroken, `${principal}: chain verifies`).toBeUndefined();
        expect(report.ok).toBe(true);
        const receiptIds = new Set(chain.map((r) => String(r["receipt_id"])));

        const walletDid = await wallet.walletOf(principal);
        expect(walletDid, `${principal} has a wallet`).toBeDefined();
        const statement = await wallet.statement(walletDid!, { currency: "EUR", from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z" });
        const entries = statement.entries as unknown as { type: string; amount: string; receipt_id: string }[];
        const sum = (t: string): bigint => entries.filter((e) => e.type === t).reduce((s, e) => s + UNITS(e.amount), 0n);
        const debits = entries.filter((e) => e.type === "debit");
        figures.captures += debits.length;
        figures.releasedHolds += entries.filter((e) => e.type === "release").length;
        const capturesOf = new Map<string, number>();
        for (const d of debits) {
          capturesOf.set(d.receipt_id, (capturesOf.get(d.receipt_id) ?? 0) + 1);
          expect(receiptIds.has(d.receipt_id), `capture cites committed receipt ${d.receipt_id}`).toBe(true);
          expect(UNITS(d.amount)).toBe(PRICE_UNITS);
        }
        for (const [key, a] of [...acked].filter(([, x]) => x.principal === principal)) {
          const n = capturesOf.get(a.receiptId) ?? 0;
          if (n !== 1) violations.push({ key, receipt: a.receiptId, captures: n, inChain: receiptIds.has(a.receiptId), attempts: attemptsOf.get(key) ?? 0 });
          expect(a.cost).toEqual({ amount: "0.001", currency: "EUR" });
        }
        expect([...capturesOf.values()].filter((c) => c > 1), "no receipt captured twice").toEqual([]);
        figures.unpaidReceipts += [...receiptIds].filter((id) => !capturesOf.has(id)).length;

        // no money lost
        const bal = await wallet.balance(walletDid!);
        const eur = (bal.balances as unknown as { currency: string; balance: string; held: string }[]).find((b) => b.currency === "EUR")!;
        const credited = sum("credit");
        expect(credited, "funded once, never twice across restarts").toBe(UNITS(FUND));
        expect(UNITS(eur.balance) + sum("debit") - sum("refund"), "credited = balance + captured").toBe(credited);
        expect(UNITS(eur.held), "held = holds − releases − captured").toBe(sum("hold") - sum("release") - sum("debit"));
        heldTotal += UNITS(eur.held);
        figures.openHolds += Number(UNITS(eur.held) / PRICE_UNITS);
      }
    } finally {
      await oapStore.close();
      await (walletStore.close?.() as Promise<void> | void);
    }
    figures.heldEur = (Number(heldTotal) / 1e8).toFixed(3);

    const result = {
      event: "wallet-soak-result",
      backend: name,
      seconds: Math.round(elapsed / 100) / 10,
      kills,
      invocations: stats.invocations,
      attempts: stats.attempts,
      acknowledged: acked.size,
      ...figures,
      networkErrors: stats.networkErrors,
      statuses: stats.statuses,
      gaveUp: stats.gaveUp,
      acknowledgedWithoutOneCapture: violations.length,
    };
    console.log(JSON.stringify(result));
    expect(violations, "every acknowledged paid invocation has exactly one capture citing its receipt").toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(Math.min(2, Math.floor(SOAK_MS / 2000)));
    expect(acked.size).toBeGreaterThan(kills);
  }, SOAK_MS + 60_000);
});
