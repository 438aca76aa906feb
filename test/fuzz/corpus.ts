/**
 * Seed corpora for the fuzzers: the signed OHP vector pack (test/vectors/ohp), the upstream OHP
 * examples and conformance vectors, the upstream Open Floor / OVON samples.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { JsonValue } from "../../src/json/types.js";
import { TEST_DIR, UPSTREAM_OHP } from "../helpers/upstream.js";

export const VECTORS_OHP = join(TEST_DIR, "vectors", "ohp");
export const UPSTREAM_OFP = join(TEST_DIR, "upstream", "openfloor");

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

export interface OhpVector {
  /** `<tier>/<name>` or `upstream/<path>`. */
  readonly name: string;
  readonly dir: string;
  readonly text: string;
  readonly envelope: JsonValue;
  /** context.json, when the vector has one. */
  readonly context?: JsonValue;
  /** expected.json `now`. */
  readonly now?: Date;
}

function readJson(path: string): JsonValue {
  return JSON.parse(readFileSync(path, "utf8")) as JsonValue;
}

let ohpCache: OhpVector[] | undefined;

/** Every OHP envelope we ship or copied from upstream, with its receiver context when known. */
export function ohpVectors(): OhpVector[] {
  if (ohpCache !== undefined) return ohpCache;
  const out: OhpVector[] = [];
  for (const tier of ["core", "signed", "sealed", "regulated"]) {
    for (const name of readdirSync(join(VECTORS_OHP, tier)).sort()) {
      const dir = join(VECTORS_OHP, tier, name);
      const envPath = join(dir, "envelope.json");
      if (!existsSync(envPath)) continue;
      const text = readFileSync(envPath, "utf8");
      const expected = existsSync(join(dir, "expected.json")) ? (readJson(join(dir, "expected.json")) as Record<string, unknown>) : {};
      const now = typeof expected["now"] === "string" ? new Date(expected["now"]) : undefined;
      out.push({
        name: `${tier}/${name}`,
        dir,
        text,
        envelope: JSON.parse(text) as JsonValue,
        ...(existsSync(join(dir, "context.json")) ? { context: readJson(join(dir, "context.json")) } : {}),
        ...(now ? { now } : {}),
      });
    }
  }
  const upstream = [
    ...walk(join(UPSTREAM_OHP, "examples", "envelopes")),
    ...walk(join(UPSTREAM_OHP, "conformance", "test-vectors")).filter((p) => p.endsWith("envelope.json")),
  ];
  for (const path of upstream) {
    const text = readFileSync(path, "utf8");
    const env = JSON.parse(text) as Record<string, unknown>;
    const issued = typeof env["issuedAt"] === "string" ? new Date(env["issuedAt"]) : undefined;
    out.push({
      name: `upstream/${relative(UPSTREAM_OHP, path)}`,
      dir: join(path, ".."),
      text,
      envelope: env as JsonValue,
      ...(issued && !Number.isNaN(issued.getTime()) ? { now: issued } : {}),
    });
  }
  ohpCache = out;
  return out;
}

export interface OfpSample {
  readonly name: string;
  readonly text: string;
  readonly json: JsonValue;
}

let ofpCache: OfpSample[] | undefined;

/** Every upstream Open Floor / OVON JSON sample (schemas excluded). */
export function ofpSamples(): OfpSample[] {
  if (ofpCache !== undefined) return ofpCache;
  ofpCache = walk(UPSTREAM_OFP)
    .filter((p) => p.endsWith(".json") && !p.endsWith("-schema.json"))
    .map((path) => {
      const text = readFileSync(path, "utf8");
      return { name: relative(UPSTREAM_OFP, path), text, json: JSON.parse(text) as JsonValue };
    });
  return ofpCache;
}

/** Reads a file relative to a vector directory (the `read` of contextOptions), cached. */
export function cachedReader(dir: string): (rel: string) => Promise<string> {
  const cache = new Map<string, string>();
  return async (rel) => {
    const path = join(dir, rel);
    // Mutated paths stay inside the pack (a real runner reads whatever the context names).
    if (!path.startsWith(VECTORS_OHP + "/") && !path.startsWith(UPSTREAM_OHP + "/")) throw new Error(`ENOENT: ${rel}`);
    let text = cache.get(path);
    if (text === undefined) {
      text = readFileSync(path, "utf8");
      cache.set(path, text);
    }
    return text;
  };
}
