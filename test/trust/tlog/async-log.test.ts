/**
 * AsyncTransparencyLog over the in-process stores (memory, SQLite) through InProcessLogStore:
 * the shared contract (./async-log-suite.ts), plus what the wrapper itself promises: appends go
 * through the wrapped TransparencyLog (its own view stays current), a failing store rejects the
 * whole batch and changes nothing, and the HTTP API serves either kind of log.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AsyncTransparencyLog, InProcessLogStore } from "../../../src/trust/tlog/async-log.js";
import { TransparencyLog } from "../../../src/trust/tlog/log.js";
import { SqliteLogStore } from "../../../src/trust/tlog/sqlite-store.js";
import { MemoryLogStore } from "../../../src/trust/tlog/store.js";
import { asyncLogContract, signerFor } from "./async-log-suite.js";
import { entries, hex, refMth } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "aw-async-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

asyncLogContract("an in-process memory log", async (origin, signer) => AsyncTransparencyLog.over(new TransparencyLog(new MemoryLogStore(), { origin, signers: [signer] })));

let n = 0;
asyncLogContract("an in-process SQLite log", async (origin, signer) => {
  const store = new SqliteLogStore(join(dir, `log-${n++}.sqlite`));
  const log = new TransparencyLog(store, { origin, signers: [signer] });
  return new AsyncTransparencyLog(new InProcessLogStore(log, "sqlite"), { signers: [signer] });
});

describe("InProcessLogStore", () => {
  it("appends through the wrapped log, so its synchronous view stays current", async () => {
    const log = new TransparencyLog(new MemoryLogStore(), { origin: "example.com/wrapped", signers: [signerFor("example.com/wrapped")] });
    const shared = AsyncTransparencyLog.over(log);
    const d = entries(9);
    await Promise.all(d.map((e) => shared.submit(e)));
    expect(log.size).toBe(9);
    expect(hex(log.root())).toBe(hex(refMth(d)));
    log.append(new Uint8Array([7]));
    expect(await shared.size()).toBe(10);
    expect((await shared.signedCheckpoint()).note).toBe(log.signedCheckpoint());
  });

  it("a store failure rejects every submit of the batch with a typed error and logs nothing", async () => {
    const log = new TransparencyLog(new MemoryLogStore(), { origin: "example.com/failing" });
    const store = new InProcessLogStore(log);
    const failing = Object.assign(Object.create(store) as InProcessLogStore, {
      exclusive: () => Promise.reject(Object.assign(new Error("disk full"), { code: "ERR_TLOG_STORE" })),
    });
    const shared = new AsyncTransparencyLog(failing);
    const results = await Promise.allSettled(entries(4).map((e) => shared.submit(e)));
    expect(results.every((r) => r.status === "rejected" && (r.reason as { code?: string }).code === "ERR_TLOG_STORE")).toBe(true);
    expect(log.size).toBe(0);
    // The queue is not wedged: the next submit runs (and fails again) rather than hanging.
    await expect(shared.submit(new Uint8Array([1]))).rejects.toMatchObject({ code: "ERR_TLOG_STORE" });
  });

  it("a log without an origin cannot be shared", () => {
    expect(() => new InProcessLogStore(new TransparencyLog(new MemoryLogStore()))).toThrow(expect.objectContaining({ code: "ERR_TLOG_STORE" }));
  });
});

describe("several InProcessLogStore wrappers of one log", () => {
  it("share one write lock: concurrent submits through two wrappers get distinct consecutive indices", async () => {
    const log = new TransparencyLog(new MemoryLogStore(), { origin: "example.com/two-wrappers" });
    const a = AsyncTransparencyLog.over(log, { maxBatch: 3 });
    const b = AsyncTransparencyLog.over(log, { maxBatch: 2 });
    const d = entries(50);
    const results = await Promise.all(d.map((e, i) => (i % 2 === 0 ? a : b).submit(e)));
    expect(new Set(results.map((r) => r.index)).size).toBe(50);
    expect(log.size).toBe(50);
    for (const [i, e] of d.entries()) expect(hex(log.entry(results[i]!.index))).toBe(hex(e));
  });
});
