/**
 * OAP-CORE-1.0 §11.1 pricing models with decimal-string money (never floats), §24.1 quotes in
 * the declared currency or a structured error, §12.3 price hashes, §12.1 price options.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import {
  LEDGER_SCALE,
  addDecimal,
  compareMoney,
  formatDecimal,
  fromLedgerUnits,
  money,
  mulDecimal,
  parseDecimal,
  rescale,
  sumMoney,
  toLedgerUnits,
} from "../../../src/oap/commerce/money.js";
import { actionCost, assertPricing, priceHash, priceOptions, pricingCurrencies, quote, type Pricing, type PricingModel } from "../../../src/oap/commerce/pricing.js";
import { TOOL_DID, thrown, upstream } from "../helpers.js";

const manifest = upstream<OapManifest>("examples/weather-pro/manifest.json");
const pricing = manifest.pricing as unknown as Pricing;

describe("§11.1 decimal-string money", () => {
  it("§11.1 exact arithmetic: 0.1 + 0.2 = 0.3, no float anywhere", () => {
    expect(formatDecimal(addDecimal(parseDecimal("0.1"), parseDecimal("0.2")))).toBe("0.3");
    expect(formatDecimal(mulDecimal(parseDecimal("0.001"), parseDecimal("1000000")))).toBe("1000");
    expect(sumMoney([{ amount: "0.10", currency: "EUR" }, { amount: "0.20", currency: "EUR" }, { amount: "-0.05", currency: "EUR" }], "EUR")).toEqual({ amount: "0.25", currency: "EUR" });
    expect(money("9.9", "EUR")).toEqual({ amount: "9.90", currency: "EUR" });
    expect(money("1000", "JPY")).toEqual({ amount: "1000", currency: "JPY" });
    expect(money("0.001", "EUR")).toEqual({ amount: "0.001", currency: "EUR" });
    expect(money("1.5", "KWD")).toEqual({ amount: "1.500", currency: "KWD" });
    expect(compareMoney({ amount: "100.00", currency: "EUR" }, { amount: "100", currency: "EUR" })).toBe(0);
  });

  it("§11.1 invalid amounts and currencies are refused (400)", async () => {
    for (const bad of ["", "1e3", "+1", "1.", ".5", "0x10", " 1", "1,00", "-1", "NaN"]) {
      expect((await thrown(() => parseDecimal(bad))).code, bad).toBe("ERR_OAP_INPUT_INVALID");
    }
    expect(parseDecimal("-1", { signed: true })).toEqual({ units: -1n, scale: 0 });
    expect((await thrown(() => money("1", "eur"))).code).toBe("ERR_OAP_INPUT_INVALID");
    expect((await thrown(() => compareMoney({ amount: "1", currency: "EUR" }, { amount: "1", currency: "USD" }))).code).toBe("ERR_OAP_INPUT_INVALID");
    expect((await thrown(() => parseDecimal((1.5 as unknown) as string))).code).toBe("ERR_OAP_INPUT_INVALID");
  });

  it("§11.1 rounding is explicit: exact by default, half-even / half-up / up / down on request", async () => {
    const d = parseDecimal("2.345");
    expect((await thrown(() => rescale(d, 2))).code).toBe("ERR_OAP_INPUT_INVALID");
    expect(formatDecimal(rescale(d, 2, "half_even"))).toBe("2.34");
    expect(formatDecimal(rescale(parseDecimal("2.355"), 2, "half_even"))).toBe("2.36");
    expect(formatDecimal(rescale(d, 2, "half_up"))).toBe("2.35");
    expect(formatDecimal(rescale(d, 2, "up"))).toBe("2.35");
    expect(formatDecimal(rescale(d, 2, "down"))).toBe("2.34");
    expect(formatDecimal(rescale(parseDecimal("-2.345", { signed: true }), 2, "half_up"))).toBe("-2.35");
  });

  it("§11.1 ledger units round-trip exactly at 8 decimals; more decimals are refused", async () => {
    expect(LEDGER_SCALE).toBe(8);
    expect(toLedgerUnits("0.00000001")).toBe(1n);
    expect(fromLedgerUnits(123456789n, "EUR")).toBe("1.23456789");
    expect((await thrown(() => toLedgerUnits("0.000000001"))).code).toBe("ERR_OAP_INPUT_INVALID");
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 17n }), (u) => {
        expect(toLedgerUnits(fromLedgerUnits(u, "EUR"))).toBe(u);
      }),
    );
  });
});

describe("§11.1 pricing models and quotes", () => {
  const models: PricingModel[] = [
    { type: "free" },
    { type: "per_call", amount: "0.001", currency: "EUR" },
    { type: "usage_metered", unit: "tokens", amount_per_1000: "0.05", currency: "EUR" },
    { type: "outcome", trigger: "successful_booking", amount: "0.50", currency: "EUR" },
    { type: "subscription", tiers: [{ id: "pro", amount: "9.99", currency: "EUR", interval: "month" }, { id: "pro-usd", amount: "10.99", currency: "USD", interval: "month" }] },
  ];

  it("§11.1 a composition: per call + metered + outcome + subscription, exact", () => {
    const q = quote(models, { calls: 3, units: { tokens: 12_345 }, outcomes: { successful_booking: 2 }, tier: "pro", periods: 1 }, "EUR");
    expect(q.lines.map((l) => [l.model, l.amount])).toEqual([
      ["per_call", "0.003"],
      ["usage_metered", "0.61725"],
      ["outcome", "1.00"],
      ["subscription", "9.99"],
    ]);
    expect(q.total).toBe("11.61025");
  });

  it("§11.1 free costs nothing; large counts stay exact (bigint)", () => {
    expect(quote([{ type: "free" }], { calls: 10 }, "EUR")).toEqual({ currency: "EUR", total: "0.00", lines: [] });
    expect(quote(models, { calls: 10n ** 15n }, "EUR").total).toBe("1000000000000.00");
  });

  it("§24.1 a currency the Tool does not price in is 400 with supported_currencies", async () => {
    const e = await thrown(() => quote(models, { calls: 1 }, "GBP"));
    expect(e.code).toBe("ERR_OAP_CURRENCY_UNSUPPORTED");
    expect(e.details).toEqual({ currency: "GBP", supported_currencies: ["EUR", "USD"] });
    expect(quote(models, { tier: "pro-usd" }, "USD").total).toBe("10.99");
    expect((await thrown(() => quote(models, { tier: "gold" }, "EUR"))).code).toBe("ERR_OAP_NOT_FOUND");
    expect(pricingCurrencies(models)).toEqual(["EUR", "USD"]);
  });

  it("§7 action cost: per call, per unit, subscription_included, quote-only models", async () => {
    expect(actionCost(manifest.actions[0]?.cost)).toEqual({ amount: "0.001", currency: "EUR" });
    expect(actionCost({ type: "usage_metered", amount: "0.0002", currency: "EUR", unit: "token" }, 1500)).toEqual({ amount: "0.30", currency: "EUR" });
    expect(actionCost({ type: "subscription_included" })).toBeUndefined();
    expect(actionCost({ type: "free" })).toBeUndefined();
    expect((await thrown(() => actionCost({ type: "per_capability", amount: "1", currency: "EUR" }))).code).toBe("ERR_OAP_INPUT_INVALID");
  });

  it("§11.1 the upstream weather-pro pricing validates; its §12.1 price options", () => {
    assertPricing(pricing);
    expect(priceOptions(pricing)).toEqual([
      { tier: "pro", amount: "9.99", currency: "EUR", interval: "month" },
      { tier: "enterprise", amount: "99.00", currency: "EUR", interval: "month" },
    ]);
  });

  it("§12.3 the price hash is normalised (9.9 = 9.90) and changes with any real price change", () => {
    const h = priceHash(TOOL_DID, { id: "pro", amount: "9.90", currency: "EUR", interval: "month" });
    expect(h).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(priceHash(TOOL_DID, { id: "pro", amount: "9.9", currency: "EUR", interval: "month" })).toBe(h);
    expect(priceHash(TOOL_DID, { id: "pro", amount: "9.91", currency: "EUR", interval: "month" })).not.toBe(h);
    expect(priceHash(TOOL_DID, { id: "pro", amount: "9.90", currency: "EUR", interval: "year" })).not.toBe(h);
    expect(priceHash("did:web:other.example", { id: "pro", amount: "9.90", currency: "EUR", interval: "month" })).not.toBe(h);
  });
});
