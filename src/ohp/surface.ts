/**
 * The OHP signing surface (§5.1-§5.2, §6.5): the bytes every signature and the transparency
 * `leafHash` cover. Fixed profile (docs/decisions.md #1-#5):
 *
 * 1. start from the envelope's JSON data model, unknown members included;
 * 2. `signatures` := [] (inserted even when absent);
 * 3. when `transparency` exists, `transparency.leafHash` := "sha256:" + 64 × "0";
 * 4. tag 0 around the text of the eight CDDL `rfc3339` fields;
 * 5. RFC 8949 §4.2.1 core deterministic CBOR (src/cbor).
 */
import { setOwn } from "../json/own.js";
import { createHash } from "node:crypto";
import { CborTag, encodeCanonical, type CborValue } from "../cbor/index.js";
import { AgentwireError } from "../errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";

/** The `leafHash` placeholder inside the surface (decision #1). */
export const LEAF_HASH_PLACEHOLDER = `sha256:${"0".repeat(64)}`;

/** OHP §4.5: the canonical CBOR signing surface is at most 8 KiB. */
export const OHP_MAX_SURFACE_BYTES = 8 * 1024;

/**
 * JSON pointers ("*" = any array index) of the CDDL `#6.0(tstr)` fields, tagged with CBOR tag 0
 * in the surface (decision #4: all eight, which satisfies both §5.2 and the CDDL).
 */
export const RFC3339_TAGGED_FIELDS: readonly string[] = [
  "/issuedAt",
  "/notBefore",
  "/notAfter",
  "/session/startedAt",
  "/caller/assurance/lastStepUpAt",
  "/governance/art50Disclosure/at",
  "/oversight/lastReviewAt",
  "/decisions/*/at",
];

/** Raised when an envelope cannot be turned into a signing surface. */
export class SurfaceError extends AgentwireError {}

/** The tagged paths as a trie: `true` marks a tagged leaf, "*" any array index. */
interface Trie {
  [member: string]: Trie | true;
}

const TAGGED: Trie = {};
for (const pointer of RFC3339_TAGGED_FIELDS) {
  const parts = pointer.slice(1).split("/");
  let node = TAGGED;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) node[part] = true;
    else node = (node[part] ??= {}) as Trie;
  });
}

/**
 * Copies only the objects and arrays on the way to a tagged field; every other subtree is shared
 * with the input (the encoder never mutates), which keeps the hot path allocation-light.
 */
function toCborModel(value: JsonValue, trie: Trie): CborValue {
  if (Array.isArray(value)) {
    const items = trie["*"];
    if (items === undefined || items === true) return value;
    return value.map((v) => toCborModel(v, items));
  }
  if (!isJsonObject(value)) return value;
  const out: { [k: string]: CborValue } = {};
  for (const key of Object.keys(value)) {
    const v = value[key] as JsonValue;
    const sub = Object.hasOwn(trie, key) ? trie[key] : undefined;
    setOwn(out, key, sub === undefined ? v : sub === true ? (typeof v === "string" ? new CborTag(0, v) : v) : toCborModel(v, sub));
  }
  return out;
}

/** The surface's data model: a copy of `envelope` with the placeholders and tags applied. */
export function surfaceModel(envelope: JsonObject): CborValue {
  const model = toCborModel(envelope, TAGGED) as { [k: string]: CborValue };
  setOwn(model, "signatures", []);
  const transparency = envelope["transparency"];
  if (transparency !== undefined) {
    if (!isJsonObject(transparency)) throw new SurfaceError("ERR_SURFACE_INVALID", "transparency must be an object");
    const copy: { [k: string]: CborValue } = {};
    for (const key of Object.keys(transparency)) setOwn(copy, key, transparency[key] as CborValue);
    copy["leafHash"] = LEAF_HASH_PLACEHOLDER;
    model["transparency"] = copy;
  }
  return model;
}

/**
 * The canonical CBOR signing surface of an envelope. Throws SurfaceError for a non-object and
 * CborError for values CBOR cannot hold (NaN, lone surrogates).
 */
export function signingSurface(envelope: unknown): Uint8Array {
  if (!isJsonObject(envelope)) throw new SurfaceError("ERR_SURFACE_INVALID", "an OHP envelope must be a JSON object");
  return encodeCanonical(surfaceModel(envelope));
}

/** `leafHash` (§6.5): "sha256:" + hex(SHA-256(signing surface)). */
export function leafHashOf(surface: Uint8Array): string {
  return `sha256:${createHash("sha256").update(surface).digest("hex")}`;
}

/**
 * The envelope itself as canonical CBOR (the `envelope.cbor` of a vector): the same encoding
 * and tag-0 fields as the signing surface, but with `signatures` and `leafHash` as they are.
 */
export function envelopeCbor(envelope: unknown): Uint8Array {
  if (!isJsonObject(envelope)) throw new SurfaceError("ERR_SURFACE_INVALID", "an OHP envelope must be a JSON object");
  return encodeCanonical(toCborModel(envelope, TAGGED));
}
