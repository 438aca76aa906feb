/**
 * Hash chains of append-only records (receipts, audit trails; reusable by OAP and the OHP
 * `decisions[]` chain): every record cites, in its link member (default `prev`), the SHA-256 of
 * the previous record's canonical bytes as "sha256:<hex>". JSON records are canonicalised with
 * RFC 8785 JCS (src/jcs); other record types pass their own `canonicalBytes`.
 *
 * Genesis: the first record cites {@link GENESIS_PREV} ("sha256:" + 64 zeros), or the digest
 * given as `anchor` when verifying a segment that continues an earlier chain. The genesis value
 * is accepted only at position 0 (a later record citing it breaks the chain, like any other
 * wrong citation).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { AgentwireError } from "../../errors.js";
import { canonicalizeJsonBytes } from "../../jcs/index.js";

/** Stable codes of {@link HashChainError}. */
export type HashChainErrorCode =
  /** A record is not an object, lacks a well-formed link member, or cannot be canonicalised. */
  | "ERR_CHAIN_RECORD_INVALID"
  /** The first record does not cite the genesis value (or the given anchor). */
  | "ERR_CHAIN_GENESIS"
  /** A record does not cite the digest of the record before it. */
  | "ERR_CHAIN_LINK_BROKEN";

/** Raised by {@link appendRecord} and reported by {@link verifyChain}; `detail.index` is the record position. */
export class HashChainError extends AgentwireError<HashChainErrorCode> {}

/** The `prev` of the first record of a chain. */
export const GENESIS_PREV = `sha256:${"0".repeat(64)}`;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Options shared by the chain functions. */
export interface ChainOptions<R = Record<string, unknown>> {
  /** Member holding the citation (default "prev"). */
  readonly linkField?: string;
  /** Canonical bytes of a record (default RFC 8785 JCS of the JSON record, link member included). */
  readonly canonicalBytes?: (record: R) => Uint8Array;
  /** Digest the first record must cite (default {@link GENESIS_PREV}). */
  readonly anchor?: string;
}

/** Result of {@link verifyChain}. */
export type ChainVerification =
  | { readonly ok: true; readonly length: number; /** Digest of the last record (the anchor when empty). */ readonly head: string }
  | { readonly ok: false; readonly index: number; readonly code: HashChainErrorCode; readonly reason: string; readonly error: HashChainError };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** "sha256:" + hex(SHA-256(canonical bytes of `record`)). */
export function recordDigest<R = Record<string, unknown>>(record: R, options: ChainOptions<R> = {}): string {
  let bytes: Uint8Array;
  try {
    bytes = options.canonicalBytes ? options.canonicalBytes(record) : canonicalizeJsonBytes(record);
  } catch (e) {
    throw new HashChainError("ERR_CHAIN_RECORD_INVALID", `the record cannot be canonicalised: ${(e as Error).message}`, { cause: e });
  }
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * A new record: `body` with the link member set to the digest of the last record of `chain`
 * (or the genesis/anchor value for an empty chain). `body` must not carry the link member.
 * Returns the new record; `chain` is not modified.
 */
export function appendRecord<R extends Record<string, unknown>>(
  chain: readonly R[],
  body: R,
  options: ChainOptions<R> = {},
): R & Record<string, unknown> {
  const field = options.linkField ?? "prev";
  if (!isRecord(body)) throw new HashChainError("ERR_CHAIN_RECORD_INVALID", "a chain record is an object", { detail: { index: chain.length } });
  if (Object.hasOwn(body, field)) {
    throw new HashChainError("ERR_CHAIN_RECORD_INVALID", `the record body already has a ${JSON.stringify(field)} member`, { detail: { index: chain.length } });
  }
  const last = chain[chain.length - 1];
  const prev = last === undefined ? (options.anchor ?? GENESIS_PREV) : recordDigest(last, options);
  const record = { ...body };
  Object.defineProperty(record, field, { value: prev, enumerable: true, writable: true, configurable: true });
  return record;
}

function fail(index: number, code: HashChainErrorCode, reason: string, detail: Record<string, unknown> = {}): ChainVerification {
  const error = new HashChainError(code, `record ${index}: ${reason}`, { detail: { index, ...detail } });
  return { ok: false, index, code, reason, error };
}

/**
 * Walks the chain and reports the FIRST broken link: its position, code and reason
 * (`error.detail.index` holds the position too). Never throws for bad input.
 */
export function verifyChain<R = Record<string, unknown>>(records: readonly R[], options: ChainOptions<R> = {}): ChainVerification {
  const field = options.linkField ?? "prev";
  const anchor = options.anchor ?? GENESIS_PREV;
  if (!Array.isArray(records)) return fail(0, "ERR_CHAIN_RECORD_INVALID", "a chain is an array of records");
  let expected = anchor;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as R;
    if (!isRecord(record)) return fail(i, "ERR_CHAIN_RECORD_INVALID", "not an object");
    const prev = record[field];
    if (typeof prev !== "string" || !DIGEST.test(prev)) {
      return fail(i, "ERR_CHAIN_RECORD_INVALID", `${field} must be "sha256:" + 64 lowercase hex`);
    }
    if (prev !== expected) {
      return i === 0
        ? fail(i, "ERR_CHAIN_GENESIS", `the first record must cite ${anchor === GENESIS_PREV ? "the genesis value" : "the anchor"} ${anchor}`, { expected, actual: prev })
        : fail(i, "ERR_CHAIN_LINK_BROKEN", `cites ${prev}, but record ${i - 1} hashes to ${expected}`, { expected, actual: prev });
    }
    try {
      expected = recordDigest(record, options);
    } catch (e) {
      return fail(i, "ERR_CHAIN_RECORD_INVALID", (e as Error).message);
    }
  }
  return { ok: true, length: records.length, head: expected };
}

/** {@link verifyChain}, throwing the {@link HashChainError} of the first broken link. Returns the head digest. */
export function assertChain<R = Record<string, unknown>>(records: readonly R[], options: ChainOptions<R> = {}): string {
  const result = verifyChain(records, options);
  if (!result.ok) throw result.error;
  return result.head;
}
