/**
 * An append-only RFC 9162 Merkle tree log over a {@link LogStore}.
 *
 * Append is O(1) amortised: the log keeps the compact range (the right-edge frontier of complete
 * subtree roots, one per set bit of the size) and, for each new leaf, merges it with the
 * frontier, writing every subtree hash that completes (on average one per leaf). The root of
 * the current tree is the fold of the frontier; roots of older sizes and all proofs read
 * O(log n) stored subtree hashes (see merkle.ts).
 *
 * @module
 */
import { TlogError } from "./errors.js";
import { bytesEqual, EMPTY_ROOT_HASH, merkleLeafHash, merkleNodeHash } from "./hash.js";
import { consistencyPath, inclusionPath, isTreeSize, rangeRoot, type NodeCoord, type NodeReader } from "./merkle.js";
import { signCheckpoint, type Checkpoint } from "./checkpoint.js";
import type { NoteSigner } from "./note.js";
import type { LeafRecord, LogStore, NodeRecord } from "./store.js";

/** Options of {@link TransparencyLog}. */
export interface TransparencyLogOptions {
  /**
   * Log identity (checkpoint origin). Stored in the store on first use; reopening a store with
   * another origin fails with `ERR_TLOG_STORE`.
   */
  readonly origin?: string;
  /** Checkpoint signers (the log key first; key name SHOULD equal the origin). */
  readonly signers?: readonly NoteSigner[];
}

/** Result of {@link TransparencyLog.submit}. */
export interface SubmitResult {
  readonly index: number;
  /** True when the entry was already in the log (nothing appended). */
  readonly existed: boolean;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

/** Result of {@link planAppend}: the rows to store and the log state after them. */
export interface AppendPlan {
  readonly leaves: readonly LeafRecord[];
  /** Subtree hashes the new leaves complete (level >= 1). */
  readonly nodes: readonly NodeRecord[];
  /** The right-edge frontier after the append (index = level). */
  readonly frontier: readonly (Uint8Array | undefined)[];
  readonly size: number;
}

/**
 * The coordinates of the right-edge frontier of a tree of `size` leaves: one complete subtree
 * per set bit of `size`, lowest level first.
 */
export function frontierCoords(size: number): NodeCoord[] {
  const coords: NodeCoord[] = [];
  let s = size;
  let level = 0;
  let span = 1;
  while (s > 0) {
    if (s % 2 === 1) coords.push([level, Math.floor(size / span) - 1]);
    s = half(s);
    level++;
    span *= 2;
  }
  return coords;
}

/** The frontier array (index = level) from the hashes of {@link frontierCoords}(size), in that order. */
export function frontierFrom(size: number, hashes: readonly Uint8Array[]): (Uint8Array | undefined)[] {
  const frontier: (Uint8Array | undefined)[] = [];
  frontierCoords(size).forEach(([level], i) => (frontier[level] = hashes[i]));
  return frontier;
}

/** MTH of the whole tree from its frontier (the empty-tree hash for size 0). */
export function foldFrontier(frontier: readonly (Uint8Array | undefined)[]): Uint8Array {
  let h: Uint8Array | undefined;
  for (const f of frontier) if (f !== undefined) h = h === undefined ? f : merkleNodeHash(f, h);
  return h ?? EMPTY_ROOT_HASH;
}

/**
 * Plans appending `entries` to a tree of `size` leaves with right-edge `frontier`: the leaf rows,
 * every subtree hash that completes (on average one per leaf) and the new frontier. Pure: the
 * caller stores the rows atomically, then adopts the new state.
 */
export function planAppend(frontier: readonly (Uint8Array | undefined)[], size: number, entries: readonly Uint8Array[]): AppendPlan {
  const next = [...frontier];
  const leaves: LeafRecord[] = [];
  const nodes: NodeRecord[] = [];
  let n = size;
  for (const entry of entries) {
    if (!(entry instanceof Uint8Array)) throw new TlogError("ERR_TLOG_HASH_INVALID", "log entries are byte arrays");
    const leafHash = merkleLeafHash(entry);
    leaves.push({ leafHash, entry: Uint8Array.from(entry) });
    let h = leafHash;
    let level = 0;
    let s = n;
    while (s % 2 === 1) {
      h = merkleNodeHash(next[level] as Uint8Array, h);
      next[level] = undefined;
      level++;
      s = half(s);
      nodes.push({ level, index: s, hash: h });
    }
    next[level] = h;
    n++;
  }
  return { leaves, nodes, frontier: next, size: n };
}

/** The log: append, roots, proofs, checkpoints. */
export class TransparencyLog implements NodeReader {
  readonly store: LogStore;
  readonly origin: string | undefined;
  readonly #signers: readonly NoteSigner[];
  /** frontier[level]: root of the complete subtree on the right edge at that level, if bit `level` of size is set. */
  #frontier: readonly (Uint8Array | undefined)[] = [];
  #size: number;
  #root: Uint8Array | undefined;

  constructor(store: LogStore, options: TransparencyLogOptions = {}) {
    this.store = store;
    this.#signers = options.signers ?? [];
    const stored = store.getMeta("origin");
    if (options.origin !== undefined) {
      if (stored !== undefined && stored !== options.origin) {
        throw new TlogError("ERR_TLOG_STORE", `the store belongs to log ${JSON.stringify(stored)}, not ${JSON.stringify(options.origin)}`);
      }
      if (stored === undefined) store.setMeta("origin", options.origin);
    }
    this.origin = options.origin ?? stored;
    this.#size = store.size();
    const coords = frontierCoords(this.#size);
    this.#frontier = frontierFrom(this.#size, coords.map(([level, index]) => store.node(level, index)));
  }

  /** The checkpoint signers given at construction. */
  get signers(): readonly NoteSigner[] {
    return this.#signers;
  }

  /** Number of leaves. */
  get size(): number {
    return this.#size;
  }

  node(level: number, index: number): Uint8Array {
    return this.store.node(level, index);
  }

  /** Appends one entry; returns its leaf index. */
  append(entry: Uint8Array): number {
    return this.appendMany([entry]);
  }

  /**
   * Appends entries in one store transaction; returns the index of the first. Nothing changes
   * (in memory or in the store) when the store write fails.
   */
  appendMany(entries: readonly Uint8Array[]): number {
    const first = this.#size;
    const plan = planAppend(this.#frontier, first, entries);
    if (plan.leaves.length === 0) return first;
    this.store.append(plan.leaves, plan.nodes);
    this.#frontier = plan.frontier;
    this.#size = plan.size;
    this.#root = undefined;
    return first;
  }

  /** Appends `entry` unless the same entry is already logged; returns its index either way. */
  submit(entry: Uint8Array): SubmitResult {
    const existing = this.findEntry(entry);
    if (existing !== undefined) return { index: existing, existed: true };
    return { index: this.append(entry), existed: false };
  }

  /** Index of the first leaf whose entry equals `entry`, if any. */
  findEntry(entry: Uint8Array): number | undefined {
    const index = this.store.findLeaf(merkleLeafHash(entry));
    if (index === undefined) return undefined;
    return bytesEqual(this.store.entry(index), entry) ? index : undefined;
  }

  /** Entry bytes of leaf `index`. */
  entry(index: number): Uint8Array {
    return this.store.entry(index);
  }

  /** RFC 9162 leaf hash of leaf `index`. */
  leafHash(index: number): Uint8Array {
    this.#checkIndex(index, this.#size);
    return this.store.node(0, index);
  }

  /** MTH of the first `size` leaves (default: the whole tree). */
  root(size: number = this.#size): Uint8Array {
    this.#checkSize(size);
    if (size === this.#size) {
      if (this.#root === undefined) this.#root = foldFrontier(this.#frontier);
      return this.#root.slice();
    }
    return rangeRoot(this.store, 0, size);
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves (default: current). */
  inclusionProof(index: number, size: number = this.#size): Uint8Array[] {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    return inclusionPath(this.store, index, size);
  }

  /** RFC 9162 §2.1.4.1 consistency proof from `first` to `second` leaves (default: current). */
  consistencyProof(first: number, second: number = this.#size): Uint8Array[] {
    this.#checkSize(second);
    return consistencyPath(this.store, first, second);
  }

  /** The (unsigned) checkpoint of the current tree. */
  checkpoint(): Checkpoint {
    if (this.origin === undefined) throw new TlogError("ERR_TLOG_STORE", "the log has no origin");
    return { origin: this.origin, size: this.#size, rootHash: this.root(), extensions: [] };
  }

  /**
   * The signed checkpoint note of the current tree, signed once per size and kept in the store.
   * Needs an origin and at least one signer.
   */
  signedCheckpoint(): string {
    const stored = this.store.getCheckpoint(this.#size);
    if (stored !== undefined) return stored.note;
    if (this.#signers.length === 0) throw new TlogError("ERR_TLOG_STORE", "the log has no checkpoint signer");
    const note = signCheckpoint(this.checkpoint(), this.#signers);
    this.store.putCheckpoint({ size: this.#size, note });
    return note;
  }

  #checkSize(size: number): void {
    if (!isTreeSize(size) || size > this.#size) {
      throw new TlogError("ERR_TLOG_SIZE_OUT_OF_RANGE", `tree size ${size} is beyond the log (size ${this.#size})`, {
        detail: { size, logSize: this.#size },
      });
    }
  }

  #checkIndex(index: number, size: number): void {
    if (!isTreeSize(index) || index >= size) {
      throw new TlogError("ERR_TLOG_INDEX_OUT_OF_RANGE", `leaf index ${index} is not below tree size ${size}`, { detail: { index, size } });
    }
  }
}
