#!/usr/bin/env node
// Builds the inspector page (src/inspector/web/) into dist/inspector/: index.html and
// inspector.css copied, inspector.js bundled by esbuild (one ES module, minified, for current
// browsers) from web/main.ts with its dependencies: @connectrpc/connect-web, the generated
// gen/agentwire/inspector/v1 messages, and the project's own HPKE + CBOR code for opening
// sealed blocks in the page. `node:crypto` (the HPKE code's `webcrypto`) and `Buffer` (base64url)
// are replaced by the small shims in web/shims/. Deterministic: the same sources give the same bytes.
//
//   node src/inspector/build.mjs [OUTDIR]     (default dist/inspector; run by `npm run build`)
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const web = join(here, "web");

/** Builds the page into `outdir`; returns the files written. */
export async function buildInspector(options = {}) {
  const outdir = resolve(options.outdir ?? join(root, "dist", "inspector"));
  const { build } = await import("esbuild");
  await mkdir(outdir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [join(web, "main.ts")],
    outfile: join(outdir, "inspector.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome120", "firefox121", "safari17"],
    minify: options.minify ?? true,
    legalComments: "none",
    charset: "utf8",
    alias: { "node:crypto": join(web, "shims", "node-crypto.js") },
    inject: [join(web, "shims", "buffer.js")],
    logLevel: "warning",
  });
  await copyFile(join(web, "index.html"), join(outdir, "index.html"));
  await copyFile(join(web, "inspector.css"), join(outdir, "inspector.css"));
  return ["index.html", "inspector.css", "inspector.js"].map((f) => join(outdir, f));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildInspector(process.argv[2] === undefined ? {} : { outdir: process.argv[2] });
  console.log(`inspector page: ${files.join(", ")}`);
}
