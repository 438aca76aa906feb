import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseJsonStrict } from "../json/parse.js";
import { parseNodeConfig, startAgentwireNode, type NodeConfig } from "../node/node.js";
import { loadOapToolModule } from "../oap/server/node-host.js";
import type { OapToolDefinition } from "../oap/server/tool.js";
import { weatherTool } from "../oap/tools/weather.js";
import { EXIT_OK, UsageError, type CliIo, type Command } from "./io.js";

const USAGE = `usage: agentwire serve [--port P] [--grpc-port G] [--data DIR] [--store URL] [--config FILE]
                       [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                       [--oap-tool MODULE]... [--no-oap-example] [--no-oap] [--oap-compat]

Starts a local agentwire node on loopback: an OHP receiver and sender with an embedded store
(DIR/ohp.sqlite, or a PostgreSQL database shared with other nodes: --store), keys generated on first start (DIR/keys/private.jwks.json, mode 0600), and
every binding: ohp/https (POST /ohp/v1/transfer), ohp/grpc (/ohp.v0_1.Handoff/Stream over h2c on
G; gRPC-Web and Connect also on P), ohp/ws and ohp/sip-info when available, and the well-known
documents (/.well-known/ohp-capabilities.json, ohp-jwks.json, did.json). Logs JSON lines to
stdout; SIGINT/SIGTERM shut it down gracefully. Its identity is did:web:localhost%3A<P> unless
the config names one.

  --port P        HTTP port (default 8080; 0 = any free port)
  --grpc-port G   HTTP/2 cleartext gRPC port (default 8081; 0 = any free port)
  --data DIR      data directory (default ./.agentwire): keys, and the SQLite store by default
  --store URL     control-plane store: postgres://user@host/db shares handoffs, the answer cache,
                  the replay store and rate limits between nodes (schema migrated at start;
                  PGPASSWORD / ~/.pgpass keep the password off the command line); sqlite:PATH;
                  default DIR/ohp.sqlite. Also AGENTWIRE_STORE. Keys stay in DIR.
  --tls-cert/--tls-key  serve HTTPS and gRPC over TLS 1.3 only; --tls-client-ca requires client
                        certificates signed by that CA (mTLS)
  --config FILE   JSON config: {"identity", "policy", "trust": [{"did", "jwks"}], "rejectPurposes",
                  "oap": {"apiKeys": [{"id", "key" | "sha256", "principal_did", ...}],
                          "commerce": {"wallet": true, "walletPath", "holdSeconds",
                                       "fund": [{"principal_did", "amount", "currency"}]},
                          "leases": {"taskMs", "idempotencyMs"}},
                  "tlog": {"origin": "log.example.com", "anchorOap": true}, ...}

OAP (docs/oap-server.md): the node also hosts OAP tools: the spec's weather example (Weather Pro)
by default as the node's own Tool (/.well-known/oap-tool.json, /oap/invoke, /oap/stream, tasks,
audit, data rights; oap.v1.ToolService over Connect and gRPC-Web on P and gRPC on G), and tools
defined in code. With "oap": {"commerce": {"wallet": true}} priced actions (the weather example's
get_forecast costs 0.001 EUR a call, climate_report 0.010 EUR) are charged to the calling
Principal's wallet — a hold before the call, a final capture citing the receipt after — and the
wallet endpoints are served; the wallet is DIR/wallet.sqlite, or the --store PostgreSQL database.
"fund" opens and credits wallets once (a restart does not credit again).
"leases" (ms, default 30000 each; docs/scale-out.md "Leases"): how long after a node's last
renewal another node on the same --store database fails its open tasks, and a retry may take over
an idempotent call it left in flight.

Transparency log (docs/trust-tlog.md): with "tlog": {"origin"} the node hosts an RFC 9162 log at
/tlog/v1/... (checkpoints signed with the node's Ed25519 key under that origin; the listening line
prints tlogVerifierKey) in DIR/tlog.sqlite, or in the --store PostgreSQL database, where every node
with the same origin serves and appends to ONE log. The hosted tools anchor every receipt in it
(receipt.anchors; "anchorOap": false turns that off).

  --oap-tool MODULE   host the defineTool(...) exported by MODULE (default, tool or tools export);
                      repeatable; mounted at /tools/<id> unless it is the first tool
  --no-oap-example    do not host the weather example
  --no-oap            no OAP at all
  --oap-compat        relax the strict server exactly as far as the upstream OAP conformance
                      suite needs (docs/oap-server.md "Compat mode"); never for production

Exit status: 0 after a graceful shutdown, 2 usage or startup error.`;

export const serveCommand: Command = {
  name: "serve",
  summary: "run a local agentwire node: OHP over every binding with an embedded store (the main job)",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { port: { type: "string" }, "grpc-port": { type: "string" }, data: { type: "string" }, store: { type: "string" }, config: { type: "string" }, "tls-cert": { type: "string" }, "tls-key": { type: "string" }, "tls-client-ca": { type: "string" }, "oap-tool": { type: "string", multiple: true }, "no-oap-example": { type: "boolean" }, "no-oap": { type: "boolean" }, "oap-compat": { type: "boolean" } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const port = (v: string | undefined, d: number, name: string): number => {
      if (v === undefined) return d;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name} must be a port number`);
      return n;
    };
    let config: NodeConfig = {};
    if (values.config !== undefined) {
      const path = resolve(io.cwd, values.config);
      config = await parseNodeConfig(parseJsonStrict(await readFile(path, "utf8")), dirname(path));
    }
    const store = values.store ?? process.env["AGENTWIRE_STORE"];
    if (store !== undefined && !/^(postgres(ql)?:\/\/|sqlite(:|$))/i.test(store)) throw new UsageError("--store must be postgres://…, postgresql://…, sqlite or sqlite:PATH");
    if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
    if (values["tls-client-ca"] !== undefined && values["tls-cert"] === undefined) throw new UsageError("--tls-client-ca needs --tls-cert and --tls-key");
    const pem = (p: string): Promise<string> => readFile(resolve(io.cwd, p), "utf8");
    const tls =
      values["tls-cert"] !== undefined && values["tls-key"] !== undefined
        ? {
            cert: await pem(values["tls-cert"]),
            key: await pem(values["tls-key"]),
            ...(values["tls-client-ca"] !== undefined ? { clientCa: await pem(values["tls-client-ca"]) } : {}),
          }
        : undefined;
    const oapTools: OapToolDefinition[] = [];
    if (values["no-oap"] !== true) {
      if (values["no-oap-example"] !== true) oapTools.push(weatherTool());
      for (const m of values["oap-tool"] ?? []) oapTools.push(...(await loadOapToolModule(resolve(io.cwd, m))));
    }
    if (values["oap-compat"] === true && oapTools.length === 0) throw new UsageError("--oap-compat needs an OAP tool");
    const running = await startAgentwireNode({
      dataDir: resolve(io.cwd, values.data ?? ".agentwire"),
      ...(store !== undefined ? { store: store.startsWith("sqlite:") ? `sqlite:${resolve(io.cwd, store.slice(7))}` : store } : {}),
      config,
      port: port(values.port, config.port ?? 8080, "--port"),
      grpcPort: values["grpc-port"] !== undefined ? port(values["grpc-port"], 8081, "--grpc-port") : (config.grpcPort ?? 8081),
      log: (e) => io.stdout(JSON.stringify(e) + "\n"),
      ...(tls ? { tls } : {}),
      ...(oapTools.length > 0 ? { oap: { tools: oapTools, ...(values["oap-compat"] === true ? { compat: true } : {}) } } : {}),
    });
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void running.stop().then(done);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    return EXIT_OK;
  },
};
