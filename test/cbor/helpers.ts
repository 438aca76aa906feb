/** Shared helpers for the CBOR tests. */
import { expect } from "vitest";
import { CborError, type CborErrorCode } from "../../src/cbor/index.js";

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Bytes of a hex string (whitespace ignored). */
export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.replace(/\s+/g, ""), "hex"));
}

/** Asserts that `fn` throws a {@link CborError} with `code`, and returns it. */
export function expectCborError(fn: () => unknown, code: CborErrorCode): CborError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(CborError);
  expect((caught as CborError).code).toBe(code);
  return caught as CborError;
}
