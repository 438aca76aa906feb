/**
 * Versioned schema migrations for the PostgreSQL stores.
 *
 * Every migration has a positive integer `version`, a `name` and the SQL that brings the schema
 * from `version - 1` to `version`. {@link migrate} records what it applied in
 * `schema_migrations (version, name, checksum, applied_at)`, runs each pending migration in its own
 * transaction (the SQL and the bookkeeping row commit together), and does all of it under a
 * session-level advisory lock, so several nodes starting against one database at once apply each
 * migration exactly once: the first takes the lock and migrates, the others wait and then find
 * nothing to do. Running it again is a no-op (idempotent).
 *
 * Migrations are append-only: a released migration is never edited. The SHA-256 of its SQL is
 * stored, and a mismatch with an applied migration is an error (`ERR_STORE_MIGRATION`) rather than
 * a silent schema drift. Versions present in the database but unknown to this build (a newer node
 * migrated first during a rolling upgrade) are reported, not rejected: migrations only add.
 */
import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { AgentwireError } from "../errors.js";

/** Store failures (connection, schema, migration). */
export class StoreError extends AgentwireError<"ERR_STORE_MIGRATION" | "ERR_STORE_CONFIG" | "ERR_STORE_UNAVAILABLE"> {}

/** One schema migration. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** What {@link migrate} did. */
export interface MigrationReport {
  /** Versions applied by this call (empty when the schema was current). */
  readonly applied: readonly number[];
  /** The highest version in the database afterwards. */
  readonly current: number;
  /** Versions in the database this build does not know (a newer node migrated first). */
  readonly unknown: readonly number[];
}

/**
 * The advisory-lock key all agentwire migrations take: the first 8 bytes of
 * SHA-256("agentwire/schema_migrations") as a signed 64-bit integer (decimal string).
 */
export const MIGRATION_LOCK_KEY: string = createHash("sha256").update("agentwire/schema_migrations").digest().readBigInt64BE(0).toString();

/**
 * Every agentwire schema migration, in order: version 1 the OHP control plane (handoffs, answer
 * cache, replay store, rate-limit windows), version 2 the OAP Tool stores (receipt chains with a
 * chain-head row per Principal, nonces, idempotency, tasks, audit, webhooks, incidents — keyed by
 * tool id), version 3 the OAP Wallet ledger, version 4 OAP commerce records, version 5 the
 * transparency logs (src/store/postgres-log-store.ts). Every PostgreSQL store migrates the whole list, so
 * whichever node or store opens first brings the database to the current schema.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: "ohp control plane: handoffs, answers, replay, rate limits",
    sql: `
      CREATE TABLE ohp_handoffs (
        role        text   NOT NULL CHECK (role IN ('sender', 'receiver')),
        id          text   NOT NULL,
        state       text   NOT NULL,
        record      text   NOT NULL,
        version     integer NOT NULL,
        updated_at  text   NOT NULL,
        PRIMARY KEY (role, id)
      );
      CREATE INDEX ohp_handoffs_pending ON ohp_handoffs (role, state);
      CREATE INDEX ohp_handoffs_updated ON ohp_handoffs (updated_at);
      CREATE TABLE ohp_answers (
        envelope_id text   PRIMARY KEY,
        answer      text   NOT NULL,
        expires_at  bigint NOT NULL
      );
      CREATE INDEX ohp_answers_expires ON ohp_answers (expires_at);
      CREATE TABLE ohp_replay (
        key         text   PRIMARY KEY,
        expires_at  bigint NOT NULL
      );
      CREATE INDEX ohp_replay_expires ON ohp_replay (expires_at);
      CREATE TABLE ohp_rate_limits (
        kid          text   PRIMARY KEY,
        window_start bigint NOT NULL,
        count        bigint NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "oap tool stores: receipts, chain heads, nonces, idempotency, audit, tasks, webhooks, incidents",
    sql: `
      CREATE TABLE oap_receipt_heads (
        tool        text    NOT NULL,
        principal   text    NOT NULL,
        seq         bigint  NOT NULL,
        hash        text    NOT NULL,
        PRIMARY KEY (tool, principal)
      );
      CREATE TABLE oap_receipts (
        tool        text    NOT NULL,
        principal   text    NOT NULL,
        seq         bigint  NOT NULL,
        receipt_id  text    NOT NULL,
        hash        text    NOT NULL,
        receipt     text    NOT NULL,
        PRIMARY KEY (tool, principal, seq),
        UNIQUE (tool, receipt_id)
      );
      CREATE TABLE oap_nonces (
        tool        text    NOT NULL,
        key         text    NOT NULL,
        expires_at  bigint  NOT NULL,
        PRIMARY KEY (tool, key)
      );
      CREATE INDEX oap_nonces_expires ON oap_nonces (expires_at);
      CREATE TABLE oap_idempotency (
        tool        text    NOT NULL,
        key         text    NOT NULL,
        principal   text    NOT NULL,
        fingerprint text    NOT NULL,
        state       text    NOT NULL CHECK (state IN ('in_flight', 'completed')),
        response    text,
        expires_at  bigint  NOT NULL,
        PRIMARY KEY (tool, key)
      );
      CREATE INDEX oap_idempotency_principal ON oap_idempotency (tool, principal);
      CREATE INDEX oap_idempotency_expires ON oap_idempotency (expires_at);
      CREATE TABLE oap_audit (
        tool        text    NOT NULL,
        principal   text    NOT NULL,
        seq         bigint  NOT NULL,
        at          text    NOT NULL,
        kind        text    NOT NULL,
        entry       text    NOT NULL,
        PRIMARY KEY (tool, principal, seq)
      );
      CREATE TABLE oap_tasks (
        tool        text    NOT NULL,
        task_id     text    NOT NULL,
        principal   text    NOT NULL,
        agent       text    NOT NULL,
        status      text    NOT NULL,
        version     integer NOT NULL,
        expires_at  bigint,
        record      text    NOT NULL,
        PRIMARY KEY (tool, task_id)
      );
      CREATE INDEX oap_tasks_principal ON oap_tasks (tool, principal, task_id);
      CREATE INDEX oap_tasks_status ON oap_tasks (tool, status);
      CREATE TABLE oap_webhooks (
        tool        text    NOT NULL,
        id          text    NOT NULL,
        principal   text,
        owner       text    NOT NULL,
        record      text    NOT NULL,
        PRIMARY KEY (tool, id)
      );
      CREATE TABLE oap_incidents (
        tool        text    NOT NULL,
        incident_id text    NOT NULL,
        record      text    NOT NULL,
        PRIMARY KEY (tool, incident_id)
      );
    `,
  },
  {
    version: 3,
    name: "oap wallet ledger: wallets, balances, holds, entries, limits, imports",
    sql: `
      CREATE TABLE wallet_wallets (
        wallet_did    text PRIMARY KEY,
        principal_did text NOT NULL,
        status        text NOT NULL CHECK (status IN ('open', 'closed')),
        created_at    text NOT NULL
      );
      CREATE INDEX wallet_wallets_principal ON wallet_wallets (principal_did);
      CREATE TABLE wallet_balances (
        wallet_did text   NOT NULL REFERENCES wallet_wallets (wallet_did),
        currency   text   NOT NULL,
        balance    bigint NOT NULL,
        held       bigint NOT NULL,
        CHECK (held >= 0 AND balance >= held),
        PRIMARY KEY (wallet_did, currency)
      );
      CREATE TABLE wallet_holds (
        hold_id    text   PRIMARY KEY,
        wallet_did text   NOT NULL REFERENCES wallet_wallets (wallet_did),
        currency   text   NOT NULL,
        amount     bigint NOT NULL CHECK (amount > 0),
        captured   bigint NOT NULL CHECK (captured >= 0 AND captured <= amount),
        status     text   NOT NULL CHECK (status IN ('active', 'closed', 'released', 'expired')),
        tool_did   text   NOT NULL,
        agent_did  text,
        created_at text   NOT NULL,
        expires_at text   NOT NULL,
        expires_ms bigint NOT NULL
      );
      CREATE INDEX wallet_holds_wallet ON wallet_holds (wallet_did, status);
      CREATE TABLE wallet_entries (
        seq              bigserial PRIMARY KEY,
        entry_id         text   NOT NULL UNIQUE,
        wallet_did       text   NOT NULL REFERENCES wallet_wallets (wallet_did),
        currency         text   NOT NULL,
        type             text   NOT NULL CHECK (type IN ('credit', 'debit', 'hold', 'release', 'refund', 'fee')),
        amount           bigint NOT NULL CHECK (amount >= 0),
        effect           bigint NOT NULL,
        timestamp        text   NOT NULL,
        ts_ms            bigint NOT NULL,
        receipt_id       text   NOT NULL,
        counterparty_did text,
        memo             text,
        hold_id          text,
        tool_did         text,
        agent_did        text,
        refund_of        text,
        refunded         bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
        idem_key         text,
        idem_hash        text,
        UNIQUE (wallet_did, idem_key)
      );
      CREATE INDEX wallet_entries_wallet ON wallet_entries (wallet_did, seq);
      CREATE TABLE wallet_limits (
        wallet_did text PRIMARY KEY,
        rules      text NOT NULL
      );
      CREATE TABLE wallet_imports (
        export_id text PRIMARY KEY
      );
    `,
  },
  {
    version: 4,
    name: "oap commerce records: subscriptions, consents, disputes",
    sql: `
      CREATE TABLE oap_commerce (
        tool      text NOT NULL,
        kind      text NOT NULL,
        id        text NOT NULL,
        principal text NOT NULL,
        record    text NOT NULL,
        PRIMARY KEY (tool, kind, id)
      );
      CREATE INDEX oap_commerce_principal ON oap_commerce (tool, kind, principal);
    `,
  },
  {
    version: 5,
    name: "transparency logs: heads, leaves, complete subtree hashes, checkpoints (keyed by origin)",
    sql: `
      CREATE TABLE tlog_logs (
        origin     text   PRIMARY KEY,
        size       bigint NOT NULL DEFAULT 0 CHECK (size >= 0)
      );
      CREATE TABLE tlog_leaves (
        origin     text   NOT NULL,
        idx        bigint NOT NULL,
        leaf_hash  bytea  NOT NULL,
        entry      bytea  NOT NULL,
        PRIMARY KEY (origin, idx)
      );
      CREATE INDEX tlog_leaves_by_hash ON tlog_leaves (origin, leaf_hash);
      CREATE TABLE tlog_nodes (
        origin     text     NOT NULL,
        level      smallint NOT NULL CHECK (level >= 1),
        idx        bigint   NOT NULL,
        hash       bytea    NOT NULL,
        PRIMARY KEY (origin, level, idx)
      );
      CREATE TABLE tlog_checkpoints (
        origin     text   NOT NULL,
        size       bigint NOT NULL,
        note       text   NOT NULL,
        PRIMARY KEY (origin, size)
      );
    `,
  },
  // Version 6: task ownership and in-flight idempotency leases (docs/scale-out.md "Leases"). A task
  // row names the node running it (owner) and until when (lease_expires, ms; renewed by the owner,
  // cleared when the task ends); a node takes over a task whose lease expired with one conditional
  // UPDATE and fails it. An in_flight idempotency record names its reserving node and lease; a
  // retry meeting an expired lease re-reserves it with a conditional UPSERT.
  {
    version: 6,
    name: "oap leases: task owner and lease, in-flight idempotency owner and lease",
    sql: `
      ALTER TABLE oap_tasks ADD COLUMN owner text, ADD COLUMN lease_expires bigint;
      CREATE INDEX oap_tasks_lease ON oap_tasks (tool, lease_expires) WHERE lease_expires IS NOT NULL;
      ALTER TABLE oap_idempotency ADD COLUMN owner text, ADD COLUMN lease_expires bigint;
    `,
  },
  // Version 7: state that must be global across the nodes of a cluster (docs/scale-out.md).
  // oap_rate_limits: one row per (tool, limiter key) holding the admission times (ms) of the last
  // 60 s, rewritten by one UPSERT per call (src/store/postgres-oap-rate-limit.ts); `admitted` is
  // the verdict of the statement that wrote the row. dpop_replay: DPoP proof ids (SHA-256 of
  // "<jkt>:<jti>") until the proof would be too old anyway (src/store/postgres-dpop-replay.ts).
  {
    version: 7,
    name: "cluster-global limits: OAP rpm windows, DPoP jti replay cache",
    sql: `
      CREATE TABLE oap_rate_limits (
        tool      text     NOT NULL,
        key       text     NOT NULL,
        times     bigint[] NOT NULL,
        admitted  boolean  NOT NULL,
        PRIMARY KEY (tool, key)
      );
      CREATE TABLE dpop_replay (
        key         bytea  PRIMARY KEY CHECK (octet_length(key) = 32),
        expires_at  bigint NOT NULL
      );
      CREATE INDEX dpop_replay_expires ON dpop_replay (expires_at);
    `,
  },
]);

/** Former name of {@link MIGRATIONS} (the list grew beyond the OHP control plane). */
export const OHP_MIGRATIONS: readonly Migration[] = MIGRATIONS;

function checksum(m: Migration): string {
  return createHash("sha256").update(m.sql).digest("hex");
}

function check(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new StoreError("ERR_STORE_MIGRATION", `migrations must have strictly increasing positive integer versions (got ${m.version} after ${previous})`);
    }
    previous = m.version;
  }
}

/**
 * Brings the database to the latest of `migrations` (see the module comment). Safe to call from
 * every node at every start.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS, options: { readonly lockKey?: string } = {}): Promise<MigrationReport> {
  check(migrations);
  const lockKey = options.lockKey ?? MIGRATION_LOCK_KEY;
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (cause) {
    throw new StoreError("ERR_STORE_UNAVAILABLE", `cannot connect to PostgreSQL: ${(cause as Error).message}`, { cause });
  }
  let locked = false;
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [lockKey]);
    locked = true;
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version    integer     PRIMARY KEY,
         name       text        NOT NULL,
         checksum   text        NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const rows = (await client.query<{ version: number; checksum: string }>("SELECT version, checksum FROM schema_migrations ORDER BY version")).rows;
    const done = new Map(rows.map((r) => [Number(r.version), r.checksum]));
    const known = new Set(migrations.map((m) => m.version));
    const applied: number[] = [];
    for (const m of migrations) {
      const sum = checksum(m);
      const have = done.get(m.version);
      if (have !== undefined) {
        if (have !== sum) {
          throw new StoreError("ERR_STORE_MIGRATION", `migration ${m.version} (${m.name}) was applied with a different SQL text (checksum ${have}, this build ${sum}); migrations are append-only`);
        }
        continue;
      }
      try {
        await client.query("BEGIN");
        await client.query(m.sql);
        await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [m.version, m.name, sum]);
        await client.query("COMMIT");
      } catch (cause) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new StoreError("ERR_STORE_MIGRATION", `migration ${m.version} (${m.name}) failed: ${(cause as Error).message}`, { cause });
      }
      applied.push(m.version);
      done.set(m.version, sum);
    }
    const versions = [...done.keys()];
    return { applied, current: versions.length === 0 ? 0 : Math.max(...versions), unknown: versions.filter((v) => !known.has(v)).sort((a, b) => a - b) };
  } catch (cause) {
    if (cause instanceof StoreError) throw cause;
    throw new StoreError("ERR_STORE_MIGRATION", `migrating the schema failed: ${(cause as Error).message}`, { cause });
  } finally {
    if (locked) await client.query("SELECT pg_advisory_unlock($1::bigint)", [lockKey]).catch(() => undefined);
    client.release();
  }
}
