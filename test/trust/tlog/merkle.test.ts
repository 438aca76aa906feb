import fc from "fast-check";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  EMPTY_ROOT_HASH,
  MemoryLogStore,
  TransparencyLog,
  merkleLeafHash,
  merkleNodeHash,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from "../../../src/trust/tlog/index.js";
import { codeOf, entries, flipBit, fromB64, fromHex, hex, probes, readJson, refMth, refPath, refProof, VECTORS } from "./helpers.js";

const TD = join(VECTORS, "transparency-dev-merkle");

interface Constants {
  leafInputsHex: string[];
  nodeHashesHex: string[][];
  rootHashesHex: string[];
}

function logOf(data: readonly Uint8Array[]): TransparencyLog {
  const log = new TransparencyLog(new MemoryLogStore());
  log.appendMany(data);
  return log;
}

describe("RFC 9162 §2.1.1 Merkle Tree Hash", () => {
  const c = readJson<Constants>(join(TD, "constants.json"));
  const leaves = c.leafInputsHex.map(fromHex);

  it("RFC 9162 §2.1.1 MTH({}) is SHA-256 of the empty string", () => {
    expect(hex(EMPTY_ROOT_HASH)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex(new TransparencyLog(new MemoryLogStore()).root())).toBe(c.rootHashesHex[0]);
  });

  it("RFC 9162 §2.1.1 leaf and node hashes match the transparency-dev reference tree (8 leaves, every level)", () => {
    c.nodeHashesHex[0]!.forEach((h, i) => expect(hex(merkleLeafHash(leaves[i]!))).toBe(h));
    const log = logOf(leaves);
    c.nodeHashesHex.forEach((level, l) => level.forEach((h, i) => expect(hex(log.node(l, i))).toBe(h)));
    expect(hex(merkleNodeHash(fromHex(c.nodeHashesHex[0]![0]!), fromHex(c.nodeHashesHex[0]![1]!)))).toBe(c.nodeHashesHex[1]![0]);
  });

  it("RFC 9162 §2.1.1 roots of every prefix 0..8 match the transparency-dev RootHashes", () => {
    const log = new TransparencyLog(new MemoryLogStore());
    const roots = [hex(log.root())];
    for (const leaf of leaves) {
      log.append(leaf);
      roots.push(hex(log.root()));
    }
    expect(roots).toEqual(c.rootHashesHex);
    // Older sizes are recomputed from stored subtrees.
    c.rootHashesHex.forEach((h, n) => expect(hex(log.root(n))).toBe(h));
  });

  it("RFC 9162 §2.1.1 MTH for n = 0..130 equals the naive recursive definition", () => {
    const data = entries(130);
    const log = new TransparencyLog(new MemoryLogStore());
    for (let n = 0; n <= data.length; n++) {
      expect(hex(log.root()), `n=${n}`).toBe(hex(refMth(data.slice(0, n))));
      if (n < data.length) log.append(data[n]!);
    }
    for (let n = 0; n <= data.length; n++) expect(hex(log.root(n))).toBe(hex(refMth(data.slice(0, n))));
  });
});

describe("RFC 9162 §2.1.3 / §2.1.4 proofs against the naive reference", () => {
  const N = 40;
  const data = entries(N);
  const log = logOf(data);

  it("RFC 9162 §2.1.3.1 PATH equals the reference and §2.1.3.2 verifies, for every m < n <= 40", () => {
    for (let n = 1; n <= N; n++) {
      const root = refMth(data.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = log.inclusionProof(m, n);
        expect(proof.map(hex)).toEqual(refPath(m, data.slice(0, n)).map(hex));
        verifyInclusion(m, n, merkleLeafHash(data[m]!), proof, root);
      }
    }
  });

  it("RFC 9162 §2.1.4.1 PROOF equals the reference and §2.1.4.2 verifies, for every 0 < m <= n <= 40", () => {
    for (let n = 1; n <= N; n++) {
      const root2 = refMth(data.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const proof = log.consistencyProof(m, n);
        expect(proof.map(hex)).toEqual(refProof(m, data.slice(0, n)).map(hex));
        verifyConsistency(m, n, proof, refMth(data.slice(0, m)), root2);
      }
    }
  });

  it("RFC 9162 §2.1.3.1 proof generation rejects an index beyond the size and a size beyond the log", () => {
    expect(codeOf(() => log.inclusionProof(5, 5))).toBe("ERR_TLOG_INDEX_OUT_OF_RANGE");
    expect(codeOf(() => log.inclusionProof(0, N + 1))).toBe("ERR_TLOG_SIZE_OUT_OF_RANGE");
    expect(codeOf(() => log.consistencyProof(0, 3))).toBe("ERR_TLOG_SIZE_OUT_OF_RANGE");
    expect(codeOf(() => log.consistencyProof(4, 3))).toBe("ERR_TLOG_SIZE_OUT_OF_RANGE");
    expect(codeOf(() => log.consistencyProof(1, N + 1))).toBe("ERR_TLOG_SIZE_OUT_OF_RANGE");
  });
});

describe("RFC 9162 §2.1.3.2 / §2.1.4.2 verifiers (fast-check properties)", () => {
  const MAX = 700;
  const data = entries(MAX);
  const log = logOf(data);
  const leafHashes = data.map(merkleLeafHash);

  const sizeIndex = fc.integer({ min: 1, max: MAX }).chain((size) => fc.record({ size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }));

  it("RFC 9162 §2.1.3 every inclusion proof verifies; any single flipped bit, wrong index or wrong size fails", () => {
    fc.assert(
      fc.property(sizeIndex, fc.nat(), fc.nat(255), fc.nat(MAX), ({ size, index }, which, bit, other) => {
        const root = log.root(size);
        const proof = log.inclusionProof(index, size);
        expect(hex(root)).toBe(hex(refMth(data.slice(0, size))));
        verifyInclusion(index, size, leafHashes[index]!, proof, root);
        if (proof.length > 0) {
          const bad = flipBit(proof, which % proof.length, bit);
          expect(codeOf(() => verifyInclusion(index, size, leafHashes[index]!, bad, root))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
        }
        const flippedLeaf = flipBit([leafHashes[index]!], 0, bit)[0]!;
        expect(codeOf(() => verifyInclusion(index, size, flippedLeaf, proof, root))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
        const wrongIndex = other % size;
        if (wrongIndex !== index) {
          expect(["ERR_TLOG_PROOF_ROOT_MISMATCH", "ERR_TLOG_PROOF_MALFORMED"]).toContain(
            codeOf(() => verifyInclusion(wrongIndex, size, leafHashes[index]!, proof, root)),
          );
        }
        const wrongSize = 1 + (other % MAX);
        if (wrongSize !== size) {
          const code = codeOf(() => verifyInclusion(index, wrongSize, leafHashes[index]!, proof, log.root(wrongSize)));
          expect(["ERR_TLOG_PROOF_ROOT_MISMATCH", "ERR_TLOG_PROOF_MALFORMED", "ERR_TLOG_INDEX_OUT_OF_RANGE"]).toContain(code);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("RFC 9162 §2.1.4 every consistency proof verifies; any single flipped bit or wrong size fails", () => {
    const sizes = fc.integer({ min: 1, max: MAX }).chain((second) => fc.record({ second: fc.constant(second), first: fc.integer({ min: 1, max: second }) }));
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(255), fc.integer({ min: 1, max: MAX }), ({ first, second }, which, bit, other) => {
        const r1 = log.root(first);
        const r2 = log.root(second);
        const proof = log.consistencyProof(first, second);
        verifyConsistency(first, second, proof, r1, r2);
        if (proof.length > 0) {
          const bad = flipBit(proof, which % proof.length, bit);
          expect(codeOf(() => verifyConsistency(first, second, bad, r1, r2))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
        }
        expect(codeOf(() => verifyConsistency(first, second, proof, flipBit([r1], 0, bit)[0]!, r2))).toMatch(/^ERR_TLOG_PROOF_(ROOT_MISMATCH)$/);
        if (other !== first && other <= second) {
          const code = codeOf(() => verifyConsistency(other, second, proof, log.root(other), r2));
          expect(["ERR_TLOG_PROOF_ROOT_MISMATCH", "ERR_TLOG_PROOF_MALFORMED"]).toContain(code);
        }
        if (other !== second && other >= first) {
          const code = codeOf(() => verifyConsistency(first, other, proof, r1, log.root(other)));
          expect(["ERR_TLOG_PROOF_ROOT_MISMATCH", "ERR_TLOG_PROOF_MALFORMED"]).toContain(code);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("RFC 9162 §2.1.3.2 a proof with an inserted or removed hash is malformed; hashes must be 32 bytes", () => {
    const proof = log.inclusionProof(5, 100);
    const root = log.root(100);
    expect(codeOf(() => verifyInclusion(5, 100, leafHashes[5]!, [...proof, proof[0]!], root))).toBe("ERR_TLOG_PROOF_MALFORMED");
    expect(codeOf(() => verifyInclusion(5, 100, leafHashes[5]!, proof.slice(1), root))).toBe("ERR_TLOG_PROOF_MALFORMED");
    expect(codeOf(() => verifyInclusion(5, 100, leafHashes[5]!, [proof[0]!.subarray(1), ...proof.slice(1)], root))).toBe("ERR_TLOG_PROOF_MALFORMED");
    expect(codeOf(() => verifyInclusion(100, 100, leafHashes[5]!, proof, root))).toBe("ERR_TLOG_INDEX_OUT_OF_RANGE");
    expect(codeOf(() => rootFromInclusionProof(5, 100, new Uint8Array(31), proof))).toBe("ERR_TLOG_HASH_INVALID");
  });
});

describe("transparency-dev/merkle probe files (RFC 6962 / RFC 9162 verification)", () => {
  interface InclusionProbe {
    leafIdx: number;
    treeSize: number;
    root: string;
    leafHash: string;
    proof: string[] | null;
    desc: string;
    wantErr: boolean;
  }
  interface ConsistencyProbe {
    size1: number;
    size2: number;
    root1: string;
    root2: string;
    proof: string[] | null;
    desc: string;
    wantErr: boolean;
  }
  const inclusion = probes<InclusionProbe>(join(TD, "inclusion"));
  const consistency = probes<ConsistencyProbe>(join(TD, "consistency"));

  it("loads the probe sets", () => {
    expect(inclusion.length).toBeGreaterThan(90);
    expect(consistency.length).toBeGreaterThan(90);
  });

  it.each(inclusion.map((p) => [p.name, p.probe] as const))("RFC 9162 §2.1.3.2 inclusion probe %s", (_name, p) => {
    const code = codeOf(() => verifyInclusion(p.leafIdx, p.treeSize, fromB64(p.leafHash), (p.proof ?? []).map(fromB64), fromB64(p.root)));
    if (p.wantErr) expect(code).toMatch(/^ERR_TLOG_/);
    else expect(code).toBe("no error");
  });

  it.each(consistency.map((p) => [p.name, p.probe] as const))("RFC 9162 §2.1.4.2 consistency probe %s", (_name, p) => {
    const code = codeOf(() => verifyConsistency(p.size1, p.size2, (p.proof ?? []).map(fromB64), fromB64(p.root1), fromB64(p.root2)));
    if (p.wantErr) expect(code).toMatch(/^ERR_TLOG_/);
    else expect(code).toBe("no error");
  });

  it("RFC 9162 §2.1.3.1 our generated proofs equal the happy-path probes for the reference tree", () => {
    const c = readJson<Constants>(join(TD, "constants.json"));
    const log = logOf(c.leafInputsHex.map(fromHex));
    for (const { probe } of inclusion.filter((p) => p.probe.desc === "happy path" && p.probe.treeSize <= 8)) {
      expect(log.inclusionProof(probe.leafIdx, probe.treeSize).map((h) => Buffer.from(h).toString("base64"))).toEqual(probe.proof ?? []);
    }
    for (const { probe } of consistency.filter((p) => p.probe.desc === "happy path" && p.probe.size2 <= 8 && p.probe.size1 > 0)) {
      expect(log.consistencyProof(probe.size1, probe.size2).map((h) => Buffer.from(h).toString("base64"))).toEqual(probe.proof ?? []);
    }
  });
});
