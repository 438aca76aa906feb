/**
 * Pricing models (OAP-CORE-1.0 §11.1): free, per call, subscription, usage metered and outcome,
 * alone or composed; quotes in decimal strings (exact, never floats), in the Invocation's
 * declared currency or a 400 listing the supported ones (§24.1); the price hash that binds a
 * subscription to its price (§12.3); and the §12.1 price options.
 *
 * @module
 */
import type { OapAction } from "../../../gen/types/oap/oap-action.js";
import { OapError } from "../errors.js";
import { jcsDigest } from "../util.js";
import { addDecimal, assertCurrency, formatMoneyAmount, mulInteger, parseDecimal, shiftDown, type Decimal, type Money } from "./money.js";

/** Subscription billing intervals. */
export type BillingInterval = "day" | "week" | "month" | "year";

/** A subscription tier. */
export interface SubscriptionTier {
  readonly id: string;
  readonly amount: string;
  readonly currency: string;
  readonly interval: BillingInterval;
}

/** The five §11.1 models. */
export type PricingModel =
  | { readonly type: "free" }
  | { readonly type: "per_call"; readonly amount: string; readonly currency: string }
  | { readonly type: "subscription"; readonly tiers: readonly SubscriptionTier[] }
  | { readonly type: "usage_metered"; readonly unit: string; readonly amount_per_1000: string; readonly currency: string }
  | { readonly type: "outcome"; readonly trigger: string; readonly amount: string; readonly currency: string };

/** The manifest's `pricing` block. */
export interface Pricing {
  readonly free_tier?: Readonly<Record<string, unknown>>;
  readonly models: readonly PricingModel[];
}

/** What is being priced. */
export interface Usage {
  /** Number of calls (per_call). */
  readonly calls?: bigint | number;
  /** Metered units per unit name (usage_metered), e.g. `{tokens: 12500n}`. */
  readonly units?: Readonly<Record<string, bigint | number>>;
  /** Triggered outcomes per trigger (outcome), e.g. `{successful_booking: 1}`. */
  readonly outcomes?: Readonly<Record<string, bigint | number>>;
  /** The subscribed tier to charge (subscription) and the number of periods (default 1). */
  readonly tier?: string;
  readonly periods?: bigint | number;
}

/** One priced component. */
export interface QuoteLine {
  readonly model: PricingModel["type"];
  readonly detail: string;
  readonly amount: string;
  readonly currency: string;
}

/** A quote in one currency. */
export interface Quote {
  readonly currency: string;
  readonly total: string;
  readonly lines: readonly QuoteLine[];
}

function count(n: bigint | number | undefined): bigint {
  if (n === undefined) return 0n;
  if (typeof n === "bigint") {
    if (n < 0n) throw new OapError("ERR_OAP_INPUT_INVALID", "usage counts are non-negative");
    return n;
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new OapError("ERR_OAP_INPUT_INVALID", "usage counts are non-negative integers");
  return BigInt(n);
}

/** Currencies the models are priced in. */
export function pricingCurrencies(models: readonly PricingModel[]): string[] {
  const out = new Set<string>();
  for (const m of models) {
    if (m.type === "subscription") for (const t of m.tiers) out.add(t.currency);
    else if (m.type !== "free") out.add(m.currency);
  }
  return [...out].sort();
}

/** Validates the models' amounts and currencies (decimal strings, ISO 4217 shape); 400 otherwise. */
export function assertPricing(pricing: Pricing): void {
  for (const m of pricing.models) {
    if (m.type === "free") continue;
    if (m.type === "subscription") {
      for (const t of m.tiers) {
        parseDecimal(t.amount);
        assertCurrency(t.currency);
      }
      continue;
    }
    parseDecimal(m.type === "usage_metered" ? m.amount_per_1000 : m.amount);
    assertCurrency(m.currency);
  }
}

/**
 * Quotes a usage against a composition of models in `currency` (§24.1): free models add
 * nothing; per_call adds amount × calls; usage_metered adds amount_per_1000 × units / 1000
 * (exact, the result may have three more decimals than the price); outcome adds amount ×
 * triggered outcomes; subscription adds the tier's amount × periods when `usage.tier` is given.
 * A model in another currency is not used; when the composition has priced models but none in
 * `currency`, 400 `ERR_OAP_CURRENCY_UNSUPPORTED` with `supported_currencies`.
 */
export function quote(models: readonly PricingModel[], usage: Usage, currency: string): Quote {
  assertCurrency(currency);
  const supported = pricingCurrencies(models);
  if (supported.length > 0 && !supported.includes(currency)) {
    throw new OapError("ERR_OAP_CURRENCY_UNSUPPORTED", `prices are not quoted in ${currency}`, { details: { currency, supported_currencies: supported } });
  }
  const lines: QuoteLine[] = [];
  let total: Decimal = { units: 0n, scale: 0 };
  const add = (model: PricingModel["type"], detail: string, d: Decimal): void => {
    total = addDecimal(total, d);
    lines.push({ model, detail, amount: formatMoneyAmount(d, currency), currency });
  };
  let tierFound = usage.tier === undefined;
  for (const m of models) {
    switch (m.type) {
      case "free":
        break;
      case "per_call":
        if (m.currency === currency && usage.calls !== undefined) add("per_call", `${count(usage.calls)} call(s) × ${m.amount}`, mulInteger(parseDecimal(m.amount), count(usage.calls)));
        break;
      case "usage_metered": {
        const n = usage.units?.[m.unit];
        if (m.currency === currency && n !== undefined) add("usage_metered", `${count(n)} ${m.unit} × ${m.amount_per_1000} / 1000`, shiftDown(mulInteger(parseDecimal(m.amount_per_1000), count(n)), 3));
        break;
      }
      case "outcome": {
        const n = usage.outcomes?.[m.trigger];
        if (m.currency === currency && n !== undefined) add("outcome", `${count(n)} × ${m.trigger} at ${m.amount}`, mulInteger(parseDecimal(m.amount), count(n)));
        break;
      }
      case "subscription": {
        const tier = m.tiers.find((t) => t.id === usage.tier && t.currency === currency);
        if (tier !== undefined) {
          tierFound = true;
          const periods = usage.periods === undefined ? 1n : count(usage.periods);
          add("subscription", `tier ${tier.id}, ${periods} ${tier.interval}(s)`, mulInteger(parseDecimal(tier.amount), periods));
        }
        break;
      }
    }
  }
  if (!tierFound) throw new OapError("ERR_OAP_NOT_FOUND", `no subscription tier ${usage.tier} in ${currency}`, { details: { tier: usage.tier ?? "", currency } });
  return { currency, total: formatMoneyAmount(total, currency), lines };
}

/**
 * An Action's `cost` for one invocation (§7): free / subscription_included → 0; per_call and
 * per_invocation → amount; usage_metered, per_token_knowledge and outcome / per_outcome →
 * amount × `units` (the action-level amount is per unit). Models that need a quote endpoint
 * (per_capability, per_delegation) → 400.
 */
export function actionCost(cost: OapAction["cost"], units: bigint | number = 1): Money | undefined {
  if (cost === undefined || cost.type === undefined || cost.type === "free" || cost.type === "subscription_included") return undefined;
  if (cost.type === "per_capability" || cost.type === "per_delegation") {
    throw new OapError("ERR_OAP_INPUT_INVALID", `${cost.type} prices come from the quote endpoint, not the manifest`);
  }
  if (cost.amount === undefined || cost.currency === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", `a ${cost.type} cost needs amount and currency`);
  const currency = assertCurrency(cost.currency);
  const per = parseDecimal(cost.amount);
  const n = cost.type === "per_call" || cost.type === "per_invocation" ? 1n : count(units);
  return { amount: formatMoneyAmount(mulInteger(per, n), currency), currency };
}

/** The subscription tiers of a composition. */
export function subscriptionTiers(pricing: Pricing | undefined): SubscriptionTier[] {
  return (pricing?.models ?? []).flatMap((m) => (m.type === "subscription" ? [...m.tiers] : []));
}

/** The §12.1 `price_options` of a composition (optionally in one currency). */
export function priceOptions(pricing: Pricing | undefined, currency?: string): { tier: string; amount: string; currency: string; interval: BillingInterval }[] {
  return subscriptionTiers(pricing)
    .filter((t) => currency === undefined || t.currency === currency)
    .map((t) => ({ tier: t.id, amount: formatMoneyAmount(parseDecimal(t.amount), t.currency), currency: t.currency, interval: t.interval }));
}

/**
 * The §12.3 price hash: "sha256:" + hex SHA-256 of the JCS form of
 * `{tool_did, tier, amount, currency, interval}` with the amount normalised, so "9.9" and
 * "9.90" hash alike and any real price change changes the hash.
 */
export function priceHash(toolDid: string, tier: Pick<SubscriptionTier, "id" | "amount" | "currency" | "interval">): string {
  return jcsDigest({ tool_did: toolDid, tier: tier.id, amount: formatMoneyAmount(parseDecimal(tier.amount), tier.currency), currency: tier.currency, interval: tier.interval });
}
