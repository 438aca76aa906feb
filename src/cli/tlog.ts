/**
 * `agentwire tlog`: run the transparency log, submit digests, verify inclusion and anchoring.
 */
import { parseArgs } from "node:util";
import { ALG_EDDSA } from "../crypto/jwk.js";
import { parsePrivateJwks, type PrivateKeyRecord } from "../crypto/keys.js";
import { isAgentwireError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import { isJsonObject } from "../json/types.js";
import { isPostgresUrl } from "../store/postgres-handoff-store.js";
import { PostgresLogStore } from "../store/postgres-log-store.js";
import {
  AsyncTransparencyLog,
  SqliteLogStore,
  TlogClient,
  TransparencyLog,
  anchorEnvelope,
  ed25519NoteSigner,
  startTlogServer,
  verifierKeyOf,
  verifyAnchoring,
  verifyDigestInclusion,
  type InclusionProofJson,
  type RunningTlogServer,
} from "../trust/tlog/index.js";
import { CliExit, EXIT_FAIL, EXIT_OK, EXIT_USAGE, readInput, UsageError, type CliIo, type Command } from "./io.js";

const DEFAULT_ORIGIN = "agentwire.local/tlog";

const USAGE = `usage: agentwire tlog SUBCOMMAND ...

  tlog serve --db FILE|postgres://... --key PRIVATE_JWKS [--origin NAME] [--port N] [--host ADDR] [--max-body BYTES]
      Runs the RFC 9162 log over HTTP (POST /v1/entries, GET /v1/checkpoint,
      GET /v1/proof/inclusion, GET /v1/proof/consistency) with a SQLite store in FILE
      or in a PostgreSQL database that several servers share (one log per origin),
      signing C2SP checkpoints with the first EdDSA key of PRIVATE_JWKS under the key name
      NAME (= the origin; default ${DEFAULT_ORIGIN}). Prints {"url","origin","verifierKey"}
      and serves until SIGINT/SIGTERM. Port 0 (default 8080) picks a free port.
  tlog vkey --key PRIVATE_JWKS [--origin NAME]
      Prints the note verifier key <name>+<key id>+<base64 key> clients need.
  tlog submit URL HASH [--vkey VKEY] [--origin NAME]
      Submits HASH ("sha256:<64 hex>", e.g. an OHP transparency.leafHash). With --vkey, verifies
      the signed checkpoint and the inclusion proof and prints {hash,index,checkpoint,proof}.
  tlog verify URL HASH --vkey VKEY [--origin NAME]
      Fetches the latest checkpoint and the inclusion proof of HASH and verifies both.
  tlog anchor ENVELOPE URL --vkey VKEY
      Submits a signed envelope's transparency.leafHash to the log and prints the receipt
      {logId,leafHash,index,checkpoint,proof}.
  tlog verify-anchor ENVELOPE --receipt RECEIPT --vkey VKEY
      Offline: checks that the envelope's leafHash is in the log from the receipt's checkpoint
      and inclusion proof alone.

Exit status: 0 success, 1 verification failed, 2 usage or I/O error.`;

async function readSigningKey(io: CliIo, path: string): Promise<PrivateKeyRecord> {
  const text = await readInput(io, path, "private JWKS");
  let keys: PrivateKeyRecord[];
  try {
    keys = parsePrivateJwks(text);
  } catch (e) {
    throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_USAGE);
  }
  const key = keys.find((k) => k.alg === ALG_EDDSA && k.use === "sig");
  if (key === undefined) throw new CliExit(`${path} has no EdDSA signing key`, EXIT_USAGE);
  return key;
}

async function readJsonFile(io: CliIo, path: string, what: string): Promise<Record<string, unknown>> {
  const text = await readInput(io, path, what);
  let value: unknown;
  try {
    value = parseJsonStrict(text);
  } catch (e) {
    throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_FAIL);
  }
  if (!isJsonObject(value)) throw new CliExit(`${path} is not a JSON object`, EXIT_FAIL);
  return value;
}

function failure(e: unknown): never {
  if (isAgentwireError(e)) throw new CliExit(`${e.message} [${e.code}]`, EXIT_FAIL);
  throw e;
}

function print(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + "\n");
}

function positional(positionals: string[], count: number, sub: string, names: string): string[] {
  if (positionals.length !== count) throw new UsageError(`tlog ${sub} takes ${names}`);
  return positionals;
}

function requireOption(value: string | undefined, flag: string, sub: string): string {
  if (value === undefined) throw new UsageError(`tlog ${sub} needs ${flag}`);
  return value;
}

function intOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer`);
  return Number(value);
}

/** A running `tlog serve`: the HTTP server and its store. */
export interface ServingTlog extends RunningTlogServer {
  readonly origin: string;
  readonly verifierKey: string;
}

/**
 * Opens the store and starts the API (the body of `tlog serve`): a SQLite file, or with a
 * `postgres://` URL the log in that database, which several `tlog serve` processes (or nodes) can
 * share (one tree, appends serialised by the database).
 */
export async function serveTlog(options: {
  readonly db: string;
  readonly key: PrivateKeyRecord;
  readonly origin?: string;
  readonly port?: number;
  readonly host?: string;
  readonly maxBodyBytes?: number;
}): Promise<ServingTlog> {
  const origin = options.origin ?? DEFAULT_ORIGIN;
  const signers = [ed25519NoteSigner(origin, options.key)];
  let log: TransparencyLog | AsyncTransparencyLog;
  let closeStore: () => Promise<void>;
  if (isPostgresUrl(options.db)) {
    const store = await PostgresLogStore.open({ connectionString: options.db, origin, applicationName: "agentwire-tlog" });
    log = new AsyncTransparencyLog(store, { signers });
    closeStore = () => store.close();
  } else {
    const store = new SqliteLogStore(options.db);
    closeStore = async () => store.close();
    try {
      log = new TransparencyLog(store, { origin, signers });
    } catch (e) {
      store.close();
      throw e;
    }
  }
  try {
    const running = await startTlogServer({
      log,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    });
    return {
      ...running,
      origin,
      verifierKey: verifierKeyOf(origin, options.key),
      close: async () => {
        await running.close();
        await closeStore();
      },
    };
  } catch (e) {
    await closeStore();
    throw e;
  }
}

async function serve(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      db: { type: "string" },
      key: { type: "string" },
      origin: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "max-body": { type: "string" },
    },
  });
  positional(positionals, 0, "serve", "no positional arguments");
  const db = requireOption(values.db, "--db FILE|postgres://...", "serve");
  const key = await readSigningKey(io, requireOption(values.key, "--key PRIVATE_JWKS", "serve"));
  let serving: ServingTlog;
  try {
    serving = await serveTlog({
      db,
      key,
      ...(values.origin === undefined ? {} : { origin: values.origin }),
      port: intOption(values.port, "--port", 8080),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(values["max-body"] === undefined ? {} : { maxBodyBytes: intOption(values["max-body"], "--max-body", 0) }),
    });
  } catch (e) {
    if (isAgentwireError(e)) throw new CliExit(`${e.message} [${e.code}]`, EXIT_USAGE);
    throw new CliExit(`cannot start the log: ${(e as Error).message}`, EXIT_USAGE);
  }
  io.stdout(JSON.stringify({ url: serving.url, origin: serving.origin, verifierKey: serving.verifierKey }) + "\n");
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await serving.close();
  return EXIT_OK;
}

async function vkey(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { key: { type: "string" }, origin: { type: "string" } } });
  positional(positionals, 0, "vkey", "no positional arguments");
  const key = await readSigningKey(io, requireOption(values.key, "--key PRIVATE_JWKS", "vkey"));
  io.stdout(verifierKeyOf(values.origin ?? DEFAULT_ORIGIN, key) + "\n");
  return EXIT_OK;
}

function client(url: string, vkeyText: string, origin: string | undefined): TlogClient {
  try {
    return new TlogClient(url, { verifiers: [vkeyText], ...(origin === undefined ? {} : { origin }) });
  } catch (e) {
    if (isAgentwireError(e)) throw new CliExit(`--vkey: ${e.message} [${e.code}]`, EXIT_USAGE);
    throw e;
  }
}

async function submit(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { vkey: { type: "string" }, origin: { type: "string" } } });
  const [url, hash] = positional(positionals, 2, "submit", "URL HASH") as [string, string];
  if (values.vkey === undefined) {
    let res: Response;
    try {
      res = await fetch(`${url.replace(/\/+$/, "")}/v1/entries`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hash }) });
    } catch (e) {
      throw new CliExit(`cannot reach ${url}: ${(e as Error).message}`, EXIT_USAGE);
    }
    const text = await res.text();
    io.stdout(text.endsWith("\n") ? text : text + "\n");
    return res.ok ? EXIT_OK : EXIT_FAIL;
  }
  try {
    const receipt = await client(url, values.vkey, values.origin).submit(hash);
    print(io, { hash: receipt.hash, index: receipt.index, checkpoint: receipt.checkpoint.note, proof: receipt.proof });
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

async function verify(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { vkey: { type: "string" }, origin: { type: "string" } } });
  const [url, hash] = positional(positionals, 2, "verify", "URL HASH") as [string, string];
  const c = client(url, requireOption(values.vkey, "--vkey VKEY", "verify"), values.origin);
  try {
    const checkpoint = await c.checkpoint();
    const proof = await c.inclusionProofByHash(hash, checkpoint.size);
    verifyDigestInclusion(hash, proof, checkpoint);
    print(io, { verified: true, hash, index: proof.index, size: checkpoint.size, origin: checkpoint.origin });
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

async function anchor(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { vkey: { type: "string" }, origin: { type: "string" } } });
  const [file, url] = positional(positionals, 2, "anchor", "ENVELOPE URL") as [string, string];
  const envelope = await readJsonFile(io, file, "envelope");
  const c = client(url, requireOption(values.vkey, "--vkey VKEY", "anchor"), values.origin);
  try {
    print(io, await anchorEnvelope(c, envelope as never));
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

async function verifyAnchor(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { vkey: { type: "string" }, receipt: { type: "string" } } });
  const [file] = positional(positionals, 1, "verify-anchor", "ENVELOPE") as [string];
  const envelope = await readJsonFile(io, file, "envelope");
  const receipt = await readJsonFile(io, requireOption(values.receipt, "--receipt RECEIPT", "verify-anchor"), "receipt");
  const vkeyText = requireOption(values.vkey, "--vkey VKEY", "verify-anchor");
  if (typeof receipt["checkpoint"] !== "string") throw new CliExit("the receipt has no checkpoint", EXIT_FAIL);
  try {
    const result = verifyAnchoring(envelope, { checkpoint: receipt["checkpoint"], proof: receipt["proof"] as InclusionProofJson, verifierKey: vkeyText });
    print(io, { verified: true, leafHash: result.leafHash, index: result.index, size: result.checkpoint.size, logId: result.checkpoint.origin });
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

const SUBCOMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  serve,
  vkey,
  submit,
  verify,
  anchor,
  "verify-anchor": verifyAnchor,
};

export const tlogCommand: Command = {
  name: "tlog",
  summary: "run an RFC 9162 transparency log (C2SP checkpoints), submit hashes, verify inclusion and OHP anchoring",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const fn = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (fn === undefined) throw new UsageError(sub === undefined ? "tlog needs a SUBCOMMAND" : `unknown tlog subcommand ${JSON.stringify(sub)}`);
    return fn(rest, io);
  },
};
