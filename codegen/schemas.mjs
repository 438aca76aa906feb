// Shared by codegen and tests: finds the JSON Schemas under schemas/ and configures ajv the one
// way agentwire compiles them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { _ } from "ajv";

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const addFormats = addFormatsModule.default ?? addFormatsModule;

/** Every `*.schema.json` under schemas/, as {group, name, path, schema}, sorted by path. */
export function schemaFiles(root) {
  const base = join(root, "schemas");
  const out = [];
  const walk = (dir) => {
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".schema.json")) {
        const rel = relative(base, p);
        const group = rel.split("/").slice(0, -1).join("/");
        out.push({ group, name: n.replace(/\.schema\.json$/, ""), path: p, schema: JSON.parse(readFileSync(p, "utf8")) });
      }
    }
  };
  walk(base);
  return out;
}

/**
 * ajv for JSON Schema 2020-12 with formats. Strict mode stays on except strictRequired and
 * strictTypes: upstream OHP schemas write tier conditionals as `then: {required: [...]}`
 * without repeating `properties`/`type` (valid 2020-12 that ajv's extra strictness flags).
 */
export function ajvForCodegen() {
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    strictTypes: false,
    allErrors: true,
    code: { source: true, esm: true, lines: true },
  });
  addFormats(ajv);
  // Upstream Open Floor / OVON schemas use two keywords JSON Schema does not define: `ref` (a typo
  // for `$ref` pointing at github.com URLs, so upstream never validates nested dialog events and
  // manifests) and `alternates` (a property definition misplaced inside the `tokens` schema). We
  // keep the schemas true to upstream, so both stay annotations without validation effect.
  ajv.addVocabulary(UPSTREAM_ANNOTATION_KEYWORDS);
  // Standalone ESM modules import the format checkers instead of require()-ing them.
  ajv.opts.code.formats = _`fullFormats`;
  return ajv;
}

/** Non-standard keywords of upstream OFP/OVON schemas that ajv accepts as plain annotations. */
export const UPSTREAM_ANNOTATION_KEYWORDS = ["ref", "alternates"];

/** The import line every generated validator module starts with. */
export const FORMATS_IMPORT = 'import { fullFormats } from "ajv-formats/dist/formats.js";';
