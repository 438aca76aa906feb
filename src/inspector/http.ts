/**
 * Serving the inspector on the node's HTTP/1.1 port: the page (`/inspector/`: index.html,
 * inspector.css, inspector.js from the esbuild bundle, see build.mjs) and the Connect service
 * (`/agentwire.inspector.v1.InspectorService/*`).
 *
 * Loopback only unless `allowRemote`: the peer address must be a loopback address, the Host
 * header a loopback name (DNS rebinding), and an Origin header, when sent, the same origin (no
 * other site's page may drive the service). The page is sent with a strict Content-Security-Policy.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { InspectorService } from "../../gen/agentwire/inspector/v1/inspector_pb.js";
import type { ConnectRouter } from "@connectrpc/connect";

/** Where the page is served. */
export const INSPECTOR_PATH = "/inspector/";
/** The Connect service's path prefix. */
export const INSPECTOR_SERVICE_PREFIX = `/${InspectorService.typeName}/`;

/** The page's files: name → content type. */
const ASSETS: Readonly<Record<string, string>> = Object.freeze({
  "index.html": "text/html; charset=utf-8",
  "inspector.css": "text/css; charset=utf-8",
  "inspector.js": "text/javascript; charset=utf-8",
});

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The default directory of the built page: `dist/inspector/` of the agentwire package this
 * module belongs to (found by walking up to its package.json), from the sources or from dist/.
 */
export function defaultInspectorAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: unknown }).name === "agentwire") return join(dir, "dist", "inspector");
      } catch {
        // not ours
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "inspector");
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** True for a Host header (or URL host) naming loopback: localhost, 127.x.y.z, [::1], with any port. */
export function isLoopbackHost(host: string | undefined | null): boolean {
  if (host === undefined || host === null || host === "") return false;
  const m = /^(\[[^\]]+\]|[^:]+)(:\d{1,5})?$/.exec(host.trim().toLowerCase());
  if (m === null) return false;
  const name = m[1] as string;
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * Same-origin and loopback checks on request headers (both the page and the service). Throws
 * a ConnectError `permission_denied` naming the problem.
 */
export function checkInspectorHeaders(get: (name: string) => string | null | undefined, allowRemote: boolean): void {
  const host = get("host") ?? get(":authority") ?? undefined;
  if (!allowRemote && !isLoopbackHost(host)) {
    throw new ConnectError(`the inspector answers loopback hosts only (Host: ${host ?? "none"})`, Code.PermissionDenied);
  }
  const origin = get("origin");
  if (origin !== undefined && origin !== null && origin !== "") {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || host === undefined || originHost.toLowerCase() !== host.toLowerCase()) {
      throw new ConnectError(`cross-origin requests are refused (Origin: ${origin})`, Code.PermissionDenied);
    }
  }
}

/** Options of {@link createInspectorHttpHandler}. */
export interface InspectorHttpOptions {
  /** Registers the service (see service.ts). */
  readonly routes: (router: ConnectRouter) => void;
  /** The built page's directory. Default {@link defaultInspectorAssetsDir}. */
  readonly assetsDir?: string;
  /** Serve other hosts than loopback. Default false. */
  readonly allowRemote?: boolean;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}

/**
 * A node:http route: answers the inspector's paths (returns true) and leaves every other path
 * alone (returns false), so it can sit in `startOhpServers({routes})`.
 */
export function createInspectorHttpHandler(options: InspectorHttpOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const allowRemote = options.allowRemote === true;
  const assetsDir = options.assetsDir ?? defaultInspectorAssetsDir();
  // Connect JSON and binary; 8 MiB covers the 4 MiB document limit plus keys.
  const connect = connectNodeAdapter({ routes: options.routes, readMaxBytes: 8 * 1024 * 1024 });
  const cache = new Map<string, Buffer>();

  async function asset(name: string): Promise<Buffer | undefined> {
    const hit = cache.get(name);
    if (hit !== undefined) return hit;
    try {
      const body = await readFile(join(assetsDir, name));
      cache.set(name, body);
      return body;
    } catch {
      return undefined;
    }
  }

  return async (req, res) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    const isPage = path === "/inspector" || path.startsWith(INSPECTOR_PATH);
    const isService = path.startsWith(INSPECTOR_SERVICE_PREFIX);
    if (!isPage && !isService) return false;
    if (!allowRemote && !isLoopbackAddress(req.socket.remoteAddress)) {
      plain(res, 403, "the inspector answers loopback clients only\n");
      return true;
    }
    try {
      checkInspectorHeaders((n) => header(req, n), allowRemote);
    } catch (e) {
      plain(res, 403, `${(e as ConnectError).rawMessage}\n`);
      return true;
    }
    if (isService) {
      // A watch is long-lived: its socket closes with it, so that a node draining for shutdown
      // (after Inspector.close() ended the watches) is not kept waiting on an idle keep-alive.
      if (path.endsWith("/WatchHandoffs")) res.setHeader("connection", "close");
      connect(req, res);
      return true;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      plain(res, 405, "method not allowed\n", { allow: "GET, HEAD" });
      return true;
    }
    if (path === "/inspector") {
      res.writeHead(308, { location: INSPECTOR_PATH, "content-length": "0" });
      res.end();
      return true;
    }
    const name = path === INSPECTOR_PATH ? "index.html" : path.slice(INSPECTOR_PATH.length);
    const type = ASSETS[name];
    if (type === undefined) {
      plain(res, 404, "not found\n");
      return true;
    }
    const body = await asset(name);
    if (body === undefined) {
      plain(res, 503, `the inspector page is not built (no ${join(assetsDir, name)}): run npm run build\n`);
      return true;
    }
    res.writeHead(200, {
      "content-type": type,
      "content-length": body.length,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-resource-policy": "same-origin",
      ...(name === "index.html" ? { "content-security-policy": CSP, "x-frame-options": "DENY" } : {}),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}
