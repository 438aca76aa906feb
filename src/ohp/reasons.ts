/**
 * OHP §8.3 REJECT reason codes (D02): receivers MUST use one of these.
 */
export const REJECT_REASONS = [
  "tier-insufficient",
  "signature-invalid",
  "stale",
  "not-bound-to-call",
  "consent-out-of-scope",
  "assurance-insufficient",
  "risk-class-not-allowed",
  "prohibited-practice",
  "oversight-missing",
  "gpai-policy-missing",
  "rate-limit",
  "unknown",
] as const;

/** One of the §8.3 REJECT reason codes. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/** True when `value` is a §8.3 REJECT reason code. */
export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === "string" && (REJECT_REASONS as readonly string[]).includes(value);
}
