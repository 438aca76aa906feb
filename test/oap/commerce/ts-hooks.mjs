// Module resolve hook for worker threads that load the TypeScript sources directly (Node's
// built-in type stripping): a relative `./x.js` import from a .ts file resolves to `./x.ts`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export async function resolve(specifier, context, next) {
  if (specifier.endsWith(".js") && (specifier.startsWith(".") || specifier.startsWith("file:")) && context.parentURL?.endsWith(".ts")) {
    const ts = new URL(specifier, context.parentURL).href.replace(/\.js$/u, ".ts");
    if (existsSync(fileURLToPath(ts))) return next(ts, context);
  }
  return next(specifier, context);
}
