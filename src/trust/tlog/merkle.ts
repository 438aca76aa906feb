/**
 * RFC 9162 §2.1 Merkle tree computations over stored complete subtrees.
 *
 * A {@link NodeReader} returns the hash of any *complete* subtree: level `k`, index `i` covers
 * leaves `[i·2^k, (i+1)·2^k)`; level 0 is the leaf hash. Every subtree that RFC 9162's MTH,
 * PATH and PROOF recurse into starts at a multiple of the largest power of two not above its
 * size, so its MTH is the right fold of the complete subtrees of its binary decomposition
 * ({@link rangeRoot}). With those reads, an inclusion or consistency proof for any tree size
 * costs O(log n) node reads (one ragged right edge of at most log₂ n blocks, plus one complete
 * sibling per level), as tlog tiles do.
 *
 * @module
 */
import { TlogError } from "./errors.js";
import { EMPTY_ROOT_HASH, merkleNodeHash } from "./hash.js";

/** Read access to the hashes of complete subtrees. */
export interface NodeReader {
  /** Hash of the complete subtree at `level` with index `index` (level 0: the leaf hash). */
  node(level: number, index: number): Uint8Array;
}

/** Largest power of two strictly less than `n` (n >= 2): the split point k of RFC 9162 §2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2(powerOfTwo: number): number {
  return Math.round(Math.log2(powerOfTwo));
}

/** Checks that `n` is a non-negative safe integer. */
export function isTreeSize(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * MTH(D[start:end]) (RFC 9162 §2.1.1) for a subtree range as the recursion produces them
 * (`start` a multiple of the largest power of two <= end - start), from O(log n) node reads.
 */
export function rangeRoot(reader: NodeReader, start: number, end: number): Uint8Array {
  if (end <= start) return EMPTY_ROOT_HASH.slice();
  const blocks: Uint8Array[] = [];
  let pos = start;
  while (pos < end) {
    let size = 1;
    let level = 0;
    while (pos % (size * 2) === 0 && pos + size * 2 <= end) {
      size *= 2;
      level++;
    }
    blocks.push(reader.node(level, pos / size));
    pos += size;
  }
  let h = blocks[blocks.length - 1] as Uint8Array;
  for (let i = blocks.length - 2; i >= 0; i--) h = merkleNodeHash(blocks[i] as Uint8Array, h);
  return h;
}

/**
 * RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of the first
 * `size` leaves, bottom-up (the order §2.1.3.2 consumes it).
 */
export function inclusionPath(reader: NodeReader, index: number, size: number): Uint8Array[] {
  if (!isTreeSize(size)) throw new TlogError("ERR_TLOG_SIZE_OUT_OF_RANGE", "tree size must be a non-negative safe integer");
  if (!isTreeSize(index) || index >= size) {
    throw new TlogError("ERR_TLOG_INDEX_OUT_OF_RANGE", `leaf index ${index} is not below tree size ${size}`, { detail: { index, size } });
  }
  const path: Uint8Array[] = [];
  let start = 0;
  let end = size;
  let m = index;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      path.push(rangeRoot(reader, start + k, end));
      end = start + k;
    } else {
      path.push(reader.node(log2(k), start / k));
      m -= k;
      start += k;
    }
  }
  return path.reverse();
}

/**
 * RFC 9162 §2.1.4.1 PROOF(first, D[second]) = SUBPROOF(first, D[second], true): the consistency
 * proof between the trees of the first `first` and `second` leaves (0 < first <= second; empty
 * when first == second).
 */
export function consistencyPath(reader: NodeReader, first: number, second: number): Uint8Array[] {
  if (!isTreeSize(first) || !isTreeSize(second) || first < 1 || first > second) {
    throw new TlogError("ERR_TLOG_SIZE_OUT_OF_RANGE", `a consistency proof needs 0 < first <= second (got ${first}, ${second})`, {
      detail: { first, second },
    });
  }
  const tail: Uint8Array[] = [];
  let head: Uint8Array | undefined;
  let start = 0;
  let end = second;
  let m = first;
  let b = true;
  for (;;) {
    const n = end - start;
    if (m === n) {
      if (!b) head = rangeRoot(reader, start, end);
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      tail.push(rangeRoot(reader, start + k, end));
      end = start + k;
    } else {
      tail.push(reader.node(log2(k), start / k));
      m -= k;
      start += k;
      b = false;
    }
  }
  tail.reverse();
  return head === undefined ? tail : [head, ...tail];
}

/** The coordinates `[level, index]` of one complete subtree. */
export type NodeCoord = readonly [level: number, index: number];

const PLACEHOLDER = new Uint8Array(32);

/**
 * Runs a Merkle computation (`rangeRoot`, `inclusionPath`, `consistencyPath`, …) against a store
 * that reads asynchronously, with ONE batched read: which subtrees those computations visit
 * depends only on indices and sizes, never on hash values, so a first pass with a recording
 * reader collects the coordinates, `fetch` reads them all at once (one database round trip),
 * and a second pass computes the result from the fetched hashes.
 */
export async function withBatchedReads<T>(fetch: (coords: readonly NodeCoord[]) => Promise<readonly Uint8Array[]>, compute: (reader: NodeReader) => T): Promise<T> {
  const coords: NodeCoord[] = [];
  const seen = new Set<string>();
  compute({
    node(level, index) {
      const key = `${level}/${index}`;
      if (!seen.has(key)) {
        seen.add(key);
        coords.push([level, index]);
      }
      return PLACEHOLDER;
    },
  });
  const hashes = coords.length === 0 ? [] : await fetch(coords);
  if (hashes.length !== coords.length) throw new TlogError("ERR_TLOG_STORE", `the store returned ${hashes.length} hashes for ${coords.length} subtrees`);
  const byKey = new Map<string, Uint8Array>();
  coords.forEach(([level, index], i) => byKey.set(`${level}/${index}`, hashes[i] as Uint8Array));
  return compute({
    node(level, index) {
      const h = byKey.get(`${level}/${index}`);
      if (h === undefined) throw new TlogError("ERR_TLOG_STORE", `subtree (${level}, ${index}) was not read`);
      return h;
    },
  });
}
