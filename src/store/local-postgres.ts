/**
 * A throwaway PostgreSQL server from Debian's preinstalled binaries (no Docker), for tests and
 * for `agentwire demo cluster`: `initdb` into a fresh temp directory, `pg_ctl start` on a free
 * loopback port with the unix socket in that directory, one database per
 * {@link LocalPostgres.createDatabase} call, `pg_ctl stop -m immediate` and the directory removed
 * on {@link LocalPostgres.stop} (and when the process exits).
 *
 * initdb and postgres refuse to run as root. As root (CI), the cluster is owned by and run as the
 * `postgres` system user (created by Debian's postgresql-15 package) or, without one, `nobody`,
 * through `runuser -u USER --`; the temp directory is chowned to that user first. Authentication
 * is `trust` on loopback only; the superuser is `postgres`. Not for production data.
 *
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { freePort } from "../util/http.js";
import { StoreError } from "./migrations.js";

/** Where the PostgreSQL server binaries are (`$AGENTWIRE_PG_BIN`, else Debian's newest), or undefined. */
export function postgresBinDir(): string | undefined {
  const candidates = [process.env["AGENTWIRE_PG_BIN"], "/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"];
  for (const c of candidates) if (c !== undefined && c !== "" && existsSync(join(c, "initdb")) && existsSync(join(c, "pg_ctl"))) return c;
  return undefined;
}

/** True when a local PostgreSQL can be started here. */
export function haveLocalPostgres(): boolean {
  return postgresBinDir() !== undefined;
}

function runAsUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
    const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
    if (r.status === 0 && g.status === 0) return { name, uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
  }
  throw new StoreError("ERR_STORE_UNAVAILABLE", "running as root and neither a postgres nor a nobody user exists to run PostgreSQL as");
}

/** A temp root the other user can traverse (os.tmpdir() unless one of its ancestors is private). */
function tempRoot(forOtherUser: boolean): string {
  const t = tmpdir();
  if (!forOtherUser) return t;
  for (let d = t; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return "/tmp";
    if (dirname(d) === d) return t;
  }
}

const running = new Set<() => void>();
process.once("exit", () => {
  for (const stop of running) stop();
});

/** A running local server. */
export interface LocalPostgres {
  readonly host: string;
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly adminUrl: string;
  /** The temp directory (data directory, socket, log). */
  readonly dir: string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The server log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

let dbCounter = 0;

/** Starts a server (see the module comment). About 1 s on a small machine. */
export async function startLocalPostgres(options: { readonly settings?: Readonly<Record<string, string>> } = {}): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new StoreError("ERR_STORE_UNAVAILABLE", "PostgreSQL server binaries not found (install postgresql-15 or set AGENTWIRE_PG_BIN)");
  const user = runAsUser();
  const dir = mkdtempSync(join(tempRoot(user !== undefined), "agentwire-pg-"));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  const run = (tool: string, args: string[]): string => {
    const cmd = user === undefined ? join(bin, tool) : "runuser";
    const argv = user === undefined ? args : ["-u", user.name, "--", join(bin, tool), ...args];
    try {
      return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: dir, env: { ...process.env, LC_ALL: "C", TZ: "UTC" } });
    } catch (e) {
      const x = e as { stderr?: string; stdout?: string; message: string };
      throw new StoreError("ERR_STORE_UNAVAILABLE", `${tool} ${args.join(" ")} failed: ${x.stderr ?? ""}${x.stdout ?? ""}${x.message}`);
    }
  };
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
  const settings: Record<string, string> = { listen_addresses: "127.0.0.1", unix_socket_directories: `'${dir}'`, max_connections: "200", ...(options.settings ?? {}) };
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const o = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
    try {
      run("pg_ctl", ["-D", data, "-l", logFile, "-o", o, "-w", "-t", "30", "start"]);
      break;
    } catch (e) {
      // Another process took the port between freePort() and the bind: try another one.
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const host = "127.0.0.1";
  const adminUrl = `postgres://postgres@${host}:${port}/postgres`;
  let stopped = false;
  // A test process that dies without its teardown must not leave a server behind.
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    running.delete(stopSync);
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  running.add(stopSync);
  const readLog = (): string => {
    try {
      return execFileSync("cat", [logFile], { encoding: "utf8" });
    } catch {
      return "";
    }
  };
  return {
    host,
    port,
    adminUrl,
    dir,
    log: readLog,
    async createDatabase(name?: string): Promise<string> {
      const db = name ?? `agentwire_${process.pid}_${++dbCounter}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new StoreError("ERR_STORE_CONFIG", `bad database name ${db}`);
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${db}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@${host}:${port}/${db}`;
    },
    async stop(): Promise<void> {
      stopSync();
    },
  };
}
