/**
 * Opening an embedded store's SQLite file the way every agentwire store does (node:sqlite, no
 * native addon): WAL journal, `synchronous = FULL` (a committed write survives power loss, which
 * is what "acknowledged means durable" needs), a busy timeout so two processes on one file wait
 * rather than fail, then the store's schema.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOpenOptions {
  /** `PRAGMA synchronous` (default "FULL"). */
  readonly synchronous?: "FULL" | "NORMAL";
  /** `PRAGMA busy_timeout` in ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating) `path` and runs `schema` (idempotent `CREATE … IF NOT EXISTS` statements).
 * Throws what node:sqlite throws: callers wrap it in their own typed error with the path.
 */
export function openSqliteStore(path: string, schema: string, options: SqliteStoreOpenOptions = {}): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}; PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))};`);
    db.exec(schema);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
