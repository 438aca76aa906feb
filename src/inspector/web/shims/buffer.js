// Browser stand-in for the part of Node's Buffer that the bundled code uses:
// Buffer.from(arrayBuffer, offset, length), Buffer.from(text, "base64url"),
// buf.toString("base64url") (src/util/base64url.ts) and Buffer.byteLength(text, "utf8")
// (src/crypto/hpke/block.ts). Injected by esbuild (build.mjs) wherever `Buffer` is referenced.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));
VALUE.set("+", 62);
VALUE.set("/", 63);

class ShimBuffer extends Uint8Array {
  static byteLength(text, encoding = "utf8") {
    if (typeof text !== "string") return text.byteLength;
    if (encoding !== "utf8" && encoding !== "utf-8") throw new Error(`Buffer shim: unsupported encoding ${encoding}`);
    return new TextEncoder().encode(text).length;
  }

  static from(source, offsetOrEncoding, length) {
    if (typeof source === "string") {
      if (offsetOrEncoding !== "base64url" && offsetOrEncoding !== "base64") throw new Error(`Buffer shim: unsupported encoding ${offsetOrEncoding}`);
      // Like Node: characters outside the alphabet are skipped, trailing bits dropped.
      const out = [];
      let acc = 0;
      let bits = 0;
      for (const c of source) {
        const v = VALUE.get(c);
        if (v === undefined) continue;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          out.push((acc >> bits) & 0xff);
          acc &= (1 << bits) - 1;
        }
      }
      return new ShimBuffer(out);
    }
    if (source instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && source instanceof SharedArrayBuffer)) {
      const view = new Uint8Array(source, offsetOrEncoding ?? 0, length);
      return new ShimBuffer(view.buffer, view.byteOffset, view.byteLength);
    }
    return new ShimBuffer(Uint8Array.from(source));
  }

  toString(encoding) {
    if (encoding === undefined) return super.toString();
    if (encoding !== "base64url") throw new Error(`Buffer shim: unsupported encoding ${encoding}`);
    let out = "";
    let i = 0;
    for (; i + 2 < this.length; i += 3) {
      const n = (this[i] << 16) | (this[i + 1] << 8) | this[i + 2];
      out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
    }
    if (i < this.length) {
      const rest = this.length - i;
      const n = (this[i] << 16) | (rest > 1 ? this[i + 1] << 8 : 0);
      out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
      if (rest > 1) out += ALPHABET[(n >> 6) & 63];
    }
    return out;
  }
}

export { ShimBuffer as Buffer };
