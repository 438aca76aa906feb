/**
 * Privileged Mode receipts (OAP-CORE-1.0 §18.5(1), §19.3): receipts of a privileged Scope are
 * stored locally only and anchored in external transparency logs only as opaque commitments that
 * reveal neither participants nor contents; and the §18.5(5) privilege-loss monitor.
 *
 * Commitment = "sha256:" + hex(SHA-256(salt ‖ receipt hash bytes)) with a fresh 32-byte salt
 * kept locally next to the receipt. The log learns a random-looking digest; whoever holds the
 * receipt and the salt can prove it was anchored ({@link verifyPrivilegedAnchor}). Anchoring the
 * plain receipt hash would let anyone holding a guessed receipt confirm it — the salt prevents
 * that.
 *
 * The local-only rule is a deployment rule: give a privileged Scope's ReceiptLedger no `logs` /
 * `logClients` and anchor with {@link anchorPrivilegedReceipt}.
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import { parseSha256Digest } from "../../trust/tlog/hash.js";
import type { TransparencyLog } from "../../trust/tlog/log.js";
import type { NoteVerifier } from "../../trust/tlog/note.js";
import { b64uDecode, b64uEncode } from "../../util/base64url.js";
import { formatTlogProof, receiptHash, verifyReceiptAnchor, type ReceiptAnchor } from "../anchors.js";
import { OapError } from "../errors.js";
import { rfc3339, sha256Digest, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { isPrivilegedMode, type OapCcc, type PrivilegeLossEvent } from "./ccc.js";

/** A commitment anchor and the salt that opens it (keep the salt local, with the receipt). */
export interface PrivilegedAnchor {
  readonly commitment: string;
  /** Unpadded base64url of the 32-byte salt. */
  readonly salt: string;
  readonly anchor: ReceiptAnchor;
}

/** The opaque commitment of a receipt under a salt. */
export function receiptCommitment(receipt: JsonObject, salt: Uint8Array): string {
  if (salt.length < 16) throw new OapError("ERR_OAP_INTERNAL", "a commitment salt needs at least 16 bytes");
  const hash = parseSha256Digest(receiptHash(receipt));
  const bytes = new Uint8Array(salt.length + hash.length);
  bytes.set(salt, 0);
  bytes.set(hash, salt.length);
  return sha256Digest(bytes);
}

/** Anchors only the commitment of a privileged receipt in an in-process log. */
export function anchorPrivilegedReceipt(receipt: JsonObject, log: TransparencyLog, random: OapRandom = systemRandom): PrivilegedAnchor {
  const salt = random(32);
  const commitment = receiptCommitment(receipt, salt);
  const index = log.append(parseSha256Digest(commitment));
  if (log.origin === undefined) throw new OapError("ERR_OAP_INTERNAL", "the log has no origin");
  const anchor: ReceiptAnchor = { log_id: log.origin, log_index: index, inclusion_proof: formatTlogProof({ index, hashes: log.inclusionProof(index, log.size), checkpoint: log.signedCheckpoint() }) };
  return { commitment, salt: b64uEncode(salt), anchor };
}

/** Checks that the anchor commits to this receipt (with the local salt) in a trusted log. */
export function verifyPrivilegedAnchor(receipt: JsonObject, anchored: Pick<PrivilegedAnchor, "salt" | "anchor">, verifiers: readonly (NoteVerifier | string)[]): string {
  const commitment = receiptCommitment(receipt, b64uDecode(anchored.salt));
  verifyReceiptAnchor(commitment, anchored.anchor, verifiers);
  return commitment;
}

/**
 * §18.5(5): "Loss of privilege through participant misconfiguration MUST trigger an immediate
 * user notification." Call {@link PrivilegeMonitor.update} whenever a Scope's CCC changes; the
 * CCC gate reports privilege-breaking destinations through its own `onPrivilegeLoss`.
 */
export class PrivilegeMonitor {
  readonly #notify: (event: PrivilegeLossEvent) => void;
  readonly #clock: OapClock;
  readonly #current = new Map<string, OapCcc>();

  constructor(notify: (event: PrivilegeLossEvent) => void, clock: OapClock = systemClock) {
    this.#notify = notify;
    this.#clock = clock;
  }

  /** Installs a Scope's new CCC; notifies when a privileged Scope stops being privileged. Returns true when privilege was lost. */
  update(ccc: OapCcc): boolean {
    const before = this.#current.get(ccc.scope_id);
    this.#current.set(ccc.scope_id, ccc);
    if (before === undefined || !isPrivilegedMode(before) || isPrivilegedMode(ccc)) return false;
    this.#notify({
      scope_id: ccc.scope_id,
      regulatory_classification: before.regulatory_classification as string,
      destination: "",
      rules: [`ccc.privileged.lost:${before.regulatory_classification}->${ccc.regulatory_classification ?? "none"}`],
      detected_at: rfc3339(this.#clock()),
    });
    return true;
  }
}
