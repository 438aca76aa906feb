/**
 * Runs the upstream OAP conformance suite (test/upstream/oap/oap-spec/test-suite, runner.js,
 * CommonJS, ajv from our node_modules) against a target with OAP_TARGET and OAP_REPORT=json.
 *
 * The probes are stored as `*.test.js.upstream` so that vitest does not collect them; this
 * helper lays the suite out in a temporary directory under the upstream names, next to the
 * schemas and the reference modules four probes load in-process, exactly as in the upstream
 * repository.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UPSTREAM_OAP } from "./helpers.js";

export interface SuiteResult {
  readonly name: string;
  readonly category: string;
  readonly passed: boolean;
  readonly reason: string | null;
  readonly file?: string;
}

export interface SuiteReport {
  readonly suite: string;
  readonly suite_version: string;
  readonly target: string;
  readonly summary: { readonly total: number; readonly passed: number; readonly failed: number };
  readonly results: readonly SuiteResult[];
  readonly exitCode: number;
}

function restoreNames(dir: string): void {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) restoreNames(p);
    else if (n.endsWith(".test.js.upstream")) renameSync(p, join(dir, n.slice(0, -".upstream".length)));
  }
}

/** Lays the suite out in a temporary directory; returns its test-suite path and a cleanup. */
export function materializeSuite(): { dir: string; suite: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "oap-suite-"));
  for (const sub of ["test-suite", "schemas/v1.0", "reference/aht", "reference/coordinator", "reference/ring-detection"]) {
    cpSync(join(UPSTREAM_OAP, sub), join(dir, sub), { recursive: true });
  }
  restoreNames(join(dir, "test-suite"));
  return { dir, suite: join(dir, "test-suite"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `node runner.js` against `target` and parses the JSON report. */
export async function runUpstreamSuite(target: string, suiteDir: string, only?: "schema" | "behavior" | "charter"): Promise<SuiteReport> {
  const args = ["runner.js", ...(only === undefined ? [] : ["--only", only])];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      {
        cwd: suiteDir,
        env: { ...process.env, OAP_TARGET: target, OAP_REPORT: "json", NODE_PATH: join(process.cwd(), "node_modules") },
        maxBuffer: 64 << 20,
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        try {
          const start = stdout.indexOf("{");
          resolve({ ...(JSON.parse(stdout.slice(start)) as Omit<SuiteReport, "exitCode">), exitCode: code });
        } catch {
          reject(new Error(`runner.js exited ${code}: ${stderr || stdout}`));
        }
      },
    );
  });
}
