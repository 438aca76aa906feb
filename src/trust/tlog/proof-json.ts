/**
 * JSON forms of proofs exchanged over the HTTP API and kept next to anchored envelopes:
 * hashes as standard base64 (as in checkpoints).
 *
 * @module
 */
import { TlogError } from "./errors.js";
import { b64DecodeStrict, b64Encode, HASH_SIZE } from "./hash.js";
import { isTreeSize } from "./merkle.js";

/** An inclusion proof as JSON: RFC 9162 §2.1.3.1 audit path, bottom-up. */
export interface InclusionProofJson {
  readonly index: number;
  readonly size: number;
  /** base64 of each 32-byte hash. */
  readonly hashes: readonly string[];
}

/** A consistency proof as JSON (RFC 9162 §2.1.4.1). */
export interface ConsistencyProofJson {
  readonly from: number;
  readonly to: number;
  readonly hashes: readonly string[];
}

/** base64 of each hash. */
export function encodeHashes(hashes: readonly Uint8Array[]): string[] {
  return hashes.map(b64Encode);
}

/** Decodes base64 hashes (`ERR_TLOG_PROOF_MALFORMED` for anything but an array of base64 32-byte values). */
export function decodeHashes(hashes: unknown): Uint8Array[] {
  if (!Array.isArray(hashes) || hashes.length > 128) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "proof hashes must be an array of at most 128 base64 strings");
  return hashes.map((h, i) => {
    const bytes = typeof h === "string" ? b64DecodeStrict(h) : undefined;
    if (bytes === undefined || bytes.length !== HASH_SIZE) {
      throw new TlogError("ERR_TLOG_PROOF_MALFORMED", `proof hash ${i} is not base64 of ${HASH_SIZE} bytes`, { detail: { position: i } });
    }
    return bytes;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates an {@link InclusionProofJson} (shape only) and decodes its hashes. */
export function parseInclusionProofJson(value: unknown): { index: number; size: number; hashes: Uint8Array[] } {
  if (!isObject(value) || !isTreeSize(value["index"]) || !isTreeSize(value["size"])) {
    throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "an inclusion proof is {index, size, hashes}");
  }
  return { index: value["index"], size: value["size"], hashes: decodeHashes(value["hashes"]) };
}

/** Validates a {@link ConsistencyProofJson} (shape only) and decodes its hashes. */
export function parseConsistencyProofJson(value: unknown): { from: number; to: number; hashes: Uint8Array[] } {
  if (!isObject(value) || !isTreeSize(value["from"]) || !isTreeSize(value["to"])) {
    throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "a consistency proof is {from, to, hashes}");
  }
  return { from: value["from"], to: value["to"], hashes: decodeHashes(value["hashes"]) };
}
