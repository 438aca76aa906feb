import { readFileSync } from "node:fs";
import { runCli } from "../../src/cli/main.js";
import { REPO_DIR } from "./upstream.js";

/** Runs the CLI in-process with an in-memory file overlay (reads fall back to the real disk). */
export async function cli(args: string[], files: Record<string, string> = {}) {
  let out = "";
  let err = "";
  const written: Record<string, { text: string; mode: number | undefined }> = {};
  const code = await runCli(args, {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readFile: async (p) => {
      if (p in written) return written[p]!.text;
      if (p in files) return files[p]!;
      return readFileSync(p, "utf8");
    },
    writeFile: async (p, text, options = {}) => {
      if (options.exclusive && (p in written || p in files)) throw Object.assign(new Error(`EEXIST: ${p}`), { code: "EEXIST" });
      written[p] = { text, mode: options.mode };
    },
    cwd: REPO_DIR,
  });
  return { code, out, err, written };
}
