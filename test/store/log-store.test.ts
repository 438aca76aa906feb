/**
 * The transparency log in PostgreSQL: the AsyncLogStore contract (test/trust/tlog/async-log-suite.ts)
 * against PostgresLogStore, plus what only a shared store has to get right: two pools (two nodes)
 * appending at once build ONE linear tree (distinct consecutive indices, every inclusion proof
 * verifying against the final root, every checkpoint either node signed consistent with every
 * later one), an entry submitted to both at once is logged once, logs of different origins are
 * isolated, and a reopened store continues the same tree. Skipped only without PostgreSQL binaries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresLogStore } from "../../src/store/postgres-log-store.js";
import { AsyncTransparencyLog } from "../../src/trust/tlog/async-log.js";
import { openCheckpoint } from "../../src/trust/tlog/checkpoint.js";
import { merkleLeafHash } from "../../src/trust/tlog/hash.js";
import { verifyConsistency, verifyInclusion } from "../../src/trust/tlog/verify.js";
import { asyncLogContract, signerFor, verifierFor } from "../trust/tlog/async-log-suite.js";
import { entries, hex, refMth } from "../trust/tlog/helpers.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "./postgres-server.js";

describe.skipIf(!HAVE_POSTGRES)("the PostgreSQL transparency log", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 60_000);
  afterAll(async () => server?.stop());

  asyncLogContract("PostgreSQL", async (origin, signer) => {
    const store = await PostgresLogStore.open({ connectionString: await server.createDatabase(), origin });
    return new AsyncTransparencyLog(store, { signers: [signer] });
  });

  const ORIGIN = "example.com/shared";
  const node = async (url: string, maxBatch?: number) =>
    new AsyncTransparencyLog(await PostgresLogStore.open({ connectionString: url, origin: ORIGIN, maxConnections: 4 }), { signers: [signerFor(ORIGIN)], ...(maxBatch === undefined ? {} : { maxBatch }) });

  it("two nodes appending at once build one linear tree; every checkpoint is consistent with every later one", async () => {
    const url = await server.createDatabase();
    // Small batches so the two nodes' transactions interleave many times.
    const [a, b] = await Promise.all([node(url, 7), node(url, 5)]);
    const d = entries(400);
    const checkpoints: { size: number; note: string }[] = [];
    const submitted = await Promise.all(
      d.map(async (e, i) => {
        const log = i % 2 === 0 ? a : b;
        const r = await log.submit(e);
        if (i % 25 === 0) checkpoints.push(await log.signedCheckpoint());
        return r;
      }),
    );
    expect(await a.size()).toBe(400);
    expect(await b.size()).toBe(400);
    expect(new Set(submitted.map((r) => r.index)).size).toBe(400);
    const logged = await Promise.all(Array.from({ length: 400 }, (_, i) => a.entry(i)));
    expect(new Set(logged.map(hex))).toEqual(new Set(d.map(hex)));
    const root = await b.root();
    expect(hex(root)).toBe(hex(refMth(logged)));
    expect(hex(await a.root())).toBe(hex(root));
    for (const [i, e] of d.entries()) {
      const index = submitted[i]?.index as number;
      verifyInclusion(index, 400, merkleLeafHash(e), await (i % 2 === 0 ? b : a).inclusionProof(index), root);
    }
    const final = await a.signedCheckpoint();
    expect(await b.signedCheckpoint()).toEqual(final);
    for (const c of checkpoints) {
      const cp = openCheckpoint(c.note, [verifierFor(ORIGIN)], { origin: ORIGIN });
      const fp = openCheckpoint(final.note, [verifierFor(ORIGIN)], { origin: ORIGIN });
      verifyConsistency(cp.size, fp.size, await b.consistencyProof(cp.size, fp.size), cp.rootHash, fp.rootHash);
    }
    await a.store.close();
    await b.store.close();
  }, 60_000);

  it("an entry submitted to both nodes at once is logged once", async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([node(url), node(url)]);
    const e = new TextEncoder().encode("same receipt hash");
    // Ten rounds: each time both nodes race to log the same new entry; one appends, one finds it.
    for (let round = 0; round < 10; round++) {
      const x = new TextEncoder().encode(`same-${round}`);
      const [ra, rb] = await Promise.all([a.submit(x), b.submit(x)]);
      expect(ra.index).toBe(rb.index);
      expect([ra.existed, rb.existed].sort()).toEqual([false, true]);
    }
    await Promise.all([a.submit(e), b.submit(e), a.submit(e), b.submit(e)]);
    expect(await a.size()).toBe(11);
    await a.store.close();
    await b.store.close();
  });

  it("logs of different origins in one database are isolated; a reopened store continues the tree", async () => {
    const url = await server.createDatabase();
    const one = new AsyncTransparencyLog(await PostgresLogStore.open({ connectionString: url, origin: "example.com/one" }));
    const two = new AsyncTransparencyLog(await PostgresLogStore.open({ connectionString: url, origin: "example.com/two" }));
    const d = entries(6);
    for (const e of d.slice(0, 3)) await one.submit(e);
    await two.submit(d[0] as Uint8Array);
    expect(await one.size()).toBe(3);
    expect(await two.size()).toBe(1);
    expect((await two.submit(d[1] as Uint8Array)).index).toBe(1);
    await one.store.close();
    const reopened = new AsyncTransparencyLog(await PostgresLogStore.open({ connectionString: url, origin: "example.com/one" }));
    expect(await reopened.size()).toBe(3);
    for (const e of d.slice(3)) await reopened.submit(e);
    expect(hex(await reopened.root())).toBe(hex(refMth(d)));
    expect(await reopened.findEntry(d[1] as Uint8Array)).toBe(1);
    await reopened.store.close();
    await two.store.close();
  });
});
