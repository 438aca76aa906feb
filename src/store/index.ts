/**
 * Choosing the control-plane store of a node: the embedded SQLite file in the data directory
 * (default, one node) or a PostgreSQL database shared by several nodes (`postgres://…`).
 * Keys always stay in the data directory.
 */
import { join, resolve } from "node:path";
import { SqliteHandoffStore, type HandoffStore } from "../ohp/control/store.js";
import type { RateLimiter, RateLimitOptions } from "../ohp/receiver-state.js";
import type { OapStore } from "../oap/server/store.js";
import type { WalletStore } from "../oap/commerce/wallet-store.js";
import { StoreError, type MigrationReport } from "./migrations.js";
import { PostgresOapStore } from "./postgres-oap-store.js";
import { PostgresWalletStore } from "./postgres-wallet-store.js";
import { isPostgresUrl, PostgresHandoffStore, redactConnectionString } from "./postgres-handoff-store.js";

export { migrate, MIGRATION_LOCK_KEY, MIGRATIONS, OHP_MIGRATIONS, StoreError, type Migration, type MigrationReport } from "./migrations.js";
export { inTransaction, openPool, type OpenedPool } from "./pg-pool.js";
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
}

/** Options of {@link openHandoffStore}. */
export interface OpenStoreOptions {
  /** The node's data directory (SQLite default: DIR/ohp.sqlite). */
  readonly dataDir: string;
  /** The receiver's rate limit (`policy.rateLimit`); `false` = no shared limiter. */
  readonly rateLimit?: RateLimitOptions | false;
  /** Relative `sqlite:` paths resolve against this directory (default: the data directory). */
  readonly cwd?: string;
  readonly onError?: (error: Error) => void;
}

/**
 * Opens the store `spec` names: `undefined` or `sqlite` → DIR/ohp.sqlite; `sqlite:PATH` → that
 * file; `postgres://…` / `postgresql://…` → {@link PostgresHandoffStore} (migrated at open).
 */
export async function openHandoffStore(spec: string | undefined, options: OpenStoreOptions): Promise<OpenedStore> {
  if (spec === undefined || spec === "" || spec === "sqlite") {
    const path = join(options.dataDir, "ohp.sqlite");
    return { store: new SqliteHandoffStore(path), backend: "sqlite", location: path };
  }
  if (spec.startsWith("sqlite:")) {
    const path = resolve(options.cwd ?? options.dataDir, spec.slice("sqlite:".length));
    return { store: new SqliteHandoffStore(path), backend: "sqlite", location: path };
  }
  if (isPostgresUrl(spec)) {
    const store = await PostgresHandoffStore.open({ connectionString: spec, ...(options.onError ? { onError: options.onError } : {}) });
    return {
      store,
      backend: "postgres",
      location: redactConnectionString(spec),
      ...(options.rateLimit === false ? {} : { rateLimiter: store.rateLimiter(options.rateLimit ?? {}) }),
      ...(store.migrations ? { migrations: store.migrations } : {}),
      openOapStore: (tool) => PostgresOapStore.open({ connectionString: spec, tool, migrate: false, ...(options.onError ? { onError: options.onError } : {}) }),
      openWalletStore: () => PostgresWalletStore.open({ connectionString: spec, migrate: false, ...(options.onError ? { onError: options.onError } : {}) }),
    };
  }
  throw new StoreError("ERR_STORE_CONFIG", `unknown store ${JSON.stringify(redactConnectionString(spec))}: use postgres://user@host/db, sqlite or sqlite:PATH`);
}
