/**
 * The subset of RFC 6902 JSON Patch translation residues use: `add`, `remove` and `replace`,
 * with RFC 6901 paths. {@link diffJson} computes a patch turning one JSON value into another;
 * {@link applyJsonPatch} applies one to a copy.
 */
import { isDeepStrictEqual } from "node:util";
import { formatPointer, parsePointer } from "../../json/pointer.js";
import { isJsonObject, type JsonValue } from "../../json/types.js";
import { OfpError } from "../errors.js";

/** One JSON Patch operation. */
export type JsonPatchOp = { op: "add" | "replace"; path: string; value: JsonValue } | { op: "remove"; path: string };

/**
 * A patch turning `from` into `to`. Objects are compared member by member and equal-length arrays
 * element by element; anything else that differs is replaced whole.
 */
export function diffJson(from: JsonValue, to: JsonValue, path: readonly (string | number)[] = []): JsonPatchOp[] {
  if (isDeepStrictEqual(from, to)) return [];
  if (isJsonObject(from) && isJsonObject(to)) {
    const ops: JsonPatchOp[] = [];
    for (const k of Object.keys(from)) if (!Object.hasOwn(to, k)) ops.push({ op: "remove", path: formatPointer([...path, k]) });
    for (const [k, v] of Object.entries(to)) {
      if (!Object.hasOwn(from, k)) ops.push({ op: "add", path: formatPointer([...path, k]), value: v });
      else ops.push(...diffJson(from[k] as JsonValue, v, [...path, k]));
    }
    return ops;
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length) {
    return to.flatMap((v, i) => diffJson(from[i] as JsonValue, v, [...path, i]));
  }
  return [{ op: "replace", path: formatPointer(path), value: to }];
}

function fail(message: string): never {
  throw new OfpError("ERR_OFP_RESIDUE", message);
}

/** Checks that `ops` is a JSON Patch of the supported subset. Throws ERR_OFP_RESIDUE. */
export function asJsonPatch(ops: unknown): JsonPatchOp[] {
  if (!Array.isArray(ops)) fail("patch must be an array of operations");
  return ops.map((op, i): JsonPatchOp => {
    if (!isJsonObject(op) || typeof op["path"] !== "string") fail(`patch operation ${i} needs a string path`);
    const path = op["path"];
    if (op["op"] === "remove") return { op: "remove", path };
    if ((op["op"] === "add" || op["op"] === "replace") && Object.hasOwn(op, "value")) return { op: op["op"], path, value: op["value"] as JsonValue };
    return fail(`patch operation ${i} must be add or replace (with a value) or remove`);
  });
}

/** Applies `ops` to a copy of `doc`. Throws ERR_OFP_RESIDUE when a path does not fit. */
export function applyJsonPatch(doc: JsonValue, ops: readonly JsonPatchOp[]): JsonValue {
  let root = structuredClone(doc);
  for (const op of ops) {
    let tokens: string[];
    try {
      tokens = parsePointer(op.path);
    } catch {
      return fail(`invalid patch path ${JSON.stringify(op.path)}`);
    }
    const last = tokens.pop();
    if (last === undefined) {
      if (op.op === "remove") fail("cannot remove the document root");
      root = structuredClone(op.value);
      continue;
    }
    let parent: JsonValue | undefined = root;
    for (const t of tokens) parent = Array.isArray(parent) ? parent[Number(t)] : isJsonObject(parent) && Object.hasOwn(parent, t) ? parent[t] : undefined;
    if (Array.isArray(parent)) {
      const index = /^(0|[1-9][0-9]*)$/.test(last) ? Number(last) : -1;
      if (index < 0 || index > parent.length || (op.op !== "add" && index === parent.length)) fail(`patch path ${op.path} is out of range`);
      if (op.op === "remove") parent.splice(index, 1);
      else if (op.op === "add") parent.splice(index, 0, structuredClone(op.value));
      else parent[index] = structuredClone(op.value);
    } else if (isJsonObject(parent)) {
      if (op.op !== "add" && !Object.hasOwn(parent, last)) fail(`patch path ${op.path} does not exist`);
      if (op.op === "remove") delete parent[last];
      else Object.defineProperty(parent, last, { value: structuredClone(op.value), enumerable: true, writable: true, configurable: true });
    } else {
      fail(`patch path ${op.path} has no parent`);
    }
  }
  return root;
}
