/**
 * §7 rate limits on a cluster: two `agentwire serve` processes on ONE PostgreSQL database host a
 * Tool whose get_forecast allows 4 calls per minute (a tool module, `--oap-tool`). The window is
 * global (PostgresOapRateLimiter): calls on both nodes together spend it, and once it is spent
 * both nodes answer 429 rate_limited with Retry-After; another Principal has a window of its
 * own. A node configured with `"oap": {"rateLimits": "node"}` counts in memory instead.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { didKeyIdentity, envelope, oapHeaders, post, type HttpAnswer } from "../oap/server-helpers.js";
import { HAVE_POSTGRES } from "../store/postgres-server.js";
import { BIN, postgresCluster, serve, weatherToolModule, type Served } from "./cluster.js";

const RPM = 4;

describe.skipIf(!HAVE_POSTGRES || !existsSync(BIN))("§7 rpm counted across two nodes on one PostgreSQL database", () => {
  // Three data directories, the first two nodes started; the third joins with per-node counting.
  const c = postgresCluster("oap-rpm", { count: 3, start: 2, serveArgs: (dir) => ["--no-oap-example", "--oap-tool", weatherToolModule(dir, { id: "weather-tight", actionPatch: { rate_limit: { rpm: RPM, concurrent: 10 } } })] });
  let url: string;
  let n1: Served;
  let n2: Served;
  let cluster: { dataDirs: string[]; config: string };
  let tool: string;
  beforeAll(() => {
    ({ url, cluster } = c);
    [n1, n2] = c.nodes as [Served, Served];
    tool = join(c.dir, "weather-tight.mjs");
  });

  let calls = 0;
  const call = (node: Served, principal: string): Promise<HttpAnswer> => {
    const env = envelope({ idempotency_key: `rpm-${++calls}` }, undefined, principal);
    return post(`${node.url}/oap/invoke`, env, oapHeaders(env));
  };
  const expectRateLimited = (r: HttpAnswer): void => {
    expect(r.status, JSON.stringify(r.body)).toBe(429);
    expect((r.body["error"] as JsonObject)["code"]).toBe("rate_limited");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  };

  it(`${RPM} calls alternating between the nodes are answered; the next one is refused on both nodes`, async () => {
    const p = didKeyIdentity(0xa1).did;
    for (let i = 0; i < RPM; i++) {
      const r = await call(i % 2 === 0 ? n1 : n2, p);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    expectRateLimited(await call(n1, p));
    expectRateLimited(await call(n2, p));
    // Another Principal's window is its own.
    expect((await call(n2, didKeyIdentity(0xa2).did)).status).toBe(200);
  });

  it(`12 calls of one Principal raced over both nodes: exactly ${RPM} answered, the rest 429`, async () => {
    const p = didKeyIdentity(0xa3).did;
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => call(i % 2 === 0 ? n1 : n2, p)));
    expect(rs.filter((r) => r.status === 200)).toHaveLength(RPM);
    for (const r of rs.filter((x) => x.status !== 200)) expectRateLimited(r);
  });

  it('a node with "oap": {"rateLimits": "node"} counts in its own memory: the spent shared window does not refuse it', async () => {
    const p = didKeyIdentity(0xa4).did;
    for (let i = 0; i < RPM; i++) expect((await call(i % 2 === 0 ? n1 : n2, p)).status).toBe(200);
    expectRateLimited(await call(n1, p));
    const config = join(c.dir, "node-local.json");
    const cfg = JSON.parse(readFileSync(cluster.config, "utf8")) as JsonObject;
    writeFileSync(config, JSON.stringify({ ...cfg, oap: { rateLimits: "node" } }));
    const n3 = await serve({ data: cluster.dataDirs[2]!, config, store: url, args: ["--no-oap-example", "--oap-tool", tool] });
    c.nodes.push(n3);
    for (let i = 0; i < RPM; i++) expect((await call(n3, p)).status).toBe(200);
    expectRateLimited(await call(n3, p));
  });
});
