/**
 * The agentwire inspector (docs/inspector.md): a page served by the node at `/inspector/` that
 * calls `agentwire.inspector.v1.InspectorService` over Connect-Web on the same origin — paste or
 * drop an OHP envelope, an Open Floor document or OAP receipts and see validation, every
 * receiver pipeline step, the signatures, the sealed fields (opened in the page with a local
 * key), and the node's handoffs live.
 *
 * Wiring into a node (src/node/node.ts):
 *
 *   const inspector = inspectorRoutes({ node, store, policy, trustedIssuers, resolveIssuerKeys });
 *   startOhpServers({ ..., routes: async (req, res) => (await inspector.http(req, res)) || ... });
 *   // on stop: inspector.close();
 *
 * @module
 */
import type { ConnectRouter } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { OhpNode } from "../ohp/control/node.js";
import type { HandoffStore } from "../ohp/control/store.js";
import { checkInspectorHeaders, createInspectorHttpHandler, INSPECTOR_PATH } from "./http.js";
import type { InspectorTrust } from "./inspect.js";
import { registerInspectorService } from "./service.js";

export { inspectDocument, INSPECT_MAX_DOCUMENT_BYTES, type InspectorTrust } from "./inspect.js";
export { handoffMessage, registerInspectorService, type InspectorServiceOptions } from "./service.js";
export {
  checkInspectorHeaders,
  createInspectorHttpHandler,
  defaultInspectorAssetsDir,
  INSPECTOR_PATH,
  INSPECTOR_SERVICE_PREFIX,
  isLoopbackAddress,
  isLoopbackHost,
  type InspectorHttpOptions,
} from "./http.js";

/** Options of {@link inspectorRoutes}. */
export interface InspectorOptions extends InspectorTrust {
  /** The node: its identity, max tier and public keys are shown by the page (GetNode). */
  readonly node?: Pick<OhpNode, "identity" | "maxTier" | "jwks">;
  /** The node's handoff store (ListHandoffs, WatchHandoffs). */
  readonly store: HandoffStore;
  /** The built page (index.html, inspector.css, inspector.js). Default: the package's dist/inspector/. */
  readonly assetsDir?: string;
  /** Answer non-loopback clients and hosts too. Default false: see docs/inspector.md before turning it on. */
  readonly allowRemote?: boolean;
  /** WatchHandoffs poll interval (default 500 ms). */
  readonly pollIntervalMs?: number;
}

/** A mounted inspector. */
export interface Inspector {
  /** Where the page is (`/inspector/`). */
  readonly path: string;
  /**
   * Registers the Connect service on a router, e.g. the node's gRPC (HTTP/2) adapter. Checks
   * the Host and Origin headers; the peer address check needs {@link Inspector.http}.
   */
  readonly connectRoutes: (router: ConnectRouter) => void;
  /** A node:http route for the page and the service; true when it answered the request. */
  readonly http: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Ends running watches. */
  close(): void;
}

/** The inspector's routes for a node (see the module comment). */
export function inspectorRoutes(options: InspectorOptions): Inspector {
  const closing = new AbortController();
  const allowRemote = options.allowRemote === true;
  const connectRoutes = (router: ConnectRouter): void =>
    registerInspectorService(router, {
      ...options,
      signal: closing.signal,
      authorize: (ctx) => checkInspectorHeaders((n) => ctx.requestHeader.get(n), allowRemote),
    });
  const http = createInspectorHttpHandler({ routes: connectRoutes, allowRemote, ...(options.assetsDir !== undefined ? { assetsDir: options.assetsDir } : {}) });
  return {
    path: INSPECTOR_PATH,
    connectRoutes,
    http,
    close: () => closing.abort(),
  };
}
