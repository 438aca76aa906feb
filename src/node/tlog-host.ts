/**
 * A transparency log hosted by `agentwire serve` (config member `tlog`): the RFC 9162 log API
 * under `/tlog/v1/…`, its checkpoints signed with the node's Ed25519 key under the configured
 * origin, stored in `DIR/tlog.sqlite` on an embedded node or, on `--store postgres://…`, in the
 * shared database, so every node of a cluster serves and appends to the SAME log. OAP receipts
 * of the node's hosted tools are anchored in it (`anchorOap`, default true).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { PrivateKeyRecord } from "../crypto/keys.js";
import { isJsonObject, type JsonValue } from "../json/types.js";
import { AsyncTransparencyLog, InProcessLogStore, type AsyncLogStore } from "../trust/tlog/async-log.js";
import { TransparencyLog } from "../trust/tlog/log.js";
import { ed25519NoteSigner, isValidKeyName, verifierKeyOf } from "../trust/tlog/note.js";
import { createTlogHandler } from "../trust/tlog/server.js";
import { SqliteLogStore } from "../trust/tlog/sqlite-store.js";
import { NodeConfigError } from "./errors.js";

/** Where the node serves its log. */
export const NODE_TLOG_PATH = "/tlog";

/** The `tlog` member of the node config. */
export interface NodeTlogConfig {
  /** The log's origin (checkpoint origin and note key name), e.g. "log.example.com". */
  readonly origin: string;
  /** Anchor every receipt of the node's OAP tools in this log (default true). */
  readonly anchorOap?: boolean;
}

/** Parses the `tlog` config member strictly. */
export function parseNodeTlogConfig(value: unknown): NodeTlogConfig {
  const bad = (m: string): never => {
    throw new NodeConfigError("ERR_NODE_CONFIG", `config: tlog: ${m}`);
  };
  if (!isJsonObject(value as JsonValue)) return bad("must be an object");
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) if (k !== "origin" && k !== "anchorOap") bad(`unknown member ${JSON.stringify(k)}`);
  if (typeof v["origin"] !== "string" || !isValidKeyName(v["origin"])) bad("origin must be a note key name (printable, no spaces or '+'), e.g. log.example.com");
  if (v["anchorOap"] !== undefined && typeof v["anchorOap"] !== "boolean") bad("anchorOap must be true or false");
  return { origin: v["origin"] as string, ...(v["anchorOap"] === undefined ? {} : { anchorOap: v["anchorOap"] as boolean }) };
}

/** A running node log. */
export interface NodeTlogHost {
  readonly log: AsyncTransparencyLog;
  readonly origin: string;
  /** The note verifier key clients need (`<origin>+<key id>+<base64 key>`). */
  readonly verifierKey: string;
  /** Base URL path of the API ({@link NODE_TLOG_PATH}). */
  readonly path: string;
  /** "sqlite" or "postgres". */
  readonly backend: string;
  /** Serves `/tlog/…`; false for other paths. */
  http(req: IncomingMessage, res: ServerResponse): boolean;
  close(): Promise<void>;
}

/** Options of {@link startNodeTlog}. */
export interface NodeTlogOptions {
  readonly config: NodeTlogConfig;
  /** The node's Ed25519 signing key (signs checkpoints). */
  readonly key: PrivateKeyRecord;
  readonly dataDir: string;
  /** Opens the shared store (PostgreSQL nodes); without it the log is `DIR/tlog.sqlite`. */
  readonly openStore?: (origin: string) => Promise<AsyncLogStore>;
}

/** Opens the node's log and its HTTP routes. */
export async function startNodeTlog(options: NodeTlogOptions): Promise<NodeTlogHost> {
  const { origin } = options.config;
  const signers = [ed25519NoteSigner(origin, options.key)];
  let store: AsyncLogStore;
  let closeStore: () => Promise<void>;
  if (options.openStore !== undefined) {
    const shared = await options.openStore(origin);
    store = shared;
    closeStore = () => shared.close();
  } else {
    const file = new SqliteLogStore(join(options.dataDir, "tlog.sqlite"));
    try {
      store = new InProcessLogStore(new TransparencyLog(file, { origin, signers }), "sqlite");
    } catch (e) {
      file.close();
      throw new NodeConfigError("ERR_NODE_CONFIG", `config: tlog: ${(e as Error).message}`, { cause: e });
    }
    closeStore = async () => file.close();
  }
  const log = new AsyncTransparencyLog(store, { signers });
  const handler = createTlogHandler({ log, basePath: NODE_TLOG_PATH });
  return {
    log,
    origin,
    verifierKey: verifierKeyOf(origin, options.key),
    path: NODE_TLOG_PATH,
    backend: store.backend,
    http(req, res) {
      const url = req.url ?? "/";
      if (url !== NODE_TLOG_PATH && !url.startsWith(`${NODE_TLOG_PATH}/`) && !url.startsWith(`${NODE_TLOG_PATH}?`)) return false;
      handler(req, res);
      return true;
    },
    close: async () => {
      await store.close();
      await closeStore();
    },
  };
}
