/**
 * Test helpers: a naive recursive reference implementation of RFC 9162 §2.1.1 (MTH), §2.1.3.1
 * (PATH) and §2.1.4.1 (PROOF / SUBPROOF), written straight from the RFC text, and vector loaders.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { TEST_DIR } from "../../helpers/upstream.js";

export const VECTORS = join(TEST_DIR, "vectors", "tlog");

function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

/** RFC 9162 §2.1.1 MTH, recursive. */
export function refMth(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Uint8Array.of(0), d[0] as Uint8Array);
  const s = k(d.length);
  return sha(Uint8Array.of(1), refMth(d.slice(0, s)), refMth(d.slice(s)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]). */
export function refPath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...refPath(m, d.slice(0, s)), refMth(d.slice(s))] : [...refPath(m - s, d.slice(s)), refMth(d.slice(0, s))];
}

function subproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const s = k(d.length);
  return m <= s ? [...subproof(m, d.slice(0, s), b), refMth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), refMth(d.slice(0, s))];
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]). */
export function refProof(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  return subproof(m, d, true);
}

/** Distinct deterministic entries. */
export function entries(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new TextEncoder().encode(`entry-${i}`));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export function fromHex(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, "hex"));
}

export function fromB64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** All JSON probe files under a vector directory, with their relative names. */
export function probes<T>(dir: string): { name: string; probe: T }[] {
  const out: { name: string; probe: T }[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".json")) out.push({ name: relative(dir, p), probe: readJson<T>(p) });
    }
  };
  walk(dir);
  return out;
}

/** Flips one bit of one hash of a proof (copying). */
export function flipBit(proof: readonly Uint8Array[], which: number, bit: number): Uint8Array[] {
  return proof.map((h, i) => {
    if (i !== which) return h;
    const c = Uint8Array.from(h);
    c[bit >> 3] = (c[bit >> 3] as number) ^ (1 << (bit & 7));
    return c;
  });
}

/** Runs `fn` and returns the error code it throws (or "no error"). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "no error";
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped: ${(e as Error).message}`;
  }
}

/** Async {@link codeOf}. */
export async function codeOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return "no error";
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped: ${(e as Error).message}`;
  }
}
