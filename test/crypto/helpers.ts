/** Shared helpers for the tests under test/crypto/ (not the hpke/ subdirectory). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { AgentwireError } from "../../src/errors.js";

export const VECTORS = join(dirname(fileURLToPath(import.meta.url)), "..", "vectors");

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString("base64url");
export const unb64u = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "base64url"));
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const seed = (byte: number, length = 32): Uint8Array => new Uint8Array(length).fill(byte);

/** RFC 8032 §7.1 vectors (test/vectors/rfc8032/ed25519.json). */
export interface Rfc8032Case {
  readonly name: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
}
export function rfc8032Cases(): Rfc8032Case[] {
  const doc = JSON.parse(readFileSync(join(VECTORS, "rfc8032", "ed25519.json"), "utf8")) as { cases: Rfc8032Case[] };
  return doc.cases;
}

/** The published JOSE example of draft-ietf-jose-pq-composite-sigs (test/vectors/jose-composite). */
export interface CompositeExample {
  readonly mldsa_seed: string;
  readonly eddsa_seed: string;
  readonly jwk: { readonly kid: string; readonly kty: string; readonly alg: string; readonly pub: string; readonly priv: string };
  readonly jws: string;
  readonly raw_to_be_signed: string;
  readonly raw_composite_signature: string;
  readonly raw_composite_public_key: string;
}
export function compositeExample(): CompositeExample {
  return JSON.parse(readFileSync(join(VECTORS, "jose-composite", "ML-DSA-65-Ed25519.jose.json"), "utf8")) as CompositeExample;
}

/** Runs `fn`, asserts it throws an AgentwireError (or subclass `type`) with `code`; returns the error. */
export function expectCode<E extends AgentwireError = AgentwireError>(
  fn: () => unknown,
  code: string,
  type?: abstract new (...args: never[]) => E,
): E {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(type ?? AgentwireError);
  expect((thrown as AgentwireError).code).toBe(code);
  return thrown as E;
}

/** Flips one bit of a copy of `bytes` at `index` (negative counts from the end). */
export function flip(bytes: Uint8Array, index = 0, bit = 0x01): Uint8Array {
  const out = Uint8Array.from(bytes);
  const i = index < 0 ? out.length + index : index;
  out[i] = (out[i] ?? 0) ^ bit;
  return out;
}
