/**
 * OHP §7.1 against a real SIP stack: SIPp (Debian `sip-tester`, installed by .ci/run) runs
 * sipp-uac-propose.xml as UAC against our endpoint on 127.0.0.1. Skipped only when `sipp` is not
 * on PATH.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { JsonObject } from "../../../../src/json/types.js";
import { SipInfoEndpoint } from "../../../../src/ohp/bindings/sip-info/endpoint.js";
import { envelopeCbor } from "../../../../src/ohp/surface.js";
import { readJson, UPSTREAM_OHP } from "../../../helpers/upstream.js";
import { acceptingHandler, SAFETY_MS } from "./helpers.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const SCENARIO = join(HERE, "sipp-uac-propose.xml");
const VECTOR = readJson(join(UPSTREAM_OHP, "conformance", "test-vectors", "core", "01-minimal-valid", "envelope.json")) as JsonObject;
const HAVE_SIPP = spawnSync("sh", ["-c", "command -v sipp"]).status === 0;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The bytes the scenario's INFO body expands to (SIPp turns each \xNN into one byte). */
function scenarioBody(): Uint8Array {
  const xml = readFileSync(SCENARIO, "utf8");
  const m = /\n\s*((?:\\x[0-9A-F]{2})+)\]\]>/.exec(xml);
  if (m === null) throw new Error("no \\xNN body in the scenario");
  return new Uint8Array((m[1] as string).match(/\\x([0-9A-F]{2})/g)!.map((e) => parseInt(e.slice(2), 16)));
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("latin1")));
    child.stderr.on("data", (d: Buffer) => (out += d.toString("latin1")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("OHP §7.1 ohp/sip-info interop with a real SIP UAC (SIPp)", () => {
  it("§7.1: the scenario's embedded INFO body is exactly the canonical CBOR of the Core vector", () => {
    expect(scenarioBody()).toEqual(envelopeCbor(VECTOR));
  });

  it.skipIf(!HAVE_SIPP)(
    "§7.1: sipp sends INVITE/ACK and an application/ohp+cbor INFO; we answer 200, send the ACCEPT as a new INFO, sipp answers 200 and hangs up",
    async () => {
      const { handler, seen } = acceptingHandler();
      const errors: unknown[] = [];
      const ep = await SipInfoEndpoint.listen({ handler, onError: (e) => errors.push(e) });
      cleanups.push(() => ep.close());
      // Run from a scratch directory: SIPp writes its logs next to the scenario file.
      const dir = mkdtempSync(join(tmpdir(), "agentwire-sipp-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const scenario = join(dir, "uac.xml");
      copyFileSync(SCENARIO, scenario);
      const args = [
        `127.0.0.1:${ep.address.port}`,
        ["-sf", scenario],
        ["-i", "127.0.0.1"],
        ["-s", "ohp"],
        ["-t", "u1"],
        ["-m", "1"],
        ["-timeout", "20s"],
        "-timeout_error",
        "-trace_err",
        "-nostdin",
      ].flat();
      const { code, out } = await run("sipp", args, dir);
      const logs = readdirSync(dir)
        .filter((f) => f.endsWith(".log") && existsSync(join(dir, f)))
        .map((f) => `--- ${f}\n${readFileSync(join(dir, f), "latin1")}`)
        .join("\n");
      expect(code, `sipp exited ${code}\n${out.slice(-3000)}\n${logs}`).toBe(0);

      expect(seen).toHaveLength(1);
      expect(seen[0]!.envelope).toEqual(VECTOR);
      expect(seen[0]!.meta).toMatchObject({
        binding: "ohp/sip-info",
        expected: { verb: "PROPOSE", tier: "core" },
        byteLength: envelopeCbor(VECTOR).length,
      });
      expect(seen[0]!.meta.peer).toMatch(/^sip:sipp@127\.0\.0\.1:\d+$/);
      expect(seen[0]!.meta.sipCallId).toMatch(/^1-\d+@127\.0\.0\.1$/);
      expect(ep.dialogs).toEqual([]); // sipp's BYE ended the dialog
      expect(errors).toEqual([]);
    },
    3 * SAFETY_MS,
  );
});
