/**
 * Receiving an OHP envelope: the cryptographic steps of the D09 order (§10).
 *
 *   0  structure: JSON Schema, §4.2 tier rules (except the signature rows, judged at step 2),
 *      §4.5 sizes                                                   → REJECT `unknown`
 *   1  issuer: the caller-supplied JWKS is the trust anchor for the issuer (standing in for
 *      did:web / federation resolution until the trust-services layer)
 *   2  signatures per tier over the canonical CBOR surface; Regulated needs EdDSA AND
 *      ML-DSA-65; unknown alg, `none`, extra header members, kid/alg mismatch, a kid missing
 *      from the JWKS, revoked keys, a wrong `leafHash`                 → `signature-invalid`
 *   3  freshness: notBefore (else issuedAt) ≤ now + skew, now − skew ≤ notAfter,
 *      notAfter − issuedAt ≤ PT5M                                     → `stale`
 *   4  call binding: `session.callId` equals the live call id (when the caller gives one)
 *                                                                      → `not-bound-to-call`
 *  13  decrypt: open the recipient slot matching one of the receiver's HPKE keys (when given);
 *      no matching slot is informational, a matching slot that fails → `unknown`
 *
 * Steps 5-12 and 14 arrive with the full pipeline; they are reported as `skipped`.
 */
import { timingSafeEqual } from "node:crypto";
import { parseRfc3339, type Jwks, type PublicJwk } from "../crypto/jwk.js";
import { JwsError, verifyHybrid, verifyHybridAsync, type HybridVerifyOptions, type JwkResolver, type SignatureEntry, type VerifiedJws } from "../crypto/jws.js";
import type { PrivateKeyRecord } from "../crypto/keys.js";
import { isAgentwireError } from "../errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { validateDocument } from "../validate.js";
import { OhpCryptoError } from "./errors.js";
import type { RejectReason } from "./reasons.js";
import { openEnvelope, type OpenedEnvelope } from "./seal.js";
import { boundedSigningSurface, TIER_SIGNATURE_ALGS } from "./sign.js";
import { leafHashOf } from "./surface.js";
import { isTier, type Tier } from "./tiers.js";

/** §4.4: ±5 s clock skew on every comparison with the local clock. */
export const OHP_CLOCK_SKEW_MS = 5_000;
/** §4.4: `notAfter − issuedAt` ≤ PT5M. */
export const OHP_MAX_LIFETIME_MS = 5 * 60_000;

/** Options of {@link verifyEnvelope}. */
export interface VerifyEnvelopeOptions {
  /** Trusted issuer keys: a public JWK Set or a resolver by `kid`. */
  readonly jwks: Jwks<PublicJwk> | JwkResolver;
  /** The receiver's clock; default the current time. */
  readonly now?: Date;
  /** The live SIP Call-ID / session id; step 4 runs only when given. */
  readonly callId?: string;
  /** The receiver's private keys; step 13 opens the sealed block only when given. */
  readonly keys?: readonly PrivateKeyRecord[];
  /** Size of the serialised JSON envelope in bytes, when known (§4.5 32 KiB check). */
  readonly byteLength?: number;
}

/** What happened at one step. */
export interface VerifyStep {
  readonly step: number;
  readonly name: string;
  readonly status: "pass" | "fail" | "skipped";
  readonly note?: string;
}

/** Why the envelope was rejected, machine-readable. */
export interface RejectDetail {
  readonly code: string;
  readonly message: string;
  readonly pointer?: string;
  readonly [key: string]: unknown;
}

/** Result of {@link verifyEnvelope}. */
export interface VerifyEnvelopeResult {
  readonly outcome: "accept" | "reject";
  /** §8.3 reason code of the first failing step, or null on accept. */
  readonly rejectReason: RejectReason | null;
  /** Number of the first failing step (0 = structure), or null on accept. */
  readonly firstFailingStep: number | null;
  readonly detail?: RejectDetail;
  readonly tier?: Tier;
  readonly steps: readonly VerifyStep[];
  /** Verified signatures (step 2). */
  readonly signatures?: readonly VerifiedJws[];
  /** Opened sealed fields (step 13), when a slot was addressed to the receiver. */
  readonly sealed?: OpenedEnvelope;
}

class StepFailure extends Error {
  constructor(
    readonly step: number,
    readonly reason: RejectReason,
    readonly detail: RejectDetail,
  ) {
    super(detail.message);
  }
}

function fail(step: number, reason: RejectReason, code: string, message: string, extra: Record<string, unknown> = {}): never {
  throw new StepFailure(step, reason, { code, message, ...extra });
}

/** Step 0: schema, tier rules (signature rows excepted) and sizes. */
function checkStructure(envelope: unknown, byteLength: number | undefined): Tier {
  const result = validateDocument(envelope, {
    schema: "ohp-envelope",
    ...(byteLength === undefined ? {} : { byteLength }),
  });
  // Everything about `signatures` (schema shape, §4.2 F51 / §5.1 counts) is judged by step 2, so
  // that a stripped, extra or malformed signature is `signature-invalid`, as D09 step 2 words it;
  // the §4.4 lifetime rules are judged by step 3 (`stale`).
  const errors = result.errors.filter((e) => !e.pointer.startsWith("/signatures") && e.rule !== "§4.4");
  const first = errors[0];
  if (first !== undefined) {
    fail(0, "unknown", "ERR_OHP_SCHEMA", `${first.pointer || "/"}: ${first.message}`, {
      pointer: first.pointer,
      rule: first.rule,
      errors: errors.length,
    });
  }
  const tier = (envelope as JsonObject)["conformance"];
  if (!isTier(tier)) fail(0, "unknown", "ERR_OHP_SCHEMA", "conformance is not a tier", { pointer: "/conformance" });
  return tier;
}

/**
 * Step 2 on its own: verifies the tier's signatures (and `leafHash`) over the canonical CBOR
 * surface. Throws {@link JwsError} or {@link OhpCryptoError}; returns the verified signatures.
 */
export function verifyEnvelopeSignatures(
  envelope: JsonObject,
  jwks: Jwks<PublicJwk> | JwkResolver,
  options: { readonly now?: Date; readonly tier?: Tier } = {},
): VerifiedJws[] {
  const plan = signaturePlan(envelope, options);
  return plan === undefined ? [] : verifyHybrid(plan.surface, plan.entries, jwks, plan.options);
}

/**
 * {@link verifyEnvelopeSignatures} with the signature halves verified in parallel off the event
 * loop ({@link verifyHybridAsync}); same results and errors. {@link verifyEnvelope} uses it.
 */
export async function verifyEnvelopeSignaturesAsync(
  envelope: JsonObject,
  jwks: Jwks<PublicJwk> | JwkResolver,
  options: { readonly now?: Date; readonly tier?: Tier } = {},
): Promise<VerifiedJws[]> {
  const plan = signaturePlan(envelope, options);
  return plan === undefined ? [] : verifyHybridAsync(plan.surface, plan.entries, jwks, plan.options);
}

function signaturePlan(
  envelope: JsonObject,
  options: { readonly now?: Date; readonly tier?: Tier },
): { surface: Uint8Array; entries: SignatureEntry[]; options: HybridVerifyOptions } | undefined {
  const tier = options.tier ?? envelope["conformance"];
  if (!isTier(tier)) throw new OhpCryptoError("ERR_OHP_TIER", "conformance is not a tier");
  const required = TIER_SIGNATURE_ALGS[tier];
  if (required.length === 0) return undefined;
  const surface = boundedSigningSurface(envelope);
  const transparency = envelope["transparency"];
  if (isJsonObject(transparency) && typeof transparency["leafHash"] === "string") {
    const expected = Buffer.from(leafHashOf(surface), "utf8");
    const actual = Buffer.from(transparency["leafHash"], "utf8");
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new JwsError("ERR_JWS_SIGNATURE_INVALID", "transparency.leafHash is not the SHA-256 of the signing surface (§5.7)", {
        detail: { pointer: "/transparency/leafHash" },
      });
    }
  }
  const entries = envelope["signatures"];
  return {
    surface,
    entries: (entries ?? []) as unknown as SignatureEntry[],
    options: { requiredAlgs: required, allowAlgs: required, ...(options.now === undefined ? {} : { now: options.now }) },
  };
}

function instant(envelope: JsonObject, member: string, required: boolean): number | undefined {
  const value = envelope[member];
  if (value === undefined && !required) return undefined;
  const date = typeof value === "string" ? parseRfc3339(value) : undefined;
  if (date === undefined) fail(3, "stale", "ERR_OHP_TIME_INVALID", `${member} is not an RFC 3339 date-time`, { pointer: `/${member}` });
  return date.getTime();
}

/** Step 3: the validity window against the receiver's clock. */
function checkFreshness(envelope: JsonObject, now: Date): void {
  const t = now.getTime();
  const issuedAt = instant(envelope, "issuedAt", true) as number;
  const notAfter = instant(envelope, "notAfter", true) as number;
  const notBefore = instant(envelope, "notBefore", false) ?? issuedAt;
  if (notAfter - issuedAt > OHP_MAX_LIFETIME_MS) {
    fail(3, "stale", "ERR_OHP_WINDOW_TOO_LONG", `notAfter − issuedAt is ${(notAfter - issuedAt) / 1000} s; OHP §4.4 allows 300 s`, {
      pointer: "/notAfter",
    });
  }
  if (notAfter < issuedAt) fail(3, "stale", "ERR_OHP_WINDOW_INVERTED", "notAfter is before issuedAt", { pointer: "/notAfter" });
  if (notBefore < issuedAt) fail(3, "stale", "ERR_OHP_WINDOW_INVERTED", "notBefore is before issuedAt (§4.4)", { pointer: "/notBefore" });
  if (t > notAfter + OHP_CLOCK_SKEW_MS) {
    fail(3, "stale", "ERR_OHP_EXPIRED", `notAfter (${String(envelope["notAfter"])}) is more than 5 s before now (${now.toISOString()})`, {
      pointer: "/notAfter",
    });
  }
  if (t < notBefore - OHP_CLOCK_SKEW_MS) {
    const member = envelope["notBefore"] === undefined ? "issuedAt" : "notBefore";
    fail(3, "stale", "ERR_OHP_NOT_YET_VALID", `${member} (${String(envelope[member])}) is more than 5 s after now (${now.toISOString()})`, {
      pointer: `/${member}`,
    });
  }
}

function jwsFailure(e: unknown): never {
  if (e instanceof StepFailure) throw e;
  if (isAgentwireError(e)) fail(2, "signature-invalid", e.code, e.message, { ...(e.detail ?? {}) });
  throw e;
}

/**
 * Verifies a received envelope through the steps listed in the module comment, stopping at the
 * first failure. Never throws for bad input: every problem is a `reject` with a §8.3 reason.
 */
export async function verifyEnvelope(envelope: unknown, options: VerifyEnvelopeOptions): Promise<VerifyEnvelopeResult> {
  const steps: VerifyStep[] = [];
  const now = options.now ?? new Date();
  let tier: Tier | undefined;
  let signatures: VerifiedJws[] | undefined;
  let sealed: OpenedEnvelope | undefined;
  let current = 0;
  const run = async (step: number, name: string, body: () => void | string | Promise<void | string>): Promise<void> => {
    current = step;
    const note = await body();
    steps.push(typeof note === "string" ? { step, name, status: "pass", note } : { step, name, status: "pass" });
  };
  const skip = (step: number, name: string, note: string): void => void steps.push({ step, name, status: "skipped", note });
  try {
    await run(0, "structure", () => {
      tier = checkStructure(envelope, options.byteLength);
    });
    const env = envelope as JsonObject;
    const t = tier as Tier;
    if (t === "core") {
      skip(1, "issuer", "Core envelopes are unsigned");
      skip(2, "signatures", "Core envelopes are unsigned");
    } else {
      await run(1, "issuer", () => "the supplied JWKS is the issuer's trust anchor");
      await run(2, "signatures", async () => {
        try {
          signatures = await verifyEnvelopeSignaturesAsync(env, options.jwks, { now, tier: t });
        } catch (e) {
          jwsFailure(e);
        }
        return signatures?.map((s) => `${s.alg}:${s.kid}`).join(", ");
      });
    }
    await run(3, "freshness", () => checkFreshness(env, now));
    if (options.callId === undefined) {
      skip(4, "call-binding", "no live call id given");
    } else {
      const callId = options.callId;
      await run(4, "call-binding", () => {
        const session = env["session"];
        const actual = isJsonObject(session) ? session["callId"] : undefined;
        if (actual !== callId) {
          fail(4, "not-bound-to-call", "ERR_OHP_CALL_ID_MISMATCH", `session.callId ${JSON.stringify(actual)} is not the live call ${JSON.stringify(callId)}`, {
            pointer: "/session/callId",
          });
        }
      });
    }
    for (const [n, name] of [
      [5, "consent"],
      [6, "assurance"],
      [7, "high-risk-prerequisites"],
      [8, "prohibited-practices"],
      [9, "annex-iii"],
      [10, "art50-disclosure"],
      [11, "oversight"],
      [12, "gpai"],
    ] as const) {
      skip(n, name, "not implemented by this verifier yet");
    }
    if (env["sealed"] === undefined) {
      skip(13, "decrypt", "no sealed block");
    } else if (options.keys === undefined || options.keys.length === 0) {
      skip(13, "decrypt", "no receiver keys given; sealed content not processed");
    } else {
      const keys = options.keys;
      await run(13, "decrypt", async () => {
        try {
          sealed = await openEnvelope(env, keys);
          return `opened slot ${sealed.kid}`;
        } catch (e) {
          if (isAgentwireError(e, "ERR_HPKE_NO_RECIPIENT")) return "no slot addressed to the receiver's keys; sealed content not processed";
          if (isAgentwireError(e)) fail(13, "unknown", e.code, e.message, { pointer: "/sealed", ...(e.detail ?? {}) });
          throw e;
        }
      });
    }
    skip(14, "anchor", "transparency anchoring not implemented by this verifier yet");
  } catch (e) {
    if (!(e instanceof StepFailure)) {
      // Defensive: an unexpected exception is still a typed REJECT, never a crash.
      const message = e instanceof Error ? e.message : String(e);
      const detail: RejectDetail = { code: isAgentwireError(e) ? e.code : "ERR_OHP_INTERNAL", message };
      steps.push({ step: current, name: "internal", status: "fail", note: message });
      return { outcome: "reject", rejectReason: "unknown", firstFailingStep: current, detail, steps, ...(tier ? { tier } : {}) };
    }
    steps.push({ step: e.step, name: "failed", status: "fail", note: e.detail.message });
    return {
      outcome: "reject",
      rejectReason: e.reason,
      firstFailingStep: e.step,
      detail: e.detail,
      steps,
      ...(tier ? { tier } : {}),
    };
  }
  return {
    outcome: "accept",
    rejectReason: null,
    firstFailingStep: null,
    steps,
    ...(tier ? { tier } : {}),
    ...(signatures ? { signatures } : {}),
    ...(sealed ? { sealed } : {}),
  };
}

/** Plain JSON form of a result (what `agentwire ohp verify` prints). */
export function verifyResultJson(result: VerifyEnvelopeResult): JsonObject {
  const out: JsonObject = {
    outcome: result.outcome,
    rejectReason: result.rejectReason,
    firstFailingStep: result.firstFailingStep,
  };
  if (result.tier) out["tier"] = result.tier;
  if (result.detail) out["detail"] = JSON.parse(JSON.stringify(result.detail)) as JsonValue;
  if (result.signatures) out["signatures"] = result.signatures.map((s) => ({ alg: s.alg, kid: s.kid }));
  if (result.sealed) out["sealed"] = { kid: result.sealed.kid, mode: result.sealed.mode, fields: result.sealed.fields };
  return out;
}

