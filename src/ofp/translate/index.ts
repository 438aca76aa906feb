/**
 * OVON 0.9.x ↔ Open Floor 1.x translation (docs/ofp-translation.md).
 *
 * Each direction validates its input, maps the overlapping fields (map.ts), validates the output
 * against the target version's schema and rules, and reports everything the target cannot
 * express as `losses` (JSON pointers into the source). By default that remainder also travels in
 * the output as a residue (`openFloor["x-ovon"]` / `ovon["x-openFloor"]`, see residue.ts), so
 * translating back restores the source exactly: OVON → Open Floor → OVON is lossless.
 */
import type { JsonObject, JsonValue } from "../../json/types.js";
import { OfpError } from "../errors.js";
import type { OvonDocument } from "../ovon-types.js";
import { parseOfpEnvelope, parseOvonEnvelope, toJsonValue, type OfpParseOptions } from "../parse.js";
import type { OfpDocument, To } from "../types.js";
import { validateOfp } from "../validate.js";
import {
  isOfp1xVersion,
  isOfpEnvelopeVersion,
  isOvonEnvelopeVersion,
  OFP_LATEST_VERSION,
  ofpDocumentKind,
  OVON_LATEST_VERSION,
} from "../versions.js";
import { applyJsonPatch, type JsonPatchOp } from "./json-patch.js";
import { ofpToOvonMap, ovonToOfpMap } from "./map.js";
import { makeResidue, OFP_RESIDUE_MEMBER, OVON_RESIDUE_MEMBER, readResidue, residueDigest, type Residue } from "./residue.js";

export { OFP_RESIDUE_MEMBER, OVON_RESIDUE_MEMBER, type Residue } from "./residue.js";
export type { JsonPatchOp } from "./json-patch.js";

/** Something the target version could not express. */
export interface TranslationLoss {
  /** JSON pointer into the source document. */
  pointer: string;
  message: string;
}

/** Result of a translation. */
export interface Translation<D> {
  document: D;
  /** The target schema version written to `schema.version`. */
  version: string;
  /** What did not map (empty when a residue restored the source exactly). */
  losses: TranslationLoss[];
  /** True when a carried residue was applied (the output is the original source document). */
  restored: boolean;
}

/** Options shared by both directions. */
export interface TranslateOptions extends OfpParseOptions {
  /**
   * Target version. Default: the version a carried residue records, else the newest (Open Floor
   * 1.1.0, OVON 0.9.3). A residue is applied only when translating back to the version it came from.
   */
  version?: string;
  /** Carry the untranslatable remainder as a residue in the output (default true). */
  carry?: boolean;
}

/** Options of {@link ovonToOpenFloor}. */
export interface OvonToOpenFloorOptions extends TranslateOptions {
  /** Recipient for OVON whispers without `to` (see map.ts `whisperTo`). */
  whisperTo?: To;
}

/** Options of {@link openFloorToOvon}. */
export interface OpenFloorToOvonOptions extends TranslateOptions {
  /** Drop events the target OVON version cannot express instead of failing (reported as losses). */
  dropUnsupported?: boolean;
}

function lossesOf(patch: readonly JsonPatchOp[], carried: boolean, member: string): TranslationLoss[] {
  const where = carried ? `carried in ${member}` : "dropped";
  return patch.map((op) => ({
    pointer: op.path,
    message: op.op === "remove" ? `absent in the source; the reverse translation would add it (${where})` : `not expressible in the target version (${where})`,
  }));
}

function checkOutput(doc: JsonObject, what: string, options: OfpParseOptions): void {
  const result = validateOfp(doc, options.lenient === true ? { lenient: true } : {});
  if (!result.valid) {
    const first = result.errors[0];
    throw new OfpError("ERR_OFP_TRANSLATE_UNSUPPORTED", `the ${what} translation is not valid: ${first ? `${first.pointer}: ${first.message} [${first.rule}]` : ""}`, {
      detail: { errors: result.errors },
    });
  }
}

/** Splits the residue member off `envelope` (a copy). */
function takeResidue(doc: JsonObject, top: string, member: string): { stripped: JsonObject; raw: JsonValue | undefined } {
  const stripped = structuredClone(doc);
  const envelope = stripped[top] as JsonObject;
  const raw = envelope[member];
  delete envelope[member];
  return { stripped, raw };
}

/** Applies `residue` to `base` when `base` is what it was computed against. */
function restore(base: JsonObject, residue: Residue): JsonObject | undefined {
  if (residueDigest(base) !== residue.base) return undefined;
  return applyJsonPatch(base, residue.patch) as JsonObject;
}

/** OVON 0.9.x → Open Floor 1.x. Throws OfpError (ERR_OFP_JSON, _INVALID, _VERSION, _TRANSLATE_UNSUPPORTED, _RESIDUE). */
export function ovonToOpenFloor(input: unknown, options: OvonToOpenFloorOptions = {}): Translation<OfpDocument> {
  const parsed = parseOvonEnvelope(input, options);
  const mapOptions = options.whisperTo === undefined ? {} : { whisperTo: options.whisperTo };
  const { stripped, raw } = takeResidue(parsed.value as unknown as JsonObject, "ovon", OFP_RESIDUE_MEMBER);
  const losses: TranslationLoss[] = [];
  if (raw !== undefined) {
    const residue = readResidue(raw);
    if ((options.version === undefined || options.version === residue.version) && isOfpEnvelopeVersion(residue.version)) {
      const restored = restore(ovonToOfpMap(stripped, residue.version, mapOptions), residue);
      if (restored !== undefined) {
        checkOutput(restored, "restored Open Floor", options);
        return { document: restored as unknown as OfpDocument, version: residue.version, losses: [], restored: true };
      }
    }
    losses.push({ pointer: `/ovon/${OFP_RESIDUE_MEMBER}`, message: `residue from Open Floor ${residue.version} not applied (other target version, or the envelope changed since)` });
  }
  const version = options.version ?? OFP_LATEST_VERSION;
  if (!isOfp1xVersion(version)) throw new OfpError("ERR_OFP_VERSION", `cannot translate to Open Floor ${JSON.stringify(version)} (supported: 1.0.0, 1.0.1, 1.1.0)`);
  const out = ovonToOfpMap(stripped, version, mapOptions);
  checkOutput(out, `Open Floor ${version}`, options);
  const residue = makeResidue(parsed.version, ofpToOvonMap(out, parsed.version), stripped);
  const carry = options.carry !== false;
  if (carry) (out["openFloor"] as JsonObject)[OVON_RESIDUE_MEMBER] = residue as unknown as JsonObject;
  losses.push(...lossesOf(residue.patch, carry, `openFloor.${OVON_RESIDUE_MEMBER}`));
  return { document: out as unknown as OfpDocument, version, losses, restored: false };
}

/** Open Floor (0.9.4-1.1.0) → OVON 0.9.x. Throws like {@link ovonToOpenFloor}. */
export function openFloorToOvon(input: unknown, options: OpenFloorToOvonOptions = {}): Translation<OvonDocument> {
  const parsed = parseOfpEnvelope(input, options);
  const { stripped, raw } = takeResidue(parsed.value as unknown as JsonObject, "openFloor", OVON_RESIDUE_MEMBER);
  const losses: TranslationLoss[] = [];
  if (raw !== undefined) {
    const residue = readResidue(raw);
    if ((options.version === undefined || options.version === residue.version) && isOvonEnvelopeVersion(residue.version)) {
      const restored = restore(ofpToOvonMap(stripped, residue.version), residue);
      if (restored !== undefined) {
        checkOutput(restored, "restored OVON", options);
        return { document: restored as unknown as OvonDocument, version: residue.version, losses: [], restored: true };
      }
    }
    losses.push({ pointer: `/openFloor/${OVON_RESIDUE_MEMBER}`, message: `residue from OVON ${residue.version} not applied (other target version, or the envelope changed since)` });
  }
  const version = options.version ?? OVON_LATEST_VERSION;
  if (!isOvonEnvelopeVersion(version)) throw new OfpError("ERR_OFP_VERSION", `cannot translate to OVON ${JSON.stringify(version)} (supported: 0.9.0-0.9.3)`);
  const out = ofpToOvonMap(stripped, version, {
    dropUnsupported: options.dropUnsupported === true,
    onDrop: (pointer, type) => losses.push({ pointer, message: `OVON ${version} has no ${JSON.stringify(type)} event (dropped)` }),
  });
  checkOutput(out, `OVON ${version}`, options);
  const residue = makeResidue(parsed.version, ovonToOfpMap(out, parsed.version, {}), stripped);
  const carry = options.carry !== false;
  if (carry) (out["ovon"] as JsonObject)[OFP_RESIDUE_MEMBER] = residue as unknown as JsonObject;
  losses.push(...lossesOf(residue.patch, carry, `ovon.${OFP_RESIDUE_MEMBER}`));
  return { document: out as unknown as OvonDocument, version, losses, restored: false };
}

/** Options of {@link translateEnvelope}. */
export interface TranslateEnvelopeOptions extends OvonToOpenFloorOptions, OpenFloorToOvonOptions {
  to: "openFloor" | "ovon";
}

/**
 * Translates an `openFloor` or `ovon` document to the `to` family. Within one family it
 * re-labels the version (validating the result against the target schema; anything the target
 * rejects throws ERR_OFP_TRANSLATE_UNSUPPORTED with `detail.errors`).
 */
export function translateEnvelope(input: unknown, options: TranslateEnvelopeOptions): Translation<OfpDocument | OvonDocument> {
  const value = toJsonValue(input);
  const kind = ofpDocumentKind(value);
  if (kind !== "openFloor" && kind !== "ovon") throw new OfpError("ERR_OFP_NOT_ENVELOPE", "not an Open Floor or OVON envelope");
  if (kind === "ovon" && options.to === "openFloor") return ovonToOpenFloor(value, options);
  if (kind === "openFloor" && options.to === "ovon") return openFloorToOvon(value, options);
  return relabel(value, kind === "ovon", options);
}

function relabel(input: unknown, isOvon: boolean, options: TranslateEnvelopeOptions): Translation<OfpDocument | OvonDocument> {
  const top = isOvon ? "ovon" : "openFloor";
  const parsed = isOvon ? parseOvonEnvelope(input, options) : parseOfpEnvelope(input, options);
  const doc = parsed.value as unknown as JsonObject;
  const version = options.version ?? parsed.version;
  if (!(isOvon ? isOvonEnvelopeVersion(version) : isOfpEnvelopeVersion(version))) {
    throw new OfpError("ERR_OFP_VERSION", `no ${isOvon ? "OVON" : "Open Floor"} schema for version ${JSON.stringify(version)}`);
  }
  ((doc[top] as JsonObject)["schema"] as JsonObject)["version"] = version;
  checkOutput(doc, `${isOvon ? "OVON" : "Open Floor"} ${version}`, options);
  return { document: doc as unknown as OfpDocument | OvonDocument, version, losses: [], restored: false };
}

