/**
 * Choosing the control-plane store of a node: the embedded SQLite file in the data directory
 * (default, one node) or a PostgreSQL database shared by several nodes (`postgres://…`).
 * Keys always stay in the data directory.
 */
import { join, resolve } from "node:path";
import { SqliteHandoffStore, type HandoffStore } from "../ohp/control/store.js";
import type { RateLimiter, RateLimitOptions } from "../ohp/receiver-state.js";
import type { OapStore } from "../oap/server/store.js";
import type { OapRateLimiter } from "../oap/rate-limit.js";
import type { DpopReplayCache } from "../trust/dpop/replay.js";
import type { WalletStore } from "../oap/commerce/wallet-store.js";
import type { AsyncLogStore } from "../trust/tlog/async-log.js";
import { StoreError, type MigrationReport } from "./migrations.js";
import { PostgresLogStore } from "./postgres-log-store.js";
import { openPool } from "./pg-pool.js";
import { PostgresDpopReplayCache } from "./postgres-dpop-replay.js";
import { PostgresOapRateLimiter } from "./postgres-oap-rate-limit.js";
import { PostgresOapStore } from "./postgres-oap-store.js";
import { PostgresWalletStore } from "./postgres-wallet-store.js";
import { isPostgresUrl, PostgresHandoffStore, redactConnectionString } from "./postgres-handoff-store.js";

export { migrate, MIGRATION_LOCK_KEY, MIGRATIONS, OHP_MIGRATIONS, StoreError, type Migration, type MigrationReport } from "./migrations.js";
export { inTransaction, openPool, pgText, type OpenedPool } from "./pg-pool.js";
export { PostgresDpopReplayCache, type PostgresDpopReplayCacheOptions } from "./postgres-dpop-replay.js";
export { PostgresOapRateLimiter, type PostgresOapRateLimiterOptions } from "./postgres-oap-rate-limit.js";
export { haveLocalPostgres, postgresBinDir, startLocalPostgres, type LocalPostgres } from "./local-postgres.js";
export { PostgresLogStore, type PostgresLogStoreOptions } from "./postgres-log-store.js";
export { PostgresOapStore, type PostgresOapStoreOptions } from "./postgres-oap-store.js";
export { PostgresWalletStore, type PostgresWalletStoreOptions } from "./postgres-wallet-store.js";
export { isPostgresUrl, PostgresHandoffStore, PostgresRateLimiter, redactConnectionString, type PostgresStoreOptions } from "./postgres-handoff-store.js";

/** An opened store and what the node needs to know about it. */
export interface OpenedStore {
  readonly store: HandoffStore;
  readonly backend: "sqlite" | "postgres";
  /** Where (password redacted), for the `listening` log line. */
  readonly location: string;
  /** A rate limiter shared by every node on the same store (PostgreSQL only; SQLite nodes keep theirs in memory). */
  readonly rateLimiter?: RateLimiter;
  readonly migrations?: MigrationReport;
  /** Opens the OAP store of a hosted tool on the same database (PostgreSQL only; SQLite nodes keep `DIR/oap-<id>.sqlite`). */
  readonly openOapStore?: (toolId: string) => Promise<OapStore>;
  /** Opens the OAP wallet store on the same database (PostgreSQL only; SQLite nodes keep `DIR/wallet.sqlite`). */
  readonly openWalletStore?: () => Promise<WalletStore>;
  /** The OAP rate limiter of a hosted tool, rpm shared by the nodes (PostgreSQL only; SQLite nodes count in memory). */
  readonly openOapRateLimiter?: (toolId: string) => OapRateLimiter;
  /** The DPoP `jti` cache shared by the nodes (PostgreSQL only; SQLite nodes keep it in memory). */
  readonly dpopReplayCache?: DpopReplayCache;
  /** Opens the transparency log `origin` on the same database, one log for all nodes (PostgreSQL only; SQLite nodes keep `DIR/tlog.sqlite`). */
  readonly openLogStore?: (origin: string) => Promise<AsyncLogStore>;
  /**
   * Releases what the stores share (PostgreSQL: the node's one pool). Call once, after every
   * store opened through this object is closed.
   */
  close(): Promise<void>;
}

/** Options of {@link openHandoffStore}. */
export interface OpenStoreOptions {
  /** The node's data directory (SQLite default: DIR/ohp.sqlite). */
  readonly dataDir: string;
  /** The receiver's rate limit (`policy.rateLimit`); `false` = no shared limiter. */
  readonly rateLimit?: RateLimitOptions | false;
  /** Relative `sqlite:` paths resolve against this directory (default: the data directory). */
  readonly cwd?: string;
  /** Connections of the node's one PostgreSQL pool, shared by all its stores. Default 20. */
  readonly maxConnections?: number;
  readonly onError?: (error: Error) => void;
}

/**
 * Opens the store `spec` names: `undefined` or `sqlite` → DIR/ohp.sqlite; `sqlite:PATH` → that
 * file; `postgres://…` / `postgresql://…` → {@link PostgresHandoffStore} (migrated at open).
 */
export async function openHandoffStore(spec: string | undefined, options: OpenStoreOptions): Promise<OpenedStore> {
  if (spec === undefined || spec === "" || spec === "sqlite") {
    const path = join(options.dataDir, "ohp.sqlite");
    return { store: new SqliteHandoffStore(path), backend: "sqlite", location: path, close: async () => undefined };
  }
  if (spec.startsWith("sqlite:")) {
    const path = resolve(options.cwd ?? options.dataDir, spec.slice("sqlite:".length));
    return { store: new SqliteHandoffStore(path), backend: "sqlite", location: path, close: async () => undefined };
  }
  if (isPostgresUrl(spec)) {
    // One pool for every store of the node (handoffs, each hosted tool, the wallet, the shared
    // limiters and the DPoP cache), migrated once here and ended once by close().
    const onError = options.onError ? { onError: options.onError } : {};
    const { pool, migrations } = await openPool({ connectionString: spec, maxConnections: options.maxConnections ?? 20, ...onError });
    let store: PostgresHandoffStore;
    try {
      store = await PostgresHandoffStore.open({ pool, migrate: false });
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    let ended: Promise<void> | undefined;
    return {
      store,
      backend: "postgres",
      location: redactConnectionString(spec),
      ...(options.rateLimit === false ? {} : { rateLimiter: store.rateLimiter(options.rateLimit ?? {}) }),
      ...(migrations ? { migrations } : {}),
      openOapStore: (tool) => PostgresOapStore.open({ pool, tool, migrate: false }),
      openWalletStore: () => PostgresWalletStore.open({ pool, migrate: false }),
      openOapRateLimiter: (tool) => new PostgresOapRateLimiter({ pool, tool, ...onError }),
      dpopReplayCache: new PostgresDpopReplayCache({ pool, ...onError }),
      openLogStore: (origin) => PostgresLogStore.open({ pool, origin, migrate: false }),
      close: () => (ended ??= pool.end()),
    };
  }
  throw new StoreError("ERR_STORE_CONFIG", `unknown store ${JSON.stringify(redactConnectionString(spec))}: use postgres://user@host/db, sqlite or sqlite:PATH`);
}
