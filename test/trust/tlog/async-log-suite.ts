/**
 * The contract every AsyncLogStore must meet behind an AsyncTransparencyLog, checked against the
 * naive RFC 9162 reference in ./helpers.ts: roots, inclusion and consistency proofs of every size,
 * submit deduplication (also inside one group-committed batch), concurrent submits getting
 * distinct consecutive indices, signed checkpoints stored once per size, typed errors for sizes
 * and indices beyond the tree. Run by async-log.test.ts (in-process stores) and
 * test/store/log-store.test.ts (PostgreSQL).
 */
import { describe, expect, it } from "vitest";
import { AsyncTransparencyLog } from "../../../src/trust/tlog/async-log.js";
import { openCheckpoint } from "../../../src/trust/tlog/checkpoint.js";
import { merkleLeafHash } from "../../../src/trust/tlog/hash.js";
import { generateKeyPairSync } from "node:crypto";
import { ed25519NoteSigner, ed25519NoteVerifier, type NoteSigner, type NoteVerifier } from "../../../src/trust/tlog/note.js";
import { verifyConsistency, verifyInclusion } from "../../../src/trust/tlog/verify.js";
import { entries, hex, refMth, refPath, refProof } from "./helpers.js";

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

/** Opens a fresh, empty log with `origin` signed by `signer`. */
export type OpenAsyncLog = (origin: string, signer: NoteSigner) => Promise<AsyncTransparencyLog>;

const KEYS = generateKeyPairSync("ed25519");

/** The checkpoint signer of a log named `origin` (one test key). */
export function signerFor(origin: string): NoteSigner {
  return ed25519NoteSigner(origin, KEYS.privateKey);
}

/** The verifier of {@link signerFor}(origin). */
export function verifierFor(origin: string): NoteVerifier {
  return ed25519NoteVerifier(origin, KEYS.publicKey);
}

export function asyncLogContract(name: string, openWith: OpenAsyncLog): void {
  const open = (origin: string) => openWith(origin, signerFor(origin));
  describe(`AsyncTransparencyLog on ${name}`, () => {
    it("RFC 9162 §2.1.1 / §2.1.3.1 / §2.1.4.1: roots and proofs of every size equal the reference", async () => {
      const log = await open("example.com/log-a");
      const d = entries(37);
      for (const e of d) await log.append(e);
      expect(await log.size()).toBe(37);
      for (let n = 0; n <= 37; n++) expect(hex(await log.root(n))).toBe(hex(refMth(d.slice(0, n))));
      for (const n of [1, 2, 7, 16, 37]) {
        for (let m = 0; m < n; m++) expect((await log.inclusionProof(m, n)).map(hex)).toEqual(refPath(m, d.slice(0, n)).map(hex));
        for (let m = 1; m <= n; m++) expect((await log.consistencyProof(m, n)).map(hex)).toEqual(refProof(m, d.slice(0, n)).map(hex));
      }
      await log.store.close();
    });

    it("concurrent submits get distinct consecutive indices; duplicates (also within one batch) are logged once", async () => {
      const log = await open("example.com/log-b");
      const d = entries(120);
      const results = await Promise.all([...d, d[3] as Uint8Array, d[3] as Uint8Array].map((e) => log.submit(e)));
      expect(await log.size()).toBe(120);
      const indices = results.slice(0, 120).map((r) => r.index);
      expect(new Set(indices).size).toBe(120);
      expect([...indices].sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i));
      expect(results[120]).toMatchObject({ index: results[3]?.index, existed: true });
      expect(results[121]).toMatchObject({ index: results[3]?.index, existed: true });
      for (const r of results) expect(r.size).toBeGreaterThan(r.index);
      const again = await log.submit(d[7] as Uint8Array);
      expect(again).toMatchObject({ index: results[7]?.index, existed: true, size: 120 });
      expect(await log.findEntry(d[7] as Uint8Array)).toBe(results[7]?.index);
      expect(await log.findEntry(new TextEncoder().encode("absent"))).toBeUndefined();
      // append() logs the same bytes again (privileged anchors rely on it).
      expect(await log.append(d[7] as Uint8Array)).toBe(120);
      const logged = await Promise.all(Array.from({ length: 121 }, (_, i) => log.entry(i)));
      const root = await log.root();
      expect(hex(root)).toBe(hex(refMth(logged)));
      for (const [i, e] of d.entries()) verifyInclusion(results[i]?.index as number, 121, merkleLeafHash(e), await log.inclusionProof(results[i]?.index as number), root);
      await log.store.close();
    });

    it("signed checkpoints: one stored note per size, verifiable, consistent with later ones", async () => {
      const log = await open("example.com/log-c");
      const verifier = verifierFor("example.com/log-c");
      for (const e of entries(5)) await log.submit(e);
      const first = await log.signedCheckpoint();
      expect(first.size).toBe(5);
      expect(await log.signedCheckpoint()).toEqual(first);
      expect(await log.store.getCheckpoint(5)).toEqual(first);
      const c1 = openCheckpoint(first.note, [verifier], { origin: "example.com/log-c" });
      for (const e of entries(13).slice(5)) await log.submit(e);
      const second = await log.signedCheckpoint();
      const c2 = openCheckpoint(second.note, [verifier], { origin: "example.com/log-c" });
      expect(c2.size).toBe(13);
      expect((await log.store.getCheckpoint())?.size).toBe(13);
      verifyConsistency(c1.size, c2.size, await log.consistencyProof(c1.size, c2.size), c1.rootHash, c2.rootHash);
      await log.store.close();
    });

    it("sizes and indices beyond the tree are typed errors; an empty log has the empty root", async () => {
      const log = await open("example.com/log-d");
      expect(hex(await log.root())).toBe(hex(refMth([])));
      expect(await code(log.entry(0))).toBe("ERR_TLOG_INDEX_OUT_OF_RANGE");
      expect(await code(log.inclusionProof(0))).toBe("ERR_TLOG_INDEX_OUT_OF_RANGE");
      await log.submit(new Uint8Array([1]));
      expect(await code(log.root(2))).toBe("ERR_TLOG_SIZE_OUT_OF_RANGE");
      expect(await code(log.inclusionProof(1, 1))).toBe("ERR_TLOG_INDEX_OUT_OF_RANGE");
      expect(await code(log.consistencyProof(0, 1))).toBe("ERR_TLOG_SIZE_OUT_OF_RANGE");
      expect(await code(log.inclusionProof(-1))).toBe("ERR_TLOG_INDEX_OUT_OF_RANGE");
      expect(await code(log.submit("x" as unknown as Uint8Array))).toBe("ERR_TLOG_HASH_INVALID");
      await log.store.close();
      expect(await code(log.size())).toBe("ERR_TLOG_STORE");
    });
  });
}
