/**
 * Mutation strategies for the fuzzers (docs/fuzzing.md). Every mutation is a plain data "op"
 * drawn by fast-check (so cases are reproducible from the seed and shrink to few, small ops) and
 * interpreted deterministically against the seed document:
 *
 * - {@link jsonOpsArb} / {@link applyJsonOps}: structural edits of a JSON value — delete a member
 *   or element, retype a value, add members (also `__proto__`, `constructor`, case variants of
 *   siblings), duplicate elements, graft one subtree onto another, wrap in deep nesting (up to 5000
 *   levels), huge strings (up to 70 000 UTF-16 units), edge numbers, string edits (lone
 *   surrogates, BOM, NUL, U+2028, truncation), empty containers, member reordering;
 * - {@link textOpsArb} / {@link applyTextOps}: edits of serialised text — bit flips, JSON tokens
 *   (`\ud800`, `1e999`, `9007199254740993`, `"__proto__":`), deletions, duplicated slices,
 *   truncation, duplicate member names, deep bracket nesting;
 * - {@link byteOpsArb} / {@link applyByteOps}: edits of binary input — bit flips, interesting
 *   bytes, CBOR heads (indefinite lengths, 2^64 lengths, tags, floats), inserted/deleted/duplicated
 *   runs, truncation.
 */
import fc from "fast-check";

export type Doc = unknown;

// -----------------------------------------------------------------------------------------------
// Dictionaries

export const EDGE_NUMBERS: readonly number[] = [
  0, -0, 1, -1, 0.5, -0.5, 1.5, 23, 24, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2,
  -(2 ** 53 - 1), -(2 ** 53), 2 ** 63, 2 ** 64, 1e21, 1e300, 1e308, -1e308, 5e-324, Number.MAX_VALUE, 1700000000, 1780063200, 4102444800, 253402300800,
];

/** Values only JavaScript (not JSON) can hold: for APIs that take `unknown`. */
export const JS_ONLY_VALUES: readonly unknown[] = [Number.NaN, Infinity, -Infinity, undefined];

export const EDGE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "\ud800",
  "\udfff",
  "a\ud800b",
  "\ud83d\ude00",
  "\ufeff",
  "\u2028",
  "\u00e9",
  "\ufb01",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "null",
  "true",
  "0",
  "-0",
  "NaN",
  "1e999",
  "9007199254740993",
  "2026-05-28T13:42:13Z",
  "2026-05-28T13:42:13.000Z",
  "2026-05-28T13:42:13.123456789+01:00",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:60Z",
  "2026-02-30T25:61:61+99:99",
  "2026-05-28",
  "sha256:0000000000000000000000000000000000000000000000000000000000000000",
  "sha256:",
  "sha256:zz",
  "did:web:example.com",
  "did:web:localhost%3A8080:a:b",
  "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
  "did:key:z",
  "did:web:",
  "core",
  "signed",
  "sealed",
  "regulated",
  "PROPOSE",
  "ACCEPT",
  "REJECT",
  "ASSUME",
  "RETURN",
  "INCIDENT",
  "EdDSA",
  "ML-DSA-65",
  "ML-DSA-65-Ed25519",
  "none",
  "NONE",
  "HS256",
  "..",
  "a..b",
  "eyJhbGciOiJub25lIn0..",
  "~",
  "~~",
  "%00",
  "../../../../etc/passwd",
  "keys/issuer.public.jwks.json",
  "http://localhost/",
  "https://example.com/a?b#c",
  "https://user:pw@example.com/",
  "chat/web",
  "pstn/sip",
  "PT5M",
  "P1Y",
  "\\",
  '"',
  "1.0.0",
  "1.1.0",
  "0.9.4",
  "0.9.3",
  "99.0.0",
  "utterance",
  "invite",
  "bye",
  "whisper",
  "publishManifests",
  "sha-256",
  "sha-512",
  "md5",
  "dc+sd-jwt",
  "dpop+jwt",
  "OKP",
  "Ed25519",
  "X25519",
  "AKP",
  "sig",
  "enc",
  "x".repeat(257),
  "x".repeat(2049),
];

/** Member names worth adding. */
export const EDGE_KEYS: readonly string[] = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "",
  " ",
  "\ud800",
  "extra",
  "id",
  "type",
  "alg",
  "kid",
  "crit",
  "typ",
  "jwk",
  "d",
  "x",
  "signatures",
  "sealed",
  "transparency",
  "conformance",
  "_sd",
  "...",
  "_sd_alg",
  "cnf",
  "openFloor",
  "ovon",
  "schema",
  "events",
  "verificationMethod",
  "publicKeyJwk",
  "publicKeyMultibase",
  "x-agentwire-ovon-residue",
  "x-agentwire-ofp-residue",
];

// -----------------------------------------------------------------------------------------------
// Generic helpers

/** Sets an own property, never the prototype (a `__proto__` member is data). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function shallow(v: unknown): unknown {
  if (Array.isArray(v)) return new Array(v.length);
  if (ArrayBuffer.isView(v)) return (v as Uint8Array).slice();
  // Class instances (CborTag…) keep their prototype.
  if (typeof v === "object" && v !== null) return Object.create(Object.getPrototypeOf(v) as object | null) as object;
  return v;
}

/** Deep copy of JSON-like data (keeps `__proto__` members as own data); iterative, any depth. */
export function clone<T>(v: T): T {
  const root = shallow(v);
  const stack: [unknown, unknown][] = [[v, root]];
  while (stack.length > 0) {
    const [src, dst] = stack.pop() as [unknown, unknown];
    if (ArrayBuffer.isView(src)) continue;
    if (Array.isArray(src)) {
      const d = dst as unknown[];
      src.forEach((x, i) => {
        const c = shallow(x);
        d[i] = c;
        if (c !== x && !ArrayBuffer.isView(x)) stack.push([x, c]);
      });
    } else if (src !== dst) {
      const s = src as Record<string, unknown>;
      for (const k of Object.keys(s)) {
        const x = s[k];
        const c = shallow(x);
        setOwn(dst as Record<string, unknown>, k, c);
        if (c !== x && !ArrayBuffer.isView(x)) stack.push([x, c]);
      }
    }
  }
  return root as T;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** A plain object (class instances such as CborTag are leaves: their invariants hold by construction). */
function isPlain(v: unknown): v is Record<string, unknown> {
  if (!isObj(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * JSON.stringify that survives any depth (V8's recursive serialiser overflows near 10^4 levels):
 * falls back to an iterative serialiser with the same output for JSON data.
 */
const RAW = Symbol("raw");

export function stringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "null";
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  const out: string[] = [];
  const stack: unknown[] = [v];
  const raw = (text: string): { [RAW]: string } => ({ [RAW]: text });
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === "object" && x !== null && RAW in x) {
      out.push((x as { [RAW]: string })[RAW]);
      continue;
    }
    if (Array.isArray(x)) {
      out.push("[");
      stack.push(raw("]"));
      for (let i = x.length - 1; i >= 0; i--) {
        stack.push(x[i] === undefined ? null : x[i]);
        if (i > 0) stack.push(raw(","));
      }
    } else if (isObj(x)) {
      out.push("{");
      stack.push(raw("}"));
      const keys = Object.keys(x).filter((k) => x[k] !== undefined);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        stack.push(x[k]);
        stack.push(raw(`${i > 0 ? "," : ""}${JSON.stringify(k)}:`));
      }
    } else out.push(JSON.stringify(x) ?? "null");
  }
  return out.join("");
}

interface NodeRef {
  /** Container holding the node (undefined for the root). */
  readonly parent: Record<string, unknown> | unknown[] | undefined;
  readonly key: string | number;
  readonly value: unknown;
  /** Containers above the node (0 for the root). */
  readonly depth: number;
}

const MAX_NODES = 4096;

function nodesOf(root: unknown): NodeRef[] {
  const out: NodeRef[] = [{ parent: undefined, key: "", value: root, depth: 0 }];
  for (let i = 0; i < out.length && out.length < MAX_NODES; i++) {
    const { value: v, depth } = out[i] as NodeRef;
    if (Array.isArray(v)) v.forEach((x, k) => out.push({ parent: v, key: k, value: x, depth: depth + 1 }));
    else if (isPlain(v)) for (const k of Object.keys(v)) out.push({ parent: v, key: k, value: v[k], depth: depth + 1 });
  }
  return out;
}

/** Nesting depth of a value (0 for a leaf), iteratively. */
export function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop() as [unknown, number];
    if (typeof x === "object" && x !== null && !ArrayBuffer.isView(x)) {
      if (d + 1 > max) max = d + 1;
      for (const c of Object.values(x)) stack.push([c, d + 1]);
    }
  }
  return max;
}

/**
 * Nesting cap for values handed to object-level APIs (verifyEnvelope, validateDocument…): 1000,
 * well above what any wire decoder can produce (strict JSON 64, CBOR 256, protobuf 100), so the
 * cap never hides a reachable overflow. Text-level targets get deep text from the `nest` op.
 */
export const OBJECT_MAX_DEPTH = 1000;

// -----------------------------------------------------------------------------------------------
// Hostile values

const hugeLengths = [1000, 8192, 8193, 32 * 1024, 33_000, 70_000];
const hugeChars = ["a", "\u00e9", "\ud83d\ude00", "\\", '"', "0", " ", "\ud800"];

/** A huge string, `pick`-selected. */
export function hugeString(pick: number): string {
  const ch = hugeChars[pick % hugeChars.length] as string;
  const len = hugeLengths[Math.floor(pick / hugeChars.length) % hugeLengths.length] as number;
  return ch.repeat(Math.ceil(len / ch.length)).slice(0, len);
}

const depths = [2, 8, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1000, 5000];

/** `value` wrapped in `pick`-selected nesting (arrays, objects, or both alternating), at most `limit` levels. */
export function deepNest(value: unknown, pick: number, limit = Infinity): unknown {
  const depth = Math.max(0, Math.min(limit, depths[pick % depths.length] as number));
  const style = Math.floor(pick / depths.length) % 3;
  let v = value;
  for (let i = 0; i < depth; i++) v = style === 0 || (style === 2 && i % 2 === 0) ? [v] : { a: v };
  return v;
}

/** Hostile leaf and small-tree values. */
export function hostileValueArb(jsOnly = false): fc.Arbitrary<unknown> {
  const base: fc.Arbitrary<unknown>[] = [
    fc.constantFrom<unknown>(null, true, false, [], {}, [null], { "": null }),
    fc.constantFrom(...EDGE_NUMBERS),
    fc.constantFrom(...EDGE_STRINGS),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ maxLength: 24 }),
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.jsonValue({ maxDepth: 2 }),
  ];
  if (jsOnly) base.push(fc.constantFrom(...JS_ONLY_VALUES));
  return fc.oneof(...base);
}

// -----------------------------------------------------------------------------------------------
// JSON structure mutations

export const JSON_OP_KINDS = ["delete", "retype", "add", "dup", "graft", "deep", "huge", "str", "num", "clear", "reorder"] as const;
export type JsonOpKind = (typeof JSON_OP_KINDS)[number];

export interface JsonOp {
  readonly kind: JsonOpKind;
  /** Which node (modulo the node count, breadth-first). */
  readonly at: number;
  /** Secondary choice (key, depth, length, string edit…). */
  readonly pick: number;
  readonly value: unknown;
  /**
   * Type-preserving: a replaced value keeps its JSON type (strings are edited, numbers swapped
   * for edge numbers, booleans flipped, containers left alone), so the document usually still
   * passes its schema and the mutation reaches the checks behind it.
   */
  readonly gentle?: boolean;
  /** Nesting cap of the mutated document (see {@link OBJECT_MAX_DEPTH}); none when absent. */
  readonly cap?: number;
}

export interface JsonOpsOptions {
  /** Allow NaN, ±Infinity and undefined (APIs taking `unknown`). */
  readonly jsOnly?: boolean;
  readonly maxOps?: number;
  /** Include the deep-nesting and huge-string ops (default true). */
  readonly heavy?: boolean;
  /** Only type-preserving ops (see {@link JsonOp.gentle}). */
  readonly gentle?: boolean;
  /**
   * Cap the nesting of the mutated document. Default: {@link OBJECT_MAX_DEPTH} with `jsOnly`
   * (object-level targets), none otherwise (the document is serialised before the target sees it).
   */
  readonly maxDepth?: number;
}

function capOf(options: JsonOpsOptions): number | undefined {
  return options.maxDepth ?? (options.jsOnly === true ? OBJECT_MAX_DEPTH : undefined);
}

const GENTLE_KINDS: readonly JsonOpKind[] = ["delete", "dup", "reorder", "str", "str", "str", "num", "graft", "retype", "add"];

export function jsonOpArb(options: JsonOpsOptions = {}): fc.Arbitrary<JsonOp> {
  const kinds = options.gentle === true ? GENTLE_KINDS : options.heavy === false ? JSON_OP_KINDS.filter((k) => k !== "deep" && k !== "huge") : JSON_OP_KINDS;
  return fc.record({
    kind: fc.constantFrom(...kinds),
    at: fc.nat(),
    pick: fc.nat(),
    value: hostileValueArb(options.jsOnly === true),
    gentle: fc.constant(options.gentle === true),
    ...(capOf(options) === undefined ? {} : { cap: fc.constant(capOf(options) as number) }),
  });
}

/** Mixed: structural havoc and type-preserving edits, 1:2. */
export function mixedJsonOpsArb(options: Omit<JsonOpsOptions, "gentle"> = {}): fc.Arbitrary<JsonOp[]> {
  return fc.oneof({ weight: 1, arbitrary: jsonOpsArb(options) }, { weight: 2, arbitrary: jsonOpsArb({ ...options, gentle: true, maxOps: Math.min(options.maxOps ?? 3, 3) }) });
}

export function jsonOpsArb(options: JsonOpsOptions = {}): fc.Arbitrary<JsonOp[]> {
  return fc.array(jsonOpArb(options), { minLength: 1, maxLength: options.maxOps ?? 4 });
}

function editString(s: string, pick: number): string {
  const pos = s.length === 0 ? 0 : pick % (s.length + 1);
  const edits: ((x: string) => string)[] = [
    (x) => x.slice(0, pos) + (EDGE_STRINGS[pick % EDGE_STRINGS.length] as string) + x.slice(pos),
    (x) => x.slice(0, pos),
    (x) => x.slice(pos),
    (x) => x.toUpperCase(),
    (x) => `${x} `,
    (x) => ` ${x}`,
    (x) => x + x,
    (x) => x.slice(0, pos) + "\ud800" + x.slice(pos),
    (x) => x.slice(0, pos) + String.fromCharCode((x.charCodeAt(pos) ^ (1 << (pick % 16))) & 0xffff) + x.slice(pos + 1),
    (x) => x.replace(/[0-9]/g, (d) => String((Number(d) + 1) % 10)),
    (x) => x.replace(/Z$/, "+00:00"),
    () => EDGE_STRINGS[pick % EDGE_STRINGS.length] as string,
  ];
  return (edits[Math.floor(pick / 7) % edits.length] as (x: string) => string)(s);
}

function safeText(v: unknown, json: boolean): string {
  try {
    return json ? stringify(v) : String(v);
  } catch {
    return typeof v;
  }
}

function emptyLike(v: unknown): unknown {
  if (Array.isArray(v)) return [];
  if (isObj(v)) return {};
  if (typeof v === "string") return "";
  if (typeof v === "number") return 0;
  return null;
}

function keyFor(obj: Record<string, unknown>, pick: number): string {
  const siblings = Object.keys(obj);
  const choice = pick % 4;
  if (choice === 0 && siblings.length > 0) {
    const s = siblings[pick % siblings.length] as string;
    const variants = [s.toUpperCase(), `${s} `, `${s}\u0000`, s.normalize("NFD"), `${s}_`, s.slice(1)];
    return variants[Math.floor(pick / 4) % variants.length] as string;
  }
  return EDGE_KEYS[pick % EDGE_KEYS.length] as string;
}

function sameType(a: unknown, b: unknown): boolean {
  return (Array.isArray(a) ? "array" : a === null ? "null" : typeof a) === (Array.isArray(b) ? "array" : b === null ? "null" : typeof b);
}

/** The type-preserving stand-in for replacing `old` by `value`. */
function gentleValue(old: unknown, value: unknown, pick: number): unknown {
  if (sameType(old, value)) return value;
  if (typeof old === "string") return editString(old, pick);
  if (typeof old === "number") return EDGE_NUMBERS[pick % EDGE_NUMBERS.length];
  if (typeof old === "boolean") return !old;
  return old;
}

function replaceAt(root: unknown, n: NodeRef, value: unknown, op?: JsonOp): unknown {
  if (op?.gentle === true) value = gentleValue(n.value, value, op.pick);
  if (n.parent === undefined) return value;
  if (Array.isArray(n.parent)) n.parent[n.key as number] = value;
  else setOwn(n.parent, n.key as string, value);
  return root;
}

/** Applies one op in place (returns the possibly replaced root). */
export function applyJsonOp(root: unknown, op: JsonOp): unknown {
  const nodes = nodesOf(root);
  const n = nodes[op.at % nodes.length] as NodeRef;
  const v = n.value;
  switch (op.kind) {
    case "delete":
      if (n.parent === undefined) return op.gentle === true ? root : clone(op.value);
      if (Array.isArray(n.parent)) n.parent.splice(n.key as number, 1);
      else delete n.parent[n.key as string];
      return root;
    case "retype":
      return replaceAt(root, n, clone(op.value), op);
    case "add":
      if (isPlain(v)) setOwn(v, keyFor(v, op.pick), clone(op.value));
      else if (Array.isArray(v)) v.splice(op.pick % (v.length + 1), 0, clone(op.value));
      else return replaceAt(root, n, clone(op.value), op);
      return root;
    case "dup":
      if (Array.isArray(n.parent)) {
        n.parent.splice((n.key as number) + 1, 0, clone(v));
        return root;
      }
      if (Array.isArray(v) && v.length > 0) {
        v.push(clone(v[op.pick % v.length]));
        return root;
      }
      if (isPlain(v) && Object.keys(v).length > 0) {
        const k = Object.keys(v)[op.pick % Object.keys(v).length] as string;
        setOwn(v, keyFor({ [k]: null }, op.pick * 4), clone(v[k]));
        return root;
      }
      return op.gentle === true ? root : replaceAt(root, n, [v, v], op);
    case "graft": {
      const other = nodes[op.pick % nodes.length] as NodeRef;
      if (op.cap !== undefined && n.depth + depthOf(other.value) > op.cap) return root;
      return replaceAt(root, n, clone(other.value), op);
    }
    case "deep":
      return replaceAt(root, n, deepNest(clone(v), op.pick, op.cap === undefined ? Infinity : op.cap - n.depth - depthOf(v)), op);
    case "huge":
      return replaceAt(root, n, hugeString(op.pick), op);
    case "str":
      return replaceAt(root, n, typeof v === "string" ? editString(v, op.pick) : safeText(v, op.pick % 2 === 0), op);
    case "num":
      return replaceAt(root, n, typeof op.value === "number" && op.pick % 3 === 0 ? op.value : EDGE_NUMBERS[op.pick % EDGE_NUMBERS.length], op);
    case "clear":
      return replaceAt(root, n, emptyLike(v), op);
    case "reorder":
      if (Array.isArray(v)) v.reverse();
      else if (isPlain(v)) {
        const keys = Object.keys(v);
        const entries = keys.map((k) => [k, v[k]] as const);
        for (const k of keys) delete v[k];
        for (const [k, x] of entries.reverse()) setOwn(v, k, x);
      }
      return root;
  }
}

/**
 * A mutated deep copy of `doc` where the ops act only inside the subtree at `pointer` (RFC 6901,
 * unescaped member names); the whole document is mutated when the subtree is absent.
 */
export function applyJsonOpsAt(doc: Doc, pointer: string, ops: readonly JsonOp[]): Doc {
  const root = clone(doc);
  const tokens = pointer.split("/").slice(1);
  let parent: unknown = undefined;
  let node: unknown = root;
  for (const t of tokens) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, t)) return applyJsonOps(doc, ops);
    parent = node;
    node = (node as Record<string, unknown>)[t];
  }
  if (parent === undefined) return applyJsonOps(doc, ops);
  const key = tokens[tokens.length - 1] as string;
  let sub = node;
  for (const op of ops) sub = applyJsonOp(sub, op);
  if (Array.isArray(parent)) parent[Number(key)] = sub;
  else setOwn(parent as Record<string, unknown>, key, sub);
  return root;
}

/** A mutated deep copy of `doc`. */
export function applyJsonOps(doc: Doc, ops: readonly JsonOp[]): Doc {
  let root = clone(doc);
  for (const op of ops) root = applyJsonOp(root, op);
  return root;
}

// -----------------------------------------------------------------------------------------------
// Text mutations

export const JSON_TOKENS: readonly string[] = [
  "{",
  "}",
  "[",
  "]",
  '"',
  ":",
  ",",
  "\\",
  "\\u",
  "\\ud800",
  "\\udc00",
  '"\\ud800"',
  '"\\ud83d\\ude00"',
  "1e999",
  "-1e999",
  "-0",
  "9007199254740993",
  "-9007199254740993",
  "12345678901234567890",
  "0.1e-400",
  "1.",
  ".5",
  "01",
  "true",
  "null",
  " ",
  "\n",
  "\t",
  "\r",
  "\u2028",
  "\ufeff",
  "\u0000",
  "/*x*/",
  "~",
  ".",
  "..",
  "=",
  "+",
  "/",
  "%",
  '"":0,',
  '"__proto__":{"x":1},',
  '"constructor":0,',
  "[[[[[[[[",
  "]]]]]]]]",
  "{{{{",
  "\ud800",
  "\udfff",
  "\ud83d\ude00",
  "A",
  "\u00e9",
];

export const TEXT_OP_KINDS = ["flip", "insert", "token", "delete", "dup", "truncate", "dupkey", "nest", "replace"] as const;
export type TextOpKind = (typeof TEXT_OP_KINDS)[number];

export interface TextOp {
  readonly kind: TextOpKind;
  readonly at: number;
  readonly len: number;
  readonly pick: number;
}

export function textOpsArb(maxOps = 4): fc.Arbitrary<TextOp[]> {
  return fc.array(fc.record({ kind: fc.constantFrom(...TEXT_OP_KINDS), at: fc.nat(), len: fc.nat({ max: 96 }), pick: fc.nat() }), {
    minLength: 1,
    maxLength: maxOps,
  });
}

const nestDepths = [63, 64, 65, 257, 1000, 10_000, 100_000];

/**
 * Inserts `"name":null,` right after the `{` of the object holding the `pick`-th member name.
 * One linear pass (a regex over 10^5 quotes would be quadratic).
 */
function duplicateKey(text: string, pick: number): string {
  const names: { name: string; open: number }[] = [];
  const opens: number[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      const end = i;
      i++;
      let j = i;
      while (j < text.length && (text[j] === " " || text[j] === "\n" || text[j] === "\r" || text[j] === "\t")) j++;
      const open = opens[opens.length - 1];
      if (text[j] === ":" && open !== undefined && open >= 0) names.push({ name: text.slice(start + 1, end), open });
      continue;
    }
    if (c === "{") opens.push(i);
    else if (c === "[") opens.push(-1);
    else if (c === "}" || c === "]") opens.pop();
    i++;
  }
  if (names.length === 0) return text;
  const m = names[pick % names.length] as { name: string; open: number };
  return `${text.slice(0, m.open + 1)}"${m.name}":null,${text.slice(m.open + 1)}`;
}

export function applyTextOp(text: string, op: TextOp): string {
  const pos = text.length === 0 ? 0 : op.at % (text.length + 1);
  switch (op.kind) {
    case "flip": {
      if (text.length === 0) return text;
      const i = op.at % text.length;
      return text.slice(0, i) + String.fromCharCode((text.charCodeAt(i) ^ (1 << (op.pick % 16))) & 0xffff) + text.slice(i + 1);
    }
    case "insert":
      return text.slice(0, pos) + String.fromCharCode(op.pick % 0x10000) + text.slice(pos);
    case "token":
      return text.slice(0, pos) + (JSON_TOKENS[op.pick % JSON_TOKENS.length] as string) + text.slice(pos);
    case "delete":
      return text.slice(0, pos) + text.slice(pos + 1 + op.len);
    case "dup":
      return text.slice(0, pos + op.len) + text.slice(pos, pos + op.len) + text.slice(pos + op.len);
    case "truncate":
      return text.slice(0, pos);
    case "dupkey":
      return duplicateKey(text, op.pick);
    case "nest": {
      const d = nestDepths[op.pick % nestDepths.length] as number;
      return op.pick % 2 === 0 ? `${"[".repeat(d)}${text}${"]".repeat(d)}` : `${'{"a":'.repeat(d)}${text}${"}".repeat(d)}`;
    }
    case "replace":
      if (text.length === 0) return text;
      return text.slice(0, op.at % text.length) + String.fromCharCode(0x20 + (op.pick % 0x5f)) + text.slice((op.at % text.length) + 1);
  }
}

export function applyTextOps(text: string, ops: readonly TextOp[]): string {
  let t = text;
  for (const op of ops) t = applyTextOp(t, op);
  return t;
}

// -----------------------------------------------------------------------------------------------
// Byte mutations

export const INTERESTING_BYTES: readonly number[] = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x3f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xd8, 0xdf, 0xe0, 0xf4, 0xf5, 0xf9, 0xfa, 0xfb, 0xff];

/** Byte sequences that stress CBOR and protobuf decoders. */
export const BYTE_CHUNKS: readonly (readonly number[])[] = [
  [0x9f],
  [0xbf],
  [0xff],
  [0x5f, 0x41, 0x00, 0xff],
  [0x7f, 0x61, 0x61, 0xff],
  [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x5b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00],
  [0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0xfb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0xf9, 0x7c, 0x00],
  [0xf9, 0x00, 0x01],
  [0xfa, 0x7f, 0x80, 0x00, 0x00],
  [0xc0, 0x6a],
  [0xc2, 0x49, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
  [0xd8, 0x18],
  [0xd9, 0xd9, 0xf7],
  [0xf8, 0x10],
  [0xf7],
  [0x62, 0xed, 0xa0],
  [0x62, 0xc3, 0x28],
  [0xa1, 0x60, 0xf6],
  // protobuf: varint with 10 continuation bytes, long length-delimited, group tags
  [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x0b],
  [0x0c],
  [0x0f],
  [0xfa, 0x01],
  [0x12, 0x02, 0xc3, 0x28],
];

export const BYTE_OP_KINDS = ["flip", "set", "insert", "chunk", "delete", "dup", "truncate", "append"] as const;
export type ByteOpKind = (typeof BYTE_OP_KINDS)[number];

export interface ByteOp {
  readonly kind: ByteOpKind;
  readonly at: number;
  readonly len: number;
  readonly pick: number;
  readonly bytes: Uint8Array;
}

export function byteOpsArb(maxOps = 4): fc.Arbitrary<ByteOp[]> {
  return fc.array(
    fc.record({ kind: fc.constantFrom(...BYTE_OP_KINDS), at: fc.nat(), len: fc.nat({ max: 64 }), pick: fc.nat(), bytes: fc.uint8Array({ maxLength: 12 }) }),
    { minLength: 1, maxLength: maxOps },
  );
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function applyByteOp(b: Uint8Array, op: ByteOp): Uint8Array {
  const pos = b.length === 0 ? 0 : op.at % (b.length + 1);
  switch (op.kind) {
    case "flip": {
      if (b.length === 0) return b;
      const c = Uint8Array.from(b);
      c[op.at % b.length] = (c[op.at % b.length] as number) ^ (1 << (op.pick % 8));
      return c;
    }
    case "set": {
      if (b.length === 0) return b;
      const c = Uint8Array.from(b);
      c[op.at % b.length] = INTERESTING_BYTES[op.pick % INTERESTING_BYTES.length] as number;
      return c;
    }
    case "insert":
      return concat(b.subarray(0, pos), op.bytes, b.subarray(pos));
    case "chunk":
      return concat(b.subarray(0, pos), BYTE_CHUNKS[op.pick % BYTE_CHUNKS.length] as number[], b.subarray(pos));
    case "delete":
      return concat(b.subarray(0, pos), b.subarray(pos + 1 + op.len));
    case "dup":
      return concat(b.subarray(0, pos + op.len), b.subarray(pos, pos + op.len), b.subarray(pos + op.len));
    case "truncate":
      return b.slice(0, pos);
    case "append":
      return concat(b, op.bytes);
  }
}

export function applyByteOps(bytes: Uint8Array, ops: readonly ByteOp[]): Uint8Array {
  let b = bytes;
  for (const op of ops) b = applyByteOp(b, op);
  return b;
}

// -----------------------------------------------------------------------------------------------
// Compact-serialisation helpers (JWS / JWT / SD-JWT)

export const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString("base64url");
export const unb64u = (s: string): Buffer => Buffer.from(s, "base64url");

/** A mutation of one base64url(JSON) segment: structural (JSON ops) or textual. */
export interface SegmentMutation {
  readonly json?: readonly JsonOp[];
  readonly text?: readonly TextOp[];
}

export function segmentMutationArb(): fc.Arbitrary<SegmentMutation> {
  return fc.oneof(
    { weight: 3, arbitrary: jsonOpsArb({ maxOps: 3 }).map((json) => ({ json })) },
    { weight: 1, arbitrary: textOpsArb(3).map((text) => ({ text })) },
  );
}

/** Decodes a base64url JSON segment, mutates it, re-encodes (JSON text ops act on the decoded text). */
export function mutateB64Json(segment: string, m: SegmentMutation): string {
  const text = unb64u(segment).toString("utf8");
  if (m.json !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return segment;
    }
    return b64u(stringify(applyJsonOps(value, m.json)));
  }
  return b64u(applyTextOps(text, m.text ?? []));
}

/** `arb` with probability `p`, else `undefined` (fc.option's `freq` is the inverse: 1/freq nil). */
export function sometimes<T>(arb: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | undefined> {
  const w = Math.max(1, Math.round(p * 100));
  return fc.oneof({ weight: 100 - w, arbitrary: fc.constant(undefined) }, { weight: w, arbitrary: arb });
}
