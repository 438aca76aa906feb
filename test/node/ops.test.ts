import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builderInputOf } from "../../src/conformance/world.js";
import { baseEnvelope } from "../../src/conformance/templates.js";
import { buildEnvelope } from "../../src/ohp/builder.js";
import type { NodeLogEvent } from "../../src/ohp/control/node.js";
import { startAgentwireNode } from "../../src/node/node.js";

const dir = mkdtempSync(join(tmpdir(), "agentwire-ops-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("node operations: readiness, Prometheus metrics, W3C trace ids in logs", () => {
  it("serves /readyz and /metrics, and logs the request's traceparent", async () => {
    const logs: NodeLogEvent[] = [];
    const node = await startAgentwireNode({ dataDir: join(dir, "n"), port: 0, grpcPort: false, log: (e) => logs.push(e) });
    try {
      const ready = await fetch(`${node.servers.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, store: true });
      const env = (await buildEnvelope(builderInputOf(baseEnvelope("core")), { anchor: false })).envelope;
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      const res = await fetch(`${node.servers.url}/ohp/v1/transfer`, {
        method: "POST",
        headers: { "content-type": "application/ohp+json", "idempotency-key": String(env["id"]), traceparent },
        body: JSON.stringify(env),
      });
      expect(res.status).toBe(202);
      expect(logs.find((e) => e.event === "verified")?.["trace"]).toBe(traceparent);
      const metrics = await (await fetch(`${node.servers.url}/metrics`)).text();
      expect(metrics).toMatch(/# TYPE agentwire_ohp_envelopes_received_total counter/);
      expect(metrics).toMatch(/agentwire_ohp_envelopes_received_total\{binding="ohp\/https",outcome="accept",reason="",verb="PROPOSE"\} 1/);
      expect(metrics).toMatch(/agentwire_ohp_handoffs\{role="receiver",state="ACCEPTED"\} 1/);
      expect(metrics).toMatch(/agentwire_process_resident_memory_bytes \d+/);
      // The browser inspector is mounted on the node (page + Connect service, loopback only).
      const page = await fetch(`${node.servers.url}/inspector/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toBeTruthy();
    } finally {
      await node.stop();
    }
    expect(logs.at(-1)?.event).toBe("stopped");
  });
});
