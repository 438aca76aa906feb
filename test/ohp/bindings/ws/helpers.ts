import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import type { JsonObject } from "../../../../src/json/types.js";
import type { InboundMeta, OhpEnvelopeHandler } from "../../../../src/ohp/bindings/types.js";
import { OHP_WS_SUBPROTOCOL, type OhpWsFrame } from "../../../../src/ohp/bindings/ws/frames.js";
import { attachOhpWsServer, type OhpWsServer, type OhpWsServerOptions } from "../../../../src/ohp/bindings/ws/server.js";

let counter = 0;

/** A fresh envelope id in the OHP form (`cse_` + 26 Crockford characters). */
export function newId(): string {
  counter++;
  return `cse_${String(counter).padStart(26, "0")}`;
}

/** A minimal envelope: the binding never validates, so only what it reads matters. */
export function envelope(verb: string, fields: { id?: string; proposedId?: string; lifetimeMs?: number } = {}): JsonObject {
  const issuedAt = new Date(Date.UTC(2026, 0, 1, 12, 0, 0));
  const control: JsonObject = { verb, nonce: "0123456789abcdef" };
  if (fields.proposedId !== undefined) control["refs"] = { proposedId: fields.proposedId };
  return {
    ohp: "0.1",
    conformance: "core",
    id: fields.id ?? newId(),
    issuedAt: issuedAt.toISOString(),
    notAfter: new Date(issuedAt.getTime() + (fields.lifetimeMs ?? 120_000)).toISOString(),
    control,
  };
}

/** The answer a trivial receiver gives: ACCEPT for PROPOSE/ASSUME/RETURN, nothing for answers. */
export function answerFor(env: unknown): JsonObject | undefined {
  const e = env as { id?: unknown; control?: { verb?: unknown } };
  const verb = e.control?.verb;
  if (verb !== "PROPOSE" && verb !== "ASSUME" && verb !== "RETURN") return undefined;
  return envelope("ACCEPT", { proposedId: String(e.id) });
}

/** A handler that records its calls and answers with {@link answerFor}. */
export function recordingHandler(answer: (env: unknown) => JsonObject | undefined = answerFor): OhpEnvelopeHandler & {
  calls: Array<{ envelope: unknown; meta: InboundMeta }>;
} {
  const calls: Array<{ envelope: unknown; meta: InboundMeta }> = [];
  const handler = async (env: unknown, meta: InboundMeta): Promise<JsonObject | undefined> => {
    calls.push({ envelope: env, meta });
    return answer(env);
  };
  return Object.assign(handler, { calls });
}

export interface Harness {
  http: Server;
  server: OhpWsServer;
  url: string;
  close(): Promise<void>;
}

/** An HTTP server on an ephemeral port with `ohp/ws` attached. */
export async function startServer(options: Partial<OhpWsServerOptions> = {}): Promise<Harness> {
  const http = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const server = attachOhpWsServer(http, {
    handler: recordingHandler(),
    hello: { maxTier: "regulated", bindings: ["ohp/ws", "ohp/https"], tenant: "bank" },
    ...options,
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    http,
    server,
    url: `ws://127.0.0.1:${port}${server.path}`,
    async close() {
      await server.close({ timeoutMs: 1_000 });
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** A bare `ws` client that records every frame, to check the wire exactly. */
export interface RawClient {
  ws: WebSocket;
  opened: Promise<void>;
  /** The next frame (parsed JSON) not yet taken. */
  next(timeoutMs?: number): Promise<OhpWsFrame>;
  sendJson(value: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
}

export function rawClient(url: string, protocols: string[] = [OHP_WS_SUBPROTOCOL]): RawClient {
  const ws = new WebSocket(url, protocols);
  const queue: OhpWsFrame[] = [];
  const waiters: Array<(f: OhpWsFrame) => void> = [];
  ws.on("error", () => undefined);
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as OhpWsFrame;
    const w = waiters.shift();
    if (w) w(frame);
    else queue.push(frame);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  return {
    ws,
    opened,
    closed,
    next(timeoutMs = 5_000) {
      const f = queue.shift();
      if (f) return Promise.resolve(f);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no frame in time")), timeoutMs);
        waiters.push((frame) => {
          clearTimeout(timer);
          resolve(frame);
        });
      });
    },
    sendJson(value) {
      ws.send(JSON.stringify(value));
    },
  };
}

/** A client hello as JSON. */
export function clientHello(tenant = "acme"): JsonObject {
  return { type: "hello", ohp: "0.1", maxTier: "sealed", bindings: ["ohp/ws"], tenant };
}

/** Resolves when `predicate` holds, polling (safety timeout only). */
export async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
