/**
 * The `ohp/grpc` binding (§7.4): `/ohp.v0_1.Handoff/Stream`, bidirectional streaming of
 * {@link Envelope} messages, served by connect-node for gRPC, gRPC-Web and Connect from one
 * implementation. The ProtoJSON of a message is the OHP JSON (src/ohp/proto-json.ts), so every
 * envelope goes through the same handler as the other bindings. A repeated envelope id on one
 * stream is dropped (§7.4); across streams the node's idempotency store answers it. Auth
 * metadata: `authorization` and `dpop` request headers (RFC 9449, Sealed+), `ohp-tier` /
 * `ohp-verb` echoes.
 */
import { createClient, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Handoff } from "../../../gen/ohp/v0_1/handoff_pb.js";
import type { Envelope } from "../../../gen/ohp/v0_1/envelope_pb.js";
import { isJsonObject, type JsonObject } from "../../json/types.js";
import { ControlError } from "../control/machine.js";
import type { OhpTransport, PeerRef } from "../control/node.js";
import { envelopeFromJson, envelopeToJson } from "../proto-json.js";
import { isTier, type Tier } from "../tiers.js";
import type { OhpEnvelopeHandler } from "./types.js";

/** The full method name (fixed by the spec). */
export const OHP_GRPC_METHOD = "/ohp.v0_1.Handoff/Stream";

function expectedOf(ctx: HandlerContext): { verb?: string; tier?: Tier } | undefined {
  const verb = ctx.requestHeader.get("ohp-verb") ?? undefined;
  const tier = ctx.requestHeader.get("ohp-tier") ?? undefined;
  const out: { verb?: string; tier?: Tier } = {};
  if (verb) out.verb = verb;
  if (tier && isTier(tier)) out.tier = tier;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Registers the Handoff service on a Connect router. */
export function ohpGrpcRoutes(handler: OhpEnvelopeHandler): (router: ConnectRouter) => void {
  return (router) =>
    router.service(Handoff, {
      async *stream(requests: AsyncIterable<Envelope>, ctx: HandlerContext) {
        const seen = new Set<string>();
        for await (const message of requests) {
          let json: JsonObject;
          try {
            json = envelopeToJson(message);
          } catch {
            json = {};
          }
          const id = typeof json["id"] === "string" ? json["id"] : undefined;
          if (id !== undefined) {
            if (seen.has(id)) continue;
            seen.add(id);
          }
          const authorization = ctx.requestHeader.get("authorization") ?? undefined;
          const dpop = ctx.requestHeader.get("dpop") ?? undefined;
          const traceparent = ctx.requestHeader.get("traceparent") ?? undefined;
          const expected = expectedOf(ctx);
          const host = ctx.requestHeader.get("host") ?? new URL(ctx.url).host;
          const answer = await handler(json, {
            binding: "ohp/grpc",
            byteLength: Buffer.byteLength(JSON.stringify(json)),
            ...(expected ? { expected } : {}),
            ...(authorization ? { authorization } : {}),
            ...(dpop ? { dpop } : {}),
            ...(traceparent ? { traceparent } : {}),
            httpMethod: "POST",
            httpUri: `http://${host}${OHP_GRPC_METHOD}`,
          });
          if (answer !== undefined) yield envelopeFromJson(answer);
        }
      },
    });
}

/**
 * The sender side over gRPC (HTTP/2, h2c on loopback): one stream per exchange; the envelope is
 * sent, the stream stays open until the answer that references it arrives, then closes.
 */
export function grpcTransport(options: { readonly timeoutMs?: number } = {}): OhpTransport {
  const clients = new Map<string, ReturnType<typeof createClient<typeof Handoff>>>();
  return {
    async send(peer: PeerRef, envelope: JsonObject, extra: { readonly dpop?: string }): Promise<JsonObject | undefined> {
      let client = clients.get(peer.url);
      if (client === undefined) {
        client = createClient(Handoff, createGrpcTransport({ baseUrl: peer.url }));
        clients.set(peer.url, client);
      }
      const id = String(envelope["id"]);
      const control = isJsonObject(envelope["control"]) ? envelope["control"] : {};
      let release: () => void = () => undefined;
      const done = new Promise<void>((r) => (release = r));
      async function* requests(): AsyncIterable<Envelope> {
        yield envelopeFromJson(envelope);
        await done;
      }
      try {
        const responses = client.stream(requests(), {
          headers: {
            "ohp-tier": String(envelope["conformance"]),
            "ohp-verb": String(control["verb"]),
            ...(extra.dpop ? { dpop: extra.dpop, authorization: `DPoP ${id}` } : {}),
          },
          timeoutMs: options.timeoutMs ?? 30_000,
        });
        for await (const message of responses) {
          const answer = envelopeToJson(message);
          const refs = isJsonObject(answer["control"]) && isJsonObject(answer["control"]["refs"]) ? answer["control"]["refs"] : {};
          if (refs["proposedId"] === id) {
            release();
            return answer;
          }
        }
        return undefined;
      } catch (cause) {
        throw new ControlError("ERR_OHP_CONTROL_BINDING", `ohp/grpc: ${peer.url}: ${(cause as Error).message}`, { cause });
      } finally {
        release();
      }
    },
  };
}
