/**
 * Number-width rules shared by the encoder and the strict decoder, so both sides agree on what
 * the deterministic form of a JS number is (RFC 8949 §4.2.1 with agentwire's number rule).
 */

/** 2^63 as a double (exact). Integral values in [-2^63, 2^63) are CBOR integers. */
export const TWO_63 = 9223372036854775808;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * True when `v` must be encoded as a CBOR integer (major 0/1): finite, integral and within
 * the int64 range [-2^63, 2^63 - 1]. Note `-0` is integral and therefore an integer (0).
 */
export function isInt64Integral(v: number): boolean {
  return Math.floor(v) === v && v >= -TWO_63 && v < TWO_63;
}

/**
 * The IEEE 754 binary16 bit pattern that represents `v` exactly, or -1 when there is none.
 * `v` must be finite. Works by narrowing through binary32, whose bits are split and checked
 * for mantissa bits that binary16 cannot hold.
 */
export function halfBitsExact(v: number): number {
  if (Math.fround(v) !== v) return -1;
  f32[0] = v;
  const bits = u32[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0) {
    // ±0 or a binary32 subnormal (< 2^-126), far below the smallest half subnormal 2^-24.
    return mant === 0 ? sign : -1;
  }
  const e = exp - 127;
  if (e > 15) return -1;
  if (e >= -14) {
    // Normal half: 10 mantissa bits available.
    if ((mant & 0x1fff) !== 0) return -1;
    return sign | ((e + 15) << 10) | (mant >>> 13);
  }
  if (e < -24) return -1;
  // Subnormal half: value = frac * 2^-24 with frac = (1.mant) * 2^(e + 24), frac < 1024.
  const full = 0x800000 | mant;
  const shift = -(e + 1); // 14..23
  if ((full & ((1 << shift) - 1)) !== 0) return -1;
  return sign | (full >>> shift);
}

/** Decodes an IEEE 754 binary16 bit pattern to a JS number (exact). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 5.960464477539063e-8; // 2^-24
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}
