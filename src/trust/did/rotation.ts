/**
 * Key rotation and revoked-key retention checks for an OHP JWKS (OHP §5.9, agentwire decision
 * B14). They produce warnings, never errors: a stale key is still the issuer's key.
 *
 * Policy: the JWKS `rotationPolicy` when present (schema: `signKeysMaxAgeDays` 1..90,
 * `encKeysMaxAgeDays` 1..30, `revokedKeyRetentionHours` ≥ 1), else the OHP §5.9 defaults: signing
 * keys rotated within 90 days, encryption keys within 30 days, revoked keys retained at least
 * 1 h + 5 min (the 1 h envelope lifetime plus skew) after revocation.
 *
 * @module
 */
import type { Jwks, PublicJwk } from "../../crypto/jwk.js";
import { parseRfc3339 } from "../../crypto/jwk.js";

/** Stable codes of {@link RotationWarning}. */
export type RotationWarningCode =
  /** `rotationPolicy` is present but not an object of positive integers. */
  | "WARN_ROTATION_POLICY_INVALID"
  /** Declared `signKeysMaxAgeDays` above 90 (OHP §5.9). */
  | "WARN_ROTATION_POLICY_SIGN_MAX_AGE"
  /** Declared `encKeysMaxAgeDays` above 30 (OHP §5.9). */
  | "WARN_ROTATION_POLICY_ENC_MAX_AGE"
  /** Declared `revokedKeyRetentionHours` shorter than 1 h + 5 min (B14). */
  | "WARN_ROTATION_POLICY_RETENTION"
  /** A usable key is older (since `validFrom`) than the maximum age for its use. */
  | "WARN_ROTATION_KEY_STALE"
  /** A key's `validFrom`..`validUntil` span exceeds the maximum age for its use. */
  | "WARN_ROTATION_KEY_LIFETIME"
  /** A usable key has no `validFrom`, so its age cannot be checked. */
  | "WARN_ROTATION_KEY_AGE_UNKNOWN"
  /** A kid disappeared less than the retention period after it was revoked or expired. */
  | "WARN_ROTATION_KEY_DROPPED_EARLY"
  /** A kid disappeared while it was still usable (never published as revoked). */
  | "WARN_ROTATION_KEY_DROPPED_UNREVOKED";

/** One rotation finding. */
export interface RotationWarning {
  readonly code: RotationWarningCode;
  readonly message: string;
  readonly kid?: string;
}

/** Effective rotation policy. */
export interface RotationPolicy {
  readonly signKeysMaxAgeDays: number;
  readonly encKeysMaxAgeDays: number;
  /** Minimum time a revoked (or expired) key stays published. */
  readonly revokedKeyRetentionMs: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** OHP §5.9 / B14 defaults. */
export const OHP_ROTATION_DEFAULTS: RotationPolicy = Object.freeze({
  signKeysMaxAgeDays: 90,
  encKeysMaxAgeDays: 30,
  revokedKeyRetentionMs: HOUR_MS + 5 * 60_000,
});

function positiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}

/**
 * The effective policy of a raw JWKS document (`rotationPolicy` members where valid, defaults
 * otherwise; retention never below the default) and the warnings about the declaration.
 */
export function rotationPolicyOf(rawJwks: unknown): { policy: RotationPolicy; warnings: RotationWarning[] } {
  const warnings: RotationWarning[] = [];
  const declared = typeof rawJwks === "object" && rawJwks !== null ? (rawJwks as Record<string, unknown>)["rotationPolicy"] : undefined;
  if (declared === undefined) return { policy: OHP_ROTATION_DEFAULTS, warnings };
  if (typeof declared !== "object" || declared === null || Array.isArray(declared)) {
    return { policy: OHP_ROTATION_DEFAULTS, warnings: [{ code: "WARN_ROTATION_POLICY_INVALID", message: "rotationPolicy is not an object" }] };
  }
  const p = declared as Record<string, unknown>;
  let { signKeysMaxAgeDays, encKeysMaxAgeDays, revokedKeyRetentionMs } = OHP_ROTATION_DEFAULTS;
  for (const member of ["signKeysMaxAgeDays", "encKeysMaxAgeDays", "revokedKeyRetentionHours"]) {
    if (p[member] !== undefined && !positiveInteger(p[member])) {
      warnings.push({ code: "WARN_ROTATION_POLICY_INVALID", message: `rotationPolicy.${member} is not a positive integer` });
    }
  }
  if (positiveInteger(p["signKeysMaxAgeDays"])) {
    if (p["signKeysMaxAgeDays"] > 90) {
      warnings.push({ code: "WARN_ROTATION_POLICY_SIGN_MAX_AGE", message: `signKeysMaxAgeDays ${p["signKeysMaxAgeDays"]} exceeds the 90 days of OHP §5.9` });
    }
    signKeysMaxAgeDays = Math.min(p["signKeysMaxAgeDays"], 90);
  }
  if (positiveInteger(p["encKeysMaxAgeDays"])) {
    if (p["encKeysMaxAgeDays"] > 30) {
      warnings.push({ code: "WARN_ROTATION_POLICY_ENC_MAX_AGE", message: `encKeysMaxAgeDays ${p["encKeysMaxAgeDays"]} exceeds the 30 days of OHP §5.9` });
    }
    encKeysMaxAgeDays = Math.min(p["encKeysMaxAgeDays"], 30);
  }
  if (positiveInteger(p["revokedKeyRetentionHours"])) {
    const declaredMs = p["revokedKeyRetentionHours"] * HOUR_MS;
    if (declaredMs < OHP_ROTATION_DEFAULTS.revokedKeyRetentionMs) {
      warnings.push({
        code: "WARN_ROTATION_POLICY_RETENTION",
        message: `revokedKeyRetentionHours ${p["revokedKeyRetentionHours"]} is shorter than 1 h + 5 min (OHP §5.9, B14)`,
      });
    }
    revokedKeyRetentionMs = Math.max(declaredMs, OHP_ROTATION_DEFAULTS.revokedKeyRetentionMs);
  }
  return { policy: Object.freeze({ signKeysMaxAgeDays, encKeysMaxAgeDays, revokedKeyRetentionMs }), warnings };
}

function msOf(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseRfc3339(value)?.getTime();
}

function unusableSince(jwk: PublicJwk, nowMs: number): number | undefined {
  const until = msOf(jwk.validUntil);
  if (until !== undefined && until <= nowMs) return until;
  return undefined;
}

/** Age checks of every key that is usable at `now` (OHP §5.9 rotation cadence). */
export function checkKeyAges(jwks: Jwks, policy: RotationPolicy, now: Date): RotationWarning[] {
  const warnings: RotationWarning[] = [];
  const nowMs = now.getTime();
  for (const jwk of jwks.keys) {
    const maxDays = jwk.use === "enc" ? policy.encKeysMaxAgeDays : policy.signKeysMaxAgeDays;
    const from = msOf(jwk.validFrom);
    const until = msOf(jwk.validUntil);
    if (from !== undefined && until !== undefined && until - from > maxDays * DAY_MS) {
      warnings.push({ code: "WARN_ROTATION_KEY_LIFETIME", kid: jwk.kid, message: `key ${jwk.kid} is valid for more than ${maxDays} days` });
    }
    if (jwk.revoked === true || (until !== undefined && until <= nowMs) || (from !== undefined && from > nowMs)) continue;
    if (from === undefined) {
      warnings.push({ code: "WARN_ROTATION_KEY_AGE_UNKNOWN", kid: jwk.kid, message: `key ${jwk.kid} has no validFrom; its age cannot be checked` });
    } else if (nowMs - from > maxDays * DAY_MS) {
      warnings.push({ code: "WARN_ROTATION_KEY_STALE", kid: jwk.kid, message: `key ${jwk.kid} is older than ${maxDays} days and due for rotation` });
    }
  }
  return warnings;
}

/** What {@link checkRetention} remembers between two fetches of one key set. */
export interface KeyHistory {
  /** Kids of the previous key set, with the instant (ms) each was first seen revoked or expired. */
  readonly kids: ReadonlyMap<string, number | undefined>;
}

/**
 * Compares a fresh key set with the previous one: a kid that disappeared before it had been
 * revoked or expired for `policy.revokedKeyRetentionMs` is flagged. Revocation instants are when
 * this observer first saw `revoked: true` (the JWKS carries no revocation time), expiry is
 * `validUntil`. Returns the warnings and the history to pass next time.
 */
export function checkRetention(
  previous: KeyHistory | undefined,
  jwks: Jwks,
  policy: RotationPolicy,
  now: Date,
): { warnings: RotationWarning[]; history: KeyHistory } {
  const nowMs = now.getTime();
  const warnings: RotationWarning[] = [];
  const kids = new Map<string, number | undefined>();
  for (const jwk of jwks.keys) {
    const before = previous?.kids.get(jwk.kid);
    const since = jwk.revoked === true ? (before ?? nowMs) : unusableSince(jwk, nowMs);
    kids.set(jwk.kid, since);
  }
  for (const [kid, since] of previous?.kids ?? []) {
    if (kids.has(kid)) continue;
    if (since === undefined) {
      warnings.push({ code: "WARN_ROTATION_KEY_DROPPED_UNREVOKED", kid, message: `key ${kid} was removed without first being published as revoked` });
    } else if (nowMs - since < policy.revokedKeyRetentionMs) {
      warnings.push({
        code: "WARN_ROTATION_KEY_DROPPED_EARLY",
        kid,
        message: `key ${kid} was removed ${Math.round((nowMs - since) / 60_000)} min after revocation/expiry (retention ≥ ${policy.revokedKeyRetentionMs / 60_000} min)`,
      });
    }
  }
  return { warnings, history: { kids } };
}
