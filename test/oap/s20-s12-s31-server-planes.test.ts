/**
 * The governance and commerce planes wired into the Tool server (docs/oap-governance.md and
 * docs/oap-commerce.md "For the server"), and the L3 Conformance Receipt issued by
 * `agentwire oap conformance` against a served node (§31, the "Done when").
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { oapCommand } from "../../src/cli/oap.js";
import type { CliIo } from "../../src/cli/io.js";
import { isJsonObject, type JsonObject } from "../../src/json/types.js";
import { startAgentwireNode } from "../../src/node/node.js";
import { Wallet } from "../../src/oap/commerce/wallet.js";
import { verifyConformanceReceipt } from "../../src/oap/governance/conformance.js";
import type { PolicyRuleSet } from "../../src/oap/governance/rules-schema.js";
import { didKeyResolver } from "../../src/oap/sign.js";
import type { OapToolDefinition } from "../../src/oap/server/tool.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { DidResolver } from "../../src/trust/did/resolver.js";
import { API_KEY, codeOf, envelope, invoke, principal, agent, startTool, toolKey } from "./server-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "oap-planes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AUTH = { authorization: `Bearer ${API_KEY}` };

const RULES: PolicyRuleSet = {
  version: "2026-05",
  source: "test/principal",
  rules: [
    {
      id: "l4.principal.no_new_york",
      layer: "L4",
      when: { all: [{ field: "action.id", op: "eq", value: "find_location" }, { field: "principal.jurisdiction", op: "eq", value: "DE" }] },
      effect: "deny",
      explanation: { en: "Place look-ups are not allowed for this Principal.", de: "Ortssuchen sind für diesen Principal nicht erlaubt." },
    },
    { id: "l4.principal.forecast_logged", layer: "L4", when: { field: "action.id", op: "eq", value: "get_forecast" }, effect: "allow_with_conditions", conditions: ["log_usage"] },
  ],
} as unknown as PolicyRuleSet;

describe("governance plane in the invoke pipeline (§20)", () => {
  it("a deny rule refuses with its explanation in the decision record; an allowed call cites the decision in the receipt", async () => {
    const s = await startTool({ governance: { policy: RULES } });
    try {
      const denied = await invoke(s, envelope({ action: "find_location", input: { query: "Berlin" } }), AUTH);
      expect(denied.status).toBe(403);
      expect(codeOf(denied)).toBe("policy_block");
      const details = (denied.body["error"] as JsonObject)["details"] as JsonObject;
      const record = details["decision_record"] as JsonObject;
      expect(record["outcome"]).toBe("block");
      expect(record["applied_rules"]).toContain("l4.principal.no_new_york");
      expect(String(record["explanation"])).toContain("l4.principal.no_new_york");
      expect(String(record["explanation_for_principal"])).toContain("Place look-ups are not allowed for this Principal.");

      const ok = await invoke(s, envelope({ idempotency_key: "planes-1" }), AUTH);
      expect(ok.status).toBe(200);
      const receiptId = String((ok.body["receipt"] as JsonObject)["id"]);
      const receipt = (await s.server.store.receipts.get(receiptId)) as unknown as JsonObject;
      const decisions = receipt["policy_decisions"] as JsonObject[];
      expect(decisions).toHaveLength(2);
      expect(decisions[1]).toMatchObject({ outcome: "allow_with_conditions", rules: ["l4.principal.forecast_logged"] });
    } finally {
      await s.close();
    }
  });
});

function pricedTool(wallet: Wallet): OapToolDefinition {
  const base = weatherTool();
  const m = base.manifest;
  const actions = m.actions.map((a) => (a.id === "get_forecast" ? { ...a, rate_limit: { rpm: 100_000, concurrent: 100 }, idempotent: false, idempotency_window_seconds: undefined } : a));
  return { ...base, manifest: { ...m, actions: actions as typeof m.actions }, commerce: { wallet, subscriptionRequired: ["get_forecast"] } };
}

describe("commerce plane in the invoke pipeline (§11, §12)", () => {
  it("402 subscription_required with price options, then after subscribing every call is charged exactly once and the wallet never overspends", async () => {
    const wallet = new Wallet({ providerDid: "did:web:wallet.example", signer: { key: toolKey, kid: "did:web:wallet.example#k" } });
    const walletDid = "did:web:wallet.example:w:1";
    await wallet.open(walletDid, principal.did);
    await wallet.credit(walletDid, { amount: "0.030", currency: "EUR" });
    const s = await startTool({ tool: pricedTool(wallet) });
    try {
      const m = s.server.manifest["endpoints"] as JsonObject;
      expect(m["billing"]).toBe(`${s.url}/oap/billing`);
      const refused = await invoke(s, envelope({}), AUTH);
      expect(refused.status).toBe(402);
      expect(codeOf(refused)).toBe("subscription_required");
      const d = (refused.body["error"] as JsonObject)["details"] as JsonObject;
      expect(d["agent_subscribe_url"]).toBe(`${s.url}/oap/subscribe`);
      expect((d["price_options"] as JsonObject[]).map((o) => o["tier"])).toEqual(["pro", "enterprise"]);

      const sub = await fetch(`${s.url}/oap/subscribe`, {
        method: "POST",
        headers: { "content-type": "application/json", ...AUTH },
        body: JSON.stringify({ principal_did: principal.did, agent_did: agent.did, tier: "pro", autonomous_policy: { allowed: true, max_amount: { amount: "10.00", currency: "EUR" } } }),
      });
      expect(sub.status).toBe(201);
      const subBody = (await sub.json()) as JsonObject;
      expect(subBody["status"]).toBe("active");
      const token = String(subBody["subscription_token"]);
      const billing = (await (await fetch(`${s.url}/oap/billing?principal_did=${encodeURIComponent(principal.did)}`, { headers: AUTH })).json()) as JsonObject;
      expect(billing["subscriptions"]).toHaveLength(1);

      const answers = await Promise.all(Array.from({ length: 50 }, () => invoke(s, envelope({ subscription_token: token }), AUTH)));
      const ok = answers.filter((a) => a.status === 200);
      const paid = answers.filter((a) => a.status === 402);
      expect(ok).toHaveLength(30);
      expect(paid).toHaveLength(20);
      const bal = await wallet.balance(walletDid);
      expect(bal).toMatchObject({ balances: [{ currency: "EUR", balance: "0.00", held: "0.00" }] });
      const debits = (await wallet.entries(walletDid)).filter((e) => e.type === "debit");
      expect(debits).toHaveLength(30);
      const receipts = new Set(ok.map((a) => String((a.body["receipt"] as JsonObject)["id"])));
      expect(new Set(debits.map((e) => e.receipt_id))).toEqual(receipts);
    } finally {
      await s.close();
    }
  });
});

describe("agentwire oap conformance (§31): the weather example earns a signed L3 receipt", () => {
  it("probes a served node level by level, issues a verifiable receipt, and the node publishes it", async () => {
    const base = weatherTool();
    const m = base.manifest;
    const tool: OapToolDefinition = {
      ...base,
      manifest: { ...m, tool: { ...m.tool, publisher: { ...m.tool.publisher, verified: true } }, trust: { ...m.trust, publisher_verified: true } },
      commerce: {},
    };
    const node = await startAgentwireNode({ dataDir: join(dir, "node"), port: 0, grpcPort: false, oap: { tools: [tool] } });
    try {
      const cccFile = join(dir, "ccc.json");
      writeFileSync(cccFile, JSON.stringify({ ccc_version: "1.0", scope_id: "scope:weather-pro" }));
      const out = join(dir, "receipt.json");
      let err = "";
      const io: CliIo = {
        stdout: () => undefined,
        stderr: (t) => void (err += t),
        readFile: async (p) => readFileSync(p, "utf8"),
        writeFile: async (p, t) => writeFileSync(p, t),
        cwd: dir,
      };
      const code = await oapCommand.run(["conformance", node.servers.url, "--key", join(dir, "node", "keys", "private.jwks.json"), "--ccc", cccFile, "--level", "3", "--out", out], io);
      expect(code, err).toBe(0);
      const receipt = JSON.parse(readFileSync(out, "utf8")) as JsonObject;
      expect(receipt["claimed_levels"]).toEqual(["L0", "L1", "L2", "L3"]);
      const keys = didKeyResolver(new DidResolver({ allowInsecureLocalhost: true }));
      const v = await verifyConformanceReceipt(receipt, keys);
      expect(v).toMatchObject({ valid: true, levels: ["L0", "L1", "L2", "L3"] });
      const validity = receipt["validity"] as JsonObject;
      expect(Date.parse(String(validity["not_after"])) - Date.parse(String(validity["not_before"]))).toBe(90 * 86_400_000);

      node.oap?.servers[0]?.setConformanceReceipt(receipt);
      const served = (await (await fetch(`${node.servers.url}/oap-conformance-receipt.json`)).json()) as JsonObject;
      expect(isJsonObject(served) && served["receipt_id"]).toBe(receipt["receipt_id"]);
    } finally {
      await node.stop();
    }
  });
});
