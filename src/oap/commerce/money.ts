/**
 * Money as decimal strings (OAP-CORE-1.0 §11.1: "All monetary amounts MUST be expressed as
 * decimal strings to avoid floating point error and MUST follow ISO 4217 currency codes").
 *
 * Nothing here touches a JavaScript number: a {@link Decimal} is a bigint of units and a
 * scale (value = units / 10^scale); arithmetic is exact, and the one place that may lose digits
 * ({@link rescale} to fewer decimals) needs an explicit rounding mode. The wallet ledger keeps
 * amounts as integers of 10^-{@link LEDGER_SCALE} currency units.
 *
 * @module
 */
import { OapError } from "../errors.js";

/** A decimal number: `units / 10^scale`. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

/** An amount in a currency, as on the wire. */
export interface Money {
  /** Decimal string, e.g. "0.001". */
  readonly amount: string;
  /** ISO 4217 code, e.g. "EUR". */
  readonly currency: string;
}

/** Rounding modes of {@link rescale}. */
export type Rounding = "exact" | "half_even" | "half_up" | "up" | "down";

/** Decimals the wallet ledger stores (10^-8 currency units; the settlement schemas allow 8). */
export const LEDGER_SCALE = 8;

/** Longest accepted amount text (digits and point). */
export const MAX_AMOUNT_LENGTH = 40;

const UNSIGNED = /^\d+(?:\.\d+)?$/u;
const SIGNED = /^-?\d+(?:\.\d+)?$/u;
const CURRENCY = /^[A-Z]{3}$/u;

/**
 * ISO 4217 minor units of the currencies whose exponent is not 2 (plus a few common ones for
 * clarity). Unknown codes that match `^[A-Z]{3}$` use 2; the exponent only sets how many
 * decimals an amount is printed with at least.
 */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  EUR: 2, USD: 2, GBP: 2, CHF: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, CAD: 2, AUD: 2,
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
});

function invalid(message: string, details: Record<string, string> = {}): OapError {
  return new OapError("ERR_OAP_INPUT_INVALID", message, { details });
}

/** True when `code` has the ISO 4217 shape (three capital letters). */
export function isCurrencyCode(code: unknown): code is string {
  return typeof code === "string" && CURRENCY.test(code);
}

/** Throws 400 unless `code` is a three-letter currency code. */
export function assertCurrency(code: unknown): string {
  if (!isCurrencyCode(code)) throw invalid(`${JSON.stringify(code)} is not an ISO 4217 currency code`, { currency: String(code) });
  return code;
}

/** ISO 4217 exponent (minor units) of a currency; 2 when unknown. */
export function currencyExponent(code: string): number {
  return CURRENCY_EXPONENTS[code] ?? 2;
}

/**
 * Parses a decimal string exactly. Unsigned by default (the schema pattern `^\d+(\.\d+)?$`);
 * `signed: true` also accepts a leading "-" (adjustments). No exponents, no "+", no spaces.
 */
export function parseDecimal(text: unknown, options: { readonly signed?: boolean } = {}): Decimal {
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_AMOUNT_LENGTH || !(options.signed === true ? SIGNED : UNSIGNED).test(text)) {
    throw invalid(`${JSON.stringify(text)} is not a decimal amount string`, { amount: String(text) });
  }
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  const dot = body.indexOf(".");
  const digits = dot === -1 ? body : body.slice(0, dot) + body.slice(dot + 1);
  const scale = dot === -1 ? 0 : body.length - dot - 1;
  const units = BigInt(digits);
  return { units: negative ? -units : units, scale };
}

/** The decimal as text with at least `minScale` decimals (trailing zeros beyond it are dropped). */
export function formatDecimal(d: Decimal, minScale = 0): string {
  let { units, scale } = d;
  while (scale > minScale && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  if (scale < minScale) {
    units *= 10n ** BigInt(minScale - scale);
    scale = minScale;
  }
  const negative = units < 0n;
  const abs = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const text = scale === 0 ? abs : `${abs.slice(0, abs.length - scale)}.${abs.slice(abs.length - scale)}`;
  return negative && units !== 0n ? `-${text}` : text;
}

/** `d` at another scale; fewer decimals need a rounding mode ("exact" throws when digits would be lost). */
export function rescale(d: Decimal, scale: number, rounding: Rounding = "exact"): Decimal {
  if (!Number.isSafeInteger(scale) || scale < 0) throw invalid(`bad scale ${scale}`);
  if (scale >= d.scale) return { units: d.units * 10n ** BigInt(scale - d.scale), scale };
  const factor = 10n ** BigInt(d.scale - scale);
  const q = d.units / factor; // truncates toward zero
  const r = d.units % factor;
  if (r === 0n) return { units: q, scale };
  if (rounding === "exact") throw invalid(`${formatDecimal(d)} has more than ${scale} decimals`, { amount: formatDecimal(d) });
  const sign = d.units < 0n ? -1n : 1n;
  const absR = r < 0n ? -r : r;
  const twice = absR * 2n;
  let away: boolean;
  switch (rounding) {
    case "down":
      away = false;
      break;
    case "up":
      away = true;
      break;
    case "half_up":
      away = twice >= factor;
      break;
    case "half_even":
      away = twice > factor || (twice === factor && (q < 0n ? -q : q) % 2n === 1n);
      break;
  }
  return { units: away ? q + sign : q, scale };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [rescale(a, scale).units, rescale(b, scale).units, scale];
}

/** a + b (exact). */
export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return { units: x + y, scale };
}

/** a − b (exact). */
export function subDecimal(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return { units: x - y, scale };
}

/** a × b (exact). */
export function mulDecimal(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** a × n for an integer n (exact). */
export function mulInteger(a: Decimal, n: bigint | number): Decimal {
  const k = typeof n === "bigint" ? n : BigInt(assertSafeInteger(n));
  return { units: a.units * k, scale: a.scale };
}

/** a ÷ 10^k (exact: the scale grows). */
export function shiftDown(a: Decimal, k: number): Decimal {
  return { units: a.units, scale: a.scale + k };
}

/** −1, 0 or 1. */
export function compareDecimal(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when the decimal is zero. */
export function isZero(d: Decimal): boolean {
  return d.units === 0n;
}

function assertSafeInteger(n: number): number {
  if (!Number.isSafeInteger(n)) throw invalid(`${n} is not a safe integer`);
  return n;
}

/** A validated {@link Money} (amount unsigned unless `signed`), amount normalised with {@link formatMoneyAmount}. */
export function money(amount: string, currency: string, options: { readonly signed?: boolean } = {}): Money {
  assertCurrency(currency);
  return { amount: formatMoneyAmount(parseDecimal(amount, options), currency), currency };
}

/** Amount text of `d` in `currency`: at least the currency's ISO 4217 decimals, more when needed. */
export function formatMoneyAmount(d: Decimal, currency: string): string {
  return formatDecimal(d, currencyExponent(currency));
}

/** Compares two amounts of the same currency (400 when the currencies differ). */
export function compareMoney(a: Money, b: Money): -1 | 0 | 1 {
  if (a.currency !== b.currency) throw invalid(`cannot compare ${a.currency} with ${b.currency}`, { currency: a.currency, other: b.currency });
  return compareDecimal(parseDecimal(a.amount, { signed: true }), parseDecimal(b.amount, { signed: true }));
}

/** Sum of amounts in one currency (400 on a currency mismatch). */
export function sumMoney(items: readonly Money[], currency: string): Money {
  assertCurrency(currency);
  let total: Decimal = { units: 0n, scale: 0 };
  for (const m of items) {
    if (m.currency !== currency) throw invalid(`cannot add ${m.currency} to a ${currency} total`, { currency: m.currency, expected: currency });
    total = addDecimal(total, parseDecimal(m.amount, { signed: true }));
  }
  return { amount: formatMoneyAmount(total, currency), currency };
}

/** Integer ledger units (10^-scale) of an unsigned amount; 400 when it has more decimals than `scale`. */
export function toLedgerUnits(amount: string, scale = LEDGER_SCALE): bigint {
  return rescale(parseDecimal(amount), scale).units;
}

/** Amount text of integer ledger units. */
export function fromLedgerUnits(units: bigint, currency: string, scale = LEDGER_SCALE): string {
  return formatMoneyAmount({ units, scale }, currency);
}
