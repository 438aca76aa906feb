/**
 * {@link LogStore} on Node's built-in `node:sqlite` (no native addon to build): one database
 * file in WAL mode, prepared statements, one transaction per append batch.
 *
 * Schema (version 1):
 *
 *     meta(key TEXT PRIMARY KEY, value TEXT)
 *     leaves(idx INTEGER PRIMARY KEY, leaf_hash BLOB, entry BLOB, leaf_key INTEGER)
 *         leaf_key = first 6 bytes of leaf_hash as an integer, indexed for duplicate lookup
 *         (an integer index appends faster than one on the 32-byte BLOB)
 *     nodes(level INTEGER, idx INTEGER, hash BLOB, PRIMARY KEY(level, idx))   level >= 1
 *     checkpoints(size INTEGER PRIMARY KEY, note TEXT)
 *
 * Only the leaf count and a bounded FIFO cache of node hashes ({@link SqliteLogStoreOptions.cacheSize})
 * live in memory, so the heap does not grow with the tree. Reopening the file continues the
 * same tree: the log rebuilds its right-edge frontier from the stored subtree hashes.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { TlogError } from "./errors.js";
import { bytesEqual } from "./hash.js";
import type { LeafRecord, LogStore, NodeRecord, StoredCheckpoint } from "./store.js";

/** Options of {@link SqliteLogStore}. */
export interface SqliteLogStoreOptions {
  /** Maximum number of node hashes kept in the read cache (default 65,536, about 6 MB). */
  readonly cacheSize?: number;
  /** PRAGMA synchronous: "NORMAL" (default; durable at checkpoints, safe with WAL) or "FULL". */
  readonly synchronous?: "NORMAL" | "FULL";
  /** SQLite page cache in KiB (native memory, not the JS heap; default 32768 = 32 MiB). */
  readonly pageCacheKiB?: number;
}

const SCHEMA_VERSION = "1";

function toBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TlogError("ERR_TLOG_STORE", `${what} is not a BLOB`);
  return value;
}

/** First 6 bytes of a leaf hash as a (safe, signed 48-bit) integer. */
function leafKey(leafHash: Uint8Array): number {
  return Buffer.from(leafHash.buffer, leafHash.byteOffset, 6).readIntBE(0, 6);
}

/** A {@link LogStore} in one SQLite database file (or ":memory:"). */
export class SqliteLogStore implements LogStore {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<number, Uint8Array>();
  readonly #cacheSize: number;
  #size: number;
  #closed = false;
  readonly #stmt: {
    leafHash: StatementSync;
    node: StatementSync;
    entry: StatementSync;
    findLeaf: StatementSync;
    insertLeaf: StatementSync;
    insertNode: StatementSync;
    putCheckpoint: StatementSync;
    getCheckpoint: StatementSync;
    latestCheckpoint: StatementSync;
    getMeta: StatementSync;
    setMeta: StatementSync;
  };

  /** Opens (creating if needed) the database at `path`. */
  constructor(path: string, options: SqliteLogStoreOptions = {}) {
    this.#cacheSize = options.cacheSize ?? 65_536;
    try {
      this.#db = new DatabaseSync(path);
      const cacheKiB = Math.max(256, Math.floor(options.pageCacheKiB ?? 32_768));
      this.#db.exec(
        `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous === "FULL" ? "FULL" : "NORMAL"}; PRAGMA cache_size = -${cacheKiB};`,
      );
      this.#db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL, entry BLOB NOT NULL, leaf_key INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS leaves_by_key ON leaves (leaf_key);
        CREATE TABLE IF NOT EXISTS nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
      `);
    } catch (e) {
      throw new TlogError("ERR_TLOG_STORE", `cannot open SQLite log store ${path}: ${(e as Error).message}`, { cause: e });
    }
    const db = this.#db;
    this.#stmt = {
      leafHash: db.prepare("SELECT leaf_hash FROM leaves WHERE idx = ?"),
      node: db.prepare("SELECT hash FROM nodes WHERE level = ? AND idx = ?"),
      entry: db.prepare("SELECT entry FROM leaves WHERE idx = ?"),
      findLeaf: db.prepare("SELECT idx, leaf_hash FROM leaves WHERE leaf_key = ? ORDER BY idx"),
      insertLeaf: db.prepare("INSERT INTO leaves (idx, leaf_hash, entry, leaf_key) VALUES (?, ?, ?, ?)"),
      insertNode: db.prepare("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)"),
      putCheckpoint: db.prepare("INSERT OR REPLACE INTO checkpoints (size, note) VALUES (?, ?)"),
      getCheckpoint: db.prepare("SELECT size, note FROM checkpoints WHERE size = ?"),
      latestCheckpoint: db.prepare("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"),
      getMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
      setMeta: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"),
    };
    const version = this.getMeta("schema");
    if (version === undefined) this.setMeta("schema", SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) throw new TlogError("ERR_TLOG_STORE", `unsupported log store schema version ${version}`);
    const row = db.prepare("SELECT COUNT(*) AS n, MAX(idx) AS last FROM leaves").get() as { n: number; last: number | null };
    this.#size = Number(row.n);
    if (this.#size !== (row.last === null ? 0 : Number(row.last) + 1)) {
      throw new TlogError("ERR_TLOG_STORE", "the leaves table has gaps: the store is corrupt");
    }
  }

  #check(): void {
    if (this.#closed) throw new TlogError("ERR_TLOG_STORE", "the log store is closed");
  }

  size(): number {
    this.#check();
    return this.#size;
  }

  node(level: number, index: number): Uint8Array {
    this.#check();
    // index < 2^47 for any tree below 2^47 leaves, so the key stays a safe integer.
    const key = index * 64 + level;
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const row = (level === 0 ? this.#stmt.leafHash.get(index) : this.#stmt.node.get(level, index)) as Record<string, unknown> | undefined;
    if (row === undefined) {
      throw new TlogError("ERR_TLOG_STORE", `no complete subtree at level ${level} index ${index}`, { detail: { level, index } });
    }
    const hash = toBytes(level === 0 ? row["leaf_hash"] : row["hash"], "node hash");
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, hash);
    return hash;
  }

  entry(index: number): Uint8Array {
    this.#check();
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#size) {
      throw new TlogError("ERR_TLOG_INDEX_OUT_OF_RANGE", `leaf index ${index} is not below tree size ${this.#size}`, {
        detail: { index, size: this.#size },
      });
    }
    const row = this.#stmt.entry.get(index) as { entry: unknown } | undefined;
    if (row === undefined) throw new TlogError("ERR_TLOG_STORE", `leaf ${index} is missing`);
    return toBytes(row.entry, "entry");
  }

  findLeaf(leafHash: Uint8Array): number | undefined {
    this.#check();
    if (!(leafHash instanceof Uint8Array) || leafHash.length < 6) return undefined;
    for (const row of this.#stmt.findLeaf.iterate(leafKey(leafHash)) as Iterable<{ idx: number | bigint; leaf_hash: unknown }>) {
      if (bytesEqual(toBytes(row.leaf_hash, "leaf hash"), leafHash)) return Number(row.idx);
    }
    return undefined;
  }

  append(leaves: readonly LeafRecord[], nodes: readonly NodeRecord[]): void {
    this.#check();
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      let index = this.#size;
      for (const leaf of leaves) this.#stmt.insertLeaf.run(index++, leaf.leafHash, leaf.entry, leafKey(leaf.leafHash));
      for (const n of nodes) this.#stmt.insertNode.run(n.level, n.index, n.hash);
      db.exec("COMMIT");
    } catch (e) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // The transaction may already be gone.
      }
      throw new TlogError("ERR_TLOG_STORE", `append failed: ${(e as Error).message}`, { cause: e });
    }
    this.#size += leaves.length;
  }

  putCheckpoint(checkpoint: StoredCheckpoint): void {
    this.#check();
    this.#stmt.putCheckpoint.run(checkpoint.size, checkpoint.note);
  }

  getCheckpoint(size?: number): StoredCheckpoint | undefined {
    this.#check();
    const row = (size === undefined ? this.#stmt.latestCheckpoint.get() : this.#stmt.getCheckpoint.get(size)) as
      | { size: number | bigint; note: string }
      | undefined;
    return row === undefined ? undefined : { size: Number(row.size), note: row.note };
  }

  getMeta(key: string): string | undefined {
    this.#check();
    const row = this.#stmt.getMeta.get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.#check();
    this.#stmt.setMeta.run(key, value);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache.clear();
    this.#db.close();
  }
}
