/**
 * Translation residues: what one direction of the OVON 0.9 ↔ Open Floor 1.x translation cannot
 * express, carried inside the output so the reverse translation restores the source exactly.
 *
 * A residue is `{version, base, patch}`: the source version, the digest of the document the
 * reverse translation produces without help (`base`), and an RFC 6902 patch from that document
 * to the source. The reverse applies the patch only when its own output has the same digest,
 * so a residue never lands on an envelope edited since.
 */
import { createHash } from "node:crypto";
import { canonicalizeJsonBytes } from "../../jcs/index.js";
import { isJsonObject, type JsonValue } from "../../json/types.js";
import { OfpError } from "../errors.js";
import { asJsonPatch, diffJson, type JsonPatchOp } from "./json-patch.js";

/** Member of `openFloor` carrying what an OVON source could not map to Open Floor. */
export const OVON_RESIDUE_MEMBER = "x-ovon";
/** Member of `ovon` carrying what an Open Floor source could not map to OVON. */
export const OFP_RESIDUE_MEMBER = "x-openFloor";

/** A translation residue. */
export interface Residue {
  /** The source document's (resolved) schema version. */
  version: string;
  /** `sha256:<hex>` of the JCS (RFC 8785) form of the reverse translation the patch applies to. */
  base: string;
  /** RFC 6902 operations turning that reverse translation into the source document. */
  patch: JsonPatchOp[];
}

/** `sha256:<hex>` of the RFC 8785 canonical form of `value`. */
export function residueDigest(value: JsonValue): string {
  return `sha256:${createHash("sha256").update(canonicalizeJsonBytes(value)).digest("hex")}`;
}

/** The residue restoring `source` from `base` (the reverse translation of the output). */
export function makeResidue(version: string, base: JsonValue, source: JsonValue): Residue {
  return { version, base: residueDigest(base), patch: diffJson(base, source) };
}

/** Reads a carried residue. Throws OfpError ERR_OFP_RESIDUE when malformed. */
export function readResidue(value: unknown): Residue {
  if (!isJsonObject(value) || typeof value["version"] !== "string" || typeof value["base"] !== "string" || !/^sha256:[0-9a-f]{64}$/.test(value["base"])) {
    throw new OfpError("ERR_OFP_RESIDUE", "a translation residue must be {version, base: \"sha256:<hex>\", patch}");
  }
  return { version: value["version"], base: value["base"], patch: asJsonPatch(value["patch"]) };
}
