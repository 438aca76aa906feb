/**
 * Small byte helpers shared by the HPKE modules (internal: not re-exported from the index).
 * @module
 */
import { webcrypto } from "node:crypto";

/** A fresh `Uint8Array` copy of an `ArrayBuffer` returned by WebCrypto-style APIs. */
export function fromArrayBuffer(buffer: ArrayBuffer): Uint8Array {
  return new Uint8Array(buffer.slice(0));
}

/** Concatenation of the given byte strings. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `length` bytes from the platform CSPRNG. */
export function randomBytes(length: number): Uint8Array {
  return webcrypto.getRandomValues(new Uint8Array(length));
}

/** True when every byte is zero; runs over the whole input whatever its content (no early exit). */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

/** True for a `Uint8Array` (including Node `Buffer`). */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}
