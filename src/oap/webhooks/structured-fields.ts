/**
 * The part of RFC 8941 (Structured Field Values for HTTP) that RFC 9421 needs: dictionaries of
 * inner lists and byte sequences, items with parameters (strings, tokens, integers, decimals,
 * booleans, byte sequences), parsing and serialisation. Parsing is strict: anything the RFC's
 * algorithms would fail on throws {@link StructuredFieldError}.
 *
 * @module
 */
import { AgentwireError } from "../../errors.js";

/** A malformed structured field. */
export class StructuredFieldError extends AgentwireError<"ERR_SF_PARSE" | "ERR_SF_SERIALIZE"> {}

/** A token (bare identifier), distinguished from a string. */
export class SfToken {
  constructor(readonly value: string) {}
}

/** A bare item. */
export type SfBareItem = string | number | boolean | Uint8Array | SfToken;
/** Parameters, in order. */
export type SfParams = [string, SfBareItem][];
/** An item with its parameters. */
export interface SfItem {
  readonly value: SfBareItem;
  readonly params: SfParams;
}
/** An inner list with its parameters. */
export interface SfInnerList {
  readonly items: SfItem[];
  readonly params: SfParams;
}
/** A dictionary member: an item or an inner list. */
export type SfMember = SfItem | SfInnerList;
/** A dictionary, in order. */
export type SfDictionary = [string, SfMember][];

/** True when a dictionary member is an inner list. */
export function isInnerList(m: SfMember): m is SfInnerList {
  return Array.isArray((m as SfInnerList).items);
}

/** The value of parameter `name`, or undefined. */
export function paramOf(params: SfParams, name: string): SfBareItem | undefined {
  return params.find(([k]) => k === name)?.[1];
}

const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_START = /[A-Za-z*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const B64_CHAR = /[A-Za-z0-9+/=]/;

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  fail(why: string): never {
    throw new StructuredFieldError("ERR_SF_PARSE", `structured field: ${why} at ${this.i}`);
  }
  peek(): string {
    return this.s[this.i] ?? "";
  }
  sp(): void {
    while (this.peek() === " ") this.i++;
  }
  ows(): void {
    while (this.peek() === " " || this.peek() === "\t") this.i++;
  }
  done(): boolean {
    return this.i >= this.s.length;
  }

  key(): string {
    if (!KEY_START.test(this.peek())) this.fail("expected a key");
    const start = this.i;
    while (!this.done() && KEY_CHAR.test(this.peek())) this.i++;
    return this.s.slice(start, this.i);
  }

  params(): SfParams {
    const out: SfParams = [];
    while (this.peek() === ";") {
      this.i++;
      this.sp();
      const k = this.key();
      let v: SfBareItem = true;
      if (this.peek() === "=") {
        this.i++;
        v = this.bare();
      }
      const at = out.findIndex(([n]) => n === k);
      if (at >= 0) out[at] = [k, v];
      else out.push([k, v]);
    }
    return out;
  }

  bare(): SfBareItem {
    const c = this.peek();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    if (c === '"') return this.string();
    if (c === ":") return this.bytes();
    if (c === "?") return this.boolean();
    if (TOKEN_START.test(c)) return this.token();
    return this.fail("expected a bare item");
  }

  number(): number {
    const start = this.i;
    if (this.peek() === "-") this.i++;
    let digits = 0;
    let dot = -1;
    while (!this.done()) {
      const c = this.peek();
      if (c >= "0" && c <= "9") {
        digits++;
        this.i++;
      } else if (c === "." && dot < 0) {
        if (digits > 12) this.fail("too many integer digits in a decimal");
        dot = digits;
        this.i++;
      } else break;
      if (dot < 0 && digits > 15) this.fail("integer too long");
      if (dot >= 0 && digits - dot > 3) this.fail("too many fraction digits");
    }
    const text = this.s.slice(start, this.i);
    if (digits === 0 || text.endsWith(".")) this.fail("malformed number");
    return Number(text);
  }

  string(): string {
    this.i++;
    let out = "";
    for (;;) {
      if (this.done()) this.fail("unterminated string");
      const c = this.s[this.i++] as string;
      if (c === "\\") {
        const n = this.s[this.i++];
        if (n !== '"' && n !== "\\") this.fail("bad escape");
        out += n;
      } else if (c === '"') return out;
      else if (c < " " || c > "~") this.fail("non-printable character in a string");
      else out += c;
    }
  }

  token(): SfToken {
    const start = this.i;
    this.i++;
    while (!this.done() && TOKEN_CHAR.test(this.peek())) this.i++;
    return new SfToken(this.s.slice(start, this.i));
  }

  bytes(): Uint8Array {
    this.i++;
    const start = this.i;
    while (!this.done() && this.peek() !== ":") {
      if (!B64_CHAR.test(this.peek())) this.fail("bad byte sequence character");
      this.i++;
    }
    if (this.done()) this.fail("unterminated byte sequence");
    const text = this.s.slice(start, this.i);
    this.i++;
    const buf = Buffer.from(text, "base64");
    if (buf.toString("base64").replace(/=+$/, "") !== text.replace(/=+$/, "")) this.fail("non-canonical base64");
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  boolean(): boolean {
    this.i++;
    const c = this.s[this.i++];
    if (c === "1") return true;
    if (c === "0") return false;
    return this.fail("bad boolean");
  }

  item(): SfItem {
    const value = this.bare();
    return { value, params: this.params() };
  }

  innerList(): SfInnerList {
    this.i++;
    const items: SfItem[] = [];
    for (;;) {
      this.sp();
      if (this.peek() === ")") {
        this.i++;
        return { items, params: this.params() };
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== " " && c !== ")") this.fail("expected a space or ) in an inner list");
    }
  }

  member(): SfMember {
    return this.peek() === "(" ? this.innerList() : this.item();
  }

  dictionary(): SfDictionary {
    const out: SfDictionary = [];
    this.sp();
    while (!this.done()) {
      const k = this.key();
      let m: SfMember;
      if (this.peek() === "=") {
        this.i++;
        m = this.member();
      } else {
        m = { value: true, params: this.params() };
      }
      const at = out.findIndex(([n]) => n === k);
      if (at >= 0) out[at] = [k, m];
      else out.push([k, m]);
      this.ows();
      if (this.done()) return out;
      if (this.peek() !== ",") this.fail("expected a comma between dictionary members");
      this.i++;
      this.ows();
      if (this.done()) this.fail("trailing comma");
    }
    return out;
  }
}

/** Parses a Dictionary (RFC 8941 §4.2.2). An empty value is an empty dictionary. */
export function parseDictionary(text: string): SfDictionary {
  return new Parser(text.trim()).dictionary();
}

/** Parses a single Item (RFC 8941 §4.2.3), e.g. a component identifier `"@query-param";name="a"`. */
export function parseItem(text: string): SfItem {
  const p = new Parser(text.trim());
  const item = p.item();
  if (!p.done()) p.fail("trailing characters");
  return item;
}

// ---------------------------------------------------------------------------------------------
// serialisation (RFC 8941 §4.1)
// ---------------------------------------------------------------------------------------------

function bad(why: string): never {
  throw new StructuredFieldError("ERR_SF_SERIALIZE", `structured field: ${why}`);
}

/** Serialises a bare item. */
export function serializeBare(v: SfBareItem): string {
  if (typeof v === "boolean") return v ? "?1" : "?0";
  if (typeof v === "number") {
    if (Number.isInteger(v)) {
      if (Math.abs(v) > 999_999_999_999_999) bad("integer out of range");
      return String(v);
    }
    if (!Number.isFinite(v)) bad("non-finite decimal");
    const r = Math.round(v * 1000) / 1000;
    const s = r.toFixed(3).replace(/0+$/, "");
    return s.endsWith(".") ? `${s}0` : s;
  }
  if (typeof v === "string") {
    if (!/^[\x20-\x7e]*$/.test(v)) bad("strings must be printable ASCII");
    return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  }
  if (v instanceof SfToken) {
    if (!/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(v.value)) bad(`invalid token ${v.value}`);
    return v.value;
  }
  return `:${Buffer.from(v).toString("base64")}:`;
}

/** Serialises parameters (`;a=1;b`). */
export function serializeParams(params: SfParams): string {
  return params.map(([k, v]) => (v === true ? `;${k}` : `;${k}=${serializeBare(v)}`)).join("");
}

/** Serialises an item with its parameters. */
export function serializeItem(item: SfItem): string {
  return serializeBare(item.value) + serializeParams(item.params);
}

/** Serialises an inner list with its parameters. */
export function serializeInnerList(list: SfInnerList): string {
  return `(${list.items.map(serializeItem).join(" ")})${serializeParams(list.params)}`;
}

/** Serialises a dictionary. */
export function serializeDictionary(dict: SfDictionary): string {
  return dict
    .map(([k, m]) => {
      if (isInnerList(m)) return `${k}=${serializeInnerList(m)}`;
      if (m.value === true) return `${k}${serializeParams(m.params)}`;
      return `${k}=${serializeItem(m)}`;
    })
    .join(", ");
}
