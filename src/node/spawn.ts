/**
 * `agentwire serve` as a child process (the cluster demo, the scale-out tests): spawned with
 * the running Node, resolved on its `listening` log line.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";

/** A running `agentwire serve` child. */
export interface SpawnedNode {
  readonly child: ChildProcess;
  readonly url: string;
  /** The `listening` log line. */
  readonly listening: Record<string, unknown>;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Options of {@link spawnServe}. */
export interface SpawnServeOptions {
  /** The CLI entry (dist/src/cli/bin.js). */
  readonly bin: string;
  readonly data: string;
  readonly config: string;
  /** HTTP port (default 0: any free port); the gRPC port is always any free port. */
  readonly port?: number;
  readonly store?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly args?: readonly string[];
}

/** Spawns `agentwire serve` and resolves on its `listening` line (rejects if it exits first). */
export async function spawnServe(o: SpawnServeOptions): Promise<SpawnedNode> {
  const args = [o.bin, "serve", "--port", String(o.port ?? 0), "--grpc-port", "0", "--data", o.data, "--config", o.config, ...(o.store ? ["--store", o.store] : []), ...(o.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...(o.env ?? {}) } });
  const lines: string[] = [];
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          if (e["event"] === "listening") resolve(e);
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => reject(new Error(`agentwire serve exited ${code} before listening: ${err.slice(0, 4000)}`)));
  });
  return { child, url: String(listening["url"]), listening, lines, exited };
}

/** Sends `signal` (default SIGTERM: a graceful drain) unless the process is gone, and waits for the exit. */
export async function stopSpawned(n: SpawnedNode, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill(signal);
  await n.exited;
}
