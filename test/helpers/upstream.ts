import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const TEST_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = join(TEST_DIR, "..");
export const UPSTREAM_OHP = join(TEST_DIR, "upstream", "ohp");

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** The 10 upstream OHP envelopes: 4 examples + 6 conformance vectors. */
export function upstreamEnvelopes(): { name: string; path: string; json: unknown }[] {
  const examples = walk(join(UPSTREAM_OHP, "examples", "envelopes"));
  const vectors = walk(join(UPSTREAM_OHP, "conformance", "test-vectors")).filter((p) => p.endsWith("envelope.json"));
  return [...examples, ...vectors].map((path) => ({ name: relative(UPSTREAM_OHP, path), path, json: readJson(path) }));
}

/** JSON blocks extracted from the upstream markdown. */
export function extractedBlocks(): { name: string; path: string; json: unknown }[] {
  return walk(join(UPSTREAM_OHP, "_extracted-from-markdown")).map((path) => ({
    name: relative(join(UPSTREAM_OHP, "_extracted-from-markdown"), path),
    path,
    json: readJson(path),
  }));
}
