/**
 * {@link OapStore} on PostgreSQL: the receipts, nonces, idempotency records, tasks, audit log,
 * webhook subscriptions and incidents of one OAP Tool, shared by every node serving that Tool.
 * Several tools share the tables (every row carries the tool id; {@link PostgresOapStore.open}
 * takes `tool`).
 *
 * Durability: every write is a statement or transaction on a connection with
 * `synchronous_commit = on` (see ./pg-pool.ts); its promise resolves after the COMMIT.
 *
 * Atomicity across nodes:
 *
 * - receipt append: one transaction that creates the Principal's chain-head row if missing,
 *   locks it (`SELECT … FOR UPDATE`), compares its hash with `previous`, inserts the receipt at
 *   `seq + 1` and moves the head (`appendReceiptCompleting` also completes the invocation's
 *   idempotency record in that transaction). Appends of one Principal are serialised on that row across all
 *   nodes, so a chain stays linear; an append computed from a stale head fails with
 *   `ERR_OAP_RECEIPT_CHAIN` (the engine re-reads the head and retries).
 * - nonce: `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now RETURNING` — a row comes
 *   back only for the one caller that stored (or revived) the key.
 * - idempotency reserve: the same conditional UPSERT (an unexpired record wins; the caller then
 *   reads it back).
 * - audit append and task create / update (with their audit entry): a transaction holding
 *   `pg_advisory_xact_lock` on (tool, Principal), so the per-Principal audit sequence has no gaps
 *   or duplicates; task updates are a compare-and-set on `version`.
 * - leases (migration 6; docs/scale-out.md "Leases"): a task's `owner` / `lease_expires` are
 *   renewed by `UPDATE … WHERE owner = me`, and taken over by `UPDATE … SET owner = me WHERE
 *   lease_expires < now RETURNING` — concurrent claimants serialise on the row and the loser's
 *   WHERE no longer matches, so each task goes to one node. An `in_flight` idempotency record of
 *   a dead node is taken over by the reserve UPSERT itself (its WHERE also accepts an expired
 *   lease of the same fingerprint); completions are fenced by owner (`SELECT … FOR UPDATE` in the
 *   receipt transaction).
 *
 * @module
 */
import type pg from "pg";
import type { JsonObject } from "../json/types.js";
import { withAnchors, type ReceiptAnchor } from "../oap/anchors.js";
import { OapError } from "../oap/errors.js";
import { leaseLost, type IdempotencyRecord } from "../oap/idempotency.js";
import type { ReceiptStore } from "../oap/receipts.js";
import type { NonceStore } from "../oap/replay.js";
import type { IdempotencyCompletion, OapCommerceStores, OapStore, PrincipalIdempotencyStore, PublishedIncidentStore } from "../oap/server/store.js";
import type { OapSubscription } from "../oap/commerce/subscriptions.js";
import type { ConsentRecord } from "../oap/commerce/consent.js";
import type { Dispute } from "../oap/commerce/disputes.js";
import { TERMINAL_TASK_STATUSES } from "../oap/tasks/lifecycle.js";
import { taskRecordJson, taskRecordOfRow, taskRowValues, type AuditEntry, type AuditEntryInput, type AuditLog, type TaskPage, type TaskQuery, type TaskRecord, type TaskStore } from "../oap/tasks/store.js";
import type { WebhookSubscription, WebhookSubscriptionStore } from "../oap/webhooks/subscriptions.js";
import type { MigrationReport } from "./migrations.js";
import { inTransaction, openPool, sqlState } from "./pg-pool.js";
import type { PostgresStoreOptions } from "./postgres-handoff-store.js";

const GENESIS = "genesis";

/**
 * PostgreSQL `text` refuses U+0000, which separates the parts of idempotency keys
 * (`<principal>\0<action>\0<key>`): keys are stored with `\` doubled and U+0000 as `\0` (injective).
 */
function keyText(key: string): string {
  return key.replace(/\\/g, "\\\\").replace(/\u0000/g, "\\0");
}

/** Options of {@link PostgresOapStore.open}. */
export interface PostgresOapStoreOptions extends PostgresStoreOptions {
  /** The Tool whose rows this store reads and writes (default `default`). */
  readonly tool?: string;
}

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

function unavailable(what: string, cause: unknown): OapError {
  return new OapError("ERR_OAP_MAINTENANCE", `the OAP store could not ${what}: ${(cause as Error).message}`, { cause, details: { retry_after_seconds: 1 } });
}

/** The PostgreSQL {@link OapStore} (see the module comment). */
export class PostgresOapStore implements OapStore {
  readonly backend = "postgres";
  readonly tool: string;
  readonly migrations: MigrationReport | undefined;
  readonly receipts: ReceiptStore;
  readonly nonces: NonceStore;
  readonly idempotency: PrincipalIdempotencyStore;
  readonly audit: AuditLog;
  readonly tasks: TaskStore;
  readonly webhooks: WebhookSubscriptionStore;
  readonly incidents: PublishedIncidentStore;
  readonly commerce: OapCommerceStores;
  readonly #pool: pg.Pool;
  readonly #appendAndComplete: (principal: string, receipt: JsonObject, hash: string, previous: string, completion: IdempotencyCompletion) => Promise<void>;
  readonly #ownsPool: boolean;
  readonly #sweepEvery: number;
  #writes = 0;
  #closed = false;

  /** Connects (or adopts `pool`), migrates and returns the store of `tool`. */
  static async open(options: PostgresOapStoreOptions | string): Promise<PostgresOapStore> {
    const o: PostgresOapStoreOptions = typeof options === "string" ? { connectionString: options } : options;
    const opened = await openPool(o);
    return new PostgresOapStore(opened.pool, opened.ownsPool, opened.migrations, o.tool ?? "default", o.sweepEvery ?? 1024);
  }

  /** The receipt append (see the module comment) and the idempotency completion in one transaction. */
  appendReceiptCompleting(principalDid: string, receipt: JsonObject, hash: string, previous: string, completion: IdempotencyCompletion): Promise<void> {
    return this.#appendAndComplete(principalDid, receipt, hash, previous, completion);
  }

  private constructor(pool: pg.Pool, ownsPool: boolean, migrations: MigrationReport | undefined, tool: string, sweepEvery: number) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.migrations = migrations;
    this.tool = tool;
    this.#sweepEvery = sweepEvery;
    const T = tool;
    const q = (what: string, sql: string, params: unknown[], on: Queryable = this.#pool): Promise<pg.QueryResult> => this.#q(what, sql, params, on);
    const tx = <R>(what: string, fn: (c: pg.PoolClient) => Promise<R>): Promise<R> => this.#tx(what, fn);
    const lockPrincipal = (c: pg.PoolClient, principal: string): Promise<pg.QueryResult> =>
      c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [keyText(`oap-audit\u0000${T}\u0000${principal}`)]);
    const appendAudit = async (c: pg.PoolClient, entry: AuditEntryInput): Promise<AuditEntry> => {
      await lockPrincipal(c, entry.principal_did);
      const next = (await c.query<{ seq: string }>("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM oap_audit WHERE tool = $1 AND principal = $2", [T, entry.principal_did])).rows[0];
      const full: AuditEntry = { seq: Number(next?.seq ?? 1), ...entry };
      await c.query("INSERT INTO oap_audit (tool, principal, seq, at, kind, entry) VALUES ($1, $2, $3, $4, $5, $6)", [T, entry.principal_did, full.seq, entry.at, entry.kind, JSON.stringify(full)]);
      return full;
    };
    const page = (options: { readonly offset?: number; readonly limit?: number }): [number | null, number] => [options.limit === undefined ? null : Math.max(0, options.limit), Math.max(0, options.offset ?? 0)];

    const appendReceipt = async (c: pg.PoolClient, principal: string, receipt: JsonObject, hash: string, previous: string): Promise<void> => {
      await c.query("INSERT INTO oap_receipt_heads (tool, principal, seq, hash) VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING", [T, principal, GENESIS]);
      const head = (await c.query<{ hash: string; seq: string }>("SELECT hash, seq FROM oap_receipt_heads WHERE tool = $1 AND principal = $2 FOR UPDATE", [T, principal])).rows[0];
      const current = head?.hash ?? GENESIS;
      if (current !== previous) throw new OapError("ERR_OAP_RECEIPT_CHAIN", `the chain of ${principal} moved (head ${current}, expected ${previous})`);
      const id = String(receipt["receipt_id"]);
      const seq = Number(head?.seq ?? 0) + 1;
      try {
        await c.query("INSERT INTO oap_receipts (tool, principal, seq, receipt_id, hash, receipt) VALUES ($1, $2, $3, $4, $5, $6)", [T, principal, seq, id, hash, JSON.stringify(receipt)]);
      } catch (e) {
        if (sqlState(e) === "23505") throw new OapError("ERR_OAP_RECEIPT_CHAIN", `duplicate receipt_id ${id}`);
        throw e;
      }
      await c.query("UPDATE oap_receipt_heads SET seq = $3, hash = $4 WHERE tool = $1 AND principal = $2", [T, principal, seq, hash]);
    };
    /** Completion fencing: the record (locked until the commit) must not be another owner's. */
    const fence = async (c: pg.PoolClient, key: string, owner: string | undefined): Promise<void> => {
      if (owner === undefined) return;
      const holder = (await c.query<{ owner: string | null }>("SELECT owner FROM oap_idempotency WHERE tool = $1 AND key = $2 FOR UPDATE", [T, keyText(key)])).rows[0]?.owner ?? null;
      if (holder !== null && holder !== owner) throw leaseLost(key, owner, holder);
    };
    this.#appendAndComplete = (principal, receipt, hash, previous, completion) =>
      tx("append a receipt and complete its idempotency key", async (c) => {
        await fence(c, completion.key, completion.owner);
        await appendReceipt(c, principal, receipt, hash, previous);
        await c.query("UPDATE oap_idempotency SET state = 'completed', response = $3 WHERE tool = $1 AND key = $2", [T, keyText(completion.key), JSON.stringify(completion.response)]);
      });

    // ---- receipts
    this.receipts = {
      head: async (principal) => {
        const row = (await q("read the receipt head", "SELECT hash, seq FROM oap_receipt_heads WHERE tool = $1 AND principal = $2", [T, principal])).rows[0] as { hash: string; seq: string } | undefined;
        return row === undefined || Number(row.seq) === 0 ? undefined : row.hash;
      },
      append: (principal, receipt, hash, previous) => tx("append a receipt", (c) => appendReceipt(c, principal, receipt, hash, previous)),
      list: async (principal, options = {}) => {
        const [limit, offset] = page(options);
        const r = await q("list receipts", "SELECT receipt FROM oap_receipts WHERE tool = $1 AND principal = $2 ORDER BY seq LIMIT $3 OFFSET $4", [T, principal, limit, offset]);
        return r.rows.map((row: { receipt: string }) => JSON.parse(row.receipt) as JsonObject);
      },
      get: async (id) => {
        const row = (await q("read a receipt", "SELECT receipt FROM oap_receipts WHERE tool = $1 AND receipt_id = $2", [T, id])).rows[0] as { receipt: string } | undefined;
        return row === undefined ? undefined : (JSON.parse(row.receipt) as JsonObject);
      },
      setAnchors: (id: string, anchors: readonly ReceiptAnchor[]) =>
        tx("anchor a receipt", async (c) => {
          const row = (await c.query<{ receipt: string }>("SELECT receipt FROM oap_receipts WHERE tool = $1 AND receipt_id = $2 FOR UPDATE", [T, id])).rows[0];
          if (row === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown receipt ${id}`);
          await c.query("UPDATE oap_receipts SET receipt = $3 WHERE tool = $1 AND receipt_id = $2", [T, id, JSON.stringify(withAnchors(JSON.parse(row.receipt) as JsonObject, anchors))]);
        }),
    };

    // ---- nonces
    this.nonces = {
      checkAndStore: async (key, expiresAtMs, nowMs) => {
        const r = await q(
          "store a nonce",
          `INSERT INTO oap_nonces (tool, key, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (tool, key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE oap_nonces.expires_at <= $4
           RETURNING 1 AS fresh`,
          [T, keyText(key), Math.trunc(expiresAtMs), Math.trunc(nowMs)],
        );
        this.#maybeSweep(nowMs);
        return r.rowCount === 1;
      },
    };

    // ---- idempotency
    this.idempotency = {
      reserve: async (key, fingerprint, expiresAtMs, nowMs, options) => {
        for (let attempt = 0; ; attempt++) {
          // One statement: a new key, an expired record, or (takeover) an in-flight record of the
          // same request whose owner's lease expired. Concurrent takeovers serialise on the row;
          // the WHERE is re-checked against the winner's fresh lease, so only one gets a row back.
          const r = await q(
            "reserve an idempotency key",
            `INSERT INTO oap_idempotency (tool, key, principal, fingerprint, state, response, expires_at, owner, lease_expires) VALUES ($1, $2, $3, $4, 'in_flight', NULL, $5, $7, $8)
             ON CONFLICT (tool, key) DO UPDATE SET principal = EXCLUDED.principal, fingerprint = EXCLUDED.fingerprint, state = 'in_flight', response = NULL, expires_at = EXCLUDED.expires_at,
               owner = EXCLUDED.owner, lease_expires = EXCLUDED.lease_expires
             WHERE oap_idempotency.expires_at <= $6
                OR ($9::boolean AND oap_idempotency.state = 'in_flight' AND oap_idempotency.lease_expires IS NOT NULL AND oap_idempotency.lease_expires <= $6
                    AND oap_idempotency.fingerprint = EXCLUDED.fingerprint)
             RETURNING 1 AS reserved`,
            [
              T,
              keyText(key),
              key.slice(0, Math.max(0, key.indexOf("\u0000"))),
              fingerprint,
              Math.trunc(expiresAtMs),
              Math.trunc(nowMs),
              options?.lease.owner ?? null,
              options === undefined ? null : Math.trunc(options.lease.expiresAtMs),
              options?.takeover === true,
            ],
          );
          if (r.rowCount === 1) {
            this.#maybeSweep(nowMs);
            return undefined;
          }
          const row = (await q("read an idempotency record", "SELECT fingerprint, state, response, expires_at, owner, lease_expires FROM oap_idempotency WHERE tool = $1 AND key = $2", [T, keyText(key)])).rows[0] as
            | { fingerprint: string; state: string; response: string | null; expires_at: string; owner: string | null; lease_expires: string | null }
            | undefined;
          // Released between the two statements: try again.
          if (row === undefined && attempt < 5) continue;
          if (row === undefined) throw unavailable("reserve an idempotency key", new Error("the record kept changing"));
          const base: IdempotencyRecord = { fingerprint: row.fingerprint, state: row.state === "completed" ? "completed" : "in_flight", expiresAtMs: Number(row.expires_at) };
          const rec = row.owner === null || row.lease_expires === null ? base : { ...base, lease: { owner: row.owner, expiresAtMs: Number(row.lease_expires) } };
          return row.response === null ? rec : { ...rec, response: JSON.parse(row.response) as JsonObject };
        }
      },
      renew: async (key, owner, leaseExpiresAtMs) =>
        (await q("renew an idempotency lease", "UPDATE oap_idempotency SET lease_expires = $4 WHERE tool = $1 AND key = $2 AND owner = $3 AND state = 'in_flight'", [T, keyText(key), owner, Math.trunc(leaseExpiresAtMs)])).rowCount === 1,
      complete: async (key, response, owner) => {
        const r = await q("complete an idempotency key", "UPDATE oap_idempotency SET state = 'completed', response = $3 WHERE tool = $1 AND key = $2 AND ($4::text IS NULL OR owner IS NULL OR owner = $4)", [
          T,
          keyText(key),
          JSON.stringify(response),
          owner ?? null,
        ]);
        if (r.rowCount === 1 || owner === undefined) return;
        const holder = ((await q("read an idempotency record", "SELECT owner FROM oap_idempotency WHERE tool = $1 AND key = $2", [T, keyText(key)])).rows[0] as { owner: string | null } | undefined)?.owner;
        if (holder !== undefined && holder !== null && holder !== owner) throw leaseLost(key, owner, holder);
      },
      release: async (key, owner) => {
        await q("release an idempotency key", "DELETE FROM oap_idempotency WHERE tool = $1 AND key = $2 AND ($3::text IS NULL OR owner IS NULL OR owner = $3)", [T, keyText(key), owner ?? null]);
      },
      deleteByPrincipal: async (principal) => (await q("erase idempotency records", "DELETE FROM oap_idempotency WHERE tool = $1 AND principal = $2", [T, principal])).rowCount ?? 0,
    };

    // ---- audit
    this.audit = {
      append: (entry) => tx("append to the audit log", (c) => appendAudit(c, entry)),
      list: async (principal, options = {}) => {
        const [limit, offset] = page(options);
        const r = await q("list the audit log", "SELECT entry FROM oap_audit WHERE tool = $1 AND principal = $2 ORDER BY seq LIMIT $3 OFFSET $4", [T, principal, limit, offset]);
        return r.rows.map((row: { entry: string }) => JSON.parse(row.entry) as AuditEntry);
      },
    };

    // ---- tasks
    type TaskRow = { readonly record: string; readonly owner: string | null; readonly lease_expires: string | null };
    const parseTask = (row: TaskRow): TaskRecord => taskRecordOfRow(row.record, row.owner, row.lease_expires);
    const TASK_COLUMNS = "record, owner, lease_expires";
    const terminal = [...TERMINAL_TASK_STATUSES];
    this.tasks = {
      create: (record, audit) =>
        tx("create a task", async (c) => {
          const r = await c.query(
            "INSERT INTO oap_tasks (tool, task_id, principal, agent, status, version, expires_at, record, owner, lease_expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            [T, ...taskRowValues(record)],
          );
          if (r.rowCount !== 1) throw new OapError("ERR_OAP_CONFLICT", `task ${record.task.task_id} exists`);
          await appendAudit(c, audit);
        }),
      get: async (taskId) => {
        const row = (await q("read a task", `SELECT ${TASK_COLUMNS} FROM oap_tasks WHERE tool = $1 AND task_id = $2`, [T, taskId])).rows[0] as TaskRow | undefined;
        return row === undefined ? undefined : parseTask(row);
      },
      renewLeases: async (owner, taskIds, leaseExpiresAtMs) => {
        if (taskIds.length === 0) return [];
        const r = await q(
          "renew task leases",
          "UPDATE oap_tasks SET lease_expires = $4 WHERE tool = $1 AND owner = $2 AND task_id = ANY($3::text[]) AND lease_expires IS NOT NULL AND NOT (status = ANY($5::text[])) RETURNING task_id",
          [T, owner, [...taskIds], Math.trunc(leaseExpiresAtMs), terminal],
        );
        return r.rows.map((row: { task_id: string }) => row.task_id);
      },
      claimExpired: async (claim) => {
        // Compare-and-set per row: a concurrent claimant waits for the row lock, then re-checks
        // the WHERE against the new lease and skips the row.
        const r = await q(
          "claim tasks of lost nodes",
          `UPDATE oap_tasks SET owner = $2, lease_expires = $3
           WHERE tool = $1 AND NOT (status = ANY($4::text[])) AND NOT (task_id = ANY($5::text[]))
             AND ($6::boolean OR (lease_expires IS NOT NULL AND lease_expires < $7))
           RETURNING ${TASK_COLUMNS}`,
          [T, claim.owner, Math.trunc(claim.leaseExpiresAtMs), terminal, [...(claim.exclude ?? [])], claim.all === true, Math.trunc(claim.nowMs)],
        );
        return (r.rows as TaskRow[]).map(parseTask);
      },
      update: (record, expectedVersion, audit) =>
        tx("update a task", async (c) => {
          // A task that ends drops its lease (the owner stays, for the record).
          const r = await c.query("UPDATE oap_tasks SET status = $3, version = $4, expires_at = $5, record = $6, lease_expires = CASE WHEN $8::boolean THEN NULL ELSE lease_expires END WHERE tool = $1 AND task_id = $2 AND version = $7", [
            T,
            record.task.task_id,
            record.task.status,
            record.version,
            record.expiresAtMs ?? null,
            taskRecordJson(record),
            expectedVersion,
            terminal.includes(record.task.status),
          ]);
          if (r.rowCount !== 1) return false;
          if (audit !== undefined) await appendAudit(c, audit);
          return true;
        }),
      list: async (query: TaskQuery): Promise<TaskPage> => {
        const where = ["tool = $1"];
        const args: unknown[] = [T];
        if (query.principal_did !== undefined) {
          args.push(query.principal_did);
          where.push(`principal = $${args.length}`);
        }
        if (query.agent_did !== undefined) {
          args.push(query.agent_did);
          where.push(`agent = $${args.length}`);
        }
        if (query.status !== undefined && query.status.length > 0) {
          args.push([...query.status]);
          where.push(`status = ANY($${args.length}::text[])`);
        }
        if (query.after !== undefined) {
          args.push(query.after);
          where.push(`task_id COLLATE "C" > $${args.length}`);
        }
        args.push(query.limit + 1);
        const rows = (await q("list tasks", `SELECT ${TASK_COLUMNS} FROM oap_tasks WHERE ${where.join(" AND ")} ORDER BY task_id COLLATE "C" LIMIT $${args.length}`, args)).rows as TaskRow[];
        const tasks = rows.slice(0, query.limit).map(parseTask);
        const last = tasks.at(-1);
        return rows.length > query.limit && last !== undefined ? { tasks, next: last.task.task_id } : { tasks };
      },
      open: async () => ((await q("list open tasks", `SELECT ${TASK_COLUMNS} FROM oap_tasks WHERE tool = $1 AND NOT (status = ANY($2::text[]))`, [T, terminal])).rows as TaskRow[]).map(parseTask),
      deleteByPrincipal: async (principal) => (await q("erase tasks", "DELETE FROM oap_tasks WHERE tool = $1 AND principal = $2", [T, principal])).rowCount ?? 0,
    };

    // ---- webhooks
    this.webhooks = {
      add: async (s: WebhookSubscription) => {
        try {
          await q("add a subscription", "INSERT INTO oap_webhooks (tool, id, principal, owner, record) VALUES ($1, $2, $3, $4, $5)", [T, s.id, s.principal_did ?? null, s.owner, JSON.stringify(s)]);
        } catch (e) {
          if (e instanceof OapError && sqlState(e.cause) === "23505") throw new OapError("ERR_OAP_CONFLICT", `subscription ${s.id} exists`);
          throw e;
        }
      },
      get: async (id) => {
        const row = (await q("read a subscription", "SELECT record FROM oap_webhooks WHERE tool = $1 AND id = $2", [T, id])).rows[0] as { record: string } | undefined;
        return row === undefined ? undefined : (JSON.parse(row.record) as WebhookSubscription);
      },
      remove: async (id) => (await q("remove a subscription", "DELETE FROM oap_webhooks WHERE tool = $1 AND id = $2", [T, id])).rowCount === 1,
      all: async () => (await q("list subscriptions", "SELECT record FROM oap_webhooks WHERE tool = $1 ORDER BY id COLLATE \"C\"", [T])).rows.map((r: { record: string }) => JSON.parse(r.record) as WebhookSubscription),
      deleteByPrincipal: async (principal) => (await q("erase subscriptions", "DELETE FROM oap_webhooks WHERE tool = $1 AND (principal = $2 OR owner = $2)", [T, principal])).rowCount ?? 0,
    };

    // ---- incidents
    this.incidents = {
      publish: async (incident) => {
        await q("publish an incident", "INSERT INTO oap_incidents (tool, incident_id, record) VALUES ($1, $2, $3) ON CONFLICT (tool, incident_id) DO UPDATE SET record = EXCLUDED.record", [
          T,
          String(incident["incident_id"]),
          JSON.stringify(incident),
        ]);
      },
      list: async () => (await q("list incidents", "SELECT record FROM oap_incidents WHERE tool = $1 ORDER BY incident_id COLLATE \"C\"", [T])).rows.map((r: { record: string }) => JSON.parse(r.record) as JsonObject),
    };

    // ---- commerce records (subscriptions, consents, disputes): put = upsert
    const cPut = async (kind: string, id: string, principal: string, record: unknown): Promise<void> => {
      await q(`store a ${kind}`, "INSERT INTO oap_commerce (tool, kind, id, principal, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tool, kind, id) DO UPDATE SET principal = EXCLUDED.principal, record = EXCLUDED.record", [T, kind, id, principal, JSON.stringify(record)]);
    };
    const cGet = async <R>(kind: string, id: string): Promise<R | undefined> => {
      const row = (await q(`read a ${kind}`, "SELECT record FROM oap_commerce WHERE tool = $1 AND kind = $2 AND id = $3", [T, kind, id])).rows[0] as { record: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.record) as R);
    };
    const cRows = <R>(r: pg.QueryResult): R[] => r.rows.map((x: { record: string }) => JSON.parse(x.record) as R);
    this.commerce = {
      subscriptions: {
        get: (id) => cGet<OapSubscription>("subscription", id),
        put: (s) => cPut("subscription", s.subscription_id, s.principal_did, s),
        listByPrincipal: async (principal) => cRows<OapSubscription>(await q("list subscriptions", "SELECT record FROM oap_commerce WHERE tool = $1 AND kind = 'subscription' AND principal = $2 ORDER BY id COLLATE \"C\"", [T, principal])),
      },
      consents: {
        get: (id) => cGet<ConsentRecord>("consent", id),
        put: (c) => cPut("consent", c.consent_id, c.principal_did, c),
      },
      disputes: {
        get: (id) => cGet<Dispute>("dispute", id),
        put: (d) => cPut("dispute", d.dispute_id, d.principal_did, d),
        list: async () => cRows<Dispute>(await q("list disputes", "SELECT record FROM oap_commerce WHERE tool = $1 AND kind = 'dispute' ORDER BY id COLLATE \"C\"", [T])),
      },
    };
  }

  async #q(what: string, sql: string, params: unknown[], on: Queryable): Promise<pg.QueryResult> {
    if (this.#closed) throw new OapError("ERR_OAP_MAINTENANCE", `the OAP store is closed (${what})`, { details: { retry_after_seconds: 1 } });
    try {
      return await on.query(sql, params);
    } catch (e) {
      throw unavailable(what, e);
    }
  }

  /** One transaction; OapErrors thrown by `fn` pass through, database failures become ERR_OAP_MAINTENANCE. Deadlocks and serialization failures are retried. */
  async #tx<R>(what: string, fn: (c: pg.PoolClient) => Promise<R>): Promise<R> {
    if (this.#closed) throw new OapError("ERR_OAP_MAINTENANCE", `the OAP store is closed (${what})`, { details: { retry_after_seconds: 1 } });
    for (let attempt = 0; ; attempt++) {
      try {
        return await inTransaction(this.#pool, fn);
      } catch (e) {
        if (e instanceof OapError) throw e;
        const state = sqlState(e);
        if ((state === "40001" || state === "40P01") && attempt < 5) continue;
        throw unavailable(what, e);
      }
    }
  }

  #maybeSweep(nowMs: number): void {
    if (this.#sweepEvery <= 0 || ++this.#writes % this.#sweepEvery !== 0) return;
    void this.sweepExpired(nowMs).catch(() => undefined);
  }

  /** Deletes expired nonces and idempotency records of this tool. */
  async sweepExpired(nowMs = Date.now()): Promise<void> {
    await this.#pool.query("DELETE FROM oap_nonces WHERE tool = $1 AND expires_at <= $2", [this.tool, Math.trunc(nowMs)]);
    await this.#pool.query("DELETE FROM oap_idempotency WHERE tool = $1 AND expires_at <= $2", [this.tool, Math.trunc(nowMs)]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) await this.#pool.end();
  }
}
