/**
 * Offline proof verification, pure functions of their arguments: RFC 9162 §2.1.3.2 (inclusion)
 * and §2.1.4.2 (consistency). Each throws a {@link TlogError} naming what failed, or returns
 * normally. Edge cases follow transparency-dev/merkle (whose test probes we run): a consistency
 * proof from size 0 is meaningless and rejected; equal sizes need an empty proof and equal roots.
 *
 * @module
 */
import { TlogError } from "./errors.js";
import { bytesEqual, HASH_SIZE, merkleNodeHash } from "./hash.js";
import { isTreeSize } from "./merkle.js";

function half(n: number): number {
  return Math.floor(n / 2);
}

function odd(n: number): boolean {
  return n % 2 === 1;
}

function isPowerOfTwo(n: number): boolean {
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}

function checkProofHashes(proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "a proof is an array of hashes");
  for (const [i, h] of proof.entries()) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new TlogError("ERR_TLOG_PROOF_MALFORMED", `proof hash ${i} is not ${HASH_SIZE} bytes`, { detail: { position: i } });
    }
  }
}

function mismatch(what: string, detail: Record<string, unknown>): TlogError {
  return new TlogError("ERR_TLOG_PROOF_ROOT_MISMATCH", `${what}: the recomputed root differs from the expected root`, { detail });
}

/**
 * RFC 9162 §2.1.3.2 steps 1-5: the root implied by an inclusion proof of `leafHash` at `index`
 * in a tree of `size` leaves. Errors: `ERR_TLOG_INDEX_OUT_OF_RANGE`, `ERR_TLOG_HASH_INVALID`,
 * `ERR_TLOG_PROOF_MALFORMED` (wrong length, hash not 32 bytes).
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  if (!isTreeSize(size) || !isTreeSize(index) || index >= size) {
    throw new TlogError("ERR_TLOG_INDEX_OUT_OF_RANGE", `leaf index ${index} is not below tree size ${size}`, { detail: { index, size } });
  }
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) {
    throw new TlogError("ERR_TLOG_HASH_INVALID", `the leaf hash must be ${HASH_SIZE} bytes`);
  }
  checkProofHashes(proof);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "inclusion proof too long", { detail: { index, size, length: proof.length } });
    if (odd(fn) || fn === sn) {
      r = merkleNodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "inclusion proof too short", { detail: { index, size, length: proof.length } });
  return r;
}

/** RFC 9162 §2.1.3.2: verifies that `leafHash` is leaf `index` of the tree of `size` leaves with root `root`. */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!bytesEqual(computed, root)) throw mismatch("RFC 9162 §2.1.3.2 inclusion", { index, size });
}

/**
 * RFC 9162 §2.1.4.2: verifies that the tree of `first` leaves with root `firstRoot` is a prefix
 * of the tree of `second` leaves with root `secondRoot`. Errors: `ERR_TLOG_SIZE_OUT_OF_RANGE`
 * (first = 0 or first > second), `ERR_TLOG_PROOF_MALFORMED`, `ERR_TLOG_PROOF_ROOT_MISMATCH`.
 */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): void {
  if (!isTreeSize(first) || !isTreeSize(second) || first > second) {
    throw new TlogError("ERR_TLOG_SIZE_OUT_OF_RANGE", `consistency needs first <= second (got ${first}, ${second})`, { detail: { first, second } });
  }
  if (first === 0) {
    throw new TlogError("ERR_TLOG_SIZE_OUT_OF_RANGE", "a consistency proof from the empty tree is meaningless (RFC 9162 §2.1.4: 0 < first)", {
      detail: { first, second },
    });
  }
  checkProofHashes(proof);
  if (first === second) {
    if (proof.length !== 0) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "equal tree sizes need an empty consistency proof");
    if (!bytesEqual(firstRoot, secondRoot)) throw mismatch("RFC 9162 §2.1.4.2 consistency (equal sizes)", { first, second });
    return;
  }
  // Step 1.
  if (proof.length === 0) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "empty consistency proof");
  // Step 2.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  // Steps 3-4.
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  let fr = path[0] as Uint8Array;
  let sr = path[0] as Uint8Array;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "consistency proof too long", { detail: { first, second, length: proof.length } });
    if (odd(fn) || fn === sn) {
      fr = merkleNodeHash(c, fr);
      sr = merkleNodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = merkleNodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw new TlogError("ERR_TLOG_PROOF_MALFORMED", "consistency proof too short", { detail: { first, second, length: proof.length } });
  if (!bytesEqual(fr, firstRoot)) throw mismatch("RFC 9162 §2.1.4.2 consistency (first root)", { first, second });
  if (!bytesEqual(sr, secondRoot)) throw mismatch("RFC 9162 §2.1.4.2 consistency (second root)", { first, second });
}
