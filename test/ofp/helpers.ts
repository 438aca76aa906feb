import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { TEST_DIR } from "../helpers/upstream.js";

/** test/upstream/openfloor: byte-exact copies of the upstream repositories' JSON files. */
export const UPSTREAM_OFP = join(TEST_DIR, "upstream", "openfloor");

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

export interface UpstreamFile {
  /** Path relative to test/upstream/openfloor. */
  name: string;
  path: string;
  text: string;
  json: unknown;
}

/** Every upstream JSON file (schemas and samples), sorted by path. */
export function upstreamOfpFiles(): UpstreamFile[] {
  return walk(UPSTREAM_OFP)
    .filter((p) => p.endsWith(".json"))
    .map((path) => {
      const text = readFileSync(path, "utf8");
      return { name: relative(UPSTREAM_OFP, path), path, text, json: JSON.parse(text) as unknown };
    });
}

/** Upstream JSON files that are schemas. */
export function upstreamSchemas(): UpstreamFile[] {
  return upstreamOfpFiles().filter((f) => f.name.endsWith("-schema.json"));
}

/** Upstream JSON files that are samples (everything but the schemas). */
export function upstreamSamples(): UpstreamFile[] {
  return upstreamOfpFiles().filter((f) => !f.name.endsWith("-schema.json"));
}

/** The upstream samples with an `ovon` top-level member. */
export function upstreamOvonEnvelopes(): UpstreamFile[] {
  return upstreamSamples().filter((f) => typeof f.json === "object" && f.json !== null && "ovon" in f.json);
}

/** The upstream samples with an `openFloor` top-level member. */
export function upstreamOfpEnvelopes(): UpstreamFile[] {
  return upstreamSamples().filter((f) => typeof f.json === "object" && f.json !== null && "openFloor" in f.json);
}
