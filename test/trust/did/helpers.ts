import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A canned response, or a handler that answers (or deliberately never answers). */
export type Route = { status?: number; headers?: Record<string, string>; body: string | object } | ((req: IncomingMessage, res: ServerResponse) => void);

/** A real node:http server on localhost with mutable routes and a request log. */
export interface TestServer {
  readonly port: number;
  /** `did:web:localhost%3A<port>` plus optional path segments. */
  did(...path: string[]): string;
  routes: Map<string, Route>;
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const state = { routes: new Map(Object.entries(routes)), requests: [] as string[] };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    state.requests.push(path);
    const route = state.routes.get(path);
    if (route === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    if (typeof route === "function") {
      route(req, res);
      return;
    }
    const body = typeof route.body === "string" ? route.body : JSON.stringify(route.body);
    res.writeHead(route.status ?? 200, { "content-type": "application/json", ...(route.headers ?? {}) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    did: (...path) => [`did:web:localhost%3A${port}`, ...path].join(":"),
    get routes() {
      return state.routes;
    },
    set routes(value) {
      state.routes = value;
    },
    requests: state.requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on which nothing listens. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A manual clock (ms). */
export function fakeClock(start = Date.parse("2026-05-01T00:00:00Z")) {
  let t = start;
  const clock = () => t;
  clock.advance = (ms: number) => {
    t += ms;
  };
  clock.set = (ms: number) => {
    t = ms;
  };
  return clock;
}

/** Asserts that `promise` rejects with an AgentwireError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`expected rejection with ${code}, but it resolved`);
  const actual = (error as { code?: string }).code;
  if (actual !== code) throw new Error(`expected ${code}, got ${String(actual)}: ${(error as Error).message}`);
}

/** Asserts that `fn` throws an AgentwireError of `code`. */
export function throwsWith(fn: () => unknown, code: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`expected ${code}, but nothing was thrown`);
  const actual = (error as { code?: string }).code;
  if (actual !== code) throw new Error(`expected ${code}, got ${String(actual)}: ${(error as Error).message}`);
}
