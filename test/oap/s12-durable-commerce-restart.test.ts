/**
 * Durable commerce-plane records (docs/oap-server.md "Governance and commerce planes"): with a
 * store that keeps subscriptions, consents and disputes (SqliteOapStore here), a restarted
 * server on the same file still accepts the subscription token, still verifies the consent, and
 * a revoked consent stays revoked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import type { OapToolDefinition } from "../../src/oap/server/tool.js";
import { SqliteOapStore } from "../../src/oap/server/sqlite-store.js";
import { MemoryOapStore } from "../../src/oap/server/store.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { API_KEY, agent, codeOf, envelope, invoke, post, principal, startTool } from "./server-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "oap-durable-commerce-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AUTH = { authorization: `Bearer ${API_KEY}` };

function tool(): OapToolDefinition {
  const base = weatherTool();
  const m = base.manifest;
  const actions = m.actions.map((a) => (a.id === "get_forecast" ? { ...a, requires_consent: true, idempotent: false, idempotency_window_seconds: undefined } : a));
  // a fixed DID: the restarted server listens on another port (did:web:localhost%3A<port> otherwise)
  return { ...base, manifest: { ...m, tool: { ...m.tool, did: "did:web:weather.example" }, actions: actions as typeof m.actions }, commerce: { subscriptionRequired: ["get_forecast"], consents: true, refunds: true } };
}

describe("commerce records survive a restart (SqliteOapStore)", () => {
  it("subscription token, consent and dispute survive; a revoked consent stays revoked", async () => {
    const file = join(dir, "tool.sqlite");
    let s = await startTool({ tool: tool(), store: file });
    let token: string;
    let consentId: string;
    let receiptId: string;
    try {
      const sub = await post(`${s.url}/oap/subscribe`, { principal_did: principal.did, agent_did: agent.did, tier: "pro", autonomous_policy: { allowed: true, max_amount: { amount: "10.00", currency: "EUR" } } }, AUTH);
      expect(sub.status).toBe(201);
      token = String(sub.body["subscription_token"]);
      const consent = await post(`${s.url}/oap/consent`, { principal_did: principal.did, agent_did: agent.did, purpose: "get_forecast" }, AUTH);
      expect(consent.status).toBe(201);
      consentId = String(consent.body["consent_receipt"]);
      expect(consent.body["receipt"]).toBeDefined();
      const ok = await invoke(s, envelope({ subscription_token: token, consent_receipt: consentId }), AUTH);
      expect(ok.status).toBe(200);
      receiptId = String((ok.body["receipt"] as JsonObject)["id"]);
      const filed = await post(`${s.url}/oap/billing/refund`, { principal_did: principal.did, receipt_ids: [receiptId], reason: "wrong city" }, AUTH);
      expect(filed.status).toBe(201);
    } finally {
      await s.close();
    }

    s = await startTool({ tool: tool(), store: file });
    try {
      const again = await invoke(s, envelope({ subscription_token: token, consent_receipt: consentId }), AUTH);
      expect(again.status).toBe(200);
      const billing = (await (await fetch(`${s.url}/oap/billing?principal_did=${encodeURIComponent(principal.did)}`, { headers: AUTH })).json()) as JsonObject;
      expect(billing["subscriptions"]).toHaveLength(1);
      const disputes = (await (await fetch(`${s.url}/oap/billing/refund?principal_did=${encodeURIComponent(principal.did)}`, { headers: AUTH })).json()) as JsonObject;
      expect((disputes["disputes"] as JsonObject[]).map((d) => d["receipt_ids"])).toEqual([[receiptId]]);
      const revoked = await post(`${s.url}/oap/consent`, { consent_id: consentId, revoke: true }, AUTH);
      expect(revoked.status).toBe(201);
      expect(revoked.body["revoked_at"]).toBeDefined();
      const refused = await invoke(s, envelope({ subscription_token: token, consent_receipt: consentId }), AUTH);
      expect(refused.status).toBe(403);
      expect(codeOf(refused)).toBe("policy_block");
      expect(((refused.body["error"] as JsonObject)["details"] as JsonObject)["reason"]).toBe("the consent was revoked");
    } finally {
      await s.close();
    }

    s = await startTool({ tool: tool(), store: file });
    try {
      const still = await invoke(s, envelope({ subscription_token: token, consent_receipt: consentId }), AUTH);
      expect(still.status).toBe(403);
      expect(((still.body["error"] as JsonObject)["details"] as JsonObject)["reason"]).toBe("the consent was revoked");
    } finally {
      await s.close();
    }
  });

  it("the store's records back the memory store too, and SqliteOapStore round-trips each kind", async () => {
    const mem = new MemoryOapStore();
    expect(mem.commerce.subscriptions.listByPrincipal("did:x")).toEqual([]);
    const file = join(dir, "kinds.sqlite");
    const st = new SqliteOapStore(file);
    const consent = { consent_id: "urn:oap:consent:1", principal_did: "did:p", agent_did: "did:a", tool_did: "did:t", purpose: "x", channel: "explicit" as const, granted_at: "2026-01-01T00:00:00Z" };
    await st.commerce.consents.put(consent);
    await st.commerce.consents.put({ ...consent, revoked_at: "2026-01-02T00:00:00Z" });
    await st.commerce.disputes.put({ dispute_id: "d1", tool_did: "did:t", principal_did: "did:p", receipt_ids: ["r"], reason: "x", status: "received", received_at: "t", acknowledge_by: "t", resolve_by: "t" });
    st.close();
    const st2 = new SqliteOapStore(file);
    expect(await st2.commerce.consents.get(consent.consent_id)).toMatchObject({ revoked_at: "2026-01-02T00:00:00Z" });
    expect((await st2.commerce.disputes.list()).map((d) => d.dispute_id)).toEqual(["d1"]);
    expect(await st2.commerce.subscriptions.get("none")).toBeUndefined();
    st2.close();
  });
});
