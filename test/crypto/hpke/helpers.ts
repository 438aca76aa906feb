import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { isAgentwireError } from "../../../src/errors.js";

export const VECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "vectors", "rfc9180");

export interface HpkeVector {
  mode: number;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmR: string;
  ikmE: string;
  skRm: string;
  pkRm: string;
  skEm?: string;
  pkEm?: string;
  enc: string;
  shared_secret: string;
  key: string;
  base_nonce: string;
  exporter_secret: string;
  encryptions: { aad: string; ct: string; nonce: string; pt: string; sequence_number?: number }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

export function loadVectors(file: string): HpkeVector[] {
  return JSON.parse(readFileSync(join(VECTOR_DIR, file), "utf8")) as HpkeVector[];
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));
export const toHex = (b: Uint8Array | ArrayBuffer): string => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString("hex");
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Asserts `p` rejects with an AgentwireError of `code`; returns the error. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (!isAgentwireError(e, code)) throw new Error(`expected ${code}, got ${String((e as { code?: string }).code ?? e)}`, { cause: e });
    return e;
  }
  expect.fail(`expected rejection with ${code}, but it resolved`);
}

/** Synchronous variant of {@link expectCode}. */
export function expectCodeSync(f: () => unknown, code: string): Error {
  try {
    f();
  } catch (e) {
    if (!isAgentwireError(e, code)) throw new Error(`expected ${code}, got ${String((e as { code?: string }).code ?? e)}`, { cause: e });
    return e;
  }
  expect.fail(`expected a throw with ${code}`);
}

/** Copy of `bytes` with bit `bit` of byte `i` flipped. */
export function flip(bytes: Uint8Array, i: number, bit = 0): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[i] = (out[i] ?? 0) ^ (1 << bit);
  return out;
}

import { Ajv2020 } from "ajv/dist/2020.js";

let sealedValidator: ((doc: unknown) => boolean) | undefined;

/** Validates `doc` against the OHP v0.1 envelope schema's `$defs/sealed` (the wire shape the spec fixes). */
export function validSealedPerSchema(doc: unknown): boolean {
  if (sealedValidator === undefined) {
    const schemaPath = join(VECTOR_DIR, "..", "..", "..", "schemas", "ohp", "ohp-envelope.schema.json");
    const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as { $id: string };
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema(schema);
    const v = ajv.getSchema(`${schema.$id}#/$defs/sealed`);
    if (v === undefined) throw new Error("schema has no $defs/sealed");
    sealedValidator = (d) => v(d) as boolean;
  }
  return sealedValidator(doc);
}
