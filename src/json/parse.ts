/**
 * Strict JSON parsing for wire documents (decision #8 in docs/decisions.md): RFC 8259 syntax
 * (JSON.parse), plus rejection of duplicate member names, integers beyond ±(2^53-1) (they
 * would silently lose precision) and lone UTF-16 surrogates.
 */
import { AgentwireError } from "../errors.js";
import type { JsonValue } from "./types.js";

/** Raised for text that is not strict JSON. `detail.pointer` locates the problem when known. */
export class JsonParseError extends AgentwireError {}

/** Maximum nesting accepted (protects recursive consumers). */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses `text` as strict JSON. Throws JsonParseError with code ERR_JSON_SYNTAX,
 * ERR_JSON_DUPLICATE_KEY, ERR_JSON_UNSAFE_INTEGER, ERR_JSON_NUMBER_RANGE, ERR_JSON_LONE_SURROGATE or
 * ERR_JSON_DEPTH.
 */
export function parseJsonStrict(text: string): JsonValue {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw new JsonParseError("ERR_JSON_SYNTAX", `not valid JSON: ${(cause as Error).message}`, { cause });
  }
  scan(text);
  return value;
}

interface Frame {
  kind: "object" | "array";
  keys: Set<string>;
  index: number;
  /** For objects: the key whose value is being read. */
  key: string | undefined;
}

/** Second pass over syntactically valid JSON: duplicate keys, unsafe integers, surrogates, depth. */
function scan(text: string): void {
  const stack: Frame[] = [];
  let i = 0;
  const pointer = (): string =>
    stack
      .flatMap((f) => (f.kind === "array" ? [String(f.index)] : f.key === undefined ? [] : [f.key]))
      .map((t) => "/" + t.replace(/~/g, "~0").replace(/\//g, "~1"))
      .join("");
  const fail = (code: string, message: string): never => {
    throw new JsonParseError(code, message, { detail: { pointer: pointer() } });
  };
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      i = start;
      while (text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      const raw = text.slice(start, i);
      i++;
      const str = JSON.parse(`"${raw}"`) as string;
      if (!str.isWellFormed()) fail("ERR_JSON_LONE_SURROGATE", "string contains a lone UTF-16 surrogate");
      const top = stack[stack.length - 1];
      if (top?.kind === "object" && top.key === undefined) {
        // A member name (followed by ':').
        let j = i;
        while (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x0a || text.charCodeAt(j) === 0x0d || text.charCodeAt(j) === 0x09) j++;
        if (text.charCodeAt(j) === 0x3a /* : */) {
          if (top.keys.has(str)) {
            top.key = str;
            fail("ERR_JSON_DUPLICATE_KEY", `duplicate member name ${JSON.stringify(str)}`);
          }
          top.keys.add(str);
          top.key = str;
          i = j + 1;
        }
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) fail("ERR_JSON_DEPTH", `nesting deeper than ${MAX_JSON_DEPTH}`);
      stack.push({ kind: c === 0x7b ? "object" : "array", keys: new Set(), index: 0, key: undefined });
      i++;
      continue;
    }
    if (c === 0x7d || c === 0x5d) {
      stack.pop();
      i++;
      continue;
    }
    if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.kind === "array") top.index++;
      else if (top) top.key = undefined;
      i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      while (i < text.length && /[-+0-9.eE]/.test(text[i] as string)) i++;
      const token = text.slice(start, i);
      if (/^-?[0-9]+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        fail("ERR_JSON_UNSAFE_INTEGER", `integer ${token} is outside ±(2^53-1)`);
      }
      if (!Number.isFinite(Number(token))) fail("ERR_JSON_NUMBER_RANGE", `number ${token} is not a finite double`);
      continue;
    }
    i++;
  }
}
