/**
 * Durable state of the Open Floor floor manager: the conversation registry (conversants, their
 * delivery mode and outbox, the convener, floor grants, the focal agent) and an append-only
 * event log per conversation (every envelope received, delegated, delivered or queued, and
 * every routing and bookkeeping decision).
 *
 * {@link SqliteFloorStore} is the embedded default (built-in `node:sqlite`, WAL,
 * `synchronous=FULL`, like the OHP handoff store); {@link MemoryFloorStore} is for tests and
 * ephemeral floors.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openSqliteStore } from "../util/sqlite.js";
import type { JsonObject } from "../json/types.js";
import { OfpRuntimeError } from "./runtime.js";
import type { Identification, OfpDocument, OfpEvent } from "./types.js";

/** Open Floor versions a floor manager speaks (floor roles and acceptInvite need 1.0.1+). */
export type FloorVersion = "1.0.1" | "1.1.0";

/**
 * How a conversant receives events: `push` (the floor POSTs to its serviceUrl and processes
 * the answer), or `pull` (a client such as a user proxy: events wait in its outbox and go back
 * in the answer to its next request, or down its gRPC stream while one is open).
 */
export type Delivery = "push" | "pull";

/** An event waiting for a pull conversant, with the speakerUri of who sent it. */
export interface OutboxItem {
  sender: string;
  event: OfpEvent;
}

/** One conversant as the floor keeps it. */
export interface ConversantRecord {
  /** §1.6.1: a copy of the identification section of its manifest. */
  identification: Identification;
  delivery: Delivery;
  /** `invited` until it accepts (or speaks). */
  status: "invited" | "joined";
  outbox: OutboxItem[];
  addedAt: string;
}

/** One conversation. */
export interface ConversationRecord {
  id: string;
  version: FloorVersion;
  status: "open" | "closed";
  conversants: ConversantRecord[];
  /** speakerUri of the convener (§1.6.2, at most one). */
  convener?: string;
  /** §1.6.3: speakerUris holding floor rights. */
  floorGranted: string[];
  /** The focal agent (glossary): the last invitee or floor grantee, the target of whispers to the floor. */
  focal?: string;
  createdAt: string;
  updatedAt: string;
  /** Application data (e.g. the OHP handoff this conversation came from or went to). */
  data: JsonObject;
}

/** What a log entry records. */
export type FloorLogKind =
  /** The conversation was created. */
  | "opened"
  /** An envelope arrived (a request, or the answer of a push conversant). */
  | "received"
  /** An event was passed through (§2.2 Pass-Through); `event` holds it. */
  | "routed"
  /** An event was sent to the convener (§2.2 Delegate); `document` is the delegation envelope. */
  | "delegated"
  /** The convener's answer to a delegation: `events` lists what it returned. */
  | "decided"
  /** An envelope was sent to a push conversant or down a stream. */
  | "delivered"
  /** Events were put in a pull conversant's outbox. */
  | "queued"
  /** The answer envelope given to a pull conversant. */
  | "answered"
  /** An event or envelope was not acted on (`note` says why). */
  | "ignored"
  /** An event was dropped because it cannot be written in the floor's version. */
  | "dropped"
  | "joined"
  | "left"
  /** A floor-rights change (granted, revoked, yielded) or a focal-agent change. */
  | "floor"
  /** A push conversant did not answer in time (it is removed). */
  | "timeout"
  /** A push conversant could not be reached or answered with an error (it is removed). */
  | "failed"
  /** Manifests fetched before inviting an unknown agent. */
  | "discovery"
  /** An OHP handoff of this conversation (OHP bridge). */
  | "handoff"
  | "closed";

/** One entry of a conversation's event log. */
export interface FloorLogEntry {
  /** 1, 2, 3, ... per conversation. */
  seq: number;
  conversationId: string;
  at: string;
  kind: FloorLogKind;
  /** speakerUri the entry comes from. */
  from?: string;
  /** speakerUri (or serviceUrl) the entry goes to. */
  to?: string;
  /** Event types, for summaries. */
  events?: string[];
  event?: OfpEvent;
  document?: OfpDocument;
  note?: string;
}

/** The store interface. */
export interface FloorStore {
  get(id: string): ConversationRecord | undefined;
  put(record: ConversationRecord): void;
  list(): ConversationRecord[];
  /** Appends to the conversation's log; `seq` is assigned. */
  append(entry: Omit<FloorLogEntry, "seq">): FloorLogEntry;
  /** The log of a conversation, in order (entries with seq > `afterSeq`). */
  log(conversationId: string, afterSeq?: number): FloorLogEntry[];
  close(): void;
}

/** In-memory {@link FloorStore}. */
export class MemoryFloorStore implements FloorStore {
  readonly #records = new Map<string, ConversationRecord>();
  readonly #logs = new Map<string, FloorLogEntry[]>();

  get(id: string): ConversationRecord | undefined {
    const r = this.#records.get(id);
    return r === undefined ? undefined : structuredClone(r);
  }
  put(record: ConversationRecord): void {
    this.#records.set(record.id, structuredClone(record));
  }
  list(): ConversationRecord[] {
    return [...this.#records.values()].map((r) => structuredClone(r));
  }
  append(entry: Omit<FloorLogEntry, "seq">): FloorLogEntry {
    const log = this.#logs.get(entry.conversationId) ?? [];
    this.#logs.set(entry.conversationId, log);
    const full = { seq: log.length + 1, ...structuredClone(entry) } as FloorLogEntry;
    log.push(full);
    return structuredClone(full);
  }
  log(conversationId: string, afterSeq = 0): FloorLogEntry[] {
    return (this.#logs.get(conversationId) ?? []).filter((e) => e.seq > afterSeq).map((e) => structuredClone(e));
  }
  close(): void {}
}

/** {@link FloorStore} in one SQLite file. */
export class SqliteFloorStore implements FloorStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<"get" | "put" | "list" | "next" | "append" | "log", StatementSync>;

  constructor(path: string) {
    try {
      this.#db = openSqliteStore(
        path,
        `
        CREATE TABLE IF NOT EXISTS ofp_conversations (id TEXT PRIMARY KEY, status TEXT NOT NULL, record TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS ofp_log (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (conversation_id, seq));
      `,
      );
    } catch (cause) {
      throw new OfpRuntimeError("ERR_OFP_FLOOR", `cannot open the floor store ${path}: ${(cause as Error).message}`, { cause });
    }
    const p = (sql: string): StatementSync => this.#db.prepare(sql);
    this.#s = {
      get: p("SELECT record FROM ofp_conversations WHERE id = ?"),
      put: p("INSERT INTO ofp_conversations (id, status, record, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record, updated_at = excluded.updated_at"),
      list: p("SELECT record FROM ofp_conversations ORDER BY updated_at, id"),
      next: p("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM ofp_log WHERE conversation_id = ?"),
      append: p("INSERT INTO ofp_log (conversation_id, seq, at, kind, entry) VALUES (?, ?, ?, ?, ?)"),
      log: p("SELECT entry FROM ofp_log WHERE conversation_id = ? AND seq > ? ORDER BY seq"),
    };
  }

  get(id: string): ConversationRecord | undefined {
    const row = this.#s.get.get(id) as { record: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as ConversationRecord);
  }
  put(record: ConversationRecord): void {
    this.#s.put.run(record.id, record.status, JSON.stringify(record), record.updatedAt);
  }
  list(): ConversationRecord[] {
    return (this.#s.list.all() as { record: string }[]).map((r) => JSON.parse(r.record) as ConversationRecord);
  }
  append(entry: Omit<FloorLogEntry, "seq">): FloorLogEntry {
    const { seq } = this.#s.next.get(entry.conversationId) as { seq: number };
    const full = { seq, ...entry } as FloorLogEntry;
    this.#s.append.run(entry.conversationId, seq, entry.at, entry.kind, JSON.stringify(full));
    return structuredClone(full);
  }
  log(conversationId: string, afterSeq = 0): FloorLogEntry[] {
    return (this.#s.log.all(conversationId, afterSeq) as { entry: string }[]).map((r) => JSON.parse(r.entry) as FloorLogEntry);
  }
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
