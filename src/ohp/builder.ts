/**
 * Sender-side OHP envelope builder (emit side of §3-§6, docs/ohp-builder.md).
 *
 * One call, {@link buildEnvelope}, runs the emit pipeline in a fixed order:
 *
 *   1 plan       the workload and the input decide the minimum tier; a lower target tier is
 *                refused with `workload-requires-higher-tier` (§3.1.1, §3.2, emit-negative)
 *   2 build      `cse_` ULID id, millisecond `issuedAt`, `notAfter` ≤ issuedAt + PT5M,
 *                `control.nonce` (≥ 64 bits, hex), `dec_` ULIDs (§4.4, §4.6)
 *   3 redact     `[REDACTED:<tag>]` over `transcript.turns[].text` and `transcript.summary`
 *   4 check      §6.2 governance preconditions, PII/PCI/PHI in the clear part (§3.1, D04, D06),
 *                JSON Schema + the §4.2 per-tier MUST table (`tierRules_4_2`, emit mode)
 *   5 seal       HPKE-seal the sensitive members for the recipients (`sealEnvelope`)
 *   6 sign       the issuer record proofs (`governance.art50Disclosure.proofJws`,
 *                `governance.prohibited.attestationJws`, §6.2, `signIssuerProofs`), then the
 *                envelope: EdDSA (Signed, Sealed) or EdDSA + ML-DSA-65 (Regulated) (`signEnvelope`)
 *   7 final      §4.5 sizes (JSON ≤ 32 KiB, surface ≤ 8 KiB) and a full emit-mode validation
 *   8 anchor     submit `transparency.leafHash` to the log (`anchorEnvelope`); §5.7 requires it
 *                for Regulated. Anchoring does not change a byte of the envelope, so the final
 *                checks run first: an envelope that could not be sent is never logged.
 *
 * Clock and randomness are injected (`now`, `random`) so the output is reproducible in tests.
 * Every refusal is an {@link OhpEmitError} with a stable code.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { TIME_MAX, ulid } from "ulid";
import type {
  AiSystem,
  Caller,
  Decision,
  Governance,
  Intent,
  Issuer,
  Memory,
  Oversight,
  Policy,
  Session,
  Transcript,
} from "../../gen/types/ohp/ohp-envelope.js";
import type { SignatureEntry } from "../crypto/jws.js";
import type { PrivateKeyRecord } from "../crypto/keys.js";
import { AgentwireError, isAgentwireError } from "../errors.js";
import { formatPointer } from "../json/pointer.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import type { ValidationIssue } from "../schema/validate.js";
import type { TlogClient } from "../trust/tlog/client.js";
import { anchorEnvelope, type AnchorReceipt } from "../trust/tlog/anchor.js";
import { OHP_MAX_JSON_BYTES, validateDocument } from "../validate.js";
import { ISSUER_PROOFS, signIssuerProofs } from "./proofs.js";
import { sealEnvelope, type SealRecipient } from "./seal.js";
import { selectSigningKeys, signEnvelope, TIER_SIGNATURE_ALGS } from "./sign.js";
import { LEAF_HASH_PLACEHOLDER, leafHashOf, OHP_MAX_SURFACE_BYTES, signingSurface } from "./surface.js";
import { isTier, tierAtLeast, tierRank, TIERS, type Tier } from "./tiers.js";

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Stable codes of {@link OhpEmitError}. */
export type OhpEmitErrorCode =
  /** The input or an option is unusable (not JSON, bad lifetime, bad clock or random source). */
  | "ERR_OHP_EMIT_INPUT"
  /** The workload needs a higher tier than the target (`refuseReason` `workload-requires-higher-tier`). */
  | "ERR_OHP_EMIT_TIER_REFUSED"
  /** A §4.2 MUST row (or a §3.1 content ban, §4.4, §6.1 rule) fails for the target tier. */
  | "ERR_OHP_EMIT_TIER_INCOMPLETE"
  /** The envelope does not satisfy the JSON Schema (and no §4.2 row explains why). */
  | "ERR_OHP_EMIT_SCHEMA"
  /** PII, PCI or PHI was found in the clear part of the envelope. */
  | "ERR_OHP_EMIT_PII_OUTSIDE_SEALED"
  /** §6.2 governance preconditions: a prohibited practice, a prohibited risk class, a stale AIIA. */
  | "ERR_OHP_EMIT_GOVERNANCE"
  /** §4.5: JSON above 32 KiB or signing surface above 8 KiB. */
  | "ERR_OHP_EMIT_SIZE"
  /** Signing keys for the tier are missing, or signing failed. */
  | "ERR_OHP_EMIT_KEYS"
  /** Sealing failed (bad recipient, a member to seal is missing, AAD members missing). */
  | "ERR_OHP_EMIT_SEAL"
  /** §5.7: anchoring is required and no log was given, or the log refused the submission. */
  | "ERR_OHP_EMIT_ANCHOR";

/**
 * Raised by {@link buildEnvelope} when it refuses to emit. `detail` carries machine-readable
 * context: `issues` (pointer, rule, message) for validation failures, `refuseReason`/`minTier`
 * for tier refusals (see {@link refusalOf}), `pointer`/`tag` for PII findings, `bytes`/`limit`
 * for sizes, and `causeCode` when a lower layer's typed error was wrapped.
 */
export class OhpEmitError extends AgentwireError<OhpEmitErrorCode> {}

function emitError(code: OhpEmitErrorCode, message: string, detail?: Record<string, unknown>, cause?: unknown): OhpEmitError {
  const causeCode = isAgentwireError(cause) ? { causeCode: cause.code } : {};
  const d = detail === undefined && cause === undefined ? undefined : { ...causeCode, ...(detail ?? {}) };
  return new OhpEmitError(code, message, {
    ...(d === undefined ? {} : { detail: d }),
    ...(cause === undefined ? {} : { cause }),
  });
}

// ---------------------------------------------------------------------------------------------
// Identifiers, clock and randomness (§4.4, §4.6)
// ---------------------------------------------------------------------------------------------

/** A source of cryptographically strong random bytes: returns exactly `n` bytes. */
export type RandomSource = (n: number) => Uint8Array;
/** The sender's wall clock. */
export type Clock = () => Date;

/** Default random source: node:crypto `randomBytes`. */
export const defaultRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));
/** Default clock: the current time. */
export const defaultClock: Clock = () => new Date();

/** §4.4: `notAfter − issuedAt` may not exceed PT5M. */
export const OHP_EMIT_MAX_LIFETIME_MS = 5 * 60_000;
/** Default envelope lifetime: PT2M, well inside the PT5M cap. */
export const OHP_EMIT_DEFAULT_LIFETIME_MS = 2 * 60_000;
/** §4.6: nonces carry at least 64 bits; the builder's default is 128 bits. */
export const OHP_EMIT_MIN_NONCE_BYTES = 8;
export const OHP_EMIT_DEFAULT_NONCE_BYTES = 16;

function drawBytes(random: RandomSource, n: number): Uint8Array {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) {
    throw emitError("ERR_OHP_EMIT_INPUT", `the random source returned ${bytes instanceof Uint8Array ? bytes.length : typeof bytes} bytes; ${n} were asked for`);
  }
  return bytes;
}

/**
 * A ULID (26 Crockford base32 characters) for millisecond time `ms`, its 80 random bits drawn
 * from `random` (the `ulid` package encodes; one byte per random character, top 5 bits used).
 */
export function ohpUlid(ms: number, random: RandomSource = defaultRandom): string {
  // ulid() falls back to Date.now() for a zero seed: refuse it rather than read the wall clock.
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > TIME_MAX) {
    throw emitError("ERR_OHP_EMIT_INPUT", `a ULID needs a positive 48-bit millisecond time (got ${ms})`);
  }
  const bytes = drawBytes(random, 16);
  let i = 0;
  return ulid(ms, () => (bytes[i++] as number) / 256);
}

/** §4.6: envelope id, `cse_` + ULID. */
export function newEnvelopeId(ms: number, random: RandomSource = defaultRandom): string {
  return `cse_${ohpUlid(ms, random)}`;
}

/** §4.6: decision id, `dec_` + ULID. */
export function newDecisionId(ms: number, random: RandomSource = defaultRandom): string {
  return `dec_${ohpUlid(ms, random)}`;
}

/** §4.6: `control.nonce`, lowercase hex of `bytes` (≥ 8, i.e. ≥ 64 bits) random bytes. */
export function newNonce(random: RandomSource = defaultRandom, bytes = OHP_EMIT_DEFAULT_NONCE_BYTES): string {
  if (!Number.isSafeInteger(bytes) || bytes < OHP_EMIT_MIN_NONCE_BYTES || bytes > 64) {
    throw emitError("ERR_OHP_EMIT_INPUT", `nonceBytes must be an integer from ${OHP_EMIT_MIN_NONCE_BYTES} to 64 (got ${bytes})`);
  }
  return Buffer.from(drawBytes(random, bytes)).toString("hex");
}

// ---------------------------------------------------------------------------------------------
// PII / PCI / PHI detection and transcript redaction (D06, D04 principle 1)
// ---------------------------------------------------------------------------------------------

/** What a detected span is. */
export type DataCategory = "pii" | "pci" | "phi";

/** One detector: a pattern, an optional exact check, and the tag that replaces a match. */
export interface PiiDetector {
  /** The `<tag>` of `[REDACTED:<tag>]`. */
  readonly tag: string;
  readonly category: DataCategory;
  /** What it finds (documentation; printed in docs/ohp-builder.md). */
  readonly description: string;
  /** The pattern; flags `g` and `d` are added when missing. */
  readonly pattern: RegExp;
  /** Capture group whose span is redacted (default: the whole match). */
  readonly group?: number;
  /** Exact check of the matched text (checksum, digit count); default: accept. */
  readonly accept?: (match: string) => boolean;
}

/** A detected span of a text. */
export interface PiiMatch {
  readonly tag: string;
  readonly category: DataCategory;
  /** UTF-16 offsets of the span in the input text. */
  readonly start: number;
  readonly end: number;
}

const digitsOf = (s: string): string => s.replace(/\D/g, "");

/** Luhn (ISO/IEC 7812-1 Annex B) check of a digit string. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616 IBAN check: length 15-34 and mod-97 = 1. */
export function ibanValid(text: string): boolean {
  const iban = text.replace(/ /g, "");
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const v = ch >= "A" && ch <= "Z" ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

const MONTH = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\\.?";
const DATE_TEXT = [
  "\\d{1,2}[/.-]\\d{1,2}[/.-](?:\\d{4}|\\d{2})",
  "\\d{4}-\\d{2}-\\d{2}",
  `\\d{1,2}(?:st|nd|rd|th)?(?: of)? ${MONTH},? \\d{4}`,
  `${MONTH} \\d{1,2}(?:st|nd|rd|th)?,? \\d{4}`,
].join("|");

/**
 * The default detectors, in priority order (on overlapping matches the earlier-starting, then
 * longer, then higher-priority one wins). Deliberately conservative: checksums where the format
 * has one, digit-count limits, no bare dates and no names (add your own detectors for those).
 */
export const DEFAULT_PII_DETECTORS: readonly PiiDetector[] = Object.freeze([
  {
    tag: "pan",
    category: "pci",
    description: "payment card number: 13-19 digits, optionally grouped by single spaces or hyphens, Luhn-valid, not all one digit",
    pattern: /(?<![\w.,+]|\d[ -])\d(?:[ -]?\d){12,18}(?![\w]|[ -]?\d)/g,
    accept: (m) => {
      const d = digitsOf(m);
      return d.length >= 13 && d.length <= 19 && !/^(\d)\1*$/.test(d) && luhnValid(d);
    },
  },
  {
    tag: "iban",
    category: "pii",
    description: "IBAN (upper case, compact or in groups of four), ISO 13616 mod-97 valid",
    pattern: /\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b/g,
    accept: ibanValid,
  },
  {
    tag: "ssn",
    category: "pii",
    description: "US social security number NNN-NN-NNNN (hyphenated; area not 000/666/9xx, group not 00, serial not 0000)",
    pattern: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b/g,
  },
  {
    tag: "nino",
    category: "pii",
    description: "UK National Insurance number (two prefix letters per HMRC rules, six digits, suffix A-D; spaces allowed)",
    pattern: /\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
  },
  {
    tag: "email",
    category: "pii",
    description: "e-mail address local@domain.tld",
    pattern: /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}(?![\w-])/g,
  },
  {
    tag: "dob",
    category: "pii",
    description: "date of birth: a date (numeric, ISO or with a month name) right after 'DOB', 'date of birth', 'birth date' or 'born (on)'; only the date is redacted",
    pattern: new RegExp(`(?:\\bDOB\\b|\\bD\\.O\\.B\\.?|\\bdate of birth\\b|\\bbirth ?date\\b|\\bborn(?: on)?\\b)(?:\\s*(?:is|was|:|-|,))?\\s*(${DATE_TEXT})(?![\\w])`, "gi"),
    group: 1,
  },
  {
    tag: "phone",
    category: "pii",
    description: "international phone number: '+', country code, 8-15 digits in total",
    pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])/g,
    accept: (m) => digitsOf(m).length >= 8 && digitsOf(m).length <= 15,
  },
  {
    tag: "phone",
    category: "pii",
    description: "UK national phone number: leading 0, 10-11 digits, optional (area code), spaces or hyphens",
    pattern: /(?<![\w+]|\d[ -])(?:\(0\d{2,4}\) ?|0\d{2,4}[ -]?)\d{3,4}[ -]?\d{3,4}(?![\w]|[ -]\d)/g,
    accept: (m) => digitsOf(m).length >= 10 && digitsOf(m).length <= 11,
  },
  {
    tag: "phone",
    category: "pii",
    description: "North American number (NXX) NXX-XXXX with separators",
    pattern: /(?<![\w+]|\d[ -])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[ -]\d)/g,
    accept: (m) => /^[2-9]/.test(digitsOf(m)),
  },
] satisfies PiiDetector[]);

function globalPattern(p: RegExp): RegExp {
  const flags = new Set(p.flags);
  flags.add("g");
  flags.add("d");
  return new RegExp(p.source, [...flags].join(""));
}

/** Every non-overlapping detection in `text` (see {@link DEFAULT_PII_DETECTORS} for the order). */
export function detectPii(text: string, detectors: readonly PiiDetector[] = DEFAULT_PII_DETECTORS): PiiMatch[] {
  const found: (PiiMatch & { priority: number })[] = [];
  detectors.forEach((det, priority) => {
    for (const m of text.matchAll(globalPattern(det.pattern))) {
      const span = m.indices?.[det.group ?? 0];
      if (span === undefined) continue;
      const [start, end] = span;
      if (end <= start) continue;
      if (det.accept !== undefined && !det.accept(text.slice(start, end))) continue;
      found.push({ tag: det.tag, category: det.category, start, end, priority });
    }
  });
  found.sort((a, b) => a.start - b.start || b.end - a.end || a.priority - b.priority);
  const out: PiiMatch[] = [];
  let until = 0;
  for (const f of found) {
    if (f.start < until) continue;
    out.push({ tag: f.tag, category: f.category, start: f.start, end: f.end });
    until = f.end;
  }
  return out;
}

/** Result of {@link redactTranscript}. */
export interface RedactionResult {
  /** The text with every detected span replaced by `[REDACTED:<tag>]`. */
  readonly text: string;
  /** The spans that were replaced (offsets into the input). */
  readonly matches: readonly PiiMatch[];
}

/** Replaces every detected span of `text` by `[REDACTED:<tag>]` (D06 transcript rule). */
export function redactTranscript(text: string, detectors: readonly PiiDetector[] = DEFAULT_PII_DETECTORS): RedactionResult {
  const matches = detectPii(text, detectors);
  let out = "";
  let at = 0;
  for (const m of matches) {
    out += `${text.slice(at, m.start)}[REDACTED:${m.tag}]`;
    at = m.end;
  }
  return { text: out + text.slice(at), matches };
}

/**
 * Member names whose value is PII/PCI wherever it appears in the clear part (compared after
 * lower-casing and dropping `_`, `-`, `.`), with the tag reported.
 */
export const SENSITIVE_MEMBER_NAMES: Readonly<Record<string, string>> = Object.freeze({
  pan: "pan",
  cardnumber: "pan",
  primaryaccountnumber: "pan",
  cvv: "cvv",
  cvv2: "cvv",
  cvc: "cvv",
  securitycode: "cvv",
  trackdata: "track-data",
  pin: "pin",
  password: "password",
  passcode: "password",
  otp: "otp",
  ssn: "ssn",
  socialsecuritynumber: "ssn",
  nino: "nino",
  nationalinsurancenumber: "nino",
  nationalid: "national-id",
  dob: "dob",
  dateofbirth: "dob",
  birthdate: "dob",
  email: "email",
  emailaddress: "email",
  phone: "phone",
  phonenumber: "phone",
  mobile: "phone",
  msisdn: "phone",
  iban: "iban",
});

/**
 * Members never scanned: opaque cryptographic values, identifiers, and the sealed, signature and
 * transparency blocks (SD-JWT disclosures are the sanctioned way identity claims travel, §5.4).
 */
const SCAN_EXEMPT: readonly RegExp[] = [
  /^\/(sealed|signatures|transparency)(\/|$)/,
  /^\/caller\/identity\/(sdJwtVc|disclosures)(\/|$)/,
  /^\/caller\/assurance\/proofJws$/,
  /^\/governance\/prohibited\/attestationJws$/,
  /^\/governance\/art50Disclosure\/proofJws$/,
  /^\/issuer\/attestation\/evidence$/,
  /^\/audience\/recipientKeys(\/|$)/,
  /^\/session\/(callId|media\/rtpFingerprint)$/,
  /^\/aiSystem\/modelCardSha256$/,
  /^\/(id|control\/nonce)$/,
  /^\/control\/refs(\/|$)/,
  /^\/decisions\/\d+\/id$/,
];

/** A PII finding in the clear part of an envelope. */
export interface PiiFinding {
  /** JSON pointer of the member. */
  readonly pointer: string;
  readonly tag: string;
  /** `value`: a detector matched the text; `member`: the member name itself is sensitive. */
  readonly by: "value" | "member";
}

function normalisedName(name: string): string {
  return name.toLowerCase().replace(/[-_.]/g, "");
}

/**
 * Scans the clear part of an envelope (or draft) for PII/PCI/PHI: detectors over every string
 * (and integer) leaf, and {@link SENSITIVE_MEMBER_NAMES} over member names. `exempt` adds JSON
 * pointers (or prefixes ending in `/`) that are not scanned.
 */
export function scanClearPart(
  envelope: JsonObject,
  options: { readonly detectors?: readonly PiiDetector[]; readonly exempt?: readonly string[] } = {},
): PiiFinding[] {
  const detectors = options.detectors ?? DEFAULT_PII_DETECTORS;
  const exempt = options.exempt ?? [];
  const skip = (pointer: string): boolean =>
    SCAN_EXEMPT.some((re) => re.test(pointer)) || exempt.some((e) => pointer === e || (e.endsWith("/") ? pointer.startsWith(e) : pointer.startsWith(`${e}/`)));
  const out: PiiFinding[] = [];
  const walk = (value: JsonValue, path: (string | number)[]): void => {
    const pointer = formatPointer(path);
    if (path.length > 0 && skip(pointer)) return;
    if (typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value))) {
      const first = detectPii(String(value), detectors)[0];
      if (first !== undefined) out.push({ pointer, tag: first.tag, by: "value" });
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...path, i]));
      return;
    }
    if (!isJsonObject(value)) return;
    for (const key of Object.keys(value)) {
      const v = value[key] as JsonValue;
      const tag = Object.hasOwn(SENSITIVE_MEMBER_NAMES, normalisedName(key)) ? SENSITIVE_MEMBER_NAMES[normalisedName(key)] : undefined;
      const childPointer = formatPointer([...path, key]);
      if (tag !== undefined && !skip(childPointer) && (typeof v === "string" ? v.length > 0 : typeof v === "number" || isJsonObject(v) || Array.isArray(v))) {
        out.push({ pointer: childPointer, tag, by: "member" });
        continue;
      }
      walk(v, [...path, key]);
    }
  };
  walk(envelope, []);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Workload → minimum tier (§3.1, §3.2, D03)
// ---------------------------------------------------------------------------------------------

/** Categories of data a handoff needs to carry to the receiver. */
export type WorkloadData =
  /** Identity references such as `accountRef` (no PII): Signed (§3.1.2). */
  | "identity-ref"
  /** Personal data: Sealed (§3.1.1, §3.1.2). */
  | "pii"
  /** Payment card data (PAN-derived, disputes): Sealed. */
  | "pci"
  /** Payment / network tokens: Sealed (§3.1.2, D03: sealed per recipient). */
  | "payment-token"
  /** Health data: Sealed. */
  | "phi"
  /** GDPR Art 9 special-category data: Sealed. */
  | "special-category";

/** What the handoff is about; decides the minimum tier ({@link workloadMinTier}). */
export interface Workload {
  readonly data?: readonly WorkloadData[];
  /** The receiver needs a verified caller (assurance claim, SD-JWT VC identity): Sealed (§3.1.1, F22-F23). */
  readonly callerAssurance?: boolean;
  /** An EU AI Act high-risk system is involved: Regulated (§3.1.4, §6). */
  readonly highRiskAi?: boolean;
  /** The Annex III clause the AI system operates under, e.g. `5(b)`: Regulated. */
  readonly annexIIIClause?: string;
  /** Decision provenance (`decisions[]`) must travel: Regulated (§6.4). */
  readonly decisionProvenance?: boolean;
  /** A floor set by policy (contract, regulator, customer). */
  readonly floor?: Tier;
}

/** One reason the emitted tier must be at least `tier`. */
export interface TierReason {
  readonly tier: Tier;
  readonly because: string;
}

/** Minimum tier of a workload with the reasons, strongest first. */
export interface TierRequirement {
  readonly minTier: Tier;
  readonly reasons: readonly TierReason[];
}

const DATA_TIER: Readonly<Record<WorkloadData, Tier>> = {
  "identity-ref": "signed",
  pii: "sealed",
  pci: "sealed",
  "payment-token": "sealed",
  phi: "sealed",
  "special-category": "sealed",
};

function requirementOf(reasons: TierReason[]): TierRequirement {
  const sorted = [...reasons].sort((a, b) => tierRank(b.tier) - tierRank(a.tier));
  return { minTier: sorted[0]?.tier ?? "core", reasons: sorted };
}

function workloadReasons(workload: Workload): TierReason[] {
  const reasons: TierReason[] = [];
  for (const d of workload.data ?? []) {
    const tier = DATA_TIER[d];
    if (tier === undefined) throw emitError("ERR_OHP_EMIT_INPUT", `unknown workload data category ${JSON.stringify(d)}`);
    reasons.push({ tier, because: `workload carries ${d}` });
  }
  if (workload.callerAssurance) reasons.push({ tier: "sealed", because: "workload needs a verified caller (assurance claims)" });
  if (workload.highRiskAi) reasons.push({ tier: "regulated", because: "workload involves an EU AI Act high-risk system" });
  if (workload.annexIIIClause !== undefined) reasons.push({ tier: "regulated", because: `workload falls under AI Act Annex III ${workload.annexIIIClause}` });
  if (workload.decisionProvenance) reasons.push({ tier: "regulated", because: "workload carries decision provenance (decisions[])" });
  if (workload.floor !== undefined) {
    if (!isTier(workload.floor)) throw emitError("ERR_OHP_EMIT_INPUT", `workload.floor ${JSON.stringify(workload.floor)} is not a tier`);
    reasons.push({ tier: workload.floor, because: "workload floor set by policy" });
  }
  return reasons;
}

/** The minimum tier a workload needs (table in docs/ohp-builder.md). */
export function workloadMinTier(workload: Workload): TierRequirement {
  return requirementOf(workloadReasons(workload));
}

/**
 * The minimum tier of a build: the workload's, plus what the input itself carries
 * (`audience.minTier`, caller assurance/identity, sealed values, the Regulated blocks, INCIDENT).
 */
export function tierRequirementOf(input: EnvelopeInput, options: Pick<BuildEnvelopeOptions, "seal"> = {}): TierRequirement {
  const reasons = workloadReasons(input.workload ?? {});
  const declared = input.audience.minTier;
  if (declared !== undefined) reasons.push({ tier: declared, because: "audience.minTier" });
  if (input.caller?.assurance !== undefined) reasons.push({ tier: "sealed", because: "caller.assurance is present (no assurance claims below Sealed, §3.1.1)" });
  if (input.caller?.identity !== undefined) reasons.push({ tier: "sealed", because: "caller.identity is present (§4.2 F23)" });
  const seal = options.seal;
  if (seal !== undefined && ((seal.move?.length ?? 0) > 0 || Object.keys(seal.fields ?? {}).length > 0)) {
    reasons.push({ tier: "sealed", because: "values to seal were given (sealed is Sealed+, §3.1.1-§3.1.2)" });
  }
  for (const block of ["aiSystem", "governance", "oversight"] as const) {
    if (input[block] !== undefined) reasons.push({ tier: "regulated", because: `${block} is a Regulated block (§3.1.4, §6)` });
  }
  if ((input.decisions?.length ?? 0) > 0) reasons.push({ tier: "regulated", because: "decisions[] is a Regulated block (§6.4)" });
  if (input.aiSystem?.riskClass === "high") reasons.push({ tier: "regulated", because: "aiSystem.riskClass is high" });
  if (input.verb === "INCIDENT") reasons.push({ tier: "regulated", because: "INCIDENT is Regulated-only (§3.1.4(6))" });
  return requirementOf(reasons);
}

// ---------------------------------------------------------------------------------------------
// Conformance expectation shapes (CR emit-positive / emit-negative)
// ---------------------------------------------------------------------------------------------

/** The refusal reason of the emit-negative vectors. */
export const REFUSE_WORKLOAD_REQUIRES_HIGHER_TIER = "workload-requires-higher-tier";

/** emit-negative `expected.json`: `{"outcome":"refuse","refuseReason":…,"minTier":…}`. */
export interface EmitRefusal {
  readonly outcome: "refuse";
  readonly refuseReason: typeof REFUSE_WORKLOAD_REQUIRES_HIGHER_TIER;
  readonly minTier: Tier;
}

/** The emit-negative shape of a tier refusal, or undefined for anything else. */
export function refusalOf(error: unknown): EmitRefusal | undefined {
  if (!(error instanceof OhpEmitError) || error.code !== "ERR_OHP_EMIT_TIER_REFUSED") return undefined;
  const minTier = error.detail?.["minTier"];
  if (!isTier(minTier)) return undefined;
  return { outcome: "refuse", refuseReason: REFUSE_WORKLOAD_REQUIRES_HIGHER_TIER, minTier };
}

/** emit-positive `expected.json`. */
export interface EmitExpectation {
  readonly outcome: "emit";
  readonly tier: Tier;
  readonly verb?: string;
  readonly shouldContainFields?: readonly string[];
  readonly shouldNotContainFields?: readonly string[];
}

/** Result of {@link checkEmitExpectation}. */
export interface EmitExpectationResult {
  readonly ok: boolean;
  /** Human-readable mismatches (empty when ok). */
  readonly problems: readonly string[];
}

/**
 * True when the dotted path resolves in the envelope's clear part (object members by name,
 * array elements by decimal index). A path through a string (e.g. into `sdJwtVc`) is absent.
 */
export function hasFieldPath(envelope: JsonValue, dotted: string): boolean {
  let node: JsonValue | undefined = envelope;
  for (const part of dotted.split(".")) {
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(part)) node = node[Number(part)];
    else if (isJsonObject(node) && Object.hasOwn(node, part)) node = node[part];
    else return false;
  }
  return node !== undefined;
}

/** Every dotted path present in a JSON value (objects by member, arrays by index), sorted. */
export function fieldPaths(value: JsonValue): string[] {
  const out: string[] = [];
  const walk = (v: JsonValue, prefix: string): void => {
    const entries: [string, JsonValue][] = Array.isArray(v)
      ? v.map((x, i) => [String(i), x])
      : isJsonObject(v)
        ? Object.keys(v).map((k) => [k, v[k] as JsonValue])
        : [];
    for (const [k, x] of entries) {
      const p = prefix === "" ? k : `${prefix}.${k}`;
      out.push(p);
      walk(x, p);
    }
  };
  walk(value, "");
  return out.sort();
}

/** Compares an emitted envelope with an emit-positive expectation (tier, verb, field presence). */
export function checkEmitExpectation(envelope: JsonObject, expected: EmitExpectation): EmitExpectationResult {
  const problems: string[] = [];
  if (expected.outcome !== "emit") problems.push(`expected outcome ${String(expected.outcome)}, the envelope was emitted`);
  if (envelope["conformance"] !== expected.tier) problems.push(`conformance is ${String(envelope["conformance"])}, expected ${expected.tier}`);
  const control = envelope["control"];
  const verb = isJsonObject(control) ? control["verb"] : undefined;
  if (expected.verb !== undefined && verb !== expected.verb) problems.push(`control.verb is ${String(verb)}, expected ${expected.verb}`);
  for (const f of expected.shouldContainFields ?? []) if (!hasFieldPath(envelope, f)) problems.push(`missing ${f}`);
  for (const f of expected.shouldNotContainFields ?? []) if (hasFieldPath(envelope, f)) problems.push(`must not contain ${f}`);
  return { ok: problems.length === 0, problems };
}

// ---------------------------------------------------------------------------------------------
// Input, options, result
// ---------------------------------------------------------------------------------------------

/** The six control verbs (§8.1). */
export type ControlVerb = "PROPOSE" | "ACCEPT" | "REJECT" | "ASSUME" | "RETURN" | "INCIDENT";
const VERBS: readonly ControlVerb[] = ["PROPOSE", "ACCEPT", "REJECT", "ASSUME", "RETURN", "INCIDENT"];

/** `audience` as the caller gives it: `minTier` defaults to the workload's, `recipientKeys` come from `seal`. */
export interface AudienceInput {
  readonly vendor: string;
  readonly did?: string;
  readonly aiRole?: "provider" | "deployer" | "importer" | "distributor";
  readonly purpose: string;
  /** A floor the caller declares; the emitted value is the maximum of this and the workload's. */
  readonly minTier?: Tier;
  /** Only when sealing is done elsewhere; `seal.recipients` overrides it. */
  readonly recipientKeys?: readonly { readonly kid: string; readonly alg: string }[];
}

/** `control` without the generated members (`verb` comes from `EnvelopeInput.verb`, `nonce` is generated). */
export interface ControlInput {
  readonly reason?: string;
  readonly fallback?: { readonly verb?: string; readonly after?: string; readonly acceptableReasons?: readonly string[] };
  readonly refs?: { readonly proposedId?: string };
}

/** A `decisions[]` item; `id` (`dec_` ULID) and `at` (= issuedAt) are generated when absent. */
export interface DecisionInput {
  readonly id?: string;
  readonly at?: string;
  readonly type: Decision["type"];
  readonly input: Readonly<Record<string, unknown>>;
  readonly output: Readonly<Record<string, unknown>>;
  readonly model?: string;
  readonly rationaleRef?: string;
  readonly humanReviewed?: boolean;
  readonly reviewer?: string;
}

/** Everything about the handoff except what the builder generates (ids, times, nonce, crypto). */
export interface EnvelopeInput {
  /** Target tier (`conformance`). */
  readonly tier: Tier;
  /** `control.verb`, default PROPOSE. */
  readonly verb?: ControlVerb;
  /** What the handoff carries; decides the minimum tier. */
  readonly workload?: Workload;
  readonly issuer: Issuer;
  readonly audience: AudienceInput;
  readonly session: Session;
  readonly caller?: Caller;
  readonly intent: Intent;
  /** `summary` is a MUST at every tier (§4.2 F29); turns are redacted. */
  readonly transcript: Transcript;
  readonly memory?: Memory;
  readonly policy?: Policy;
  readonly control?: ControlInput;
  readonly aiSystem?: AiSystem;
  readonly governance?: Governance;
  readonly oversight?: Oversight;
  readonly decisions?: readonly DecisionInput[];
  /** `transparency.logId` (default: the tlog client's origin); `leafHash` is computed. */
  readonly transparency?: { readonly logId: string };
}

/** What to seal (§5.3) and for whom. */
export interface SealInput {
  /** Recipients' public X25519 JWKs (`kid` + `x`); they become `audience.recipientKeys`. */
  readonly recipients: readonly SealRecipient[];
  /** Dotted paths of clear members to move into `sealed` (e.g. `caller.identity.disclosures`). */
  readonly move?: readonly string[];
  /** Values that exist only sealed, by dotted name (e.g. `payment.disputeDetail`, `caller.vulnerable`). */
  readonly fields?: Readonly<Record<string, JsonValue>>;
}

/** Options of {@link buildEnvelope}. */
export interface BuildEnvelopeOptions {
  /** Signing keys (Signed+): an EdDSA key, plus an ML-DSA-65 key for Regulated. */
  readonly keys?: readonly PrivateKeyRecord[];
  /** Sealing (Sealed+). */
  readonly seal?: SealInput;
  /** Transparency log client; with `transparency` present the envelope is anchored. */
  readonly tlog?: TlogClient;
  /**
   * `false`: do not anchor even at Regulated (the caller anchors the result itself). Default:
   * anchor when a `tlog` is given; a Regulated build without `tlog` is refused.
   */
  readonly anchor?: boolean;
  /** Clock (default the current time). */
  readonly now?: Clock;
  /** Random source (default node:crypto). */
  readonly random?: RandomSource;
  /** `notAfter − issuedAt` in ms: default PT2M, at most PT5M (§4.4). */
  readonly lifetimeMs?: number;
  /** `notBefore − issuedAt` in ms (default 0). notBefore is emitted at Signed+ (F6), or when this is set. */
  readonly notBeforeDelayMs?: number;
  /** Nonce size in bytes: default 16 (128 bits), at least 8 (§4.6). */
  readonly nonceBytes?: number;
  /** Detectors for transcript redaction and the clear-part scan; `false` disables redaction (the scan still runs with the defaults). */
  readonly redaction?: false | readonly PiiDetector[];
  /** JSON pointers (or `prefix/`) the clear-part PII scan skips, e.g. a reviewed free-text member. */
  readonly piiScanExempt?: readonly string[];
}

/** A transcript redaction that was applied. */
export interface AppliedRedaction {
  /** JSON pointer of the redacted text. */
  readonly pointer: string;
  readonly tag: string;
}

/** Result of {@link buildEnvelope}. */
export interface BuiltEnvelope {
  readonly tier: Tier;
  /** The emitted envelope (JSON data model). */
  readonly envelope: JsonObject;
  /** `JSON.stringify(envelope)`: the bytes to send over ohp/ws, ohp/https, ohp/grpc. */
  readonly json: string;
  /** UTF-8 size of {@link BuiltEnvelope.json} (≤ 32 KiB). */
  readonly byteLength: number;
  /** The canonical CBOR signing surface (≤ 8 KiB). */
  readonly surface: Uint8Array;
  /** `sha256:` hash of the surface (§6.5). */
  readonly leafHash: string;
  /** `signatures[]` (empty at Core). */
  readonly signatures: readonly SignatureEntry[];
  /** Sealed field names (empty when nothing was sealed). */
  readonly sealedFields: readonly string[];
  /** Transcript redactions applied. */
  readonly redactions: readonly AppliedRedaction[];
  /** The minimum tier and why. */
  readonly requirement: TierRequirement;
  /** Missing SHOULD rows of §4.2 (and other warnings of `validateDocument`). */
  readonly warnings: readonly ValidationIssue[];
  /** The log receipt, when anchored. */
  readonly anchor?: AnchorReceipt;
}

// ---------------------------------------------------------------------------------------------
// The pipeline
// ---------------------------------------------------------------------------------------------

/** Deep copy of caller input into the JSON data model; undefined members are dropped. */
function toJson(value: unknown, path: (string | number)[]): JsonValue {
  const bad = (what: string): never => {
    throw emitError("ERR_OHP_EMIT_INPUT", `${formatPointer(path) || "/"}: ${what} is not JSON`, { pointer: formatPointer(path) });
  };
  if (typeof value === "string") return value.isWellFormed() ? value : bad("a string with a lone surrogate");
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : bad(String(value));
  if (Array.isArray(value)) return value.map((v, i) => (v === undefined ? bad("undefined") : toJson(v, [...path, i])));
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return bad(`a ${(value as object).constructor?.name ?? "non-plain"} object`);
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (!k.isWellFormed()) bad("a member name with a lone surrogate");
      Object.defineProperty(out, k, { value: toJson(v, [...path, k]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return bad(typeof value);
}

function jsonObject(value: unknown, member: string): JsonObject {
  const v = toJson(value, [member]);
  if (!isJsonObject(v)) throw emitError("ERR_OHP_EMIT_INPUT", `/${member} must be an object`, { pointer: `/${member}` });
  return v;
}

/** Presentation order of the top-level members (the signed bytes do not depend on it). */
const MEMBER_ORDER = [
  "ohp",
  "conformance",
  "id",
  "issuedAt",
  "notBefore",
  "notAfter",
  "issuer",
  "audience",
  "aiSystem",
  "governance",
  "oversight",
  "session",
  "caller",
  "intent",
  "sealed",
  "transcript",
  "memory",
  "decisions",
  "policy",
  "control",
  "transparency",
  "signatures",
];

function ordered(env: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of MEMBER_ORDER) if (Object.hasOwn(env, k)) out[k] = env[k] as JsonValue;
  for (const k of Object.keys(env)) {
    if (!Object.hasOwn(out, k)) Object.defineProperty(out, k, { value: env[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function issuesDetail(issues: readonly ValidationIssue[]): { pointer: string; rule: string; message: string }[] {
  return issues.map((i) => ({ pointer: i.pointer, rule: i.rule, message: i.message }));
}

/** Step 4 / 7: schema + §4.2 in emit mode; throws on any error. */
function assertValid(env: JsonObject, stage: string, byteLength?: number): ValidationIssue[] {
  const result = validateDocument(env, { schema: "ohp-envelope", mode: "emit", ...(byteLength === undefined ? {} : { byteLength }) });
  if (result.errors.length === 0) return result.warnings;
  const tierIssues = result.errors.filter((e) => !e.rule.startsWith("schema"));
  const first = (tierIssues[0] ?? result.errors[0]) as ValidationIssue;
  const code: OhpEmitErrorCode = tierIssues.length > 0 ? "ERR_OHP_EMIT_TIER_INCOMPLETE" : "ERR_OHP_EMIT_SCHEMA";
  throw emitError(code, `${stage}: ${first.pointer || "/"} ${first.message} (${first.rule})${result.errors.length > 1 ? ` and ${result.errors.length - 1} more` : ""}`, {
    tier: env["conformance"],
    issues: issuesDetail(result.errors),
  });
}

/** §6.1-§6.2 sender preconditions the schema and §4.2 table do not state. */
function checkGovernance(env: JsonObject, issuedAtMs: number): void {
  const aiSystem = env["aiSystem"];
  if (isJsonObject(aiSystem) && aiSystem["riskClass"] === "prohibited") {
    throw emitError("ERR_OHP_EMIT_GOVERNANCE", "aiSystem.riskClass is prohibited: such a system may not hand off (EU AI Act Art 5)", {
      pointer: "/aiSystem/riskClass",
      rule: "§6.1",
    });
  }
  const governance = env["governance"];
  if (!isJsonObject(governance)) return;
  const prohibited = governance["prohibited"];
  if (isJsonObject(prohibited)) {
    for (const [flag, value] of Object.entries(prohibited)) {
      if (value === true) {
        throw emitError("ERR_OHP_EMIT_GOVERNANCE", `governance.prohibited.${flag} is true: a conformant envelope asserts no prohibited practice (§6.2)`, {
          pointer: `/governance/prohibited/${flag}`,
          rule: "§6.2",
        });
      }
    }
  }
  const aiia = governance["aiia"];
  const reviewed = isJsonObject(aiia) ? aiia["lastReviewedAt"] : undefined;
  const m = typeof reviewed === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(reviewed) : null;
  if (isJsonObject(aiSystem) && aiSystem["riskClass"] === "high" && m !== null) {
    const expires = Date.UTC(Number(m[1]) + 1, Number(m[2]) - 1, Number(m[3]) + 1);
    if (issuedAtMs >= expires) {
      throw emitError("ERR_OHP_EMIT_GOVERNANCE", `governance.aiia.lastReviewedAt ${reviewed} is more than 12 months before issuedAt (§6.2)`, {
        pointer: "/governance/aiia/lastReviewedAt",
        rule: "§6.2",
      });
    }
  }
}

/** The governance records whose issuer proof the builder signs (present in the draft). */
function issuerProofRecords(env: JsonObject): { name: string; member: string }[] {
  const governance = env["governance"];
  if (!isJsonObject(governance)) return [];
  return ISSUER_PROOFS.filter(({ record }) => record[0] === "governance" && isJsonObject(governance[record[1]])).map(({ record, member }) => ({
    name: record[1],
    member,
  }));
}

function dottedToPointer(dotted: string): string {
  return formatPointer(dotted.split("."));
}

function cryptoFailure(code: OhpEmitErrorCode, what: string, e: unknown): never {
  if (e instanceof OhpEmitError) throw e;
  if (isAgentwireError(e)) throw emitError(code, `${what}: ${e.message}`, { ...(e.detail ?? {}) }, e);
  throw e;
}

function sizeError(what: "json" | "surface", bytes: number, limit: number): OhpEmitError {
  return emitError("ERR_OHP_EMIT_SIZE", `the ${what === "json" ? "serialised JSON envelope" : "canonical CBOR signing surface"} is ${bytes} bytes; OHP §4.5 allows ${limit}`, {
    what,
    bytes,
    limit,
    rule: "§4.5",
  });
}

/**
 * Builds, checks, seals, signs and (optionally) anchors one envelope. Throws {@link OhpEmitError}
 * on every refusal; {@link refusalOf} turns a tier refusal into the emit-negative shape.
 */
export async function buildEnvelope(input: EnvelopeInput, options: BuildEnvelopeOptions = {}): Promise<BuiltEnvelope> {
  // 1 plan -----------------------------------------------------------------------------------
  const tier = input.tier;
  if (!isTier(tier)) throw emitError("ERR_OHP_EMIT_INPUT", `tier must be one of ${TIERS.join(", ")} (got ${JSON.stringify(tier)})`);
  const verb = input.verb ?? "PROPOSE";
  if (!VERBS.includes(verb)) throw emitError("ERR_OHP_EMIT_INPUT", `verb ${JSON.stringify(verb)} is not an OHP verb`);
  if (input.audience.minTier !== undefined && !isTier(input.audience.minTier)) {
    throw emitError("ERR_OHP_EMIT_INPUT", `audience.minTier ${JSON.stringify(input.audience.minTier)} is not a tier`);
  }
  const requirement = tierRequirementOf(input, options);
  if (!tierAtLeast(tier, requirement.minTier)) {
    const top = requirement.reasons[0] as TierReason;
    throw emitError(
      "ERR_OHP_EMIT_TIER_REFUSED",
      `refusing to emit ${tier}: the workload requires ${requirement.minTier} (${top.because}; §3.1.1, §3.2)`,
      {
        refuseReason: REFUSE_WORKLOAD_REQUIRES_HIGHER_TIER,
        tier,
        minTier: requirement.minTier,
        reasons: requirement.reasons.filter((r) => !tierAtLeast(tier, r.tier)).map((r) => ({ tier: r.tier, because: r.because })),
      },
    );
  }
  const lifetime = options.lifetimeMs ?? OHP_EMIT_DEFAULT_LIFETIME_MS;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > OHP_EMIT_MAX_LIFETIME_MS) {
    throw emitError("ERR_OHP_EMIT_INPUT", `lifetimeMs must be an integer in (0, ${OHP_EMIT_MAX_LIFETIME_MS}] (§4.4 notAfter ≤ issuedAt + PT5M); got ${lifetime}`, {
      rule: "§4.4",
    });
  }
  const nbDelay = options.notBeforeDelayMs;
  if (nbDelay !== undefined && (!Number.isSafeInteger(nbDelay) || nbDelay < 0 || nbDelay >= lifetime)) {
    throw emitError("ERR_OHP_EMIT_INPUT", `notBeforeDelayMs must be an integer in [0, lifetimeMs) (§4.4 notBefore ≥ issuedAt); got ${nbDelay}`, { rule: "§4.4" });
  }
  const signs = TIER_SIGNATURE_ALGS[tier].length > 0;
  if (signs) {
    try {
      selectSigningKeys(tier, options.keys ?? []);
    } catch (e) {
      cryptoFailure("ERR_OHP_EMIT_KEYS", `cannot sign a ${tier} envelope`, e);
    }
  }
  const logId = input.transparency?.logId ?? (tier === "regulated" ? options.tlog?.origin : undefined);
  const wantsAnchor = options.anchor !== false && options.tlog !== undefined && logId !== undefined;
  if (tier === "regulated" && options.anchor !== false && options.tlog === undefined) {
    throw emitError("ERR_OHP_EMIT_ANCHOR", "Regulated envelopes are anchored in a transparency log before sending (§5.7): pass tlog, or anchor: false to anchor the result yourself", {
      rule: "§5.7",
    });
  }

  // 2 build ----------------------------------------------------------------------------------
  const clock = options.now ?? defaultClock;
  const random = options.random ?? defaultRandom;
  const now = clock();
  const issuedAtMs = now instanceof Date ? now.getTime() : Number.NaN;
  if (!Number.isSafeInteger(issuedAtMs) || issuedAtMs <= 0) throw emitError("ERR_OHP_EMIT_INPUT", "the clock returned an invalid date");
  const issuedAt = new Date(issuedAtMs).toISOString(); // millisecond precision (§4.4)
  const env: JsonObject = {
    ohp: "0.1",
    conformance: tier,
    id: newEnvelopeId(issuedAtMs, random),
    issuedAt,
  };
  if (nbDelay !== undefined || tierAtLeast(tier, "signed")) env["notBefore"] = new Date(issuedAtMs + (nbDelay ?? 0)).toISOString();
  env["notAfter"] = new Date(issuedAtMs + lifetime).toISOString();
  env["issuer"] = jsonObject(input.issuer, "issuer");
  const audience = jsonObject(input.audience, "audience");
  audience["minTier"] = requirement.minTier; // §3.2 / D03: set from the workload
  if (options.seal !== undefined) delete audience["recipientKeys"]; // sealEnvelope writes them
  env["audience"] = audience;
  for (const block of ["aiSystem", "governance", "oversight"] as const) {
    if (input[block] !== undefined) env[block] = jsonObject(input[block], block);
  }
  env["session"] = jsonObject(input.session, "session");
  if (input.caller !== undefined) env["caller"] = jsonObject(input.caller, "caller");
  env["intent"] = jsonObject(input.intent, "intent");
  const transcript = jsonObject(input.transcript, "transcript");
  if (Array.isArray(transcript["turns"]) && transcript["format"] === undefined) transcript["format"] = "ohp.turns/v1";
  env["transcript"] = transcript;
  if (input.memory !== undefined) env["memory"] = jsonObject(input.memory, "memory");
  if (input.decisions !== undefined) {
    env["decisions"] = input.decisions.map((d, i) => {
      const o = jsonObject(d, `decisions/${i}`);
      return { id: o["id"] ?? newDecisionId(issuedAtMs, random), at: o["at"] ?? issuedAt, ...o };
    });
  }
  if (input.policy !== undefined) env["policy"] = jsonObject(input.policy, "policy");
  const control = jsonObject(input.control ?? {}, "control");
  delete control["verb"];
  delete control["nonce"];
  env["control"] = { verb, ...control, nonce: newNonce(random, options.nonceBytes) };
  if (logId !== undefined) env["transparency"] = { logId, leafHash: LEAF_HASH_PLACEHOLDER };

  // 3 redact ---------------------------------------------------------------------------------
  const redactions: AppliedRedaction[] = [];
  const detectors = options.redaction === false ? undefined : (options.redaction ?? DEFAULT_PII_DETECTORS);
  if (detectors !== undefined) {
    const redact = (text: JsonValue | undefined, pointer: string): JsonValue | undefined => {
      if (typeof text !== "string") return text;
      const r = redactTranscript(text, detectors);
      for (const m of r.matches) redactions.push({ pointer, tag: m.tag });
      return r.text;
    };
    const turns = transcript["turns"];
    if (Array.isArray(turns)) {
      turns.forEach((turn, i) => {
        if (isJsonObject(turn) && typeof turn["text"] === "string") turn["text"] = redact(turn["text"], `/transcript/turns/${i}/text`) as string;
      });
    }
    if (typeof transcript["summary"] === "string") transcript["summary"] = redact(transcript["summary"], "/transcript/summary") as string;
  }

  // 4 check ----------------------------------------------------------------------------------
  checkGovernance(env, issuedAtMs);
  const moved = (options.seal?.move ?? []).map(dottedToPointer);
  const findings = scanClearPart(env, {
    detectors: detectors ?? DEFAULT_PII_DETECTORS,
    exempt: [...moved, ...(options.piiScanExempt ?? [])],
  });
  const finding = findings[0];
  if (finding !== undefined) {
    throw emitError(
      "ERR_OHP_EMIT_PII_OUTSIDE_SEALED",
      `${finding.pointer} carries ${finding.tag} in the clear; PII, PCI and PHI travel only in sealed (move it with seal.move, or redact it)`,
      { pointer: finding.pointer, tag: finding.tag, by: finding.by, findings: findings.map((f) => ({ ...f })) },
    );
  }
  // The projection adds what steps 5-6 will produce, so that only genuine gaps are reported.
  const projection: JsonObject = { ...env };
  if (options.seal !== undefined) {
    projection["audience"] = { ...audience, recipientKeys: options.seal.recipients.map((r) => ({ kid: String(r.kid), alg: "HPKE/X25519-SHA256-CHACHA20POLY1305" })) };
  }
  if (signs) projection["signatures"] = TIER_SIGNATURE_ALGS[tier].map((alg) => ({ kid: "pending", alg, jws: "pending" }));
  const proofRecords = issuerProofRecords(env);
  if (proofRecords.length > 0) {
    const governance = { ...(projection["governance"] as JsonObject) };
    for (const { name, member } of proofRecords) governance[name] = { ...(governance[name] as JsonObject), [member]: "pending" };
    projection["governance"] = governance;
  }
  assertValid(projection, "before sealing");

  // 5 seal -----------------------------------------------------------------------------------
  let sealedEnv: JsonObject = env;
  let sealedFields: string[] = [];
  if (options.seal !== undefined) {
    const seal = options.seal;
    const hasValues = (seal.move?.length ?? 0) > 0 || Object.keys(seal.fields ?? {}).length > 0;
    try {
      if (hasValues) {
        sealedEnv = await sealEnvelope(env, {
          recipients: seal.recipients,
          ...(seal.move === undefined ? {} : { move: seal.move }),
          ...(seal.fields === undefined ? {} : { fields: jsonObject(seal.fields, "sealed") }),
        });
        const block = sealedEnv["sealed"];
        sealedFields = isJsonObject(block) && Array.isArray(block["fields"]) ? block["fields"].map(String) : [];
      } else {
        if (seal.recipients.length === 0) throw emitError("ERR_OHP_EMIT_SEAL", "seal.recipients is empty");
        sealedEnv = { ...env, audience: projection["audience"] as JsonObject };
      }
    } catch (e) {
      cryptoFailure("ERR_OHP_EMIT_SEAL", "sealing failed", e);
    }
  }
  sealedEnv = ordered(sealedEnv);

  // 6 sign -----------------------------------------------------------------------------------
  if (proofRecords.length > 0) {
    const ed = (options.keys ?? []).find((k) => k.alg === "EdDSA" && k.use === "sig");
    if (ed === undefined) {
      throw emitError("ERR_OHP_EMIT_KEYS", "the issuer record proofs of governance (§6.2) are signed with an EdDSA key and none was given", { alg: "EdDSA" });
    }
    try {
      sealedEnv = signIssuerProofs(sealedEnv, ed);
    } catch (e) {
      cryptoFailure("ERR_OHP_EMIT_KEYS", "signing the issuer record proofs failed", e);
    }
  }
  // §4.5 before any envelope signature: signEnvelope would refuse the same surface.
  const surface = signingSurface(sealedEnv);
  if (surface.length > OHP_MAX_SURFACE_BYTES) throw sizeError("surface", surface.length, OHP_MAX_SURFACE_BYTES);
  let finalEnv: JsonObject;
  let signatures: readonly SignatureEntry[] = [];
  let leafHash: string;
  if (signs) {
    try {
      const signed = signEnvelope(sealedEnv, { keys: options.keys ?? [] });
      finalEnv = signed.envelope;
      signatures = signed.signatures;
      leafHash = signed.leafHash;
    } catch (e) {
      cryptoFailure("ERR_OHP_EMIT_KEYS", "signing failed", e);
    }
  } else {
    leafHash = leafHashOf(surface);
    const t = sealedEnv["transparency"];
    finalEnv = isJsonObject(t) ? { ...sealedEnv, transparency: { ...t, leafHash } } : sealedEnv;
  }

  // 7 final checks ---------------------------------------------------------------------------
  const json = JSON.stringify(finalEnv);
  const byteLength = Buffer.byteLength(json, "utf8");
  if (byteLength > OHP_MAX_JSON_BYTES) throw sizeError("json", byteLength, OHP_MAX_JSON_BYTES);
  const warnings = assertValid(finalEnv, "after signing", byteLength);

  // 8 anchor ---------------------------------------------------------------------------------
  let anchor: AnchorReceipt | undefined;
  if (wantsAnchor && options.tlog !== undefined) {
    try {
      anchor = await anchorEnvelope(options.tlog, finalEnv);
    } catch (e) {
      cryptoFailure("ERR_OHP_EMIT_ANCHOR", "anchoring failed", e);
    }
  }

  return {
    tier,
    envelope: finalEnv,
    json,
    byteLength,
    surface,
    leafHash,
    signatures,
    sealedFields,
    redactions,
    requirement,
    warnings,
    ...(anchor === undefined ? {} : { anchor }),
  };
}
