/**
 * `agentwire serve` with `oap.commerce.wallet`: the config is parsed strictly, configured wallets
 * are funded once (a restart does not credit again), a priced call (get_forecast, 0.001 EUR) is
 * charged to the Principal's wallet citing its receipt, and a Principal without a wallet gets 402.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { parseNodeConfig, startAgentwireNode, type NodeConfig } from "../../src/node/node.js";
import { parseOapNodeConfig } from "../../src/oap/server/node-host.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { didKeyIdentity, envelope, oapHeaders, post, principal } from "../oap/server-helpers.js";

describe("agentwire serve: the OAP wallet (oap.commerce)", () => {
  const dir = mkdtempSync(join(tmpdir(), "agentwire-oap-wallet-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("parses oap.commerce strictly", () => {
    expect(parseOapNodeConfig({ commerce: { wallet: true, holdSeconds: 600, fund: [{ principal_did: "did:key:z6Mk", amount: "5.00", currency: "EUR" }] } })).toEqual({
      commerce: { wallet: true, holdSeconds: 600, fund: [{ principal_did: "did:key:z6Mk", amount: "5.00", currency: "EUR" }] },
    });
    expect(parseOapNodeConfig({ commerce: { wallet: false } })).toEqual({ commerce: { wallet: false } });
    for (const bad of [
      { commerce: true },
      { commerce: {} },
      { commerce: { wallet: "yes" } },
      { commerce: { wallet: true, price: "1" } },
      { commerce: { wallet: true, holdSeconds: 0 } },
      { commerce: { wallet: false, fund: [] } },
      { commerce: { wallet: true, fund: [{ principal_did: "did:key:z", amount: 5, currency: "EUR" }] } },
      { commerce: { wallet: true, fund: [{ principal_did: "did:key:z", amount: "1e3", currency: "EUR" }] } },
      { commerce: { wallet: true, fund: [{ principal_did: "did:key:z", amount: "1", currency: "eur" }] } },
      { commerce: { wallet: true, fund: [{ principal_did: "alice", amount: "1", currency: "EUR" }] } },
      { commerce: { wallet: true, fund: [{ principal_did: "did:key:z", amount: "1", currency: "EUR", extra: 1 }] } },
    ]) {
      expect(() => parseOapNodeConfig(bad), JSON.stringify(bad)).toThrow(/config oap/);
    }
  });

  it("charges a priced call to the funded wallet citing its receipt; funds once across restarts; 402 without a wallet", async () => {
    const data = join(dir, "node");
    const config: NodeConfig = await parseNodeConfig({ oap: { commerce: { wallet: true, fund: [{ principal_did: principal.did, amount: "1.00", currency: "EUR" }] } } }, dir);
    const start = () => startAgentwireNode({ dataDir: data, config, port: 0, grpcPort: 0, log: () => undefined, oap: { tools: [weatherTool()] } });
    let node = await start();
    try {
      const base = node.servers.url;
      const env = envelope({ idempotency_key: "wallet-1", input: { location: "Berlin", days: 1 } });
      const r = await post(`${base}/oap/invoke`, env, oapHeaders(env));
      expect(r.status).toBe(200);
      expect(r.body["cost"]).toEqual({ amount: "0.001", currency: "EUR" });
      const receiptId = String((r.body["receipt"] as JsonObject)["id"]);
      const wallet = node.oap!.wallet!;
      const walletDid = (await wallet.walletOf(principal.did))!;
      expect(walletDid).toBe(`urn:oap:wallet:${principal.did}`);
      const st = await wallet.statement(walletDid, { currency: "EUR", from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z" });
      const debits = (st.entries as unknown as { type: string; amount: string; receipt_id: string }[]).filter((e) => e.type === "debit");
      expect(debits).toMatchObject([{ amount: "0.001", receipt_id: receiptId }]);
      expect((await wallet.balance(walletDid)).balances).toMatchObject([{ currency: "EUR", balance: "0.999", held: "0.00" }]);

      const stranger = didKeyIdentity(0x7e).did;
      const env2 = envelope({ idempotency_key: "wallet-2", input: { location: "Berlin", days: 1 } }, undefined, stranger);
      const r2 = await post(`${base}/oap/invoke`, env2, oapHeaders(env2));
      expect(r2.status).toBe(402);

      await node.stop();
      node = await start();
      const w2 = node.oap!.wallet!;
      expect((await w2.balance(walletDid)).balances).toMatchObject([{ currency: "EUR", balance: "0.999" }]);
    } finally {
      await node.stop();
    }
  });
});
