/**
 * Transparency log: RFC 9162 Merkle tree log with O(1) amortised append and O(log n) proofs,
 * offline verifiers, C2SP signed-note / tlog-checkpoint, in-memory and SQLite stores, an HTTP
 * API and client, and OHP envelope anchoring. See docs/trust-tlog.md.
 *
 * @module
 */
export { NoteError, TlogError, type NoteErrorCode, type TlogErrorCode } from "./errors.js";
export {
  EMPTY_ROOT_HASH,
  HASH_SIZE,
  b64DecodeStrict,
  b64Encode,
  formatSha256Digest,
  merkleLeafHash,
  merkleNodeHash,
  parseSha256Digest,
} from "./hash.js";
export { consistencyPath, inclusionPath, rangeRoot, splitPoint, withBatchedReads, type NodeCoord, type NodeReader } from "./merkle.js";
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from "./verify.js";
export { MemoryLogStore, type LeafRecord, type LogStore, type NodeRecord, type StoredCheckpoint } from "./store.js";
export { SqliteLogStore, type SqliteLogStoreOptions } from "./sqlite-store.js";
export { TransparencyLog, foldFrontier, frontierCoords, frontierFrom, planAppend, type AppendPlan, type SubmitResult, type TransparencyLogOptions } from "./log.js";
export {
  AsyncTransparencyLog,
  InProcessLogStore,
  type AsyncLogReader,
  type AsyncLogStore,
  type AsyncLogTransaction,
  type AsyncSubmitResult,
  type AsyncTransparencyLogOptions,
  type LeafHit,
} from "./async-log.js";
export {
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  NOTE_SIG_ED25519,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatVerifierKey,
  isValidKeyName,
  noteKeyId,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierKeyOf,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
  type ParsedNote,
} from "./note.js";
export {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type OpenCheckpointOptions,
  type SignedCheckpoint,
} from "./checkpoint.js";
export {
  decodeHashes,
  encodeHashes,
  parseConsistencyProofJson,
  parseInclusionProofJson,
  type ConsistencyProofJson,
  type InclusionProofJson,
} from "./proof-json.js";
export { DEFAULT_MAX_BODY_BYTES, createTlogHandler, startTlogServer, type RunningTlogServer, type TlogHandlerOptions } from "./server.js";
export { TlogClient, toVerifiers, verifyDigestInclusion, type SubmitReceipt, type TlogClientOptions } from "./client.js";
export { anchorEnvelope, verifyAnchoring, type AnchorReceipt, type AnchoringResult, type VerifyAnchoringOptions } from "./anchor.js";
