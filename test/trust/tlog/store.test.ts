import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  MemoryLogStore,
  SqliteLogStore,
  TransparencyLog,
  ed25519NoteSigner,
  merkleLeafHash,
  parseVerifierKey,
  verifierKeyOf,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
  type LogStore,
} from "../../../src/trust/tlog/index.js";
import { codeOf, entries, hex, refMth } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "agentwire-tlog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seed = new Uint8Array(32).fill(9);
const ORIGIN = "tlog.test/store";

describe("LogStore implementations", () => {
  const data = entries(333);

  it.each([
    ["memory", () => new MemoryLogStore()],
    ["sqlite :memory:", () => new SqliteLogStore(":memory:")],
    ["sqlite file", () => new SqliteLogStore(join(dir, "same.db"))],
  ] as const)("RFC 9162 §2.1 %s store: roots, proofs and entries agree with the reference", (_name, make) => {
    const store: LogStore = make();
    const log = new TransparencyLog(store);
    // Mixed single appends and batches.
    log.append(data[0]!);
    log.appendMany(data.slice(1, 100));
    for (const e of data.slice(100, 150)) log.append(e);
    log.appendMany(data.slice(150));
    expect(log.size).toBe(333);
    expect(hex(log.root())).toBe(hex(refMth(data)));
    for (const n of [1, 2, 7, 64, 100, 257, 333]) expect(hex(log.root(n))).toBe(hex(refMth(data.slice(0, n))));
    for (const [m, n] of [[0, 333], [332, 333], [128, 200], [16, 17]] as const) {
      verifyInclusion(m, n, merkleLeafHash(data[m]!), log.inclusionProof(m, n), log.root(n));
    }
    verifyConsistency(100, 333, log.consistencyProof(100, 333), log.root(100), log.root());
    expect(log.entry(42)).toEqual(data[42]);
    expect(log.findEntry(data[200]!)).toBe(200);
    expect(log.findEntry(new Uint8Array([1, 2, 3]))).toBeUndefined();
    expect(log.submit(data[5]!)).toEqual({ index: 5, existed: true });
    expect(codeOf(() => log.entry(333))).toBe("ERR_TLOG_INDEX_OUT_OF_RANGE");
    store.close();
    expect(codeOf(() => store.size())).toBe("ERR_TLOG_STORE");
  });

  it("SQLite persistence: reopening the DB file continues the same tree (restart safety)", () => {
    const path = join(dir, "restart.db");
    const signer = ed25519NoteSigner(ORIGIN, seed);
    let store = new SqliteLogStore(path);
    let log = new TransparencyLog(store, { origin: ORIGIN, signers: [signer] });
    log.appendMany(data.slice(0, 77));
    const note77 = log.signedCheckpoint();
    const root77 = log.root();
    store.close();

    // Reopen a few times, appending across odd sizes so the frontier has to be rebuilt.
    for (const [from, to] of [[77, 78], [78, 200], [200, 333]] as const) {
      store = new SqliteLogStore(path);
      log = new TransparencyLog(store, { origin: ORIGIN, signers: [signer] });
      expect(log.size).toBe(from);
      expect(hex(log.root())).toBe(hex(refMth(data.slice(0, from))));
      for (const e of data.slice(from, to)) log.append(e);
      store.close();
    }
    store = new SqliteLogStore(path);
    log = new TransparencyLog(store, { signers: [signer] });
    expect(log.origin).toBe(ORIGIN);
    expect(log.size).toBe(333);
    expect(hex(log.root())).toBe(hex(refMth(data)));
    expect(store.getCheckpoint(77)?.note).toBe(note77);
    // The old checkpoint is consistent with the new tree.
    const verifier = parseVerifierKey(verifierKeyOf(ORIGIN, seed));
    const old = openCheckpoint(note77, [verifier], { origin: ORIGIN });
    expect(old.rootHash).toEqual(root77);
    const latest = openCheckpoint(log.signedCheckpoint(), [verifier]);
    verifyConsistency(old.size, latest.size, log.consistencyProof(old.size, latest.size), old.rootHash, latest.rootHash);
    expect(store.getCheckpoint()?.size).toBe(333);
    store.close();
  });

  it("SQLite persistence: a store of another origin is refused with ERR_TLOG_STORE", () => {
    const path = join(dir, "origin.db");
    const store = new SqliteLogStore(path);
    new TransparencyLog(store, { origin: "a.example/log" });
    store.close();
    const again = new SqliteLogStore(path);
    expect(codeOf(() => new TransparencyLog(again, { origin: "b.example/log" }))).toBe("ERR_TLOG_STORE");
    again.close();
  });

  it("SQLite persistence: a failed batch leaves the tree unchanged", () => {
    const store = new SqliteLogStore(":memory:");
    const log = new TransparencyLog(store);
    log.appendMany(data.slice(0, 10));
    const root = log.root();
    // Not a byte array: the batch is rejected before anything is written.
    expect(codeOf(() => log.appendMany([data[10]!, "x" as unknown as Uint8Array]))).toBe("ERR_TLOG_HASH_INVALID");
    expect(log.size).toBe(10);
    expect(store.size()).toBe(10);
    expect(log.root()).toEqual(root);
    store.close();
  });

  it("SQLite persistence: an unreadable path fails with ERR_TLOG_STORE", () => {
    expect(codeOf(() => new SqliteLogStore(join(dir, "no", "such", "dir", "x.db")))).toBe("ERR_TLOG_STORE");
  });
});
