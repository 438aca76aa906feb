/**
 * Storage behind a {@link TransparencyLog}: leaves (leaf hash and entry bytes), the hashes of
 * complete subtrees (level >= 1, written once when the subtree completes), signed checkpoints
 * and a few metadata strings. {@link MemoryLogStore} keeps everything in flat byte arenas;
 * `SqliteLogStore` (sqlite-store.ts) persists the same model with node:sqlite.
 *
 * @module
 */
import { TlogError } from "./errors.js";
import { bytesEqual, HASH_SIZE } from "./hash.js";
import type { NodeReader } from "./merkle.js";

/** One appended leaf. */
export interface LeafRecord {
  /** RFC 9162 leaf hash SHA-256(0x00 || entry). */
  readonly leafHash: Uint8Array;
  /** The logged entry bytes. */
  readonly entry: Uint8Array;
}

/** A complete subtree's hash, written when the subtree completes. */
export interface NodeRecord {
  /** Height (>= 1; level 0 hashes are the leaf hashes). */
  readonly level: number;
  /** Index among the subtrees of that level. */
  readonly index: number;
  readonly hash: Uint8Array;
}

/** A stored signed checkpoint. */
export interface StoredCheckpoint {
  readonly size: number;
  /** The signed note text (C2SP tlog-checkpoint + signed-note). */
  readonly note: string;
}

/** What a {@link TransparencyLog} needs from its storage. */
export interface LogStore extends NodeReader {
  /** Number of stored leaves. */
  size(): number;
  /** Entry bytes of leaf `index` (`ERR_TLOG_INDEX_OUT_OF_RANGE` beyond the end). */
  entry(index: number): Uint8Array;
  /** Index of the first leaf with this leaf hash, if any. */
  findLeaf(leafHash: Uint8Array): number | undefined;
  /**
   * Appends leaves (indices size() .. size()+leaves.length-1) and the subtree hashes they
   * complete, atomically: after a crash either all of them are stored or none.
   */
  append(leaves: readonly LeafRecord[], nodes: readonly NodeRecord[]): void;
  /** Stores a signed checkpoint (replacing one of the same size). */
  putCheckpoint(checkpoint: StoredCheckpoint): void;
  /** The stored checkpoint of `size`, or the one of the largest size when omitted. */
  getCheckpoint(size?: number): StoredCheckpoint | undefined;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Releases resources; later calls throw `ERR_TLOG_STORE`. */
  close(): void;
}

/** A growable array of fixed-size byte records in one buffer. */
class HashArena {
  #buf = new Uint8Array(HASH_SIZE * 64);
  count = 0;

  push(hash: Uint8Array): void {
    if ((this.count + 1) * HASH_SIZE > this.#buf.length) {
      const next = new Uint8Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    this.#buf.set(hash, this.count * HASH_SIZE);
    this.count++;
  }

  get(index: number): Uint8Array {
    return this.#buf.slice(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }
}

function prefixKey(hash: Uint8Array): number {
  // 48 bits of the hash: a safe integer, collisions resolved by comparing the full hash.
  return (hash[0] as number) * 2 ** 40 + (hash[1] as number) * 2 ** 32 + (((hash[2] as number) << 24) >>> 0) + ((hash[3] as number) << 16) + ((hash[4] as number) << 8) + (hash[5] as number);
}

/** Everything in memory: one hash arena per level, entries in one byte arena. */
export class MemoryLogStore implements LogStore {
  readonly #levels: HashArena[] = [new HashArena()];
  #entries = new Uint8Array(4096);
  #entryEnd = 0;
  #offsets = new Float64Array(1024);
  readonly #byHash = new Map<number, number | number[]>();
  readonly #checkpoints = new Map<number, string>();
  #latestCheckpoint = -1;
  readonly #meta = new Map<string, string>();
  #closed = false;

  #check(): void {
    if (this.#closed) throw new TlogError("ERR_TLOG_STORE", "the log store is closed");
  }

  size(): number {
    this.#check();
    return (this.#levels[0] as HashArena).count;
  }

  node(level: number, index: number): Uint8Array {
    this.#check();
    const arena = this.#levels[level];
    if (arena === undefined || !Number.isSafeInteger(index) || index < 0 || index >= arena.count) {
      throw new TlogError("ERR_TLOG_STORE", `no complete subtree at level ${level} index ${index}`, { detail: { level, index } });
    }
    return arena.get(index);
  }

  entry(index: number): Uint8Array {
    const size = this.size();
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new TlogError("ERR_TLOG_INDEX_OUT_OF_RANGE", `leaf index ${index} is not below tree size ${size}`, { detail: { index, size } });
    }
    const start = this.#offsets[index] as number;
    const end = index + 1 < size ? (this.#offsets[index + 1] as number) : this.#entryEnd;
    return this.#entries.slice(start, end);
  }

  findLeaf(leafHash: Uint8Array): number | undefined {
    this.#check();
    if (leafHash.length !== HASH_SIZE) return undefined;
    const hit = this.#byHash.get(prefixKey(leafHash));
    if (hit === undefined) return undefined;
    const level0 = this.#levels[0] as HashArena;
    for (const i of typeof hit === "number" ? [hit] : hit) if (bytesEqual(level0.get(i), leafHash)) return i;
    return undefined;
  }

  append(leaves: readonly LeafRecord[], nodes: readonly NodeRecord[]): void {
    this.#check();
    const level0 = this.#levels[0] as HashArena;
    for (const leaf of leaves) {
      const index = level0.count;
      if (index >= this.#offsets.length) {
        const next = new Float64Array(this.#offsets.length * 2);
        next.set(this.#offsets);
        this.#offsets = next;
      }
      if (this.#entryEnd + leaf.entry.length > this.#entries.length) {
        const next = new Uint8Array(Math.max(this.#entries.length * 2, this.#entryEnd + leaf.entry.length));
        next.set(this.#entries.subarray(0, this.#entryEnd));
        this.#entries = next;
      }
      this.#offsets[index] = this.#entryEnd;
      this.#entries.set(leaf.entry, this.#entryEnd);
      this.#entryEnd += leaf.entry.length;
      level0.push(leaf.leafHash);
      const key = prefixKey(leaf.leafHash);
      const prev = this.#byHash.get(key);
      if (prev === undefined) this.#byHash.set(key, index);
      else if (typeof prev === "number") this.#byHash.set(key, [prev, index]);
      else prev.push(index);
    }
    for (const n of nodes) {
      while (this.#levels.length <= n.level) this.#levels.push(new HashArena());
      const arena = this.#levels[n.level] as HashArena;
      if (n.index !== arena.count) throw new TlogError("ERR_TLOG_STORE", `node (${n.level}, ${n.index}) written out of order`);
      arena.push(n.hash);
    }
  }

  putCheckpoint(checkpoint: StoredCheckpoint): void {
    this.#check();
    this.#checkpoints.set(checkpoint.size, checkpoint.note);
    this.#latestCheckpoint = Math.max(this.#latestCheckpoint, checkpoint.size);
  }

  getCheckpoint(size?: number): StoredCheckpoint | undefined {
    this.#check();
    const s = size ?? this.#latestCheckpoint;
    const note = this.#checkpoints.get(s);
    return note === undefined ? undefined : { size: s, note };
  }

  getMeta(key: string): string | undefined {
    this.#check();
    return this.#meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.#check();
    this.#meta.set(key, value);
  }

  close(): void {
    this.#closed = true;
  }
}
