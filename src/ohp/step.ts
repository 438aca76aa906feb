/**
 * How a receiver check fails: a {@link StepFailure} carries the D09 step number, the §8.3 REJECT
 * reason and a machine-readable detail. The pipeline catches it and turns it into a REJECT;
 * it never escapes {@link verifyEnvelope}.
 */
import type { RejectReason } from "./reasons.js";

/** Why the envelope was rejected, machine-readable. */
export interface RejectDetail {
  /** Stable code such as `ERR_OHP_EXPIRED`. */
  readonly code: string;
  readonly message: string;
  /** JSON Pointer of the offending member, when there is one. */
  readonly pointer?: string;
  readonly [key: string]: unknown;
}

/**
 * Names of the receiver checks. The numbered D09 steps keep their numbers; the checks the spec
 * leaves unplaced (size, schema, content, tier completeness, echo, tier gate, rate limit, replay) are
 * step 0 and are told apart by this name.
 */
export type CheckName =
  | "size"
  | "schema"
  | "content"
  | "tier-completeness"
  | "echo"
  | "tier-gate"
  | "issuer"
  | "signatures"
  | "rate-limit"
  | "replay"
  | "freshness"
  | "call-binding"
  | "consent"
  | "assurance"
  | "high-risk-prerequisites"
  | "prohibited-practices"
  | "annex-iii"
  | "art50-disclosure"
  | "oversight"
  | "gpai"
  | "decrypt"
  | "anchor";

/** The D09 step number of each check (0 = outside the 14 numbered steps). */
export const CHECK_STEP: Readonly<Record<CheckName, number>> = Object.freeze({
  size: 0,
  schema: 0,
  content: 0,
  "tier-completeness": 0,
  echo: 0,
  "tier-gate": 0,
  issuer: 1,
  signatures: 2,
  "rate-limit": 0,
  replay: 0,
  freshness: 3,
  "call-binding": 4,
  consent: 5,
  assurance: 6,
  "high-risk-prerequisites": 7,
  "prohibited-practices": 8,
  "annex-iii": 9,
  "art50-disclosure": 10,
  oversight: 11,
  gpai: 12,
  decrypt: 13,
  anchor: 14,
});

/** A failed receiver check (internal to the pipeline). */
export class StepFailure extends Error {
  readonly step: number;
  constructor(
    readonly check: CheckName,
    readonly reason: RejectReason,
    readonly detail: RejectDetail,
  ) {
    super(detail.message);
    this.step = CHECK_STEP[check];
  }
}

/** Throws the {@link StepFailure} of `check`. */
export function fail(check: CheckName, reason: RejectReason, code: string, message: string, extra: Record<string, unknown> = {}): never {
  throw new StepFailure(check, reason, { code, message, ...extra });
}
