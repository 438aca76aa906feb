/**
 * OHP transparency anchoring (OHP §5.7 / §6.5, notes §6.5): a Regulated sender submits the
 * envelope's `transparency.leafHash` ("sha256:" + hex(SHA-256(signing surface))) to the log
 * named by `transparency.logId`; anyone holding the signed checkpoint and the inclusion proof
 * can then check, offline, that the envelope's content hash is in that log.
 *
 * The logged entry is the 32-byte digest; the checkpoint origin is the `logId`.
 *
 * @module
 */
import { isJsonObject, type JsonObject } from "../../json/types.js";
import type { SignedEnvelope } from "../../ohp/sign.js";
import { leafHashOf, signingSurface } from "../../ohp/surface.js";
import { openCheckpoint, type SignedCheckpoint } from "./checkpoint.js";
import { toVerifiers, verifyDigestInclusion, type TlogClient } from "./client.js";
import { TlogError } from "./errors.js";
import type { NoteVerifier } from "./note.js";
import type { InclusionProofJson } from "./proof-json.js";

/** What a sender keeps (and may hand to the receiver) after anchoring. */
export interface AnchorReceipt {
  /** `transparency.logId` = checkpoint origin. */
  readonly logId: string;
  /** The anchored `transparency.leafHash`. */
  readonly leafHash: string;
  readonly index: number;
  /** The signed checkpoint note the proof leads to. */
  readonly checkpoint: string;
  readonly proof: InclusionProofJson;
}

function transparencyOf(envelope: unknown): JsonObject {
  const t = isJsonObject(envelope) ? envelope["transparency"] : undefined;
  if (!isJsonObject(t)) throw new TlogError("ERR_TLOG_ANCHOR_NO_TRANSPARENCY", "the envelope has no transparency block (OHP §6.5)");
  return t;
}

/** Recomputes the envelope's leafHash and checks it equals `transparency.leafHash`. */
function checkedLeafHash(envelope: JsonObject): string {
  const t = transparencyOf(envelope);
  const recomputed = leafHashOf(signingSurface(envelope));
  if (t["leafHash"] !== recomputed) {
    throw new TlogError("ERR_TLOG_ANCHOR_LEAF_MISMATCH", "transparency.leafHash is not the SHA-256 of the envelope's signing surface", {
      detail: { leafHash: t["leafHash"], recomputed },
    });
  }
  return recomputed;
}

/**
 * Submits a signed envelope's leafHash to the log behind `client` and returns the verified
 * receipt. Accepts the result of `signEnvelope` or a signed envelope object.
 */
export async function anchorEnvelope(client: TlogClient, signed: SignedEnvelope | JsonObject): Promise<AnchorReceipt> {
  const envelope = "surface" in signed && "envelope" in signed && isJsonObject(signed.envelope) ? signed.envelope : (signed as JsonObject);
  const leafHash = checkedLeafHash(envelope);
  const logId = transparencyOf(envelope)["logId"];
  const receipt = await client.submit(leafHash);
  if (typeof logId === "string" && receipt.checkpoint.origin !== logId) {
    throw new TlogError("ERR_TLOG_ANCHOR_LOG_MISMATCH", `the log's origin ${JSON.stringify(receipt.checkpoint.origin)} is not transparency.logId ${JSON.stringify(logId)}`);
  }
  return { logId: receipt.checkpoint.origin, leafHash, index: receipt.index, checkpoint: receipt.checkpoint.note, proof: receipt.proof };
}

/** Inputs of {@link verifyAnchoring}. */
export interface VerifyAnchoringOptions {
  /** The signed checkpoint note. */
  readonly checkpoint: string;
  /** Inclusion proof of the envelope's leafHash at the checkpoint's size. */
  readonly proof: InclusionProofJson;
  /** The log's trusted key(s): verifier key texts or NoteVerifiers. */
  readonly verifierKey: string | NoteVerifier | readonly (string | NoteVerifier)[];
  /** Require checkpoint origin == transparency.logId (default true). */
  readonly checkLogId?: boolean;
}

/** Result of a successful {@link verifyAnchoring}. */
export interface AnchoringResult {
  readonly leafHash: string;
  readonly index: number;
  readonly checkpoint: SignedCheckpoint;
}

/**
 * Offline check that an envelope's content hash is in the log: recompute the signing surface
 * and its leafHash (must equal `transparency.leafHash`), open the checkpoint with the trusted
 * key, check its origin against `transparency.logId`, verify the RFC 9162 inclusion proof.
 * Throws TlogError (`ERR_TLOG_ANCHOR_*`, `ERR_TLOG_PROOF_*`) or NoteError (`ERR_NOTE_*`,
 * `ERR_CHECKPOINT_*`).
 */
export function verifyAnchoring(envelope: unknown, options: VerifyAnchoringOptions): AnchoringResult {
  const t = transparencyOf(envelope);
  const leafHash = checkedLeafHash(envelope as JsonObject);
  const keys = Array.isArray(options.verifierKey) ? options.verifierKey : [options.verifierKey as string | NoteVerifier];
  const checkpoint = openCheckpoint(options.checkpoint, toVerifiers(keys));
  if (options.checkLogId !== false && checkpoint.origin !== t["logId"]) {
    throw new TlogError("ERR_TLOG_ANCHOR_LOG_MISMATCH", `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not transparency.logId ${JSON.stringify(t["logId"])}`, {
      detail: { origin: checkpoint.origin, logId: t["logId"] },
    });
  }
  verifyDigestInclusion(leafHash, options.proof, checkpoint);
  return { leafHash, index: options.proof.index, checkpoint };
}
