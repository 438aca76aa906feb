/**
 * The same HandoffStore / RateLimiter contract suite against memory, SQLite and PostgreSQL
 * (a throwaway server from the preinstalled binaries; skipped only when they are absent), plus
 * the PostgreSQL-specific parts: versioned migrations under the advisory lock, store selection.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryHandoffStore, SqliteHandoffStore } from "../../src/ohp/control/store.js";
import { FixedWindowRateLimiter } from "../../src/ohp/receiver-state.js";
import { migrate, OHP_MIGRATIONS, openHandoffStore, PostgresHandoffStore, redactConnectionString, type Migration } from "../../src/store/index.js";
import { handoffStoreSuite, rateLimiterSuite } from "./store-suite.js";
import { HAVE_POSTGRES, startTestPostgres, type TestPostgres } from "./postgres-server.js";

const dir = mkdtempSync(join(tmpdir(), "agentwire-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

handoffStoreSuite({
  name: "memory",
  refusesStaleWrites: false,
  open: async () => ({ store: new MemoryHandoffStore() }),
});

handoffStoreSuite({
  name: "SQLite",
  refusesStaleWrites: false,
  open: async () => {
    const path = join(dir, `s${++files}.sqlite`);
    return { store: new SqliteHandoffStore(path), reopen: async () => new SqliteHandoffStore(path) };
  },
});

rateLimiterSuite({
  name: "memory (FixedWindowRateLimiter)",
  open: async (o) => ({ limiter: new FixedWindowRateLimiter(o), close: async () => undefined }),
});

describe.skipIf(!HAVE_POSTGRES)("PostgreSQL", () => {
  let server: TestPostgres;
  /** A database for the rate-limiter suite and store selection (kids and ids are unique per test). */
  let url: string;
  beforeAll(async () => {
    server = await startTestPostgres();
    url = await server.createDatabase();
  }, 60_000);
  afterAll(async () => server?.stop());

  handoffStoreSuite({
    name: "PostgreSQL",
    refusesStaleWrites: true,
    // A fresh database per store, like a fresh SQLite file.
    open: async () => {
      const db = await server.createDatabase();
      return { store: await PostgresHandoffStore.open(db), reopen: async () => PostgresHandoffStore.open(db) };
    },
    openPair: async () => {
      const db = await server.createDatabase();
      return [await PostgresHandoffStore.open({ connectionString: db, maxConnections: 8 }), await PostgresHandoffStore.open({ connectionString: db, maxConnections: 8 })];
    },
  });

  rateLimiterSuite({
    name: "PostgreSQL (shared)",
    open: async (o) => {
      const a = await PostgresHandoffStore.open(url);
      const b = await PostgresHandoffStore.open(url);
      return {
        limiter: a.rateLimiter(o),
        second: b.rateLimiter(o),
        close: async () => {
          await a.close();
          await b.close();
        },
      };
    },
  });

  describe("migrations", () => {
    it("a fresh database is migrated to the latest version once; running again is a no-op", async () => {
      const db = await server.createDatabase();
      const pool = new pg.Pool({ connectionString: db });
      try {
        const first = await migrate(pool);
        expect(first.applied).toEqual(OHP_MIGRATIONS.map((m) => m.version));
        const again = await migrate(pool);
        expect(again).toEqual({ applied: [], current: first.current, unknown: [] });
        const rows = (await pool.query("SELECT version, name, checksum FROM schema_migrations")).rows;
        expect(rows).toHaveLength(OHP_MIGRATIONS.length);
        const tables = (await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r: { tablename: string }) => r.tablename);
        expect(tables).toEqual([
          "dpop_replay",
          ...["oap_audit", "oap_commerce", "oap_idempotency", "oap_incidents", "oap_nonces", "oap_rate_limits", "oap_receipt_heads", "oap_receipts", "oap_tasks", "oap_webhooks"],
          ...["ohp_answers", "ohp_handoffs", "ohp_rate_limits", "ohp_replay", "schema_migrations"],
          ...["tlog_checkpoints", "tlog_leaves", "tlog_logs", "tlog_nodes"],
          ...["wallet_balances", "wallet_entries", "wallet_holds", "wallet_imports", "wallet_limits", "wallet_wallets"],
        ]);
      } finally {
        await pool.end();
      }
    });

    it("eight nodes starting at once against an empty database: each migration applied exactly once, no errors", async () => {
      const db = await server.createDatabase();
      const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresHandoffStore.open({ connectionString: db, maxConnections: 2 })));
      try {
        const applied = stores.flatMap((s) => s.migrations?.applied ?? []);
        expect(applied.sort()).toEqual(OHP_MIGRATIONS.map((m) => m.version));
        expect(stores.every((s) => s.migrations?.current === OHP_MIGRATIONS.at(-1)!.version)).toBe(true);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it("a later migration is applied on top; an edited released migration is refused; versions from a newer node are reported", async () => {
      const db = await server.createDatabase();
      const pool = new pg.Pool({ connectionString: db });
      try {
        await migrate(pool);
        const next: Migration = { version: 1000, name: "test: extra column", sql: "ALTER TABLE ohp_handoffs ADD COLUMN note text" };
        expect((await migrate(pool, [...OHP_MIGRATIONS, next])).applied).toEqual([1000]);
        // An older build (without 1000) still starts: the newer version is reported, not rejected.
        expect((await migrate(pool)).unknown).toEqual([1000]);
        const edited = [{ ...OHP_MIGRATIONS[0]!, sql: OHP_MIGRATIONS[0]!.sql + " -- edited" }];
        await expect(migrate(pool, edited)).rejects.toMatchObject({ code: "ERR_STORE_MIGRATION" });
        // A failing migration rolls back entirely (its bookkeeping row too).
        const bad: Migration = { version: 1001, name: "test: broken", sql: "ALTER TABLE ohp_handoffs ADD COLUMN ok2 text; SELECT no_such_function()" };
        await expect(migrate(pool, [...OHP_MIGRATIONS, next, bad])).rejects.toMatchObject({ code: "ERR_STORE_MIGRATION" });
        const cols = (await pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'ohp_handoffs' AND column_name = 'ok2'")).rows;
        expect(cols).toHaveLength(0);
        await expect(migrate(pool, [next, OHP_MIGRATIONS[0]!])).rejects.toMatchObject({ code: "ERR_STORE_MIGRATION" });
      } finally {
        await pool.end();
      }
    });
  });

  describe("openHandoffStore / --store", () => {
    it("postgres:// opens the shared store with a shared rate limiter; sqlite is the default", async () => {
      const o = await openHandoffStore(url, { dataDir: dir, rateLimit: { max: 5, windowMs: 1000 } });
      try {
        expect(o.backend).toBe("postgres");
        expect(o.store).toBeInstanceOf(PostgresHandoffStore);
        expect(o.rateLimiter).toBeDefined();
        // Writes are acknowledged only once flushed: synchronous_commit is on for the store's sessions.
        expect((await (o.store as PostgresHandoffStore).pool.query("SHOW synchronous_commit")).rows[0]).toEqual({ synchronous_commit: "on" });
      } finally {
        await o.store.close();
        await o.close();
      }
      const off = await openHandoffStore(url.replace(/^postgres:/, "postgresql:"), { dataDir: dir, rateLimit: false });
      expect(off.rateLimiter).toBeUndefined();
      await off.store.close();
      await off.close();
      const s = await openHandoffStore(undefined, { dataDir: dir });
      expect(s.backend).toBe("sqlite");
      expect(s.location).toBe(join(dir, "ohp.sqlite"));
      await s.store.close();
      await expect(openHandoffStore("mysql://x@y/z", { dataDir: dir })).rejects.toMatchObject({ code: "ERR_STORE_CONFIG" });
    });

    it("a connection with synchronous_commit=off is refused at open (ERR_STORE_CONFIG)", async () => {
      await expect(PostgresHandoffStore.open(`${url}?options=${encodeURIComponent("-c synchronous_commit=off")}`)).rejects.toMatchObject({ code: "ERR_STORE_CONFIG" });
    });

    it("an unreachable database fails the start with ERR_STORE_UNAVAILABLE, password redacted", async () => {
      const dead = `postgres://agent:s3cret@127.0.0.1:1/nowhere`;
      const e = await PostgresHandoffStore.open({ connectionString: dead, statementTimeoutMs: 1000 }).catch((x: unknown) => x as Error & { code: string });
      expect(e).toMatchObject({ code: "ERR_STORE_UNAVAILABLE" });
      expect(redactConnectionString(dead)).toBe("postgres://agent:***@127.0.0.1:1/nowhere");
      expect(String((e as Error).message)).not.toContain("s3cret");
    });

    it("a lost database connection fails closed: firstUse rejects (the receiver answers REJECT), it never says 'first use'", async () => {
      const db = await server.createDatabase();
      const store = await PostgresHandoffStore.open({ connectionString: db, maxConnections: 1 });
      try {
        const key = "k nonce";
        expect(await store.replay.firstUse(key, Date.now() + 60_000, Date.now())).toBe(true);
        // Kill the store's backend connection from the server side.
        const admin = new pg.Client({ connectionString: server.adminUrl });
        await admin.connect();
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [new URL(db).pathname.slice(1)]);
        await admin.end();
        const outcomes = [];
        for (let i = 0; i < 3; i++) outcomes.push(await Promise.resolve(store.replay.firstUse(key, Date.now() + 60_000, Date.now())).catch(() => "error"));
        // The pool reconnects: either an error (fail closed) or the true answer "seen", never true.
        expect(outcomes).not.toContain(true);
        expect(outcomes.at(-1)).toBe(false);
      } finally {
        await store.close();
      }
    });
  });
});
