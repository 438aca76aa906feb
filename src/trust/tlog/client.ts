/**
 * HTTP client of the log API (server.ts). Everything it returns is verified: checkpoints against
 * the trusted note verifiers, inclusion proofs against the checkpoint root, consistency between
 * two checkpoints. `fetch` is a constructor argument (default: the global one).
 *
 * @module
 */
import { TlogError } from "./errors.js";
import { openCheckpoint, type SignedCheckpoint } from "./checkpoint.js";
import { EMPTY_ROOT_HASH, bytesEqual, formatSha256Digest, merkleLeafHash, parseSha256Digest } from "./hash.js";
import { parseVerifierKey, type NoteVerifier } from "./note.js";
import { encodeHashes, parseConsistencyProofJson, parseInclusionProofJson, type InclusionProofJson } from "./proof-json.js";
import { verifyConsistency, verifyInclusion } from "./verify.js";

/** Options of {@link TlogClient}. */
export interface TlogClientOptions {
  /** Trusted checkpoint keys: NoteVerifiers or verifier key texts `<name>+<id>+<key>`. */
  readonly verifiers: readonly (NoteVerifier | string)[];
  /** Expected checkpoint origin (recommended). */
  readonly origin?: string;
  /** fetch implementation (default `globalThis.fetch`). */
  readonly fetch?: typeof fetch;
}

/** What {@link TlogClient.submit} returns: a verified inclusion of the digest. */
export interface SubmitReceipt {
  /** The submitted digest, "sha256:<hex>". */
  readonly hash: string;
  readonly index: number;
  /** The verified checkpoint the proof leads to. */
  readonly checkpoint: SignedCheckpoint;
  /** The inclusion proof of `index` at `checkpoint.size`. */
  readonly proof: InclusionProofJson;
}

/** Resolves verifier key texts. */
export function toVerifiers(verifiers: readonly (NoteVerifier | string)[]): NoteVerifier[] {
  return verifiers.map((v) => (typeof v === "string" ? parseVerifierKey(v) : v));
}

/**
 * Offline: verifies that the 32-byte `digest` is leaf `proof.index` of the tree a verified
 * checkpoint commits to. The proof must be for the checkpoint's size.
 */
export function verifyDigestInclusion(digest: string | Uint8Array, proof: InclusionProofJson, checkpoint: SignedCheckpoint): void {
  const parsed = parseInclusionProofJson(proof);
  if (parsed.size !== checkpoint.size) {
    throw new TlogError("ERR_TLOG_PROOF_SIZE_MISMATCH", `the proof is for tree size ${parsed.size}, the checkpoint for ${checkpoint.size}`, {
      detail: { proofSize: parsed.size, checkpointSize: checkpoint.size },
    });
  }
  verifyInclusion(parsed.index, parsed.size, merkleLeafHash(parseSha256Digest(digest)), parsed.hashes, checkpoint.rootHash);
}

/** A client of one log. */
export class TlogClient {
  readonly baseUrl: string;
  readonly origin: string | undefined;
  readonly #verifiers: NoteVerifier[];
  readonly #fetch: typeof fetch;

  constructor(baseUrl: string | URL, options: TlogClientOptions) {
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.origin = options.origin;
    this.#verifiers = toVerifiers(options.verifiers);
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async #request(path: string, init?: RequestInit): Promise<{ status: number; text: string }> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, init);
    } catch (e) {
      throw new TlogError("ERR_TLOG_HTTP_RESPONSE", `cannot reach the log at ${this.baseUrl}: ${(e as Error).message}`, { cause: e });
    }
    const text = await res.text();
    if (res.status < 200 || res.status > 299) {
      let serverCode: unknown;
      let message = text.slice(0, 200);
      try {
        const err = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
        serverCode = err?.code;
        if (typeof err?.message === "string") message = err.message;
      } catch {
        // Not JSON.
      }
      throw new TlogError("ERR_TLOG_HTTP_RESPONSE", `log answered ${res.status}: ${message}`, { detail: { status: res.status, serverCode } });
    }
    return { status: res.status, text };
  }

  async #json(path: string, init?: RequestInit): Promise<unknown> {
    const { text } = await this.#request(path, init);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new TlogError("ERR_TLOG_HTTP_RESPONSE", "the log answered with invalid JSON", { cause: e });
    }
  }

  /** Opens a checkpoint note with the trusted verifiers (and the expected origin). */
  openCheckpoint(note: string): SignedCheckpoint {
    return openCheckpoint(note, this.#verifiers, this.origin === undefined ? {} : { origin: this.origin });
  }

  /** GET /v1/checkpoint, verified. */
  async checkpoint(): Promise<SignedCheckpoint> {
    return this.openCheckpoint((await this.#request("/v1/checkpoint")).text);
  }

  /** GET /v1/proof/inclusion (shape-checked, not yet verified). */
  async inclusionProof(index: number, size: number): Promise<InclusionProofJson> {
    const p = parseInclusionProofJson(await this.#json(`/v1/proof/inclusion?index=${index}&size=${size}`));
    if (p.index !== index || p.size !== size) throw new TlogError("ERR_TLOG_HTTP_RESPONSE", "the log answered a proof for another index or size");
    return { index, size, hashes: encodeHashes(p.hashes) };
  }

  /** GET /v1/proof/inclusion?hash= : the proof for a digest (the log looks up its index). */
  async inclusionProofByHash(digest: string | Uint8Array, size: number): Promise<InclusionProofJson> {
    const hash = formatSha256Digest(parseSha256Digest(digest));
    const p = parseInclusionProofJson(await this.#json(`/v1/proof/inclusion?hash=${hash}&size=${size}`));
    if (p.size !== size) throw new TlogError("ERR_TLOG_HTTP_RESPONSE", "the log answered a proof for another size");
    return { index: p.index, size, hashes: encodeHashes(p.hashes) };
  }

  /** GET /v1/proof/consistency (decoded, not yet verified). */
  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    const p = parseConsistencyProofJson(await this.#json(`/v1/proof/consistency?from=${from}&to=${to}`));
    if (p.from !== from || p.to !== to) throw new TlogError("ERR_TLOG_HTTP_RESPONSE", "the log answered a proof for other sizes");
    return p.hashes;
  }

  /**
   * POST /v1/entries, then verifies the returned checkpoint and the inclusion proof of the
   * digest at the checkpoint's size.
   */
  async submit(digest: string | Uint8Array): Promise<SubmitReceipt> {
    const hash = formatSha256Digest(parseSha256Digest(digest));
    const body = await this.#json("/v1/entries", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ hash }),
    });
    const b = body as { index?: unknown; checkpoint?: unknown };
    if (typeof b !== "object" || b === null || !Number.isSafeInteger(b.index) || typeof b.checkpoint !== "string") {
      throw new TlogError("ERR_TLOG_HTTP_RESPONSE", "the log answered an unexpected entry response");
    }
    const checkpoint = this.openCheckpoint(b.checkpoint);
    const proof = await this.inclusionProof(b.index as number, checkpoint.size);
    verifyDigestInclusion(hash, proof, checkpoint);
    return { hash, index: proof.index, checkpoint, proof };
  }

  /** Fetches a proof and verifies `digest` at `index` in the tree of a verified checkpoint. */
  async verifyInclusion(digest: string | Uint8Array, index: number, checkpoint: SignedCheckpoint): Promise<InclusionProofJson> {
    const proof = await this.inclusionProof(index, checkpoint.size);
    verifyDigestInclusion(digest, proof, checkpoint);
    return proof;
  }

  /**
   * Verifies that `newer` extends `older` (both verified checkpoints of this log), fetching the
   * RFC 9162 consistency proof. An empty `older` is consistent with anything.
   */
  async verifyConsistency(older: SignedCheckpoint, newer: SignedCheckpoint): Promise<void> {
    if (older.origin !== newer.origin) {
      throw new TlogError("ERR_TLOG_PROOF_ROOT_MISMATCH", "checkpoints of different origins cannot be consistent");
    }
    if (older.size === 0) {
      if (!bytesEqual(older.rootHash, EMPTY_ROOT_HASH)) throw new TlogError("ERR_TLOG_PROOF_ROOT_MISMATCH", "an empty tree has the empty root");
      return;
    }
    if (older.size > newer.size) {
      throw new TlogError("ERR_TLOG_SIZE_OUT_OF_RANGE", `the older checkpoint (${older.size}) is larger than the newer (${newer.size})`);
    }
    const hashes = older.size === newer.size ? [] : await this.consistencyProof(older.size, newer.size);
    verifyConsistency(older.size, newer.size, hashes, older.rootHash, newer.rootHash);
  }
}
