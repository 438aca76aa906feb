/**
 * Durable control-plane state: handoff records (role, state, envelopes, history), the
 * idempotency cache (envelope id → the answer sent) and the `(id, nonce)` replay store. The
 * node writes a record and its answer BEFORE the answer leaves, so a node killed at any point
 * after acknowledging a handoff finds it again on restart.
 *
 * {@link SqliteHandoffStore} is the embedded default (built-in `node:sqlite`, WAL,
 * `synchronous=FULL`); {@link MemoryHandoffStore} is for tests and ephemeral nodes.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openSqliteStore } from "../../util/sqlite.js";
import type { JsonObject } from "../../json/types.js";
import type { ReplayStore } from "../receiver-state.js";
import type { Tier } from "../tiers.js";
import type { OhpBindingName } from "../bindings/types.js";
import { ControlError, type ReceiverState, type SenderState } from "./machine.js";

/** One step of a handoff's history. */
export interface HandoffEvent {
  readonly at: string;
  readonly event: string;
  readonly state: string;
  readonly envelopeId?: string;
  readonly note?: string;
}

/** A handoff as one side sees it. `id` is the id of the PROPOSE (or of the unsolicited ASSUME). */
export interface HandoffRecord {
  readonly id: string;
  readonly role: "sender" | "receiver";
  readonly state: SenderState | ReceiverState;
  readonly tier: Tier;
  readonly binding?: OhpBindingName;
  /** The peer: the receiver's base URL (sender side) or its vendor/DID (receiver side). */
  readonly peer?: string;
  readonly callId?: string;
  /** The envelopes of this handoff by verb, latest first. */
  readonly envelopes: Readonly<Record<string, JsonObject>>;
  /** `notAfter` of the PROPOSE (ms), for the sender's stale timer. */
  readonly notAfterMs?: number;
  /** Receiver: ASSUME must arrive before this (ms). */
  readonly assumeDeadlineMs?: number;
  readonly rejectReason?: string;
  readonly history: readonly HandoffEvent[];
  readonly updatedAt: string;
}

/** A value or a promise of it: the embedded stores answer synchronously, network stores do not. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The store interface (SQLite, memory, PostgreSQL). Every write must be durable when its
 * promise resolves: the node acknowledges a handoff only after `put` / `putAnswer` resolved.
 */
export interface HandoffStore {
  get(id: string, role: "sender" | "receiver"): MaybePromise<HandoffRecord | undefined>;
  put(record: HandoffRecord): MaybePromise<void>;
  /** Records whose timers may have fired (sender PROPOSING, receiver ACCEPTED). */
  pending(): MaybePromise<HandoffRecord[]>;
  list(role?: "sender" | "receiver"): MaybePromise<HandoffRecord[]>;
  /** The answer sent for an envelope id (idempotency: same id → same answer). */
  getAnswer(envelopeId: string): MaybePromise<JsonObject | undefined>;
  putAnswer(envelopeId: string, answer: JsonObject, expiresAtMs: number): MaybePromise<void>;
  /** `(id, nonce)` replay protection shared by all bindings of the node. */
  readonly replay: ReplayStore;
  close(): MaybePromise<void>;
}

/** In-memory {@link HandoffStore}. */
export class MemoryHandoffStore implements HandoffStore {
  readonly #records = new Map<string, HandoffRecord>();
  readonly #answers = new Map<string, { answer: JsonObject; expires: number }>();
  readonly #seen = new Map<string, number>();
  readonly replay: ReplayStore = {
    firstUse: (key, expiresAtMs, nowMs) => {
      const e = this.#seen.get(key);
      if (e !== undefined && e >= nowMs) return false;
      this.#seen.set(key, expiresAtMs);
      return true;
    },
  };

  get(id: string, role: "sender" | "receiver"): HandoffRecord | undefined {
    return this.#records.get(`${role}:${id}`);
  }
  put(record: HandoffRecord): void {
    this.#records.set(`${record.role}:${record.id}`, structuredClone(record));
  }
  pending(): HandoffRecord[] {
    return [...this.#records.values()].filter((r) => (r.role === "sender" && r.state === "PROPOSING") || (r.role === "receiver" && r.state === "ACCEPTED"));
  }
  list(role?: "sender" | "receiver"): HandoffRecord[] {
    return [...this.#records.values()].filter((r) => role === undefined || r.role === role);
  }
  getAnswer(envelopeId: string): JsonObject | undefined {
    const a = this.#answers.get(envelopeId);
    return a === undefined || a.expires < Date.now() ? undefined : structuredClone(a.answer);
  }
  putAnswer(envelopeId: string, answer: JsonObject, expiresAtMs: number): void {
    this.#answers.set(envelopeId, { answer: structuredClone(answer), expires: expiresAtMs });
  }
  close(): void {}
}

/** {@link HandoffStore} in one SQLite file. */
export class SqliteHandoffStore implements HandoffStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<"get" | "put" | "pending" | "list" | "listRole" | "getAnswer" | "putAnswer" | "seen" | "markSeen" | "sweep", StatementSync>;
  readonly replay: ReplayStore;

  constructor(path: string) {
    try {
      this.#db = openSqliteStore(
        path,
        `
        CREATE TABLE IF NOT EXISTS handoffs (role TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, record TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (role, id));
        CREATE INDEX IF NOT EXISTS handoffs_state ON handoffs (state);
        CREATE TABLE IF NOT EXISTS answers (envelope_id TEXT PRIMARY KEY, answer TEXT NOT NULL, expires_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      `,
      );
    } catch (cause) {
      throw new ControlError("ERR_OHP_CONTROL_STORE", `cannot open the handoff store ${path}: ${(cause as Error).message}`, { cause });
    }
    const p = (sql: string): StatementSync => this.#db.prepare(sql);
    this.#s = {
      get: p("SELECT record FROM handoffs WHERE role = ? AND id = ?"),
      put: p("INSERT INTO handoffs (role, id, state, record, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (role, id) DO UPDATE SET state = excluded.state, record = excluded.record, updated_at = excluded.updated_at"),
      pending: p("SELECT record FROM handoffs WHERE (role = 'sender' AND state = 'PROPOSING') OR (role = 'receiver' AND state = 'ACCEPTED')"),
      list: p("SELECT record FROM handoffs ORDER BY updated_at"),
      listRole: p("SELECT record FROM handoffs WHERE role = ? ORDER BY updated_at"),
      getAnswer: p("SELECT answer FROM answers WHERE envelope_id = ? AND expires_at >= ?"),
      putAnswer: p("INSERT OR REPLACE INTO answers (envelope_id, answer, expires_at) VALUES (?, ?, ?)"),
      seen: p("SELECT expires_at FROM seen WHERE key = ?"),
      markSeen: p("INSERT OR REPLACE INTO seen (key, expires_at) VALUES (?, ?)"),
      sweep: p("DELETE FROM seen WHERE expires_at < ?"),
    };
    let writes = 0;
    this.replay = {
      firstUse: (key, expiresAtMs, nowMs) => {
        const row = this.#s.seen.get(key) as { expires_at: number } | undefined;
        if (row !== undefined && row.expires_at >= nowMs) return false;
        this.#s.markSeen.run(key, expiresAtMs);
        if (++writes % 1000 === 0) this.#s.sweep.run(nowMs);
        return true;
      },
    };
  }

  get(id: string, role: "sender" | "receiver"): HandoffRecord | undefined {
    const row = this.#s.get.get(role, id) as { record: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as HandoffRecord);
  }
  put(record: HandoffRecord): void {
    this.#s.put.run(record.role, record.id, record.state, JSON.stringify(record), record.updatedAt);
  }
  pending(): HandoffRecord[] {
    return (this.#s.pending.all() as { record: string }[]).map((r) => JSON.parse(r.record) as HandoffRecord);
  }
  list(role?: "sender" | "receiver"): HandoffRecord[] {
    const rows = (role === undefined ? this.#s.list.all() : this.#s.listRole.all(role)) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as HandoffRecord);
  }
  getAnswer(envelopeId: string): JsonObject | undefined {
    const row = this.#s.getAnswer.get(envelopeId, Date.now()) as { answer: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.answer) as JsonObject);
  }
  putAnswer(envelopeId: string, answer: JsonObject, expiresAtMs: number): void {
    this.#s.putAnswer.run(envelopeId, JSON.stringify(answer), expiresAtMs);
  }
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
