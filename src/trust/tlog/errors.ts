/**
 * Typed errors of the transparency log (RFC 9162 Merkle tree, proofs, storage, HTTP API,
 * OHP anchoring) and of C2SP signed notes / tlog checkpoints. Callers branch on `code`.
 *
 * @module
 */
import { AgentwireError } from "../../errors.js";

/** Stable codes of {@link TlogError}. */
export type TlogErrorCode =
  /** A digest is not "sha256:" + 64 lowercase hex, or a hash is not 32 bytes. */
  | "ERR_TLOG_HASH_INVALID"
  /** A leaf index is not below the tree size (or not a non-negative safe integer). */
  | "ERR_TLOG_INDEX_OUT_OF_RANGE"
  /** A tree size is beyond the log, or the sizes of a consistency proof are not 0 < first <= second. */
  | "ERR_TLOG_SIZE_OUT_OF_RANGE"
  /** A proof has the wrong number of hashes, or a proof hash is not 32 bytes. */
  | "ERR_TLOG_PROOF_MALFORMED"
  /** The root recomputed from a proof differs from the expected (signed) root. */
  | "ERR_TLOG_PROOF_ROOT_MISMATCH"
  /** A proof was made for another tree size than the checkpoint it is checked against. */
  | "ERR_TLOG_PROOF_SIZE_MISMATCH"
  /** The store is closed, corrupt, or belongs to another log origin. */
  | "ERR_TLOG_STORE"
  /** HTTP API: malformed request (query, JSON body, digest). */
  | "ERR_TLOG_HTTP_BAD_REQUEST"
  /** HTTP API: unknown route, unknown entry, or a size beyond the current tree. */
  | "ERR_TLOG_HTTP_NOT_FOUND"
  /** HTTP API: request body larger than the limit. */
  | "ERR_TLOG_HTTP_TOO_LARGE"
  /** HTTP API: method not allowed on the route. */
  | "ERR_TLOG_HTTP_METHOD"
  /** HTTP API: unexpected server failure (answered as 500). */
  | "ERR_TLOG_INTERNAL"
  /** Client: the server answered with an error status or an unexpected body. */
  | "ERR_TLOG_HTTP_RESPONSE"
  /** Anchoring: the envelope has no `transparency` block (or it is not an object). */
  | "ERR_TLOG_ANCHOR_NO_TRANSPARENCY"
  /** Anchoring: `transparency.leafHash` differs from the hash of the recomputed signing surface. */
  | "ERR_TLOG_ANCHOR_LEAF_MISMATCH"
  /** Anchoring: the checkpoint origin is not the envelope's `transparency.logId`. */
  | "ERR_TLOG_ANCHOR_LOG_MISMATCH";

/** Raised by the Merkle tree, its proofs and verifiers, the stores, the HTTP API and anchoring. */
export class TlogError extends AgentwireError<TlogErrorCode> {}

/** Stable codes of {@link NoteError}. */
export type NoteErrorCode =
  /** C2SP signed-note syntax violated (no blank line, bad signature line, control characters, too many signatures...). */
  | "ERR_NOTE_MALFORMED"
  /** No signature from a trusted key verified (C2SP signed-note: clients MUST reject the note). */
  | "ERR_NOTE_UNVERIFIED"
  /** A signature from a trusted key (same name and key ID) failed to verify: the whole note is rejected. */
  | "ERR_NOTE_SIGNATURE_INVALID"
  /** A verifier/signer key or key name is malformed (vkey text, key hash, algorithm byte, length). */
  | "ERR_NOTE_KEY_INVALID"
  /** Two trusted verifiers share a key name and key ID. */
  | "ERR_NOTE_AMBIGUOUS_KEY"
  /** C2SP tlog-checkpoint body violated (origin, decimal size, base64 32-byte root, extension lines). */
  | "ERR_CHECKPOINT_MALFORMED"
  /** The checkpoint origin is not the expected one. */
  | "ERR_CHECKPOINT_ORIGIN_MISMATCH";

/** Raised by signed-note and checkpoint parsing, signing and verification. */
export class NoteError extends AgentwireError<NoteErrorCode> {}
