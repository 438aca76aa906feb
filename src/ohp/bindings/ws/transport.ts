/**
 * The node's sender side over ohp/ws: one connection per peer URL (the tenant pair), opened on
 * first use and reused; envelopes the peer sends on it go to the node's handler.
 */
import type { JsonObject } from "../../../json/types.js";
import { ControlError } from "../../control/machine.js";
import type { OhpTransport, PeerRef } from "../../control/node.js";
import type { Tier } from "../../tiers.js";
import type { OhpEnvelopeHandler } from "../types.js";
import { connectOhpWs, type OhpWsClient } from "./client.js";

/** Options of {@link wsTransport}. */
export interface WsTransportOptions {
  readonly handler: OhpEnvelopeHandler;
  readonly tenant: string;
  readonly maxTier: Tier;
  readonly timeoutMs?: number;
}

/** An {@link OhpTransport} over ohp/ws; `close()` closes its connections. */
export function wsTransport(options: WsTransportOptions): OhpTransport & { close(): Promise<void> } {
  const clients = new Map<string, Promise<OhpWsClient>>();
  const connect = (url: string): Promise<OhpWsClient> => {
    let c = clients.get(url);
    if (c === undefined) {
      c = connectOhpWs(url, { hello: { maxTier: options.maxTier, bindings: ["ohp/ws"], tenant: options.tenant }, handler: options.handler });
      clients.set(url, c);
      c.then((client) => void client.closed.then(() => clients.delete(url))).catch(() => clients.delete(url));
    }
    return c;
  };
  return {
    async send(peer: PeerRef, envelope: JsonObject): Promise<JsonObject | undefined> {
      const url = peer.url.startsWith("ws") ? peer.url : `${peer.url.replace(/^http/, "ws").replace(/\/$/, "")}/ohp/v1/ws`;
      try {
        const client = await connect(url);
        return await client.sendAndAwaitAnswer(envelope, options.timeoutMs ?? 30_000);
      } catch (cause) {
        throw new ControlError("ERR_OHP_CONTROL_BINDING", `ohp/ws: ${url}: ${(cause as Error).message}`, { cause });
      }
    },
    async close(): Promise<void> {
      const all = [...clients.values()];
      clients.clear();
      await Promise.all(all.map(async (c) => (await c.catch(() => undefined))?.close()));
    },
  };
}
