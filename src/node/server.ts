/**
 * The listening side of an agentwire node: one HTTP/1.1 server (ohp/https, the well-known
 * documents, ohp/ws upgrades, and gRPC-Web / Connect for the Handoff service) and one HTTP/2
 * cleartext server for gRPC. Both bind to loopback by default.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createH2Server, createSecureServer as createH2SecureServer, type Http2Server } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { Server as NetServer } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { listenOn } from "../util/http.js";
import type { JsonObject } from "../json/types.js";
import { ohpGrpcRoutes } from "../ohp/bindings/grpc.js";
import { createOhpHttpListener } from "../ohp/bindings/https.js";
import type { OhpNode } from "../ohp/control/node.js";

/** Options of {@link startOhpServers}. */
export interface OhpServersOptions {
  readonly node: OhpNode;
  /** HTTP/1.1 port (0 = any free port). Default 0. */
  readonly port?: number;
  /** HTTP/2 cleartext port for gRPC (0 = any free port; `false` = no gRPC server). Default 0. */
  readonly grpcPort?: number | false;
  readonly host?: string;
  /** Extra members of the capabilities document. */
  readonly capabilities?: JsonObject;
  readonly aiSystems?: () => JsonObject;
  /** Attach more listeners to the HTTP/1.1 server (e.g. the ohp/ws upgrade handler, OAP routes). */
  readonly attach?: (server: Server, endpoints: Record<string, string>) => void | Promise<void>;
  /**
   * TLS for both listeners: TLS 1.3 only; with `clientCa` clients must present a certificate
   * signed by it (mTLS). PEM strings.
   */
  readonly tls?: { readonly key: string; readonly cert: string; readonly clientCa?: string };
  /** How long shutdown waits for in-flight requests before closing their sockets. Default 3000 ms. */
  readonly drainMs?: number;
  /** Extra HTTP routes tried after OHP's (return true when handled). */
  readonly routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/** Running servers. */
export interface RunningOhpServers {
  readonly url: string;
  readonly grpcUrl: string | undefined;
  readonly endpoints: Readonly<Record<string, string>>;
  readonly http: Server;
  readonly http2: Http2Server | undefined;
  close(): Promise<void>;
}

async function listen(server: Server | Http2Server, port: number, host: string): Promise<number> {
  return (await listenOn(server as unknown as NetServer, port, host)).port;
}

/** Starts the node's servers. */
export async function startOhpServers(options: OhpServersOptions): Promise<RunningOhpServers> {
  const host = options.host ?? "127.0.0.1";
  const node = options.node;
  const endpoints: Record<string, string> = {};
  const connect = connectNodeAdapter({ routes: ohpGrpcRoutes(node.handle) });
  const ohpHttp = createOhpHttpListener({
    handler: node.handle,
    wellKnown: {
      capabilities: () => node.capabilities(endpoints, { vendor: node.identity.vendor, did: node.identity.did, ...(options.capabilities ?? {}) }),
      jwks: () => node.jwks(),
      ...(options.aiSystems ? { aiSystems: options.aiSystems } : {}),
    },
  });
  const tlsOptions = options.tls
    ? {
        key: options.tls.key,
        cert: options.tls.cert,
        minVersion: "TLSv1.3" as const,
        ...(options.tls.clientCa ? { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      }
    : undefined;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        if (await ohpHttp(req, res)) return;
        if (options.routes !== undefined && (await options.routes(req, res))) return;
        connect(req, res);
      } catch (e) {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: "internal", message: (e as Error).message }));
        } else res.destroy();
      }
    })();
  };
  const http: Server = tlsOptions ? createHttpsServer(tlsOptions, listener) : createServer(listener);
  const scheme = tlsOptions ? "https" : "http";
  const port = await listen(http, options.port ?? 0, host);
  const url = `${scheme}://${host}:${port}`;
  endpoints["ohp/https"] = url;
  let http2: Http2Server | undefined;
  let grpcUrl: string | undefined;
  if (options.grpcPort !== false) {
    const grpcHandler = connectNodeAdapter({ routes: ohpGrpcRoutes(node.handle) });
    http2 = tlsOptions ? (createH2SecureServer(tlsOptions, grpcHandler) as unknown as Http2Server) : createH2Server(grpcHandler);
    const gport = await listen(http2, options.grpcPort ?? 0, host);
    grpcUrl = `${scheme}://${host}:${gport}`;
    endpoints["ohp/grpc"] = grpcUrl;
  }
  await options.attach?.(http, endpoints);
  return {
    url,
    grpcUrl,
    endpoints,
    http,
    http2,
    async close() {
      await Promise.all([
        new Promise<void>((r) => {
          // Drain: stop accepting, close idle keep-alive sockets, give in-flight requests (and
          // their answers, already durable) up to drainMs, then cut what is left.
          const cut = setTimeout(() => http.closeAllConnections(), options.drainMs ?? 3_000);
          cut.unref();
          http.close(() => {
            clearTimeout(cut);
            r();
          });
          http.closeIdleConnections();
        }),
        http2 === undefined
          ? Promise.resolve()
          : new Promise<void>((r) => {
              http2!.close(() => r());
              // Idle HTTP/2 sessions would keep close() waiting.
              setTimeout(r, 500).unref();
            }),
      ]);
    },
  };
}
