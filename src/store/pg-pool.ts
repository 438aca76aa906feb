/**
 * Opening a `pg` pool the way every agentwire PostgreSQL store does: `synchronous_commit=on` as
 * a startup parameter (refused when the server still reports `off`), a statement timeout, the
 * migrations under the advisory lock (./migrations.ts), idle-connection errors reported instead
 * of crashing the process.
 */
import pg from "pg";
import { migrate, MIGRATIONS, StoreError, type MigrationReport } from "./migrations.js";
import { isPostgresUrl, redactConnectionString, type PostgresStoreOptions } from "./postgres-handoff-store.js";

/** A pool opened by {@link openPool}. */
export interface OpenedPool {
  readonly pool: pg.Pool;
  /** True when {@link openPool} created the pool (the store ends it on close). */
  readonly ownsPool: boolean;
  readonly migrations: MigrationReport | undefined;
}

/** Connects (or adopts `options.pool`), migrates and checks `synchronous_commit`. */
export async function openPool(options: PostgresStoreOptions | string): Promise<OpenedPool> {
  const o: PostgresStoreOptions = typeof options === "string" ? { connectionString: options } : options;
  if (o.pool === undefined && o.connectionString !== undefined && !isPostgresUrl(o.connectionString)) {
    throw new StoreError("ERR_STORE_CONFIG", `not a PostgreSQL URL: ${redactConnectionString(o.connectionString)}`);
  }
  const timeout = o.statementTimeoutMs ?? 10_000;
  const pool =
    o.pool ??
    new pg.Pool({
      ...(o.connectionString !== undefined ? { connectionString: o.connectionString } : {}),
      max: o.maxConnections ?? 10,
      application_name: o.applicationName ?? "agentwire",
      statement_timeout: timeout,
      connectionTimeoutMillis: Math.max(timeout, 5_000),
      idleTimeoutMillis: 30_000,
      // A startup parameter, so it holds before the first statement (an `options` in the URL wins).
      options: "-c synchronous_commit=on",
    });
  const ownsPool = o.pool === undefined;
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  // A pool shared by several stores of a node gets one listener (from its owner), not one per store.
  if (ownsPool || o.onError !== undefined || pool.listenerCount("error") === 0) pool.on("error", (e) => o.onError?.(e));
  let migrations: MigrationReport | undefined;
  try {
    if (o.migrate !== false) migrations = await migrate(pool, MIGRATIONS);
    const sc = (await pool.query<{ synchronous_commit: string }>("SHOW synchronous_commit")).rows[0]?.synchronous_commit;
    if (sc === "off") throw new StoreError("ERR_STORE_CONFIG", "synchronous_commit is off for the store's connections: a committed write could be lost on a server crash after it was acknowledged");
  } catch (e) {
    if (ownsPool) await pool.end().catch(() => undefined);
    if (e instanceof StoreError) throw e;
    throw new StoreError("ERR_STORE_UNAVAILABLE", `PostgreSQL connect failed: ${(e as Error).message}`, { cause: e });
  }
  return { pool, ownsPool, migrations };
}

/** Runs `fn` in one transaction on one pooled connection (ROLLBACK on a throw). */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(begin);
    try {
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw e;
    }
  } finally {
    client.release(broken ? true : undefined);
  }
}

/** The SQLSTATE of a `pg` error, if any. */
export function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * A string as PostgreSQL `text`, which refuses U+0000 (the separator of OAP limiter and
 * idempotency keys): `\` doubled and U+0000 written as `\0` (injective).
 */
export function pgText(key: string): string {
  return key.replace(/\\/g, "\\\\").replace(/\u0000/g, "\\0");
}
