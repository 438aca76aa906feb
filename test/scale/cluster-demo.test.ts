/**
 * `agentwire demo cluster` (src/demo/cluster.ts), the two-node script: a throwaway
 * PostgreSQL from Debian's binaries, two `agentwire serve` processes on it, and the checks it
 * prints — a replayed envelope rejected by the other node, a task created on one node served by
 * the other, one linear receipt chain under concurrent invocations on both, one transparency log.
 * Run in process against the built CLI (the command spawns dist's bin.js for its nodes).
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { demoCommand } from "../../src/cli/demo.js";
import { runClusterDemo } from "../../src/demo/cluster.js";
import { HAVE_POSTGRES } from "../store/postgres-server.js";
import { BIN } from "./cluster.js";

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("agentwire demo cluster", () => {
  it("starts PostgreSQL and two nodes, and every cross-node check passes", async () => {
    let out = "";
    const report = await runClusterDemo({ bin: BIN, log: (l) => (out += l + "\n") });
    expect(out).toMatch(/ok {3}OHP replay across nodes: .*→ REJECT \(.*already received/);
    expect(out).toMatch(/ok {3}OAP task across nodes: .*polled on node 2 → completed; the same request replayed on node 2 → 409/);
    expect(out).toMatch(/ok {3}OAP receipt chain: 24 invocations.*24 × 200; 25 receipts .*seq 1\.\.25, signatures verified, 25 anchors verified/);
    expect(out).toMatch(/ok {3}one transparency log: .*same signed checkpoint \(size 25\)/);
    expect(out).not.toMatch(/^FAIL/m);
    expect(report.steps.map((x) => x.name)).toEqual(["PostgreSQL", "two nodes", "OHP replay across nodes", "OAP task across nodes", "OAP receipt chain", "one transparency log"]);
    expect(report.ok).toBe(true);
  }, 120_000);

  it("a --store that is not a PostgreSQL URL is a usage error", async () => {
    await expect(demoCommand.run(["cluster", "--store", "sqlite:x"], { stdout: () => undefined, stderr: () => undefined } as never)).rejects.toThrow(/postgres:\/\//);
  });
});
