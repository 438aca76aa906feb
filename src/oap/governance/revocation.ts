/**
 * Revocation status checks (OAP-CORE-1.0 §22.1): "Every Agent and Tool MUST consult the
 * Revocation Service before acting on any DID or VC older than the cache validity period stated
 * by the issuer."
 *
 * {@link RevocationChecker.check}: a subject (DID or VC id) younger than its issuer's cache
 * validity may be used without a lookup (unless a cached answer already says revoked); an older
 * one needs a status answer that is itself still valid — from the cache, else from the
 * {@link RevocationStatusSource}. A service that cannot answer fails closed (502
 * upstream_error). Revoked subjects are refused with 401 (`ERR_OAP_AUTH_INVALID`).
 *
 * @module
 */
import { OapError } from "../errors.js";
import { parseRfc3339Ms, rfc3339, systemClock, type OapClock } from "../util.js";

/** A Revocation Service answer. */
export interface RevocationAnswer {
  readonly revoked: boolean;
  readonly revoked_at?: string;
  readonly reason?: string;
  /** How long this answer may be cached (seconds; default: the checker's default). */
  readonly cache_seconds?: number;
}

/** The Revocation Service (OCSP-like). */
export interface RevocationStatusSource {
  status(subject: string): RevocationAnswer | Promise<RevocationAnswer>;
}

/** A status as the checker reports it. */
export interface RevocationStatus {
  readonly subject: string;
  readonly revoked: boolean;
  readonly revoked_at?: string;
  readonly reason?: string;
  /** `fresh`: younger than the cache validity, no lookup; `cache`; `service`. */
  readonly source: "fresh" | "cache" | "service";
  readonly checked_at?: string;
  readonly valid_until?: string;
}

/** What is known about the subject. */
export interface SubjectInfo {
  /** When the DID / VC was issued (or last re-verified). */
  readonly issued_at?: string;
  /** The issuer's stated cache validity period in seconds. */
  readonly cache_validity_seconds?: number;
}

/** Options of {@link RevocationChecker}. */
export interface RevocationCheckerOptions {
  readonly source: RevocationStatusSource;
  /** Cache lifetime of answers without `cache_seconds` (default 300 s). */
  readonly defaultCacheSeconds?: number;
  /** Upper bound on any cache lifetime (default 86,400 s). */
  readonly maxCacheSeconds?: number;
  readonly clock?: OapClock;
}

/** §22.1 revocation checks with an answer cache. */
export class RevocationChecker {
  readonly #o: RevocationCheckerOptions;
  readonly #clock: OapClock;
  readonly #cache = new Map<string, { answer: RevocationAnswer; checkedAt: number; validUntil: number }>();

  constructor(options: RevocationCheckerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The subject's status, consulting the service only when §22.1 requires it. */
  async check(subject: string, info: SubjectInfo = {}): Promise<RevocationStatus> {
    const now = this.#clock().getTime();
    const cached = this.#cache.get(subject);
    if (cached !== undefined && cached.answer.revoked) return this.#status(subject, cached, "cache");
    const issued = info.issued_at === undefined ? undefined : parseRfc3339Ms(info.issued_at);
    const validity = info.cache_validity_seconds;
    if (issued !== undefined && validity !== undefined && now - issued < validity * 1000) return { subject, revoked: false, source: "fresh" };
    if (cached !== undefined && now < cached.validUntil) return this.#status(subject, cached, "cache");
    let answer: RevocationAnswer;
    try {
      answer = await this.#o.source.status(subject);
    } catch (cause) {
      throw new OapError("ERR_OAP_UPSTREAM", `the Revocation Service did not answer for ${subject}`, { cause, details: { subject } });
    }
    const seconds = Math.min(answer.cache_seconds ?? this.#o.defaultCacheSeconds ?? 300, this.#o.maxCacheSeconds ?? 86_400);
    const entry = { answer, checkedAt: now, validUntil: now + Math.max(0, seconds) * 1000 };
    this.#cache.set(subject, entry);
    return this.#status(subject, entry, "service");
  }

  /** {@link check}, throwing 401 when the subject is revoked. */
  async assertNotRevoked(subject: string, info: SubjectInfo = {}): Promise<RevocationStatus> {
    const status = await this.check(subject, info);
    if (status.revoked) {
      throw new OapError("ERR_OAP_AUTH_INVALID", `${subject} is revoked${status.reason === undefined ? "" : ` (${status.reason})`}`, {
        details: { subject, ...(status.revoked_at === undefined ? {} : { revoked_at: status.revoked_at }) },
      });
    }
    return status;
  }

  /** Drops cached answers (all, or one subject). */
  invalidate(subject?: string): void {
    if (subject === undefined) this.#cache.clear();
    else this.#cache.delete(subject);
  }

  #status(subject: string, e: { answer: RevocationAnswer; checkedAt: number; validUntil: number }, source: "cache" | "service"): RevocationStatus {
    return {
      subject,
      revoked: e.answer.revoked,
      ...(e.answer.revoked_at === undefined ? {} : { revoked_at: e.answer.revoked_at }),
      ...(e.answer.reason === undefined ? {} : { reason: e.answer.reason }),
      source,
      checked_at: rfc3339(new Date(e.checkedAt)),
      valid_until: rfc3339(new Date(e.validUntil)),
    };
  }
}

/** An in-memory Revocation Service (tests, single-node deployments). */
export class MemoryRevocationService implements RevocationStatusSource {
  readonly #revoked = new Map<string, { at: string; reason?: string }>();
  /** Lookups answered (observability and tests). */
  lookups = 0;
  readonly #cacheSeconds: number | undefined;

  constructor(options: { readonly cacheSeconds?: number } = {}) {
    this.#cacheSeconds = options.cacheSeconds;
  }

  revoke(subject: string, at: Date, reason?: string): void {
    this.#revoked.set(subject, reason === undefined ? { at: rfc3339(at) } : { at: rfc3339(at), reason });
  }

  status(subject: string): RevocationAnswer {
    this.lookups++;
    const r = this.#revoked.get(subject);
    const cache = this.#cacheSeconds === undefined ? {} : { cache_seconds: this.#cacheSeconds };
    if (r === undefined) return { revoked: false, ...cache };
    return { revoked: true, revoked_at: r.at, ...(r.reason === undefined ? {} : { reason: r.reason }), ...cache };
  }
}
