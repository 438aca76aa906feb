/**
 * A stand-alone OAP Tool server: one HTTP/1.1 listener for the HTTPS binding plus Connect and
 * gRPC-Web, and one HTTP/2 listener for gRPC (both TLS 1.3 with `tls`, cleartext on loopback
 * otherwise). `agentwire serve` hosts tools inside the node instead (src/node/node.ts).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createSecureServer, createServer as createH2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { OapError } from "../errors.js";
import { OapToolServer, type OapToolServerOptions } from "./engine.js";
import { oapToolServiceRoutes } from "./grpc.js";
import { createOapHttpHandler, type OapHttpOptions } from "./http.js";
import { SqliteOapStore } from "./sqlite-store.js";
import type { OapStore } from "./store.js";

/** Options of {@link startOapServer}. */
export interface StartOapServerOptions extends Omit<OapToolServerOptions, "baseUrl" | "store" | "did"> {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** HTTP port (0 = any). Default 0. */
  readonly port?: number;
  /** gRPC (HTTP/2) port (0 = any, false = none). Default 0. */
  readonly grpcPort?: number | false;
  /** An OapStore, or the path of the SQLite file. Default: in memory. */
  readonly store?: OapStore | string;
  /** The Tool DID (default: the manifest's, else `did:web:localhost%3A<port>`). */
  readonly did?: string;
  /** Public origin written into the manifest (default: the listening URL). */
  readonly publicUrl?: string;
  /** TLS (PEM): both listeners speak TLS 1.3 only. */
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly http?: OapHttpOptions;
}

/** A running stand-alone server. */
export interface RunningOapServer {
  readonly server: OapToolServer;
  /** Base URL of the HTTPS binding (and of Connect / gRPC-Web). */
  readonly url: string;
  /** The manifest URL. */
  readonly manifestUrl: string;
  /** Base URL of gRPC over HTTP/2. */
  readonly grpcUrl: string | undefined;
  readonly http: Server;
  readonly http2: Http2Server | undefined;
  close(): Promise<void>;
}

async function listen(server: Server | Http2Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Starts a Tool (see the module comment). */
export async function startOapServer(options: StartOapServerOptions): Promise<RunningOapServer> {
  const host = options.host ?? "127.0.0.1";
  const tls = options.tls === undefined ? undefined : { key: options.tls.key, cert: options.tls.cert, minVersion: "TLSv1.3" as const };
  let handle: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) | undefined;
  let connect: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        if (handle !== undefined && (await handle(req, res))) return;
        if (connect !== undefined) connect(req, res);
        else res.writeHead(503).end();
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ code: "internal_error", message: (e as Error).message }));
        else res.destroy();
      }
    })();
  };
  const http: Server = tls ? createHttpsServer(tls, listener) : createServer(listener);
  const port = await listen(http, options.port ?? 0, host);
  const scheme = tls ? "https" : "http";
  const url = `${scheme}://${host}:${port}`;
  const did = options.did ?? options.tool.manifest.tool.did ?? `did:web:localhost%3A${port}`;
  const store = typeof options.store === "string" ? new SqliteOapStore(options.store) : options.store;
  let server: OapToolServer;
  try {
    const { store: _s, host: _h, port: _p, grpcPort: _g, publicUrl, tls: _t, http: _x, ...rest } = options;
    server = new OapToolServer({ ...rest, did, baseUrl: publicUrl ?? url, ...(store === undefined ? {} : { store }) });
    await server.start();
  } catch (e) {
    http.close();
    if (typeof options.store === "string") store?.close();
    throw e instanceof OapError ? e : new OapError("ERR_OAP_INTERNAL", `cannot start the tool: ${(e as Error).message}`, { cause: e });
  }
  handle = createOapHttpHandler(server, options.http ?? {});
  const routes = oapToolServiceRoutes(server);
  connect = connectNodeAdapter({ routes });
  let http2: Http2Server | undefined;
  let grpcUrl: string | undefined;
  if (options.grpcPort !== false) {
    const h2handler = connectNodeAdapter({ routes });
    http2 = tls ? (createSecureServer({ ...tls, allowHTTP1: false }, h2handler) as unknown as Http2Server) : createH2Server(h2handler);
    const gport = await listen(http2, options.grpcPort ?? 0, host);
    grpcUrl = `${scheme}://${host}:${gport}`;
  }
  return {
    server,
    url,
    manifestUrl: `${url}${server.basePath}/.well-known/oap-tool.json`,
    grpcUrl,
    http,
    http2,
    async close() {
      await server.close();
      await Promise.all([
        new Promise<void>((r) => {
          http.close(() => r());
          http.closeAllConnections();
        }),
        http2 === undefined
          ? Promise.resolve()
          : new Promise<void>((r) => {
              http2.close(() => r());
              setTimeout(r, 500).unref();
            }),
      ]);
      if (typeof options.store === "string") await server.store.close();
    },
  };
}
