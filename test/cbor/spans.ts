/**
 * A tiny independent reader of definite-length CBOR used by the mutation tests: it records where
 * every data item and its head sit, so that a test can rewrite one head (longer argument, wider
 * float, indefinite length) or reorder/duplicate map entries and know the exact offset at which a
 * strict decoder must object. It trusts its input (only ever canonical bytes from the encoder).
 */

/** One data item inside an encoding. */
export interface Span {
  /** Offset of the initial byte. */
  readonly start: number;
  /** Offset just after the head (initial byte plus argument bytes). */
  readonly headEnd: number;
  /** Offset just after the whole item. */
  readonly end: number;
  readonly major: number;
  /** Additional information (low 5 bits of the initial byte). */
  readonly ai: number;
  /** The argument (exact below 2^53; lengths and counts here are always small). */
  readonly arg: number;
  /** Nested items: array elements, map keys and values interleaved, or a tag's content. */
  readonly children: readonly Span[];
}

function argBytes(ai: number): number {
  return ai < 24 ? 0 : ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : 8;
}

/** Parses the item at `pos` (definite lengths only). */
export function parseSpan(b: Uint8Array, pos = 0): Span {
  const start = pos;
  const ib = b[pos++] as number;
  const major = ib >> 5;
  const ai = ib & 31;
  const nb = argBytes(ai);
  let arg = ai;
  if (nb > 0) {
    arg = 0;
    for (let i = 0; i < nb; i++) arg = arg * 256 + (b[pos + i] as number);
  }
  pos += nb;
  const headEnd = pos;
  const children: Span[] = [];
  switch (major) {
    case 2:
    case 3:
      pos += arg;
      break;
    case 4:
    case 5: {
      const n = major === 4 ? arg : arg * 2;
      for (let i = 0; i < n; i++) {
        const c = parseSpan(b, pos);
        children.push(c);
        pos = c.end;
      }
      break;
    }
    case 6: {
      const c = parseSpan(b, pos);
      children.push(c);
      pos = c.end;
      break;
    }
    default:
      break;
  }
  return { start, headEnd, end: pos, major, ai, arg, children };
}

/** Every span in document order (pre-order). */
export function allSpans(root: Span): Span[] {
  const out: Span[] = [];
  const walk = (s: Span): void => {
    out.push(s);
    for (const c of s.children) walk(c);
  };
  walk(root);
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A head of major type `major` with argument `n` written in exactly `width` argument bytes (0, 1, 2, 4 or 8). */
export function headWithWidth(major: number, n: number, width: 0 | 1 | 2 | 4 | 8): Uint8Array {
  if (width === 0) return Uint8Array.of((major << 5) | n);
  const ai = width === 1 ? 24 : width === 2 ? 25 : width === 4 ? 26 : 27;
  const out = new Uint8Array(1 + width);
  out[0] = (major << 5) | ai;
  let v = BigInt(n);
  for (let i = width; i >= 1; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
