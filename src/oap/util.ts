/**
 * Small shared pieces of the OAP modules: the clock and randomness hooks, ULIDs and the OAP
 * identifiers built from them, RFC 3339 parsing, and the `sha256:<hex>` digest of a JSON value.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { TIME_MAX, ulid } from "ulid";
import { canonicalizeJsonBytes } from "../jcs/index.js";
import { OapError } from "./errors.js";

/** The local wall clock (a hook: tests pass fixed clocks; nothing in src/oap reads Date.now()). */
export type OapClock = () => Date;
/** Cryptographically strong random bytes: returns exactly `n` bytes. */
export type OapRandom = (n: number) => Uint8Array;

/** Default clock: the current time. */
export const systemClock: OapClock = () => new Date();
/** Default random source: node:crypto. */
export const systemRandom: OapRandom = (n) => new Uint8Array(randomBytes(n));

/** Milliseconds since the epoch of a clock reading (throws on an invalid Date). */
export function clockMs(clock: OapClock): number {
  const ms = clock().getTime();
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new OapError("ERR_OAP_INTERNAL", "the clock returned an invalid date");
  return ms;
}

/** Crockford base32 ULID pattern of the request envelope's `request_id`. */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A ULID for `ms`, its 80 random bits from `random`. */
export function oapUlid(ms: number, random: OapRandom = systemRandom): string {
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > TIME_MAX) throw new OapError("ERR_OAP_INTERNAL", `a ULID needs a positive 48-bit millisecond time (got ${ms})`);
  const bytes = random(16);
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16) throw new OapError("ERR_OAP_INTERNAL", "the random source returned the wrong number of bytes");
  let i = 0;
  return ulid(ms, () => (bytes[i++] as number) / 256);
}

/** Identifier factories (request/response ids, receipt, task and decision ids) bound to a clock. */
export interface OapIds {
  /** ULID: `request_id`, `response_id`. */
  ulid(): string;
  /** `urn:oap:receipt:<ULID>`. */
  receiptId(): string;
  /** `urn:oap:task:<ULID>`. */
  taskId(): string;
  /** `dec_<ULID>` (decision records). */
  decisionId(): string;
}

/** {@link OapIds} from a clock and a random source. */
export function oapIds(clock: OapClock = systemClock, random: OapRandom = systemRandom): OapIds {
  const next = (): string => oapUlid(clockMs(clock), random);
  return {
    ulid: next,
    receiptId: () => `urn:oap:receipt:${next()}`,
    taskId: () => `urn:oap:task:${next()}`,
    decisionId: () => `dec_${next()}`,
  };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds of an RFC 3339 date-time, or undefined when it is not one. */
export function parseRfc3339Ms(text: unknown): number | undefined {
  if (typeof text !== "string" || !RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** RFC 3339 (UTC, milliseconds) of a clock reading. */
export function rfc3339(date: Date): string {
  return date.toISOString();
}

/** "sha256:" + lowercase hex of SHA-256 over bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** "sha256:" + hex of SHA-256 over the RFC 8785 (JCS) form of a JSON value (receipt input/output hashes). */
export function jcsDigest(value: unknown): string {
  return sha256Digest(canonicalizeJsonBytes(value));
}

/** The DID of a DID URL (`did:web:x#key-1` → `did:web:x`); a bare DID is returned as is. */
export function didOf(didUrl: string): string {
  const cut = didUrl.search(/[#?/]/u);
  // did:web paths use ':' not '/', so '/' starts a DID URL path component.
  return cut === -1 ? didUrl : didUrl.slice(0, cut);
}
