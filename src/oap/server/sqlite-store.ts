/**
 * The embedded OAP store: one SQLite file (built-in `node:sqlite`, WAL, `synchronous=FULL`, like
 * the OHP handoff store) holding a Tool's receipts, nonces, idempotency records, tasks, audit
 * log, webhook subscriptions and incidents.
 *
 * Writes are group-committed: every write is queued and the queue is applied at the next turn
 * of the event loop in one transaction (one fsync), each write inside its own savepoint so that
 * a failing write (a receipt append whose compare-and-set lost, a duplicate task) is rolled back
 * alone. A write's promise resolves only after the COMMIT, so it is durable when it resolves;
 * under concurrency many invocations share one fsync. Each write is atomic: a receipt append is
 * a compare-and-set on the Principal's head (with the idempotency completion of its invocation
 * in the same savepoint, `appendReceiptCompleting`), a task update a compare-and-set on its version with
 * the audit entry in the same savepoint, an idempotency reservation a read-and-insert, a nonce an
 * upsert. Reads are direct and see committed data only.
 *
 * Leases (docs/scale-out.md "Leases"): tasks and `in_flight` idempotency records carry `owner`
 * and `lease_expires` columns (added to files created before them at open: `ALTER TABLE … ADD
 * COLUMN` when `PRAGMA table_info` lacks them). Renewals, claims and takeovers are conditional
 * writes inside the serialised write transaction, so they are compare-and-sets.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { JsonObject } from "../../json/types.js";
import { withAnchors, type ReceiptAnchor } from "../anchors.js";
import { OapError } from "../errors.js";
import { leaseExpired, leaseLost, type IdempotencyRecord } from "../idempotency.js";
import type { ReceiptStore } from "../receipts.js";
import type { NonceStore } from "../replay.js";
import { isTerminalTaskStatus, TERMINAL_TASK_STATUSES } from "../tasks/lifecycle.js";
import { taskRecordJson as taskJson, taskRecordOfRow, taskRowValues, type AuditEntry, type AuditEntryInput, type AuditLog, type TaskPage, type TaskQuery, type TaskRecord, type TaskStore } from "../tasks/store.js";
import type { WebhookSubscription, WebhookSubscriptionStore } from "../webhooks/subscriptions.js";
import type { OapSubscription } from "../commerce/subscriptions.js";
import type { ConsentRecord } from "../commerce/consent.js";
import type { Dispute } from "../commerce/disputes.js";
import type { IdempotencyCompletion, OapCommerceStores, PublishedIncidentStore, OapStore, PrincipalIdempotencyStore } from "./store.js";

const GENESIS = "genesis";

const SCHEMA = `
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = FULL;
  PRAGMA busy_timeout = 5000;
  CREATE TABLE IF NOT EXISTS oap_receipts (
    principal TEXT NOT NULL, seq INTEGER NOT NULL, receipt_id TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, receipt TEXT NOT NULL,
    PRIMARY KEY (principal, seq));
  CREATE TABLE IF NOT EXISTS oap_nonces (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS oap_nonces_expires ON oap_nonces (expires_at);
  CREATE TABLE IF NOT EXISTS oap_idempotency (
    key TEXT PRIMARY KEY, principal TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL, response TEXT, expires_at INTEGER NOT NULL,
    owner TEXT, lease_expires INTEGER);
  CREATE INDEX IF NOT EXISTS oap_idempotency_principal ON oap_idempotency (principal);
  CREATE TABLE IF NOT EXISTS oap_audit (principal TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (principal, seq));
  CREATE TABLE IF NOT EXISTS oap_tasks (
    task_id TEXT PRIMARY KEY, principal TEXT NOT NULL, agent TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL,
    expires_at INTEGER, record TEXT NOT NULL, owner TEXT, lease_expires INTEGER);
  CREATE INDEX IF NOT EXISTS oap_tasks_principal ON oap_tasks (principal, task_id);
  CREATE INDEX IF NOT EXISTS oap_tasks_status ON oap_tasks (status);
  CREATE TABLE IF NOT EXISTS oap_webhooks (id TEXT PRIMARY KEY, principal TEXT, owner TEXT NOT NULL, record TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS oap_incidents (incident_id TEXT PRIMARY KEY, record TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS oap_commerce (kind TEXT NOT NULL, id TEXT NOT NULL, principal TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (kind, id));
  CREATE INDEX IF NOT EXISTS oap_commerce_principal ON oap_commerce (kind, principal);
`;

/** Columns added after the first release of the schema, by table: files created before get them at open. */
const ADDED_COLUMNS: Readonly<Record<string, readonly (readonly [string, string])[]>> = Object.freeze({
  oap_tasks: [
    ["owner", "TEXT"],
    ["lease_expires", "INTEGER"],
  ],
  oap_idempotency: [
    ["owner", "TEXT"],
    ["lease_expires", "INTEGER"],
  ],
});

/** Brings a file created by an older build to the current columns (idempotent), then the indexes on them. */
function evolveSchema(db: DatabaseSync): void {
  for (const [table, columns] of Object.entries(ADDED_COLUMNS)) {
    const have = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
    for (const [name, type] of columns) if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
  }
  db.exec("CREATE INDEX IF NOT EXISTS oap_tasks_lease ON oap_tasks (lease_expires) WHERE lease_expires IS NOT NULL");
}

/** A task row: the record JSON, with the lease columns while it is leased. */
interface TaskRow {
  readonly record: string;
  readonly owner: string | null;
  readonly lease_expires: number | bigint | null;
}

const taskOfRow = (row: TaskRow): TaskRecord => taskRecordOfRow(row.record, row.owner, row.lease_expires);

/** {@link OapStore} in one SQLite file. */
export class SqliteOapStore implements OapStore {
  readonly backend = "sqlite";
  readonly path: string;
  readonly receipts: ReceiptStore;
  readonly nonces: NonceStore;
  readonly idempotency: PrincipalIdempotencyStore;
  readonly audit: AuditLog;
  readonly tasks: TaskStore;
  readonly webhooks: WebhookSubscriptionStore;
  readonly incidents: PublishedIncidentStore;
  readonly commerce: OapCommerceStores;
  readonly #db: DatabaseSync;
  readonly #appendAndComplete: (principal: string, receipt: JsonObject, hash: string, previous: string, completion: IdempotencyCompletion) => Promise<void>;
  #nonceInserts = 0;
  #queue: { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  #scheduled = false;

  /** Queues a write for the next group commit; resolves with its result once committed. */
  #write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const db = this.#db;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      db.exec("BEGIN IMMEDIATE");
      for (const w of batch) {
        db.exec("SAVEPOINT w");
        try {
          outcomes.push({ ok: true, value: w.run() });
          db.exec("RELEASE w");
        } catch (error) {
          db.exec("ROLLBACK TO w");
          db.exec("RELEASE w");
          outcomes.push({ ok: false, error });
        }
      }
      db.exec("COMMIT");
    } catch (cause) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // no transaction left to roll back
      }
      const error = new OapError("ERR_OAP_MAINTENANCE", `the OAP store could not commit: ${(cause as Error).message}`, { cause, details: { retry_after_seconds: 1 } });
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const o = outcomes[i] as { ok: true; value: unknown } | { ok: false; error: unknown };
      if (o.ok) w.resolve(o.value);
      else w.reject(o.error);
    });
  }

  /** The receipt append and the idempotency completion in one savepoint of one commit. */
  appendReceiptCompleting(principalDid: string, receipt: JsonObject, hash: string, previous: string, completion: IdempotencyCompletion): Promise<void> {
    return this.#appendAndComplete(principalDid, receipt, hash, previous, completion);
  }

  constructor(path: string) {
    this.path = path;
    try {
      this.#db = new DatabaseSync(path);
      this.#db.exec(SCHEMA);
      evolveSchema(this.#db);
    } catch (cause) {
      throw new OapError("ERR_OAP_INTERNAL", `cannot open the OAP store ${path}: ${(cause as Error).message}`, { cause });
    }
    const db = this.#db;
    const p = (sql: string): StatementSync => db.prepare(sql);
    const tx = <T>(fn: () => T): Promise<T> => this.#write(fn);

    const iDone = p("UPDATE oap_idempotency SET state = 'completed', response = ? WHERE key = ?");
    const iOwner = p("SELECT owner FROM oap_idempotency WHERE key = ?");
    /** Completion fencing: refuses when the record is another owner's (taken over). */
    const fence = (key: string, owner: string | undefined): void => {
      if (owner === undefined) return;
      const holder = (iOwner.get(key) as { owner: string | null } | undefined)?.owner ?? null;
      if (holder !== null && holder !== owner) throw leaseLost(key, owner, holder);
    };

    // ---- receipts
    const rHead = p("SELECT hash, seq FROM oap_receipts WHERE principal = ? ORDER BY seq DESC LIMIT 1");
    const rById = p("SELECT receipt FROM oap_receipts WHERE receipt_id = ?");
    const rInsert = p("INSERT INTO oap_receipts (principal, seq, receipt_id, hash, receipt) VALUES (?, ?, ?, ?, ?)");
    const rList = p("SELECT receipt FROM oap_receipts WHERE principal = ? ORDER BY seq LIMIT ? OFFSET ?");
    const rSet = p("UPDATE oap_receipts SET receipt = ? WHERE receipt_id = ?");
    const appendReceipt = (principal: string, receipt: JsonObject, hash: string, previous: string): void => {
      const head = rHead.get(principal) as { hash: string; seq: number } | undefined;
      const current = head?.hash ?? GENESIS;
      if (current !== previous) throw new OapError("ERR_OAP_RECEIPT_CHAIN", `the chain of ${principal} moved (head ${current}, expected ${previous})`);
      const id = String(receipt["receipt_id"]);
      if (rById.get(id) !== undefined) throw new OapError("ERR_OAP_RECEIPT_CHAIN", `duplicate receipt_id ${id}`);
      rInsert.run(principal, (head?.seq ?? 0) + 1, id, hash, JSON.stringify(receipt));
    };
    this.#appendAndComplete = (principal, receipt, hash, previous, completion) =>
      tx(() => {
        fence(completion.key, completion.owner);
        appendReceipt(principal, receipt, hash, previous);
        iDone.run(JSON.stringify(completion.response), completion.key);
      });
    this.receipts = {
      head: (principal) => (rHead.get(principal) as { hash: string } | undefined)?.hash,
      append: (principal, receipt, hash, previous) => tx(() => appendReceipt(principal, receipt, hash, previous)),
      list: (principal, options = {}) =>
        (rList.all(principal, options.limit === undefined ? -1 : Math.max(0, options.limit), Math.max(0, options.offset ?? 0)) as { receipt: string }[]).map((r) => JSON.parse(r.receipt) as JsonObject),
      get: (id) => {
        const row = rById.get(id) as { receipt: string } | undefined;
        return row === undefined ? undefined : (JSON.parse(row.receipt) as JsonObject);
      },
      setAnchors: (id: string, anchors: readonly ReceiptAnchor[]) =>
        tx(() => {
          const row = rById.get(id) as { receipt: string } | undefined;
          if (row === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown receipt ${id}`);
          rSet.run(JSON.stringify(withAnchors(JSON.parse(row.receipt) as JsonObject, anchors)), id);
        }),
    };

    // ---- nonces
    const nUpsert = p("INSERT INTO oap_nonces (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE oap_nonces.expires_at <= ?");
    const nSweep = p("DELETE FROM oap_nonces WHERE expires_at <= ?");
    this.nonces = {
      checkAndStore: (key, expiresAtMs, nowMs) =>
        tx(() => {
          const { changes } = nUpsert.run(key, expiresAtMs, nowMs);
          if (++this.#nonceInserts % 1024 === 0) nSweep.run(nowMs);
          return Number(changes) === 1;
        }),
    };

    // ---- idempotency
    const iGet = p("SELECT fingerprint, state, response, expires_at, owner, lease_expires FROM oap_idempotency WHERE key = ?");
    const iPut = p(
      "INSERT INTO oap_idempotency (key, principal, fingerprint, state, response, expires_at, owner, lease_expires) VALUES (?, ?, ?, 'in_flight', NULL, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET principal = excluded.principal, fingerprint = excluded.fingerprint, state = 'in_flight', response = NULL, expires_at = excluded.expires_at, owner = excluded.owner, lease_expires = excluded.lease_expires",
    );
    const iRenew = p("UPDATE oap_idempotency SET lease_expires = ? WHERE key = ? AND owner = ? AND state = 'in_flight'");
    const iDel = p("DELETE FROM oap_idempotency WHERE key = ?");
    const iDelOwned = p("DELETE FROM oap_idempotency WHERE key = ? AND (owner IS NULL OR owner = ?)");
    const iDelP = p("DELETE FROM oap_idempotency WHERE principal = ?");
    const iSweep = p("DELETE FROM oap_idempotency WHERE expires_at <= ?");
    let reserves = 0;
    this.idempotency = {
      reserve: (key, fingerprint, expiresAtMs, nowMs, options) =>
        tx(() => {
          const row = iGet.get(key) as { fingerprint: string; state: string; response: string | null; expires_at: number; owner: string | null; lease_expires: number | null } | undefined;
          if (row !== undefined && Number(row.expires_at) > nowMs) {
            const base: IdempotencyRecord = { fingerprint: row.fingerprint, state: row.state === "completed" ? "completed" : "in_flight", expiresAtMs: Number(row.expires_at) };
            const leased = row.owner === null || row.lease_expires === null ? base : { ...base, lease: { owner: row.owner, expiresAtMs: Number(row.lease_expires) } };
            const rec = row.response === null ? leased : { ...leased, response: JSON.parse(row.response) as JsonObject };
            // Taken over (compare-and-set: this read and the write below are one serialised transaction).
            if (!(options?.takeover === true && leaseExpired(rec, fingerprint, nowMs))) return rec;
          }
          iPut.run(key, key.slice(0, Math.max(0, key.indexOf("\u0000"))), fingerprint, expiresAtMs, options?.lease.owner ?? null, options?.lease.expiresAtMs ?? null);
          if (++reserves % 1024 === 0) iSweep.run(nowMs);
          return undefined;
        }),
      renew: (key, owner, leaseExpiresAtMs) => tx(() => Number(iRenew.run(leaseExpiresAtMs, key, owner).changes) === 1),
      complete: (key, response, owner) =>
        tx(() => {
          fence(key, owner);
          iDone.run(JSON.stringify(response), key);
        }),
      release: (key, owner) =>
        tx(() => {
          if (owner === undefined) iDel.run(key);
          else iDelOwned.run(key, owner);
        }),
      deleteByPrincipal: (principal) => tx(() => Number(iDelP.run(principal).changes)),
    };

    // ---- audit
    const aNext = p("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM oap_audit WHERE principal = ?");
    const aInsert = p("INSERT INTO oap_audit (principal, seq, at, kind, entry) VALUES (?, ?, ?, ?, ?)");
    const aList = p("SELECT entry FROM oap_audit WHERE principal = ? ORDER BY seq LIMIT ? OFFSET ?");
    const appendAudit = (entry: AuditEntryInput): AuditEntry => {
      const { seq } = aNext.get(entry.principal_did) as { seq: number };
      const full: AuditEntry = { seq: Number(seq), ...entry };
      aInsert.run(entry.principal_did, full.seq, entry.at, entry.kind, JSON.stringify(full));
      return full;
    };
    this.audit = {
      append: (entry) => tx(() => appendAudit(entry)),
      list: (principal, options = {}) =>
        (aList.all(principal, options.limit === undefined ? -1 : Math.max(0, options.limit), Math.max(0, options.offset ?? 0)) as { entry: string }[]).map((r) => JSON.parse(r.entry) as AuditEntry),
    };

    // ---- tasks
    const tInsert = p("INSERT INTO oap_tasks (task_id, principal, agent, status, version, expires_at, record, owner, lease_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const tGet = p("SELECT record, owner, lease_expires FROM oap_tasks WHERE task_id = ?");
    // A task that ends drops its lease (the owner column stays, for the record).
    const tUpdate = p("UPDATE oap_tasks SET status = ?, version = ?, expires_at = ?, record = ?, lease_expires = CASE WHEN ? = 1 THEN NULL ELSE lease_expires END WHERE task_id = ? AND version = ?");
    const terminal = TERMINAL_TASK_STATUSES.map((s) => `'${s}'`).join(", ");
    const tOpen = p(`SELECT task_id, record, owner, lease_expires FROM oap_tasks WHERE status NOT IN (${terminal})`);
    const tRenew = p(`UPDATE oap_tasks SET lease_expires = ? WHERE task_id = ? AND owner = ? AND lease_expires IS NOT NULL AND status NOT IN (${terminal})`);
    const tExpired = p(`SELECT task_id, record, owner, lease_expires FROM oap_tasks WHERE lease_expires IS NOT NULL AND lease_expires < ? AND status NOT IN (${terminal})`);
    const tClaim = p("UPDATE oap_tasks SET owner = ?, lease_expires = ? WHERE task_id = ?");
    const tDelP = p("DELETE FROM oap_tasks WHERE principal = ?");
    const parseTask = (row: TaskRow): TaskRecord => taskOfRow(row);
    this.tasks = {
      create: (record, audit) =>
        tx(() => {
          if (tGet.get(record.task.task_id) !== undefined) throw new OapError("ERR_OAP_CONFLICT", `task ${record.task.task_id} exists`);
          tInsert.run(...taskRowValues(record));
          appendAudit(audit);
        }),
      get: (taskId) => {
        const row = tGet.get(taskId) as TaskRow | undefined;
        return row === undefined ? undefined : parseTask(row);
      },
      renewLeases: (owner, taskIds, leaseExpiresAtMs) => tx(() => taskIds.filter((id) => Number(tRenew.run(leaseExpiresAtMs, id, owner).changes) === 1)),
      claimExpired: (claim) =>
        tx(() => {
          const exclude = new Set(claim.exclude ?? []);
          const candidates = (claim.all === true ? tOpen.all() : tExpired.all(claim.nowMs)) as unknown as (TaskRow & { task_id: string })[];
          const rows = candidates.filter((r) => !exclude.has(r.task_id));
          for (const r of rows) tClaim.run(claim.owner, claim.leaseExpiresAtMs, r.task_id);
          return rows.map((r) => ({ ...taskOfRow(r), lease: { owner: claim.owner, expiresAtMs: claim.leaseExpiresAtMs } }));
        }),
      update: (record, expectedVersion, audit) =>
        tx(() => {
          const { changes } = tUpdate.run(record.task.status, record.version, record.expiresAtMs ?? null, taskJson(record), isTerminalTaskStatus(record.task.status) ? 1 : 0, record.task.task_id, expectedVersion);
          if (Number(changes) !== 1) return false;
          if (audit !== undefined) appendAudit(audit);
          return true;
        }),
      list: (query: TaskQuery): TaskPage => {
        const where: string[] = [];
        const args: (string | number)[] = [];
        if (query.principal_did !== undefined) {
          where.push("principal = ?");
          args.push(query.principal_did);
        }
        if (query.agent_did !== undefined) {
          where.push("agent = ?");
          args.push(query.agent_did);
        }
        if (query.status !== undefined && query.status.length > 0) {
          where.push(`status IN (${query.status.map(() => "?").join(", ")})`);
          args.push(...query.status);
        }
        if (query.after !== undefined) {
          where.push("task_id > ?");
          args.push(query.after);
        }
        const sql = `SELECT record, owner, lease_expires FROM oap_tasks ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY task_id LIMIT ?`;
        const rows = db.prepare(sql).all(...args, query.limit + 1) as unknown as TaskRow[];
        const tasks = rows.slice(0, query.limit).map(parseTask);
        const last = tasks.at(-1);
        return rows.length > query.limit && last !== undefined ? { tasks, next: last.task.task_id } : { tasks };
      },
      open: () => (tOpen.all() as unknown as TaskRow[]).map(parseTask),
      deleteByPrincipal: (principal) => tx(() => Number(tDelP.run(principal).changes)),
    };

    // ---- webhooks
    const wPut = p("INSERT INTO oap_webhooks (id, principal, owner, record) VALUES (?, ?, ?, ?)");
    const wGet = p("SELECT record FROM oap_webhooks WHERE id = ?");
    const wDel = p("DELETE FROM oap_webhooks WHERE id = ?");
    const wAll = p("SELECT record FROM oap_webhooks ORDER BY id");
    const wDelP = p("DELETE FROM oap_webhooks WHERE principal = ? OR owner = ?");
    this.webhooks = {
      add: (s: WebhookSubscription) =>
        tx(() => {
          wPut.run(s.id, s.principal_did ?? null, s.owner, JSON.stringify(s));
        }),
      get: (id) => {
        const row = wGet.get(id) as { record: string } | undefined;
        return row === undefined ? undefined : (JSON.parse(row.record) as WebhookSubscription);
      },
      remove: (id) => tx(() => Number(wDel.run(id).changes) === 1),
      all: () => (wAll.all() as { record: string }[]).map((r) => JSON.parse(r.record) as WebhookSubscription),
      deleteByPrincipal: (principal) => tx(() => Number(wDelP.run(principal, principal).changes)),
    };

    // ---- incidents
    const incPut = p("INSERT INTO oap_incidents (incident_id, record) VALUES (?, ?) ON CONFLICT (incident_id) DO UPDATE SET record = excluded.record");
    const incAll = p("SELECT record FROM oap_incidents ORDER BY incident_id");
    this.incidents = {
      publish: (incident) =>
        tx(() => {
          incPut.run(String(incident["incident_id"]), JSON.stringify(incident));
        }),
      list: () => (incAll.all() as { record: string }[]).map((r) => JSON.parse(r.record) as JsonObject),
    };

    // ---- commerce records (subscriptions, consents, disputes): one row per record, put = upsert
    const cPut = p("INSERT INTO oap_commerce (kind, id, principal, record) VALUES (?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET principal = excluded.principal, record = excluded.record");
    const cGet = p("SELECT record FROM oap_commerce WHERE kind = ? AND id = ?");
    const cByP = p("SELECT record FROM oap_commerce WHERE kind = ? AND principal = ? ORDER BY id");
    const cAll = p("SELECT record FROM oap_commerce WHERE kind = ? ORDER BY id");
    const put = (kind: string, id: string, principal: string, record: unknown): Promise<void> =>
      tx(() => {
        cPut.run(kind, id, principal, JSON.stringify(record));
      });
    const get = <T>(kind: string, id: string): T | undefined => {
      const row = cGet.get(kind, id) as { record: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.record) as T);
    };
    const rows = <T>(list: unknown[]): T[] => (list as { record: string }[]).map((r) => JSON.parse(r.record) as T);
    this.commerce = {
      subscriptions: {
        get: (id) => get<OapSubscription>("subscription", id),
        put: (s) => put("subscription", s.subscription_id, s.principal_did, s),
        listByPrincipal: (principal) => rows<OapSubscription>(cByP.all("subscription", principal)),
      },
      consents: {
        get: (id) => get<ConsentRecord>("consent", id),
        put: (c) => put("consent", c.consent_id, c.principal_did, c),
      },
      disputes: {
        get: (id) => get<Dispute>("dispute", id),
        put: (d) => put("dispute", d.dispute_id, d.principal_did, d),
        list: () => rows<Dispute>(cAll.all("dispute")),
      },
    };
  }

  /** Commits what is queued, then closes the file. */
  close(): void {
    this.#flush();
    if (this.#db.isOpen) this.#db.close();
  }
}
