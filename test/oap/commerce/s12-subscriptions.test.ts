/**
 * OAP-CORE-1.0 §12 Agent Subscription Lifecycle: the 402 `subscription_required` answer with
 * price options (§12.1), consent receipts and the autonomous policy (§12.2), the signed
 * subscription token bound to principal / agent / scope / tier / price hash / expiry (§12.3),
 * price changes with 30 days' notice honoured to the end of the period, and cancellation with no
 * friction asymmetry between Tool and Wallet (§12.4).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { ConsentRegistry, autonomousSubscriptionPermitted } from "../../../src/oap/commerce/consent.js";
import { priceHash, type Pricing } from "../../../src/oap/commerce/pricing.js";
import { SubscriptionManager } from "../../../src/oap/commerce/subscriptions.js";
import { Wallet } from "../../../src/oap/commerce/wallet.js";
import { validateOapDocument } from "../../../src/oap/documents.js";
import { httpErrorOf } from "../../../src/oap/errors.js";
import { verifyReceiptChain } from "../../../src/oap/receipts.js";
import { b64uDecode, b64uEncode, utf8 } from "../../../src/util/base64url.js";
import { AGENT_DID, PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, keys, thrown, upstream } from "../helpers.js";
import { WALLET_DID, allKeys, extraKeys, testLedger } from "../governance/fixtures.js";

const manifest = upstream<OapManifest>("examples/weather-pro/manifest.json");
const SUBSCRIBE_URL = "https://api.weatherpro.example/oap/subscribe";
const CHECKOUT_URL = "https://api.weatherpro.example/oap/checkout";

let clock: TestClock;
let consents: ConsentRegistry;
let subs: SubscriptionManager;
let ledger: ReturnType<typeof testLedger>;

beforeEach(() => {
  clock = new TestClock();
  ledger = testLedger(clock);
  consents = new ConsentRegistry({ clock: clock.now, random: counterRandom(100), ledger });
  subs = new SubscriptionManager({
    toolDid: TOOL_DID,
    pricing: manifest.pricing as unknown as Pricing,
    signer: keys.tool,
    keys: allKeys,
    consents,
    endpoints: { agent_subscribe_url: SUBSCRIBE_URL, checkout_url: CHECKOUT_URL },
    trialAvailable: true,
    ledger,
    clock: clock.now,
    random: counterRandom(200),
  });
});

const req = { principal_did: PRINCIPAL_DID, agent_did: AGENT_DID };

async function explicitConsent(tier = "pro", amount = "9.99"): Promise<string> {
  const { consent } = await consents.grant({
    principal_did: PRINCIPAL_DID,
    agent_did: AGENT_DID,
    tool_did: TOOL_DID,
    purpose: "subscription",
    tier,
    price_hash: priceHash(TOOL_DID, { id: tier, amount, currency: "EUR", interval: "month" }),
    max_amount: { amount, currency: "EUR" },
    interval: "month",
    channel: "explicit",
  });
  return consent.consent_id;
}

describe("§12.1 initiation: 402 subscription_required", () => {
  it("§12.1 the error carries checkout_url, agent_subscribe_url, price_options, user_consent_required, trial_available", () => {
    const e = subs.subscriptionRequired("get_forecast", "EUR");
    const answer = httpErrorOf(e);
    expect(answer.status).toBe(402);
    expect(answer.error).toEqual({
      code: "subscription_required",
      message: "action get_forecast requires an active subscription",
      details: {
        action: "get_forecast",
        checkout_url: CHECKOUT_URL,
        agent_subscribe_url: SUBSCRIBE_URL,
        price_options: [
          { tier: "pro", amount: "9.99", currency: "EUR", interval: "month" },
          { tier: "enterprise", amount: "99.00", currency: "EUR", interval: "month" },
        ],
        user_consent_required: true,
        trial_available: true,
      },
    });
    expect(subs.subscriptionRequiredBody()).toMatchObject({ error: "subscription_required", agent_subscribe_url: SUBSCRIBE_URL });
  });
});

describe("§12.2 consent and §12.3 activation", () => {
  it("§12.3 the free tier activates at once with a token (the upstream probe's flow)", async () => {
    const r = await subs.subscribe({ ...req, tier: "free" });
    expect(r.subscription).toMatchObject({ status: "active", tier: "free", amount: "0", tool_did: TOOL_DID });
    expect(validateOapDocument("oap-subscription", r.subscription)).toEqual([]);
    expect(typeof r.subscription_token).toBe("string");
    expect(r.receipt).toMatchObject({ type: "subscription", action_id: "subscription.activate" });
  });

  it("§12.2 a paid tier without consent waits in pending_consent (no token); explicit consent activates it", async () => {
    const pending = await subs.subscribe({ ...req, tier: "pro" });
    expect(pending.subscription.status).toBe("pending_consent");
    expect(pending.subscription_token).toBeUndefined();
    expect(validateOapDocument("oap-subscription", pending.subscription)).toEqual([]);
    const consentId = await explicitConsent();
    const active = await subs.activate(pending.subscription.subscription_id, consentId);
    expect(active.subscription).toMatchObject({ status: "active", consent_receipt: consentId, amount: "9.99", currency: "EUR", interval: "month", current_period_end: "2026-06-02T10:00:00.000Z" });
    expect(active.receipt).toMatchObject({ type: "subscription", cost: { amount: "9.99", currency: "EUR" } });
  });

  it("§12.2 a consent for another price, Agent or a revoked consent does not activate (403)", async () => {
    const cheap = await explicitConsent("pro", "5.00");
    expect((await thrown(() => subs.subscribe({ ...req, tier: "pro", consent_receipt: cheap }))).code).toBe("ERR_OAP_CONSENT_REQUIRED");
    const good = await explicitConsent();
    expect((await thrown(() => subs.subscribe({ principal_did: PRINCIPAL_DID, agent_did: "did:web:other-agent.example", tier: "pro", consent_receipt: good }))).code).toBe("ERR_OAP_CONSENT_REQUIRED");
    await consents.revoke(good, PRINCIPAL_DID);
    const e = await thrown(() => subs.subscribe({ ...req, tier: "pro", consent_receipt: good }));
    expect(e.details?.["reason"]).toBe("the consent was revoked");
  });

  it("§12.2 a Principal policy permitting autonomous subscription within limits: a consent receipt is recorded and the Agent proceeds", async () => {
    const policy = { allowed: true, max_amount: { amount: "10.00", currency: "EUR" }, intervals: ["month" as const] };
    const r = await subs.subscribe({ ...req, tier: "pro", autonomous_policy: policy });
    expect(r.subscription.status).toBe("active");
    const consent = await consents.verify(r.subscription.consent_receipt, { principal_did: PRINCIPAL_DID });
    expect(consent).toMatchObject({ channel: "principal_policy", purpose: "subscription", tier: "pro", max_amount: { amount: "9.99", currency: "EUR" } });
    expect(consent.receipt_id).toMatch(/^urn:oap:receipt:/);
    const over = await subs.subscribe({ ...req, tier: "enterprise", autonomous_policy: policy });
    expect(over.subscription.status).toBe("pending_consent");
    expect(autonomousSubscriptionPermitted(policy, { tool_did: TOOL_DID, tier: "enterprise", amount: "99.00", currency: "EUR", interval: "month" }).reason).toBe("99.00 EUR exceeds the policy limit 10.00");
    expect(autonomousSubscriptionPermitted(undefined, { tool_did: TOOL_DID, tier: "pro", amount: "1", currency: "EUR", interval: "month" }).permitted).toBe(false);
    // the consent and subscription receipts form the Principal's chain
    const chain = await ledger.store.list(PRINCIPAL_DID);
    expect(chain.map((x) => x["type"])).toEqual(["consent", "subscription"]);
    expect((await verifyReceiptChain(chain, { keys: allKeys })).ok).toBe(true);
  });

  it("§12.3 the token is bound to principal, agent, scope, tier, price hash and expiry", async () => {
    const r = await subs.subscribe({ ...req, scope_id: "scope_consulting_clientA", tier: "pro", consent_receipt: await explicitConsent() });
    const token = r.subscription_token as string;
    const [h, p] = token.split(".");
    expect(JSON.parse(new TextDecoder().decode(b64uDecode(h as string)))).toEqual({ alg: "EdDSA", typ: "oap-subscription+jwt", kid: keys.tool.kid });
    const claims = JSON.parse(new TextDecoder().decode(b64uDecode(p as string)));
    expect(claims).toMatchObject({
      iss: TOOL_DID,
      sub: PRINCIPAL_DID,
      oap_principal: PRINCIPAL_DID,
      oap_agent: AGENT_DID,
      oap_scope: "scope_consulting_clientA",
      oap_subscription: r.subscription.subscription_id,
      tier: "pro",
      price_hash: r.subscription.price_hash,
      exp: Date.parse("2026-06-02T10:00:00Z") / 1000,
    });
    const scoped = { ...req, scope_id: "scope_consulting_clientA" };
    expect((await subs.verifyToken(token, scoped, { tiers: ["pro", "enterprise"] })).subscription.subscription_id).toBe(r.subscription.subscription_id);
    const code = async (request: Parameters<SubscriptionManager["verifyToken"]>[1], t = token, tiers?: string[]): Promise<string> => (await thrown(() => subs.verifyToken(t, request, tiers === undefined ? {} : { tiers }))).code;
    expect(await code({ ...scoped, principal_did: "did:plc:someone-else" })).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED");
    expect(await code({ ...scoped, agent_did: "did:web:other-agent.example" })).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED");
    expect(await code({ ...scoped, scope_id: "scope_clientB" })).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED");
    expect(await code(req)).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED"); // scoped token, unscoped request
    expect(await code(scoped, token, ["enterprise"])).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED");
    const forgedClaims = b64uEncode(utf8(JSON.stringify({ ...claims, tier: "enterprise" })));
    expect(await code(scoped, `${h}.${forgedClaims}.${token.split(".")[2]}`)).toBe("ERR_OAP_TOKEN_INVALID");
    expect(await code(scoped, "not-a-token")).toBe("ERR_OAP_TOKEN_INVALID");
    clock.advance(31 * 86_400_000);
    expect(await code(scoped)).toBe("ERR_OAP_TOKEN_EXPIRED");
  });

  it("§12.3 a token signed by another key of the wrong DID is refused", async () => {
    const other = new SubscriptionManager({ toolDid: "did:web:tool-a.example", pricing: { free_tier: {}, models: [{ type: "free" }] }, signer: extraKeys.toolA, keys: allKeys, consents, endpoints: { agent_subscribe_url: SUBSCRIBE_URL }, clock: clock.now });
    const { subscription_token } = await other.subscribe({ ...req, tier: "free" });
    expect((await thrown(() => subs.verifyToken(subscription_token as string, req))).code).toBe("ERR_OAP_TOKEN_INVALID");
    expect(() => new SubscriptionManager({ toolDid: TOOL_DID, signer: keys.agent, keys: allKeys, consents, endpoints: { agent_subscribe_url: SUBSCRIBE_URL } })).toThrow();
  });
});

describe("§12.4 modification and termination", () => {
  it("§12.4 price changes need 30 days' notice; the original price holds for the paid period; renewal takes the new price", async () => {
    const r = await subs.subscribe({ ...req, tier: "pro", consent_receipt: await explicitConsent() });
    const token = r.subscription_token as string;
    expect((await thrown(() => subs.announcePriceChange({ tier: "pro", amount: "12.99", effective_at: clock.iso(29 * 86_400_000) }))).code).toBe("ERR_OAP_INPUT_INVALID");
    const notice = subs.announcePriceChange({ tier: "pro", amount: "12.99", effective_at: clock.iso(30 * 86_400_000) });
    expect(notice).toMatchObject({ tier: "pro", amount: "12.99", currency: "EUR", effective_at: "2026-06-01T10:00:00.000Z" });
    expect(subs.priceChangeNotices()).toEqual([notice]);
    // the current period (to 2026-06-02) keeps 9.99 and the token stays valid after the change is effective
    clock.advance(30 * 86_400_000 + 1000);
    expect((await subs.verifyToken(token, req)).subscription.amount).toBe("9.99");
    const renewed = await subs.renew(r.subscription.subscription_id);
    expect(renewed.subscription).toMatchObject({ amount: "12.99", current_period_start: "2026-06-02T10:00:00.000Z", current_period_end: "2026-07-02T10:00:00.000Z", price_hash: notice.price_hash });
    expect((await thrown(() => subs.verifyToken(token, req))).code).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED"); // old price hash
    await subs.verifyToken(renewed.subscription_token as string, req);
  });

  it("§12.4 termination through the Tool and through the Wallet: one call each, same inputs, same outcome", async () => {
    const viaTool = await subs.subscribe({ ...req, tier: "pro", consent_receipt: await explicitConsent() });
    const viaWallet = await subs.subscribe({ ...req, tier: "pro", consent_receipt: await explicitConsent() });
    const wallet = new Wallet({ providerDid: WALLET_DID, signer: extraKeys.wallet, clock: clock.now, subscriptions: (tool) => (tool === TOOL_DID ? subs : undefined) });

    const a = await subs.cancel(viaTool.subscription.subscription_id, { principal_did: PRINCIPAL_DID, channel: "tool" });
    const b = await wallet.cancelSubscription({ tool_did: TOOL_DID, subscription_id: viaWallet.subscription.subscription_id, principal_did: PRINCIPAL_DID });
    for (const x of [a, b]) {
      expect(x.subscription).toMatchObject({ status: "canceled", canceled_at: clock.iso() });
      expect(x.subscription.subscription_token).toBeUndefined();
      expect(validateOapDocument("oap-subscription", x.subscription)).toEqual([]);
      expect(x.receipt).toMatchObject({ type: "subscription", action_id: "subscription.cancel" });
    }
    const strip = (s: typeof a.subscription): unknown => ({ ...s, subscription_id: "", consent_receipt: "" });
    expect(strip(a.subscription)).toEqual(strip(b.subscription));
    expect((await thrown(() => subs.verifyToken(viaTool.subscription_token as string, req))).code).toBe("ERR_OAP_SUBSCRIPTION_REQUIRED");
    expect((await subs.cancel(viaTool.subscription.subscription_id, { principal_did: PRINCIPAL_DID, channel: "wallet" })).subscription.status).toBe("canceled");
    expect((await thrown(() => subs.cancel(viaTool.subscription.subscription_id, { principal_did: "did:plc:intruder", channel: "tool" }))).code).toBe("ERR_OAP_SCOPE_INSUFFICIENT");
    expect((await subs.list(PRINCIPAL_DID)).map((s) => s.status)).toEqual(["canceled", "canceled"]);
  });
});
