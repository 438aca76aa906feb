/**
 * The transparency log over an asynchronous store that several processes may share (one
 * PostgreSQL database behind many nodes): {@link AsyncTransparencyLog} over an
 * {@link AsyncLogStore}.
 *
 * The in-process {@link TransparencyLog} keeps the tree size and the right-edge frontier in
 * memory, which is only correct while it is the one writer. Here every append runs inside
 * {@link AsyncLogStore.exclusive}, the store's write lock (a row lock on the log's head row in
 * PostgreSQL): it reads the current size and frontier, checks for entries already logged, stores
 * the new leaves and the subtree hashes they complete, and moves the head, atomically. Two nodes
 * appending at once therefore produce one linear tree, and an entry submitted to both at once is
 * logged once.
 *
 * Concurrent submits in one process are coalesced (group commit): while one transaction runs, the
 * next submits queue and go into the following transaction together, so throughput scales with
 * load instead of being bound by one round trip per entry.
 *
 * Reads (roots, inclusion and consistency proofs) fetch the O(log n) subtree hashes they need in
 * one batch ({@link withBatchedReads}). Checkpoints are signed once per size: the first node to
 * sign a size stores its note and every node serves that stored note.
 *
 * @module
 */
import { signCheckpoint, type Checkpoint } from "./checkpoint.js";
import { TlogError } from "./errors.js";
import { bytesEqual, merkleLeafHash } from "./hash.js";
import { foldFrontier, frontierCoords, frontierFrom, planAppend, type SubmitResult, type TransparencyLog } from "./log.js";
import { consistencyPath, inclusionPath, isTreeSize, rangeRoot, withBatchedReads, type NodeCoord } from "./merkle.js";
import type { NoteSigner } from "./note.js";
import type { LeafRecord, NodeRecord, StoredCheckpoint } from "./store.js";

/** A logged leaf found by its leaf hash. */
export interface LeafHit {
  readonly index: number;
  readonly entry: Uint8Array;
}

/** Reads shared by an {@link AsyncLogStore} and its transactions. */
export interface AsyncLogReader {
  /** The hashes of complete subtrees (level 0: leaf hashes), in the order of `coords`. Missing ones are `ERR_TLOG_STORE`. */
  nodes(coords: readonly NodeCoord[]): Promise<readonly Uint8Array[]>;
  /** For each leaf hash, the first leaf with that hash (and its entry), if any. */
  lookup(leafHashes: readonly Uint8Array[]): Promise<readonly (LeafHit | undefined)[]>;
}

/** The view of the log inside {@link AsyncLogStore.exclusive}: no other writer runs until it ends. */
export interface AsyncLogTransaction extends AsyncLogReader {
  /** The tree size when the lock was taken. */
  readonly size: number;
  /** Stores leaves `size ..` and the subtree hashes they complete; committed when `exclusive` resolves. Once per transaction. */
  append(leaves: readonly LeafRecord[], nodes: readonly NodeRecord[]): Promise<void>;
}

/** Storage behind an {@link AsyncTransparencyLog}. */
export interface AsyncLogStore extends AsyncLogReader {
  /** The log's identity (checkpoint origin); one store holds one log. */
  readonly origin: string;
  /** "memory", "sqlite", "postgres" (logs, /healthz). */
  readonly backend: string;
  /** The current tree size. */
  size(): Promise<number>;
  /** Entry bytes of leaf `index` (`ERR_TLOG_INDEX_OUT_OF_RANGE` at or beyond the size). */
  entry(index: number): Promise<Uint8Array>;
  /**
   * Runs `fn` holding the log's write lock (across processes for a shared store). What `fn`
   * appends is committed atomically when it resolves and discarded when it throws.
   */
  exclusive<T>(fn: (tx: AsyncLogTransaction) => Promise<T>): Promise<T>;
  /** Stores `checkpoint` unless one of the same size is stored; returns the stored one either way. */
  putCheckpoint(checkpoint: StoredCheckpoint): Promise<StoredCheckpoint>;
  /** The stored checkpoint of `size`, or of the largest size when omitted. */
  getCheckpoint(size?: number): Promise<StoredCheckpoint | undefined>;
  close(): Promise<void>;
}

/** Options of {@link AsyncTransparencyLog}. */
export interface AsyncTransparencyLogOptions {
  /** Checkpoint signers (the log key first; key name SHOULD equal the origin). */
  readonly signers?: readonly NoteSigner[];
  /** Most entries per append transaction when submits queue up (default 512). */
  readonly maxBatch?: number;
}

/** The result of a submit: where the entry is and the tree size it was committed in. */
export interface AsyncSubmitResult extends SubmitResult {
  /** Tree size right after the transaction that logged (or found) the entry. */
  readonly size: number;
}

interface Pending {
  readonly entry: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly dedupe: boolean;
  resolve(r: AsyncSubmitResult): void;
  reject(e: unknown): void;
}

/** RFC 9162 log operations over an {@link AsyncLogStore}. */
export class AsyncTransparencyLog {
  readonly store: AsyncLogStore;
  readonly #signers: readonly NoteSigner[];
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #flushing = false;

  constructor(store: AsyncLogStore, options: AsyncTransparencyLogOptions = {}) {
    this.store = store;
    this.#signers = options.signers ?? [];
    this.#maxBatch = Math.max(1, options.maxBatch ?? 512);
  }

  /**
   * The asynchronous view of an in-process {@link TransparencyLog} (memory or SQLite store), so
   * code written against this class (the HTTP API, OAP anchoring) serves either. The log needs
   * an origin.
   */
  static over(log: TransparencyLog, options: Omit<AsyncTransparencyLogOptions, "signers"> = {}): AsyncTransparencyLog {
    return new AsyncTransparencyLog(new InProcessLogStore(log), { ...options, signers: log.signers });
  }

  /** The log's origin (checkpoint origin, `log_id` of anchors). */
  get origin(): string {
    return this.store.origin;
  }

  /** The current number of leaves. */
  size(): Promise<number> {
    return this.store.size();
  }

  /** Appends `entry` unless the same entry is already logged; resolves once it is durable. */
  submit(entry: Uint8Array): Promise<AsyncSubmitResult> {
    return this.#enqueue(entry, true);
  }

  /** Appends `entry` even when the same bytes are already logged; resolves once it is durable. */
  async append(entry: Uint8Array): Promise<number> {
    return (await this.#enqueue(entry, false)).index;
  }

  #enqueue(entry: Uint8Array, dedupe: boolean): Promise<AsyncSubmitResult> {
    if (!(entry instanceof Uint8Array)) return Promise.reject(new TlogError("ERR_TLOG_HASH_INVALID", "log entries are byte arrays"));
    const copy = Uint8Array.from(entry);
    return new Promise<AsyncSubmitResult>((resolve, reject) => {
      this.#queue.push({ entry: copy, leafHash: merkleLeafHash(copy), dedupe, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.store.exclusive((tx) => this.#appendBatch(tx, batch));
          batch.forEach((p, i) => p.resolve(results[i] as AsyncSubmitResult));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #appendBatch(tx: AsyncLogTransaction, batch: readonly Pending[]): Promise<AsyncSubmitResult[]> {
    const dedupe = batch.filter((p) => p.dedupe);
    const hits = dedupe.length === 0 ? [] : await tx.lookup(dedupe.map((p) => p.leafHash));
    const found = new Map<Pending, number>();
    dedupe.forEach((p, i) => {
      const hit = hits[i];
      if (hit !== undefined && bytesEqual(hit.entry, p.entry)) found.set(p, hit.index);
    });
    // Entries new to the log, the same entry twice in one batch appended once.
    const fresh: Pending[] = [];
    const firstOf = new Map<string, Pending>();
    const sameAs = new Map<Pending, Pending>();
    for (const p of batch) {
      if (found.has(p)) continue;
      if (p.dedupe) {
        const key = Buffer.from(p.leafHash).toString("hex");
        const earlier = firstOf.get(key);
        if (earlier !== undefined && bytesEqual(earlier.entry, p.entry)) {
          sameAs.set(p, earlier);
          continue;
        }
        if (earlier === undefined) firstOf.set(key, p);
      }
      fresh.push(p);
    }
    let size = tx.size;
    const index = new Map<Pending, number>();
    if (fresh.length > 0) {
      const frontier = frontierFrom(tx.size, await tx.nodes(frontierCoords(tx.size)));
      const plan = planAppend(frontier, tx.size, fresh.map((p) => p.entry));
      await tx.append(plan.leaves, plan.nodes);
      fresh.forEach((p, i) => index.set(p, tx.size + i));
      size = plan.size;
    }
    return batch.map((p) => {
      const existing = found.get(p);
      if (existing !== undefined) return { index: existing, existed: true, size };
      const twin = sameAs.get(p);
      if (twin !== undefined) return { index: index.get(twin) as number, existed: true, size };
      return { index: index.get(p) as number, existed: false, size };
    });
  }

  /** Index of the first leaf whose entry equals `entry`, if any. */
  async findEntry(entry: Uint8Array): Promise<number | undefined> {
    const [hit] = await this.store.lookup([merkleLeafHash(entry)]);
    return hit !== undefined && bytesEqual(hit.entry, entry) ? hit.index : undefined;
  }

  /** Entry bytes of leaf `index`. */
  entry(index: number): Promise<Uint8Array> {
    return this.store.entry(index);
  }

  /** MTH of the first `size` leaves (default: the whole tree now). */
  async root(size?: number): Promise<Uint8Array> {
    const n = await this.#size(size);
    if (n === 0) return foldFrontier([]);
    return withBatchedReads((c) => this.store.nodes(c), (reader) => rangeRoot(reader, 0, n));
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves (default: current). */
  async inclusionProof(index: number, size?: number): Promise<Uint8Array[]> {
    const n = await this.#size(size);
    if (!isTreeSize(index) || index >= n) {
      throw new TlogError("ERR_TLOG_INDEX_OUT_OF_RANGE", `leaf index ${index} is not below tree size ${n}`, { detail: { index, size: n } });
    }
    return withBatchedReads((c) => this.store.nodes(c), (reader) => inclusionPath(reader, index, n));
  }

  /** RFC 9162 §2.1.4.1 consistency proof from `first` to `second` leaves (default: current). */
  async consistencyProof(first: number, second?: number): Promise<Uint8Array[]> {
    const n = await this.#size(second);
    return withBatchedReads((c) => this.store.nodes(c), (reader) => consistencyPath(reader, first, n));
  }

  /** The (unsigned) checkpoint of the tree of `size` leaves (default: current). */
  async checkpoint(size?: number): Promise<Checkpoint> {
    const n = await this.#size(size);
    return { origin: this.origin, size: n, rootHash: await this.root(n), extensions: [] };
  }

  /**
   * The signed checkpoint of the current tree: the stored note of that size, or a new one signed
   * and stored (the first signer of a size wins; every node then serves the same note).
   */
  async signedCheckpoint(): Promise<StoredCheckpoint> {
    const size = await this.store.size();
    const stored = await this.store.getCheckpoint(size);
    if (stored !== undefined) return stored;
    if (this.#signers.length === 0) throw new TlogError("ERR_TLOG_STORE", "the log has no checkpoint signer");
    const note = signCheckpoint(await this.checkpoint(size), this.#signers);
    return this.store.putCheckpoint({ size, note });
  }

  async #size(requested: number | undefined): Promise<number> {
    const current = await this.store.size();
    if (requested === undefined) return current;
    if (!isTreeSize(requested) || requested > current) {
      throw new TlogError("ERR_TLOG_SIZE_OUT_OF_RANGE", `tree size ${requested} is beyond the log (size ${current})`, { detail: { size: requested, logSize: current } });
    }
    return requested;
  }
}

/** One write lock per wrapped log, shared by every {@link InProcessLogStore} over it. */
const LOCKS = new WeakMap<TransparencyLog, Promise<unknown>>();

/**
 * {@link AsyncLogStore} over an in-process {@link TransparencyLog}: appends go through the log
 * (so its in-memory frontier stays current) one transaction at a time, across every wrapper of the
 * same log. Single process only: the wrapped log assumes it is the only writer of its store. A
 * synchronous `log.append` by other code between the lock and the append is detected
 * (`ERR_TLOG_STORE`), never silently misnumbered.
 */
export class InProcessLogStore implements AsyncLogStore {
  readonly log: TransparencyLog;
  readonly origin: string;
  readonly backend: string;
  #closed = false;

  constructor(log: TransparencyLog, backend = "memory") {
    if (log.origin === undefined) throw new TlogError("ERR_TLOG_STORE", "the log has no origin");
    this.log = log;
    this.origin = log.origin;
    this.backend = backend;
  }

  #check(): void {
    if (this.#closed) throw new TlogError("ERR_TLOG_STORE", "the log store is closed");
  }

  async size(): Promise<number> {
    this.#check();
    return this.log.size;
  }

  async nodes(coords: readonly NodeCoord[]): Promise<readonly Uint8Array[]> {
    this.#check();
    return coords.map(([level, index]) => this.log.node(level, index));
  }

  async lookup(leafHashes: readonly Uint8Array[]): Promise<readonly (LeafHit | undefined)[]> {
    this.#check();
    return leafHashes.map((h) => {
      const index = this.log.store.findLeaf(h);
      return index === undefined ? undefined : { index, entry: this.log.store.entry(index) };
    });
  }

  async entry(index: number): Promise<Uint8Array> {
    this.#check();
    return this.log.entry(index);
  }

  exclusive<T>(fn: (tx: AsyncLogTransaction) => Promise<T>): Promise<T> {
    const run = (LOCKS.get(this.log) ?? Promise.resolve()).then(async () => {
      this.#check();
      const size = this.log.size;
      let appended = false;
      return fn({
        size,
        nodes: (c) => this.nodes(c),
        lookup: (h) => this.lookup(h),
        append: async (leaves) => {
          if (appended) throw new TlogError("ERR_TLOG_STORE", "append runs once per transaction");
          appended = true;
          if (this.log.size !== size) throw new TlogError("ERR_TLOG_STORE", "the log changed outside its transaction");
          this.log.appendMany(leaves.map((l) => l.entry));
        },
      });
    });
    LOCKS.set(
      this.log,
      run.catch(() => undefined),
    );
    return run;
  }

  async putCheckpoint(checkpoint: StoredCheckpoint): Promise<StoredCheckpoint> {
    this.#check();
    const stored = this.log.store.getCheckpoint(checkpoint.size);
    if (stored !== undefined) return stored;
    this.log.store.putCheckpoint(checkpoint);
    return checkpoint;
  }

  async getCheckpoint(size?: number): Promise<StoredCheckpoint | undefined> {
    this.#check();
    return this.log.store.getCheckpoint(size);
  }

  /** Closes this view (later calls are `ERR_TLOG_STORE`); the wrapped log's store stays open for its owner to close. */
  async close(): Promise<void> {
    this.#closed = true;
  }
}
