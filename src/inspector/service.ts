/**
 * The `agentwire.inspector.v1.InspectorService` implementation: Inspect ({@link inspectDocument}),
 * GetNode, ListHandoffs and WatchHandoffs over the node's {@link HandoffStore}. WatchHandoffs
 * polls `store.list()` (every store backend has it; none pushes changes) and sends the records
 * whose `updatedAt` changed since the previous poll.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  GetNodeResponseSchema,
  HandoffEventSchema,
  HandoffSchema,
  InspectorService,
  ListHandoffsResponseSchema,
  WatchHandoffsResponseSchema,
  type Handoff,
  type WatchHandoffsResponse,
} from "../../gen/agentwire/inspector/v1/inspector_pb.js";
import type { OhpNode } from "../ohp/control/node.js";
import type { HandoffRecord, HandoffStore } from "../ohp/control/store.js";
import { inspectDocument, type InspectorTrust } from "./inspect.js";

/** What the service needs. */
export interface InspectorServiceOptions extends InspectorTrust {
  readonly store: HandoffStore;
  /** The node (GetNode: identity, max tier, public keys). */
  readonly node?: Pick<OhpNode, "identity" | "maxTier" | "jwks">;
  /** WatchHandoffs poll interval. Default 500 ms. */
  readonly pollIntervalMs?: number;
  /** At most this many WatchHandoffs streams at once. Default 16. */
  readonly maxWatchers?: number;
  /** Checked on every call with its request headers; throw a ConnectError to refuse it. */
  readonly authorize?: (ctx: HandlerContext) => void;
  /** Aborted when the inspector closes: running watches end. */
  readonly signal?: AbortSignal;
}

/** Default and largest page of ListHandoffs / the watch snapshot. */
export const HANDOFF_LIST_DEFAULT = 200;
export const HANDOFF_LIST_MAX = 1000;

function role(value: string): "sender" | "receiver" | undefined {
  if (value === "") return undefined;
  if (value === "sender" || value === "receiver") return value;
  throw new ConnectError(`role must be "sender", "receiver" or empty, not ${JSON.stringify(value)}`, Code.InvalidArgument);
}

/** A store record as the wire message. */
export function handoffMessage(r: HandoffRecord): Handoff {
  const updated = Date.parse(r.updatedAt);
  return create(HandoffSchema, {
    id: r.id,
    role: r.role,
    state: r.state,
    tier: r.tier,
    binding: r.binding ?? "",
    peer: r.peer ?? "",
    callId: r.callId ?? "",
    rejectReason: r.rejectReason ?? "",
    ...(Number.isFinite(updated) ? { updatedAt: timestampFromDate(new Date(updated)) } : {}),
    history: r.history.map((h) => create(HandoffEventSchema, { at: h.at, event: h.event, state: h.state, envelopeId: h.envelopeId ?? "", note: h.note ?? "" })),
    envelopesJson: Object.fromEntries(Object.entries(r.envelopes).map(([verb, env]) => [verb, JSON.stringify(env)])),
  });
}

function newestFirst(a: HandoffRecord, b: HandoffRecord): number {
  return a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function keyOf(r: HandoffRecord): string {
  return `${r.role}:${r.id}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Registers the service on a Connect router. */
export function registerInspectorService(router: ConnectRouter, options: InspectorServiceOptions): void {
  const pollMs = options.pollIntervalMs ?? 500;
  const maxWatchers = options.maxWatchers ?? 16;
  let watchers = 0;
  const authorize = (ctx: HandlerContext): void => options.authorize?.(ctx);

  router.service(InspectorService, {
    async inspect(req, ctx) {
      authorize(ctx);
      return inspectDocument(req, options);
    },

    async getNode(_req, ctx) {
      authorize(ctx);
      const node = options.node;
      if (node === undefined) return create(GetNodeResponseSchema, {});
      return create(GetNodeResponseSchema, {
        did: node.identity.did,
        vendor: node.identity.vendor,
        agentId: node.identity.agentId,
        region: node.identity.region,
        maxTier: node.maxTier,
        jwksJson: JSON.stringify(node.jwks(), null, 2),
      });
    },

    async listHandoffs(req, ctx) {
      authorize(ctx);
      const limit = req.limit <= 0 ? HANDOFF_LIST_DEFAULT : Math.min(req.limit, HANDOFF_LIST_MAX);
      const records = [...(await options.store.list(role(req.role)))].sort(newestFirst).slice(0, limit);
      return create(ListHandoffsResponseSchema, { handoffs: records.map(handoffMessage) });
    },

    async *watchHandoffs(req, ctx): AsyncGenerator<WatchHandoffsResponse> {
      authorize(ctx);
      const which = role(req.role);
      if (options.signal?.aborted === true) throw new ConnectError("the inspector is closed", Code.Unavailable);
      if (watchers >= maxWatchers) throw new ConnectError(`at most ${maxWatchers} handoff watches at once`, Code.ResourceExhausted);
      watchers++;
      const signal = options.signal === undefined ? ctx.signal : AbortSignal.any([ctx.signal, options.signal]);
      try {
        const seen = new Map<string, string>();
        const first = [...(await options.store.list(which))].sort(newestFirst);
        for (const r of first) seen.set(keyOf(r), r.updatedAt);
        yield create(WatchHandoffsResponseSchema, { snapshot: true, handoffs: first.slice(0, HANDOFF_LIST_DEFAULT).map(handoffMessage) });
        while (!signal.aborted) {
          await sleep(pollMs, signal);
          if (signal.aborted) break;
          const changed = (await options.store.list(which)).filter((r) => seen.get(keyOf(r)) !== r.updatedAt).sort(newestFirst);
          if (changed.length === 0) continue;
          for (const r of changed) seen.set(keyOf(r), r.updatedAt);
          yield create(WatchHandoffsResponseSchema, { snapshot: false, handoffs: changed.slice(0, HANDOFF_LIST_MAX).map(handoffMessage) });
        }
      } finally {
        watchers--;
      }
    },
  });
}
