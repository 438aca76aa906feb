/**
 * OAP-CORE-1.0 §22 Revocation and Incident Response: revocation status checks with cache
 * validity (§22.1), incident reports within the disclosure window (§22.2), the Principal's kill
 * switch recorded as a receipt (§22.3), time locks (§22.4).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { ConsentRegistry } from "../../../src/oap/commerce/consent.js";
import { SubscriptionManager } from "../../../src/oap/commerce/subscriptions.js";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { IncidentRegistry, disclosureDeadline, type OapIncident } from "../../../src/oap/governance/incidents.js";
import { KillSwitch, type Revoker } from "../../../src/oap/governance/kill-switch.js";
import { MemoryRevocationService, RevocationChecker } from "../../../src/oap/governance/revocation.js";
import { TimeLockQueue } from "../../../src/oap/governance/time-locks.js";
import { verifyReceiptChain } from "../../../src/oap/receipts.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, keys, thrown } from "../helpers.js";
import { allKeys, testLedger } from "./fixtures.js";

let clock: TestClock;
beforeEach(() => {
  clock = new TestClock();
});

describe("§22.1 revocation status", () => {
  it("§22.1 a DID younger than the issuer's cache validity needs no lookup; an older one is checked and the answer cached", async () => {
    const service = new MemoryRevocationService({ cacheSeconds: 60 });
    const checker = new RevocationChecker({ source: service, clock: clock.now });
    const fresh = await checker.check("did:web:agent.example", { issued_at: clock.iso(-30_000), cache_validity_seconds: 300 });
    expect(fresh).toEqual({ subject: "did:web:agent.example", revoked: false, source: "fresh" });
    expect(service.lookups).toBe(0);
    const old = await checker.check("did:web:agent.example", { issued_at: clock.iso(-600_000), cache_validity_seconds: 300 });
    expect(old).toMatchObject({ revoked: false, source: "service", valid_until: clock.iso(60_000) });
    expect((await checker.check("did:web:agent.example")).source).toBe("cache");
    expect(service.lookups).toBe(1);
    clock.advance(61_000);
    expect((await checker.check("did:web:agent.example")).source).toBe("service");
    expect(service.lookups).toBe(2);
  });

  it("§22.1 a revoked subject is refused (401) and stays refused from the cache even when 'fresh'", async () => {
    const service = new MemoryRevocationService();
    service.revoke("vc:OAPConformance:123", clock.now(), "key compromise");
    const checker = new RevocationChecker({ source: service, clock: clock.now });
    const e = await thrown(() => checker.assertNotRevoked("vc:OAPConformance:123"));
    expect(e.code).toBe("ERR_OAP_AUTH_INVALID");
    expect(e.httpStatus).toBe(401);
    expect(e.message).toContain("key compromise");
    expect((await checker.check("vc:OAPConformance:123", { issued_at: clock.iso(), cache_validity_seconds: 3600 })).revoked).toBe(true);
  });

  it("§22.1 an unreachable Revocation Service fails closed (502)", async () => {
    const checker = new RevocationChecker({ source: { status: () => Promise.reject(new Error("down")) }, clock: clock.now });
    const e = await thrown(() => checker.check("did:web:x.example"));
    expect(e.code).toBe("ERR_OAP_UPSTREAM");
  });
});

describe("§22.2 incidents", () => {
  const input = {
    detected_at: "2026-05-01T08:00:00.000Z",
    severity: "high" as const,
    scope: { actions_affected: ["get_forecast"], regions_affected: ["eu-west"], principals_affected_estimate: 1200, data_classes_affected: ["geolocation_coarse"] },
    root_cause: "A cache misconfiguration served forecasts of other Principals.",
    mitigation: "Cache disabled; keys rotated.",
    notification: { principals_notified_at: "2026-05-02T09:00:00.000Z", method: ["email"] },
  };

  it("§22.2 the deadline is the SLA window, capped at 72 h above 10,000 monthly active Principals", () => {
    expect(disclosureDeadline("2026-05-01T00:00:00Z", 96)).toBe("2026-05-05T00:00:00.000Z");
    expect(disclosureDeadline("2026-05-01T00:00:00Z", 96, 10_001)).toBe("2026-05-04T00:00:00.000Z");
    expect(disclosureDeadline("2026-05-01T00:00:00Z", 24, 50_000)).toBe("2026-05-02T00:00:00.000Z");
  });

  it("§22.2 a report is a schema-valid oap-incident; late disclosure is flagged; status moves forward only", async () => {
    const published: OapIncident[] = [];
    const reg = new IncidentRegistry({ toolDid: TOOL_DID, disclosureWithinHours: 72, monthlyActivePrincipals: 20_000, clock: clock.now, random: counterRandom(), onPublish: (i) => void published.push(i) });
    const { incident, deadline, late } = await reg.report(input);
    expect(validateOapDocument("oap-incident", incident)).toEqual([]);
    expect(incident).toMatchObject({ tool_did: TOOL_DID, status: "open", disclosed_at: clock.iso() });
    expect(incident.incident_id).toMatch(/^urn:oap:incident:/);
    expect(deadline).toBe("2026-05-04T08:00:00.000Z");
    expect(late).toBe(false);
    const later = await reg.update(incident.incident_id, { status: "resolved", remediation: "New cache keys include the Principal." });
    expect(later.resolved_at).toBe(clock.iso());
    expect((await thrown(() => reg.update(incident.incident_id, { status: "open" }))).code).toBe("ERR_OAP_CONFLICT");
    expect(published.map((i) => i.status)).toEqual(["open", "resolved"]);
    clock.advance(5 * 86_400_000);
    expect((await reg.report(input)).late).toBe(true);
    const listed = await reg.list();
    expect(listed.incidents).toHaveLength(2);
    expect((await reg.list({ status: "resolved" })).incidents.map((i) => i.incident_id)).toEqual([incident.incident_id]);
  });

  it("§22.2 an invalid report (severity outside the enum) is refused", async () => {
    const reg = new IncidentRegistry({ toolDid: TOOL_DID, disclosureWithinHours: 72, clock: clock.now });
    expect((await thrown(() => reg.report({ ...input, severity: "minor" as never }))).code).toBe("ERR_OAP_ENVELOPE_INVALID");
  });
});

describe("§22.3 kill switch", () => {
  it("§22.3 one call revokes subscription tokens, OAuth grants, Trust Tokens and webhooks; recorded as a kill_switch receipt", async () => {
    const ledger = testLedger(clock);
    const subs = new SubscriptionManager({
      toolDid: TOOL_DID,
      pricing: { free_tier: {}, models: [{ type: "free" }] },
      signer: keys.tool,
      keys: allKeys,
      consents: new ConsentRegistry({ clock: clock.now }),
      endpoints: { agent_subscribe_url: "https://weatherpro.example/oap/subscribe" },
      clock: clock.now,
    });
    const { subscription_token } = await subs.subscribe({ principal_did: PRINCIPAL_DID, agent_did: AGENT_DID, tier: "free" });
    const req = { principal_did: PRINCIPAL_DID, agent_did: AGENT_DID };
    await subs.verifyToken(subscription_token as string, req);

    const grants = new Map([["grant-1", PRINCIPAL_DID], ["grant-2", PRINCIPAL_DID], ["grant-3", "did:plc:other"]]);
    const oauth: Revoker = { name: "oauth", kind: "oauth_grants", revokeAll: (p) => [...grants].filter(([, o]) => o === p).map(([g]) => grants.delete(g)).length };
    const trust: Revoker = { name: "trust", kind: "trust_tokens", revokeAll: () => 4 };
    const hooks: Revoker = { name: "webhooks", kind: "webhooks", revokeAll: () => Promise.reject(new Error("webhook registry unavailable")) };
    const ks = new KillSwitch({ ledger, revokers: [subs.revoker(), oauth, trust], clock: clock.now });
    ks.register(hooks);
    expect(ks.kinds().sort()).toEqual(["oauth_grants", "subscription_tokens", "trust_tokens", "webhooks"]);
    expect(() => ks.register(hooks)).toThrow();

    const result = await ks.invoke({ principal_did: PRINCIPAL_DID, via: "wallet", agent_did: AGENT_DID });
    expect(result.complete).toBe(false);
    expect(result.results).toEqual([
      { name: `subscription-tokens:${TOOL_DID}`, kind: "subscription_tokens", revoked: 1 },
      { name: "oauth", kind: "oauth_grants", revoked: 2 },
      { name: "trust", kind: "trust_tokens", revoked: 4 },
      { name: "webhooks", kind: "webhooks", error: "webhook registry unavailable" },
    ]);
    expect([...grants.keys()]).toEqual(["grant-3"]);
    expect(result.receipt).toMatchObject({ type: "kill_switch", principal_did: PRINCIPAL_DID, agent_did: AGENT_DID, action_id: "kill_switch" });
    expect(validateOapDocument("oap-receipt", result.receipt)).toEqual([]);
    expect((await verifyReceiptChain([result.receipt], { keys: allKeys, requiredSigners: () => [TOOL_DID] })).ok).toBe(true);

    // the token issued before the kill is refused; credentials issued before are revoked, later ones not
    expect((await thrown(() => subs.verifyToken(subscription_token as string, req))).code).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED");
    expect(ks.isRevoked(PRINCIPAL_DID, clock.iso(-1))).toBe(true);
    expect(ks.isRevoked(PRINCIPAL_DID, clock.iso(1))).toBe(false);
    expect(ks.isRevoked("did:plc:other", clock.iso(-1))).toBe(false);
    expect(ks.killedAt(PRINCIPAL_DID)?.toISOString()).toBe(clock.iso());
  });
});

describe("§22.4 time locks", () => {
  const rules = [
    { id: "big-transfers", threshold: { amount: "1000.00", currency: "EUR" }, delay_seconds: 86_400, actions: ["transfer"] },
    { id: "anything-huge", threshold: { amount: "10000.00", currency: "EUR" }, delay_seconds: 7 * 86_400 },
  ];

  it("§22.4 below the threshold runs at once; above is locked for the longest applicable delay", () => {
    const q = new TimeLockQueue({ rules: () => rules, clock: clock.now, random: counterRandom() });
    expect(q.submit({ principal_did: PRINCIPAL_DID, action: "transfer", amount: { amount: "1000.00", currency: "EUR" } })).toEqual({ status: "immediate" });
    expect(q.submit({ principal_did: PRINCIPAL_DID, action: "transfer" })).toEqual({ status: "immediate" });
    const d = q.submit({ principal_did: PRINCIPAL_DID, action: "transfer", amount: { amount: "1000.01", currency: "EUR" } });
    expect(d.status).toBe("locked");
    if (d.status !== "locked") return;
    expect(d.lock.execute_after).toBe(clock.iso(86_400_000));
    const huge = q.submit({ principal_did: PRINCIPAL_DID, action: "transfer", amount: { amount: "20000", currency: "EUR" } });
    expect(huge.status === "locked" && huge.lock.rule_id).toBe("anything-huge");
    const usd = q.submit({ principal_did: PRINCIPAL_DID, action: "buy", amount: { amount: "1", currency: "USD" } });
    expect(usd.status).toBe("locked"); // another currency cannot be compared: locked
  });

  it("§22.4 the Principal cancels without cost before release; release only once and only when due", async () => {
    const q = new TimeLockQueue({ rules: () => rules, clock: clock.now, random: counterRandom() });
    const a = q.submit({ principal_did: PRINCIPAL_DID, action: "transfer", amount: { amount: "5000", currency: "EUR" }, payload: { to: "DE89..." } });
    const b = q.submit({ principal_did: PRINCIPAL_DID, action: "transfer", amount: { amount: "5000", currency: "EUR" } });
    if (a.status !== "locked" || b.status !== "locked") throw new Error("expected locks");
    expect((await thrown(() => q.release(a.lock.lock_id))).code).toBe("ERR_OAP_CONFLICT");
    expect((await thrown(() => q.cancel(a.lock.lock_id, "did:plc:intruder"))).code).toBe("ERR_OAP_SCOPE_INSUFFICIENT");
    expect(q.cancel(a.lock.lock_id, PRINCIPAL_DID).status).toBe("canceled");
    expect(q.due()).toEqual([]);
    clock.advance(86_400_000);
    expect(q.due().map((l) => l.lock_id)).toEqual([b.lock.lock_id]);
    expect((await thrown(() => q.release(a.lock.lock_id))).code).toBe("ERR_OAP_CONFLICT");
    expect(q.release(b.lock.lock_id).status).toBe("released");
    expect((await thrown(() => q.release(b.lock.lock_id))).code).toBe("ERR_OAP_CONFLICT");
    expect((await thrown(() => q.cancel(b.lock.lock_id, PRINCIPAL_DID))).code).toBe("ERR_OAP_CONFLICT");
  });
});
