/**
 * The transparency log in PostgreSQL: an {@link AsyncLogStore} several nodes share, so they run
 * ONE log (one origin, one key, one linear tree) instead of one each.
 *
 * Schema (migration 5): `tlog_logs(origin, size)` is the head row of each log; `tlog_leaves`
 * (leaf hash and entry per index, indexed by leaf hash for duplicate lookup), `tlog_nodes` (the
 * hash of every complete subtree of level >= 1, written once when it completes) and
 * `tlog_checkpoints` (one signed note per size) are keyed by origin.
 *
 * An append is one transaction that takes the head row `FOR UPDATE`, so appenders on every node
 * queue behind each other: it reads the size and the right-edge frontier under the lock, checks
 * which entries are already logged, inserts the leaves and completed subtrees with one
 * `INSERT … SELECT unnest(…)` each, and moves the head. Nothing is visible to other nodes until
 * the commit (`synchronous_commit=on`, ./pg-pool.ts), and a crash at any point leaves either the
 * whole batch or none of it. Subtree hashes never change once written, so each node caches them.
 *
 * @module
 */
import type pg from "pg";
import type { AsyncLogStore, AsyncLogTransaction, LeafHit } from "../trust/tlog/async-log.js";
import { TlogError } from "../trust/tlog/errors.js";
import { HASH_SIZE } from "../trust/tlog/hash.js";
import type { NodeCoord } from "../trust/tlog/merkle.js";
import type { LeafRecord, NodeRecord, StoredCheckpoint } from "../trust/tlog/store.js";
import type { MigrationReport } from "./migrations.js";
import { inTransaction, openPool } from "./pg-pool.js";
import type { PostgresStoreOptions } from "./postgres-handoff-store.js";

/** Options of {@link PostgresLogStore.open}. */
export interface PostgresLogStoreOptions extends PostgresStoreOptions {
  /** The log's origin (its identity; one database holds any number of logs). */
  readonly origin: string;
  /** Subtree hashes cached per node (default 65,536, about 6 MB). */
  readonly cacheSize?: number;
}

type Queryable = Pick<pg.PoolClient, "query">;

function bytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TlogError("ERR_TLOG_STORE", `${what} is not bytea`);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function storeError(e: unknown, what: string): TlogError {
  if (e instanceof TlogError) return e;
  return new TlogError("ERR_TLOG_STORE", `${what}: ${(e as Error).message}`, { cause: e });
}

/** {@link AsyncLogStore} on PostgreSQL (see the module comment). */
export class PostgresLogStore implements AsyncLogStore {
  readonly origin: string;
  readonly backend = "postgres";
  readonly migrations: MigrationReport | undefined;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #cache = new Map<string, Uint8Array>();
  readonly #cacheSize: number;
  #closed = false;

  private constructor(pool: pg.Pool, ownsPool: boolean, origin: string, migrations: MigrationReport | undefined, cacheSize: number) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.origin = origin;
    this.migrations = migrations;
    this.#cacheSize = cacheSize;
  }

  /** Connects (or adopts `options.pool`), migrates, and creates the log's head row if it is new. */
  static async open(options: PostgresLogStoreOptions): Promise<PostgresLogStore> {
    if (typeof options.origin !== "string" || options.origin === "") throw new TlogError("ERR_TLOG_STORE", "a PostgreSQL log store needs an origin");
    const { pool, ownsPool, migrations } = await openPool(options);
    try {
      await pool.query("INSERT INTO tlog_logs (origin) VALUES ($1) ON CONFLICT (origin) DO NOTHING", [options.origin]);
    } catch (e) {
      if (ownsPool) await pool.end().catch(() => undefined);
      throw storeError(e, "cannot create the log");
    }
    return new PostgresLogStore(pool, ownsPool, options.origin, migrations, options.cacheSize ?? 65_536);
  }

  #check(): void {
    if (this.#closed) throw new TlogError("ERR_TLOG_STORE", "the log store is closed");
  }

  async size(): Promise<number> {
    this.#check();
    return this.#sizeOn(this.#pool, false);
  }

  async #sizeOn(db: Queryable, lock: boolean): Promise<number> {
    const r = await db.query<{ size: string }>(`SELECT size FROM tlog_logs WHERE origin = $1${lock ? " FOR UPDATE" : ""}`, [this.origin]);
    const row = r.rows[0];
    if (row === undefined) throw new TlogError("ERR_TLOG_STORE", `log ${JSON.stringify(this.origin)} is missing from tlog_logs`);
    return Number(row.size);
  }

  async nodes(coords: readonly NodeCoord[]): Promise<readonly Uint8Array[]> {
    this.#check();
    return this.#nodesOn(this.#pool, coords);
  }

  async #nodesOn(db: Queryable, coords: readonly NodeCoord[]): Promise<readonly Uint8Array[]> {
    const out: (Uint8Array | undefined)[] = coords.map(([level, index]) => this.#cache.get(`${level}/${index}`));
    const leafIdx: number[] = [];
    const nodeLevel: number[] = [];
    const nodeIdx: number[] = [];
    coords.forEach(([level, index], i) => {
      if (out[i] !== undefined) return;
      if (level === 0) leafIdx.push(index);
      else {
        nodeLevel.push(level);
        nodeIdx.push(index);
      }
    });
    const found = new Map<string, Uint8Array>();
    try {
      if (leafIdx.length > 0) {
        const r = await db.query<{ idx: string; leaf_hash: Buffer }>("SELECT idx, leaf_hash FROM tlog_leaves WHERE origin = $1 AND idx = ANY($2::bigint[])", [this.origin, leafIdx]);
        for (const row of r.rows) found.set(`0/${row.idx}`, bytes(row.leaf_hash, "leaf hash"));
      }
      if (nodeIdx.length > 0) {
        const r = await db.query<{ level: number; idx: string; hash: Buffer }>(
          "SELECT n.level, n.idx, n.hash FROM tlog_nodes n JOIN unnest($2::smallint[], $3::bigint[]) AS c(level, idx) ON n.level = c.level AND n.idx = c.idx WHERE n.origin = $1",
          [this.origin, nodeLevel, nodeIdx],
        );
        for (const row of r.rows) found.set(`${row.level}/${row.idx}`, bytes(row.hash, "node hash"));
      }
    } catch (e) {
      throw storeError(e, "reading subtree hashes failed");
    }
    return coords.map(([level, index], i) => {
      const cached = out[i];
      if (cached !== undefined) return cached;
      const key = `${level}/${index}`;
      const h = found.get(key);
      if (h === undefined || h.length !== HASH_SIZE) throw new TlogError("ERR_TLOG_STORE", `no complete subtree at level ${level} index ${index}`, { detail: { level, index } });
      this.#remember(key, h);
      return h;
    });
  }

  #remember(key: string, hash: Uint8Array): void {
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, hash);
  }

  async lookup(leafHashes: readonly Uint8Array[]): Promise<readonly (LeafHit | undefined)[]> {
    this.#check();
    return this.#lookupOn(this.#pool, leafHashes);
  }

  async #lookupOn(db: Queryable, leafHashes: readonly Uint8Array[]): Promise<readonly (LeafHit | undefined)[]> {
    if (leafHashes.length === 0) return [];
    let rows: { idx: string; leaf_hash: Buffer; entry: Buffer }[];
    try {
      rows = (
        await db.query<{ idx: string; leaf_hash: Buffer; entry: Buffer }>(
          "SELECT DISTINCT ON (leaf_hash) idx, leaf_hash, entry FROM tlog_leaves WHERE origin = $1 AND leaf_hash = ANY($2::bytea[]) ORDER BY leaf_hash, idx",
          [this.origin, leafHashes.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength))],
        )
      ).rows;
    } catch (e) {
      throw storeError(e, "leaf lookup failed");
    }
    const byHash = new Map(rows.map((r) => [r.leaf_hash.toString("hex"), { index: Number(r.idx), entry: bytes(r.entry, "entry") }]));
    return leafHashes.map((h) => byHash.get(Buffer.from(h).toString("hex")));
  }

  async entry(index: number): Promise<Uint8Array> {
    this.#check();
    // Leaves are committed with the head that covers them: a row present is below the size.
    const row = Number.isSafeInteger(index) && index >= 0 ? (await this.#pool.query<{ entry: Buffer }>("SELECT entry FROM tlog_leaves WHERE origin = $1 AND idx = $2", [this.origin, index])).rows[0] : undefined;
    if (row !== undefined) return bytes(row.entry, "entry");
    const size = await this.size();
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new TlogError("ERR_TLOG_INDEX_OUT_OF_RANGE", `leaf index ${index} is not below tree size ${size}`, { detail: { index, size } });
    }
    throw new TlogError("ERR_TLOG_STORE", `leaf ${index} is missing`);
  }

  async exclusive<T>(fn: (tx: AsyncLogTransaction) => Promise<T>): Promise<T> {
    this.#check();
    try {
      return await inTransaction(this.#pool, async (client) => {
        const size = await this.#sizeOn(client, true);
        let appended = false;
        const tx: AsyncLogTransaction = {
          size,
          nodes: (coords) => this.#nodesOn(client, coords),
          lookup: (hashes) => this.#lookupOn(client, hashes),
          append: async (leaves: readonly LeafRecord[], nodes: readonly NodeRecord[]) => {
            if (appended) throw new TlogError("ERR_TLOG_STORE", "append runs once per transaction");
            appended = true;
            if (leaves.length === 0) return;
            const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
            await client.query(
              "INSERT INTO tlog_leaves (origin, idx, leaf_hash, entry) SELECT $1, $2::bigint + t.ord - 1, t.leaf_hash, t.entry FROM unnest($3::bytea[], $4::bytea[]) WITH ORDINALITY AS t(leaf_hash, entry, ord)",
              [this.origin, size, leaves.map((l) => buf(l.leafHash)), leaves.map((l) => buf(l.entry))],
            );
            if (nodes.length > 0) {
              await client.query("INSERT INTO tlog_nodes (origin, level, idx, hash) SELECT $1, t.level, t.idx, t.hash FROM unnest($2::smallint[], $3::bigint[], $4::bytea[]) AS t(level, idx, hash)", [
                this.origin,
                nodes.map((n) => n.level),
                nodes.map((n) => n.index),
                nodes.map((n) => buf(n.hash)),
              ]);
            }
            await client.query("UPDATE tlog_logs SET size = $2 WHERE origin = $1", [this.origin, size + leaves.length]);
          },
        };
        return fn(tx);
      });
    } catch (e) {
      throw storeError(e, "append failed");
    }
  }

  async putCheckpoint(checkpoint: StoredCheckpoint): Promise<StoredCheckpoint> {
    this.#check();
    let inserted: boolean;
    try {
      const r = await this.#pool.query("INSERT INTO tlog_checkpoints (origin, size, note) VALUES ($1, $2, $3) ON CONFLICT (origin, size) DO NOTHING RETURNING size", [this.origin, checkpoint.size, checkpoint.note]);
      inserted = r.rowCount === 1;
    } catch (e) {
      throw storeError(e, "storing the checkpoint failed");
    }
    if (inserted) return { size: checkpoint.size, note: checkpoint.note };
    // Another node signed this size first: serve its note.
    const stored = await this.getCheckpoint(checkpoint.size);
    if (stored === undefined) throw new TlogError("ERR_TLOG_STORE", `checkpoint ${checkpoint.size} vanished`);
    return stored;
  }

  async getCheckpoint(size?: number): Promise<StoredCheckpoint | undefined> {
    this.#check();
    const r =
      size === undefined
        ? await this.#pool.query<{ size: string; note: string }>("SELECT size, note FROM tlog_checkpoints WHERE origin = $1 ORDER BY size DESC LIMIT 1", [this.origin])
        : await this.#pool.query<{ size: string; note: string }>("SELECT size, note FROM tlog_checkpoints WHERE origin = $1 AND size = $2", [this.origin, size]);
    const row = r.rows[0];
    return row === undefined ? undefined : { size: Number(row.size), note: row.note };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache.clear();
    if (this.#ownsPool) await this.#pool.end();
  }
}
