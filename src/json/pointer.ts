import { AgentwireError } from "../errors.js";
import { isJsonObject, type JsonValue } from "./types.js";

/** RFC 6901 escaping of one reference token. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** RFC 6901 unescaping of one reference token. */
export function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Splits an RFC 6901 pointer ("" or "/a/b") into unescaped tokens. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) {
    throw new AgentwireError("ERR_JSON_POINTER", `invalid JSON pointer ${JSON.stringify(pointer)}`);
  }
  return pointer.slice(1).split("/").map(unescapePointerToken);
}

/** Joins tokens into an RFC 6901 pointer. */
export function formatPointer(tokens: readonly (string | number)[]): string {
  return tokens.map((t) => "/" + escapePointerToken(String(t))).join("");
}

/** The value at `pointer`, or undefined when any step is missing. */
export function getAtPointer(doc: JsonValue, pointer: string): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      cur = cur[Number(token)];
    } else if (isJsonObject(cur)) {
      cur = Object.hasOwn(cur, token) ? cur[token] : undefined;
    } else {
      return undefined;
    }
  }
  return cur;
}

/**
 * Sets the member or array element named by `pointer`; its parent must exist. Throws
 * ERR_JSON_POINTER when it does not.
 */
export function setAtPointer(doc: JsonValue, pointer: string, value: JsonValue): void {
  const tokens = parsePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) throw new AgentwireError("ERR_JSON_POINTER", "cannot replace the document root");
  const parent = getAtPointer(doc, formatPointer(tokens));
  if (Array.isArray(parent) && /^(0|[1-9][0-9]*)$/.test(last) && Number(last) <= parent.length) {
    parent[Number(last)] = value;
  } else if (isJsonObject(parent)) {
    Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  } else {
    throw new AgentwireError("ERR_JSON_POINTER", `no parent for ${JSON.stringify(pointer)}`);
  }
}
