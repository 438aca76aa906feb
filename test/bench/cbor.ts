/**
 * Canonical CBOR on a ~4 KB OHP envelope: agentwire's RFC 8949 §4.2.1 encoder against cbor-x
 * (fastest plain-CBOR configuration; NOT deterministic: no key sorting, fixed-width heads) and
 * cborg with `rfc8949EncodeOptions` (deterministic, like ours), plus agentwire's strict decoder.
 * Target (issue): agentwire encodeCanonical >= 0.8x cbor-x encode.
 *
 * The envelope is the regulated healthcare example shaped like a signing surface (signatures
 * emptied, leafHash placeholder, CBOR tag 0 around the RFC 3339 fields) and fitted to 4 KiB of
 * canonical CBOR: optional and growable members are dropped in a fixed order (FIT_STEPS) and the
 * transcript summary is then padded or trimmed until the encoding is exactly the target size.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encode as cborgEncode, rfc8949EncodeOptions, Tagged } from "cborg";
import { Encoder as CborxEncoder, Tag as CborxTag } from "cbor-x";
import { CborTag, type CborValue, decodeCanonical, encodeCanonical } from "../../src/cbor/index.js";
import { measure, type BenchResult } from "./types.js";

const GROUP = "canonical CBOR (4 KB envelope)";
const TARGET_BYTES = 4096;
const EXAMPLE = join(process.cwd(), "test", "upstream", "ohp", "examples", "envelopes", "04-regulated-healthcare.json");

/** JSON pointers ("*" = every array index) of the RFC 3339 fields the OHP surface tags with tag 0. */
const RFC3339_FIELDS = [
  ["issuedAt"],
  ["notBefore"],
  ["notAfter"],
  ["session", "startedAt"],
  ["caller", "assurance", "lastStepUpAt"],
  ["governance", "art50Disclosure", "at"],
  ["oversight", "lastReviewAt"],
  ["decisions", "*", "at"],
] as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Wraps the string at `path` (under `node`) in CborTag(0, ...), in place. */
function tagAt(node: unknown, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (head === "*") {
    if (Array.isArray(node)) for (const e of node) tagAt(e, rest);
    return;
  }
  if (!isObject(node)) return;
  const holder = node as Record<string, unknown>;
  if (rest.length === 0) {
    const v = holder[head];
    if (typeof v === "string") holder[head] = new CborTag(0, v);
  } else tagAt(holder[head], rest);
}

/** The surface-style model: a fresh deep copy of `env` with the surface rules applied. */
function surfaceModel(env: JsonObject): CborValue {
  const model = structuredClone(env) as JsonObject;
  model["signatures"] = [];
  const transparency = model["transparency"];
  if (isObject(transparency)) transparency["leafHash"] = `sha256:${"0".repeat(64)}`;
  for (const path of RFC3339_FIELDS) tagAt(model, path);
  return model as CborValue;
}

/**
 * Optional or growable members removed, in this order, while the surface exceeds the target
 * (a shorter session of the same regulated call). Each removal is a path of member names; a
 * trailing "-1" drops the last array entry (only while more than one is left).
 */
const FIT_STEPS: readonly (readonly string[])[] = [
  ["transcript", "turns", "-1"],
  ["transcript", "turns", "-1"],
  ["decisions", "-1"],
  ["memory"],
  ["intent", "stack"],
  ["caller", "identity"],
  ["transcript", "turns"],
  ["aiSystem", "gpaiChain", "-1"],
  ["session", "media"],
];

function remove(env: JsonObject, path: readonly string[]): void {
  let node: unknown = env;
  for (const k of path.slice(0, -1)) node = isObject(node) ? node[k] : undefined;
  const last = path[path.length - 1] as string;
  if (last === "-1") {
    if (Array.isArray(node) && node.length > 1) node.pop();
  } else if (isObject(node)) delete node[last];
}

/** The regulated example fitted to ~TARGET_BYTES of canonical CBOR (see the module comment). */
function envelope(): { model: CborValue; bytes: Uint8Array; jsonBytes: number } {
  const env = JSON.parse(readFileSync(EXAMPLE, "utf8")) as JsonObject;
  const transcript = env["transcript"];
  if (!isObject(transcript)) throw new Error(`${EXAMPLE}: no transcript`);
  const size = (): number => encodeCanonical(surfaceModel(env)).length;
  for (const step of FIT_STEPS) {
    if (size() <= TARGET_BYTES) break;
    remove(env, step);
  }
  const prose =
    " Caller confirmed date of birth and postcode; results were released to the practice on the 27th and flagged for clinician review before any discussion.";
  const summary = typeof transcript["summary"] === "string" ? transcript["summary"] : "";
  // Pad (or trim) the summary so the surface lands on the target (ASCII: one CBOR byte per char,
  // give or take the width of the string head, hence the correction loop).
  let full = summary;
  while (full.length < summary.length + Math.max(0, TARGET_BYTES - size()) + 64) full += prose;
  let len = summary.length + TARGET_BYTES - size();
  for (let i = 0; i < 4; i++) {
    transcript["summary"] = full.slice(0, Math.max(0, len));
    const over = size() - TARGET_BYTES;
    if (over === 0) break;
    len -= over;
  }
  const model = surfaceModel(env);
  return { model, bytes: encodeCanonical(model), jsonBytes: Buffer.byteLength(JSON.stringify(env)) };
}

/** The same model for cbor-x (tags as its Tag class). */
function forCborx(v: CborValue): unknown {
  if (v instanceof CborTag) return new CborxTag(forCborx(v.value), Number(v.tag));
  if (Array.isArray(v)) return v.map(forCborx);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = forCborx((v as Record<string, CborValue>)[k] as CborValue);
    return out;
  }
  return v;
}

/** The same model for cborg (tags as its Tagged class). */
function forCborg(v: CborValue): unknown {
  if (v instanceof CborTag) return new Tagged(Number(v.tag), forCborg(v.value));
  if (Array.isArray(v)) return v.map(forCborg);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = forCborg((v as Record<string, CborValue>)[k] as CborValue);
    return out;
  }
  return v;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export async function bench(): Promise<BenchResult[]> {
  const { model, bytes, jsonBytes } = envelope();
  const cborxModel = forCborx(model);
  const cborgModel = forCborg(model);
  // cbor-x's fastest configuration that still writes plain RFC 8949 maps: no record extension
  // (useRecords/sequential write cbor-x's own record tags, which other decoders cannot read as
  // maps), fixed-width map heads (variableMapSize: false), no string bundling or packing.
  const cborx = new CborxEncoder({ useRecords: false, variableMapSize: false, pack: false, bundleStrings: false, structuredClone: false });

  const theirs = cborgEncode(cborgModel, rfc8949EncodeOptions);
  const sameAsCborg = hex(theirs) === hex(bytes);
  const cborxBytes = cborx.encode(cborxModel).length;
  if (!sameAsCborg) throw new Error("agentwire and cborg disagree on the canonical encoding of the bench envelope");

  const rounds = { rounds: 7, roundMs: 250 };
  const results: BenchResult[] = [];
  results.push({
    group: GROUP,
    name: "cbor-x encode",
    opsPerSec: measure(() => cborx.encode(cborxModel), rounds),
    note: `${cborxBytes} B, not deterministic (insertion-order keys)`,
  });
  results.push({
    group: GROUP,
    name: "agentwire encodeCanonical",
    opsPerSec: measure(() => encodeCanonical(model), rounds),
    baseline: "cbor-x encode",
    target: 0.8,
    note: `${bytes.length} B (envelope JSON ${jsonBytes} B), §4.2.1 with tag-0 date-times`,
  });
  results.push({
    group: GROUP,
    name: "cborg encode (rfc8949EncodeOptions)",
    opsPerSec: measure(() => cborgEncode(cborgModel, rfc8949EncodeOptions), rounds),
    baseline: "cbor-x encode",
    note: `${theirs.length} B, byte-identical to agentwire: ${String(sameAsCborg)}`,
  });
  results.push({
    group: GROUP,
    name: "agentwire decodeCanonical",
    opsPerSec: measure(() => decodeCanonical(bytes), rounds),
    baseline: "cbor-x encode",
    note: `${bytes.length} B, strict`,
  });
  return results;
}
