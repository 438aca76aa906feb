/**
 * Open Floor over gRPC / Connect (an agentwire extension; proto/ofp/v1/floor.proto): the
 * `ofp.v1.FloorService` of a {@link FloorManager}, served by connect-node for gRPC, gRPC-Web and
 * Connect from one implementation, and its client.
 *
 * - `Send`: unary, exactly the HTTPS POST (one envelope in, the floor's answer out).
 * - `Converse`: a bidirectional stream for one conversant. The first envelope names the
 *   conversation and the sender; the floor then sends that conversant everything routed to it
 *   down the stream ({@link FloorManager.attach}) and processes every envelope sent up it.
 *
 * The envelope travels as `google.protobuf.Struct`: its ProtoJSON is the Open Floor JSON, so the
 * floor sees the same document whatever the binding. Errors: an invalid envelope is
 * INVALID_ARGUMENT; a closed conversation or a sender that is not a conversant
 * FAILED_PRECONDITION; a stream whose later envelopes change conversation or sender
 * INVALID_ARGUMENT.
 */
import { Channel } from "../util/channel.js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type ConnectRouter, type Transport } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createServer as createH2Server, type Http2Server, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { ConverseRequestSchema, ConverseResponseSchema, FloorService, SendResponseSchema, type ConverseRequest } from "../../gen/ofp/v1/floor_pb.js";
import { isAgentwireError } from "../errors.js";
import type { JsonObject } from "../json/types.js";
import type { FloorManager } from "./floor.js";
import type { RunningOfpServer } from "./http.js";
import { parseOfpEnvelope } from "./parse.js";
import { OfpRuntimeError } from "./runtime.js";
import type { OfpDocument } from "./types.js";

/** The full method names. */
export const OFP_GRPC_SEND = "/ofp.v1.FloorService/Send";
export const OFP_GRPC_CONVERSE = "/ofp.v1.FloorService/Converse";

/** The Connect error for a failure of the floor (or of parsing). */
export function connectErrorOf(e: unknown): ConnectError {
  if (e instanceof ConnectError) return e;
  if (isAgentwireError(e)) {
    const errors = e.detail?.["errors"];
    const message = `${e.code}: ${e.message}`;
    if (e.code === "ERR_OFP_JSON" || e.code === "ERR_OFP_NOT_ENVELOPE" || e.code === "ERR_OFP_INVALID" || e.code === "ERR_OFP_VERSION") {
      return new ConnectError(message, Code.InvalidArgument, undefined, undefined, errors);
    }
    if (e.code === "ERR_OFP_FLOOR") return new ConnectError(message, Code.FailedPrecondition);
  }
  return new ConnectError((e as Error).message ?? String(e), Code.Internal);
}


/** Registers `ofp.v1.FloorService` for `floor` on a Connect router. */
export function floorGrpcRoutes(floor: FloorManager): (router: ConnectRouter) => void {
  return (router) =>
    router.service(FloorService, {
      async send(request) {
        if (request.envelope === undefined) throw new ConnectError("envelope is required", Code.InvalidArgument);
        try {
          const answer = await floor.receive(request.envelope, { binding: "ofp/grpc" });
          return create(SendResponseSchema, { envelope: answer as unknown as JsonObject });
        } catch (e) {
          throw connectErrorOf(e);
        }
      },
      async *converse(requests: AsyncIterable<ConverseRequest>) {
        const out = new Channel<OfpDocument>();
        let detach: (() => void) | undefined;
        let bound: { conversationId: string; speakerUri: string } | undefined;
        const pump = (async () => {
          for await (const message of requests) {
            if (message.envelope === undefined) throw new ConnectError("envelope is required", Code.InvalidArgument);
            let parsed;
            try {
              parsed = parseOfpEnvelope(message.envelope, { lenient: true });
            } catch (e) {
              throw connectErrorOf(e);
            }
            const conversationId = parsed.envelope.conversation.id;
            const speakerUri = parsed.envelope.sender.speakerUri;
            if (bound === undefined) {
              bound = { conversationId, speakerUri };
              detach = await floor.attach(conversationId, speakerUri, (doc) => out.push(doc));
            } else if (bound.conversationId !== conversationId || bound.speakerUri !== speakerUri) {
              throw new ConnectError(`this stream belongs to ${bound.speakerUri} in ${bound.conversationId}`, Code.InvalidArgument);
            }
            let answer: OfpDocument;
            try {
              answer = await floor.receive(parsed.value, { binding: "ofp/grpc" });
            } catch (e) {
              throw connectErrorOf(e);
            }
            if (answer.openFloor.events.length > 0) out.push(answer);
          }
        })().then(
          () => out.end(),
          (e: unknown) => out.end(connectErrorOf(e)),
        );
        try {
          for await (const doc of out) yield create(ConverseResponseSchema, { envelope: doc as unknown as JsonObject });
        } finally {
          detach?.();
          await pump;
        }
      },
    });
}

/** Options of {@link serveFloorGrpc}. */
export interface ServeFloorGrpcOptions {
  floor: FloorManager;
  /** HTTP/1.1 port: the HTTPS binding at `/` plus Connect and gRPC-Web (0 = any free port). */
  port?: number;
  /** HTTP/2 cleartext port for gRPC (0 = any free port). */
  grpcPort?: number;
  host?: string;
}

/** The floor on both listeners. */
export interface RunningFloorServers {
  /** HTTPS binding (POST /) and Connect / gRPC-Web. */
  readonly http: RunningOfpServer;
  /** gRPC over h2c. */
  readonly grpcUrl: string;
  readonly http2: Http2Server;
  close(): Promise<void>;
}

/** Serves a floor over the HTTPS binding, Connect and gRPC-Web (HTTP/1.1) and gRPC (h2c), on loopback. */
export async function serveFloorGrpc(options: ServeFloorGrpcOptions): Promise<RunningFloorServers> {
  const host = options.host ?? "127.0.0.1";
  const adapter = connectNodeAdapter({ routes: floorGrpcRoutes(options.floor) });
  const http = await options.floor.serve({
    host,
    ...(options.port === undefined ? {} : { port: options.port }),
    fallback: (req, res) => {
      adapter(req, res);
      return true;
    },
  });
  const http2 = createH2Server(connectNodeAdapter({ routes: floorGrpcRoutes(options.floor) }));
  const sessions = new Set<Http2Session>();
  http2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    http2.once("error", reject);
    http2.listen(options.grpcPort ?? 0, host, () => {
      http2.off("error", reject);
      resolve();
    });
  });
  const grpcUrl = `http://${host}:${(http2.address() as AddressInfo).port}`;
  return {
    http,
    grpcUrl,
    http2,
    async close() {
      for (const s of sessions) s.destroy();
      await Promise.all([http.close(), new Promise<void>((r) => http2.close(() => r()))]);
    },
  };
}

/** A streaming conversation from the conversant's side. */
export interface FloorConversation {
  /** Sends an envelope up the stream. */
  send(envelope: OfpDocument): void;
  /** Envelopes the floor sends down the stream. */
  readonly received: AsyncIterable<OfpDocument>;
  /** Ends the stream (half-close); `received` ends when the floor closes its side. */
  close(): void;
}

/** A client of `ofp.v1.FloorService`. */
export interface FloorClient {
  send(envelope: OfpDocument): Promise<OfpDocument>;
  converse(): FloorConversation;
}

/**
 * A FloorService client: `grpc` (HTTP/2, h2c on loopback; the `grpcUrl`), `connect` or
 * `grpc-web` (HTTP/1.1; the HTTPS binding's URL). Answers are parsed in lenient mode.
 */
export function floorClient(baseUrl: string, options: { protocol?: "grpc" | "connect" | "grpc-web"; timeoutMs?: number } = {}): FloorClient {
  const protocol = options.protocol ?? "grpc";
  const base = baseUrl.replace(/\/$/, "");
  const transport: Transport =
    protocol === "grpc" ? createGrpcTransport({ baseUrl: base }) : protocol === "connect" ? createConnectTransport({ baseUrl: base, httpVersion: "1.1" }) : createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" });
  const client = createClient(FloorService, transport);
  const toDoc = (envelope: JsonObject | undefined): OfpDocument => {
    if (envelope === undefined) throw new OfpRuntimeError("ERR_OFP_TRANSPORT", "ofp/grpc: an answer without an envelope");
    return parseOfpEnvelope(envelope, { lenient: true }).value;
  };
  return {
    async send(envelope) {
      const r = await client.send({ envelope: envelope as unknown as JsonObject }, { timeoutMs: options.timeoutMs ?? 30_000 });
      return toDoc(r.envelope);
    },
    converse() {
      const up = new Channel<ConverseRequest>();
      const responses = client.converse(up);
      return {
        send: (envelope) => up.push(create(ConverseRequestSchema, { envelope: envelope as unknown as JsonObject })),
        close: () => up.end(),
        received: (async function* () {
          for await (const r of responses) yield toDoc(r.envelope);
        })(),
      };
    },
  };
}
