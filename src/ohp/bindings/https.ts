/**
 * The `ohp/https` binding (§7.3): `POST /ohp/v1/transfer` with an `application/ohp+json`
 * envelope, `Idempotency-Key` = the envelope id, `OHP-Version`, optional `OHP-Tier` / `OHP-Verb`
 * echoes, `Authorization` + `DPoP` at Sealed+. The answer is an OHP envelope: `202 Accepted`
 * for ACCEPT, `200 OK` for REJECT (decision #46), with `OHP-Verb`. HTTP errors only when there is
 * no envelope to judge: 400 (not JSON, no/mismatched Idempotency-Key, wrong OHP-Version), 405,
 * 413 (over 32 KiB), 415 (media type), each with a JSON problem body `{error, message}`.
 *
 * The same request listener serves the well-known documents (§11): `ohp-capabilities.json`,
 * `ohp-jwks.json`, `ohp-ai-systems.json`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Jwks, PublicJwk } from "../../crypto/jwk.js";
import { parseJwks } from "../../crypto/keys.js";
import { parseJsonStrict } from "../../json/parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import { readBodyLimited } from "../../util/http.js";
import { OHP_MAX_JSON_BYTES } from "../../validate.js";
import { ControlError } from "../control/machine.js";
import type { OhpTransport, PeerRef } from "../control/node.js";
import { isTier, type Tier } from "../tiers.js";
import { OHP_JSON_MEDIA_TYPE, OHP_WIRE_VERSION, type OhpEnvelopeHandler } from "./types.js";

/** The transfer path (§7.3). */
export const OHP_TRANSFER_PATH = "/ohp/v1/transfer";

/** Well-known documents the listener serves (computed per request). */
export interface WellKnownDocuments {
  readonly capabilities: () => JsonObject;
  readonly jwks: () => Jwks<PublicJwk>;
  readonly aiSystems?: () => JsonObject;
}

/** Options of {@link createOhpHttpListener}. */
export interface OhpHttpOptions {
  readonly handler: OhpEnvelopeHandler;
  readonly wellKnown?: WellKnownDocuments;
  /** Maximum body size (default 32 KiB, §4.5). */
  readonly maxBytes?: number;
}

function problem(res: ServerResponse, status: number, error: string, message: string): void {
  const body = JSON.stringify({ error, message });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "cache-control": "max-age=300", ...headers });
  res.end(body);
}


function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A node:http request listener for the binding and the well-known documents. Returns `false`
 * (without answering) for paths it does not serve, so it can sit in front of other handlers.
 */
export function createOhpHttpListener(options: OhpHttpOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const max = options.maxBytes ?? OHP_MAX_JSON_BYTES;
  return async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const wk = options.wellKnown;
    if (wk !== undefined && req.method === "GET") {
      if (path === "/.well-known/ohp-capabilities.json") return sendJson(res, 200, wk.capabilities()), true;
      if (path === "/.well-known/ohp-jwks.json") return sendJson(res, 200, wk.jwks()), true;
      if (path === "/.well-known/ohp-ai-systems.json" && wk.aiSystems) return sendJson(res, 200, wk.aiSystems()), true;
    }
    if (path !== OHP_TRANSFER_PATH) return false;
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      problem(res, 405, "method-not-allowed", "POST an OHP envelope");
      return true;
    }
    const type = (header(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== OHP_JSON_MEDIA_TYPE) {
      problem(res, 415, "unsupported-media-type", `Content-Type must be ${OHP_JSON_MEDIA_TYPE}`);
      return true;
    }
    const version = header(req, "ohp-version");
    if (version !== undefined && version !== OHP_WIRE_VERSION) {
      problem(res, 400, "unsupported-version", `OHP-Version ${version} is not supported (${OHP_WIRE_VERSION})`);
      return true;
    }
    const body = await readBodyLimited(req, max);
    if (body === "too-large") {
      problem(res, 413, "too-large", `an OHP envelope is at most ${max} bytes (§4.5)`);
      return true;
    }
    let envelope: JsonValue;
    try {
      envelope = parseJsonStrict(body.toString("utf8"));
    } catch (e) {
      problem(res, 400, "invalid-json", `the body is not strict JSON: ${(e as Error).message}`);
      return true;
    }
    const key = header(req, "idempotency-key");
    const id = isJsonObject(envelope) ? envelope["id"] : undefined;
    if (key === undefined) {
      problem(res, 400, "idempotency-key-required", "Idempotency-Key (the envelope id) is required (§7.3)");
      return true;
    }
    if (key !== id) {
      problem(res, 400, "idempotency-key-mismatch", "Idempotency-Key must equal the envelope id");
      return true;
    }
    const tierHeader = header(req, "ohp-tier");
    const verbHeader = header(req, "ohp-verb");
    const expected: { verb?: string; tier?: Tier } = {};
    if (verbHeader !== undefined) expected.verb = verbHeader;
    if (tierHeader !== undefined) {
      if (!isTier(tierHeader)) {
        problem(res, 400, "invalid-tier", `OHP-Tier ${tierHeader} is not a tier`);
        return true;
      }
      expected.tier = tierHeader;
    }
    const host = header(req, "host") ?? "localhost";
    const authorization = header(req, "authorization");
    const dpop = header(req, "dpop");
    const traceparent = header(req, "traceparent");
    const answer = await options.handler(envelope, {
      ...(traceparent ? { traceparent } : {}),
      binding: "ohp/https",
      byteLength: body.length,
      ...(Object.keys(expected).length > 0 ? { expected } : {}),
      ...(authorization ? { authorization } : {}),
      ...(dpop ? { dpop } : {}),
      httpMethod: "POST",
      httpUri: `http://${host}${OHP_TRANSFER_PATH}`,
      peer: req.socket.remoteAddress ?? "unknown",
    });
    if (answer === undefined) {
      res.writeHead(204);
      res.end();
      return true;
    }
    const verb = String(isJsonObject(answer["control"]) ? answer["control"]["verb"] : "");
    const text = JSON.stringify(answer);
    res.writeHead(verb === "ACCEPT" ? 202 : 200, {
      "content-type": OHP_JSON_MEDIA_TYPE,
      "content-length": Buffer.byteLength(text),
      "ohp-version": OHP_WIRE_VERSION,
      "ohp-verb": verb,
      "ohp-tier": String(answer["conformance"]),
    });
    res.end(text);
    return true;
  };
}

/** The sender side: POSTs envelopes to `peer.url` + `/ohp/v1/transfer`. */
export function httpsTransport(options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {}): OhpTransport {
  const f = options.fetch ?? fetch;
  return {
    async send(peer: PeerRef, envelope: JsonObject, extra: { readonly dpop?: string }): Promise<JsonObject | undefined> {
      const body = JSON.stringify(envelope);
      const control = isJsonObject(envelope["control"]) ? envelope["control"] : {};
      let res: Response;
      try {
        res = await f(`${peer.url.replace(/\/$/, "")}${OHP_TRANSFER_PATH}`, {
          method: "POST",
          headers: {
            "content-type": OHP_JSON_MEDIA_TYPE,
            "idempotency-key": String(envelope["id"]),
            "ohp-version": OHP_WIRE_VERSION,
            "ohp-tier": String(envelope["conformance"]),
            "ohp-verb": String(control["verb"]),
            ...(extra.dpop ? { dpop: extra.dpop, authorization: `DPoP ${String(envelope["id"])}` } : {}),
          },
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        });
      } catch (cause) {
        throw new ControlError("ERR_OHP_CONTROL_BINDING", `ohp/https: cannot reach ${peer.url}: ${(cause as Error).message}`, { cause });
      }
      const text = await res.text();
      if (res.status === 204) return undefined;
      if (res.status !== 200 && res.status !== 202) {
        throw new ControlError("ERR_OHP_CONTROL_BINDING", `ohp/https: ${peer.url} answered ${res.status}: ${text.slice(0, 200)}`, { detail: { status: res.status } });
      }
      const answer = parseJsonStrict(text);
      if (!isJsonObject(answer)) throw new ControlError("ERR_OHP_CONTROL_PEER", "ohp/https: the answer is not an envelope");
      return answer;
    },
  };
}

/**
 * Fetches a peer's capabilities and JWKS before the first envelope (§11) and caches them per
 * URL and binding for `ttlMs` (default 5 minutes); returns a {@link PeerRef} with the
 * capabilities, which {@link OhpNode.propose} respects (max tier).
 */
export async function discoverPeer(
  url: string,
  binding: PeerRef["binding"],
  options: { readonly fetch?: typeof fetch; readonly cache?: Map<string, { at: number; peer: PeerRef }>; readonly ttlMs?: number } = {},
): Promise<PeerRef & { readonly capabilities: JsonObject }> {
  const f = options.fetch ?? fetch;
  const base = url.replace(/\/$/, "");
  const cache = options.cache ?? DEFAULT_PEER_CACHE;
  const ttl = options.ttlMs ?? 5 * 60_000;
  const cached = cache.get(`${base} ${binding}`);
  if (cached !== undefined && Date.now() - cached.at < ttl) return cached.peer as PeerRef & { readonly capabilities: JsonObject };
  const get = async (path: string): Promise<JsonValue> => {
    const res = await f(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new ControlError("ERR_OHP_CONTROL_PEER", `${base}${path} answered ${res.status}`);
    return parseJsonStrict(await res.text());
  };
  const capabilities = await get("/.well-known/ohp-capabilities.json");
  if (!isJsonObject(capabilities)) throw new ControlError("ERR_OHP_CONTROL_PEER", "capabilities must be an object");
  const bindings = Array.isArray(capabilities["bindings"]) ? capabilities["bindings"] : [];
  if (!bindings.includes(binding)) throw new ControlError("ERR_OHP_CONTROL_PEER", `${base} does not offer ${binding}`);
  const jwks = parseJwks(await get("/.well-known/ohp-jwks.json"));
  const endpoints = isJsonObject(capabilities["endpoints"]) ? capabilities["endpoints"] : {};
  const endpoint = typeof endpoints[binding] === "string" ? (endpoints[binding] as string) : base;
  const did = typeof capabilities["did"] === "string" ? capabilities["did"] : undefined;
  const vendor = typeof capabilities["vendor"] === "string" ? capabilities["vendor"] : undefined;
  const peer = { url: endpoint, binding, jwks, capabilities, ...(did ? { did } : {}), ...(vendor ? { vendor } : {}) };
  cache.set(`${base} ${binding}`, { at: Date.now(), peer });
  return peer;
}

/** The process-wide capabilities cache of {@link discoverPeer} (§11: fetch before the first envelope, then cache). */
export const DEFAULT_PEER_CACHE = new Map<string, { at: number; peer: PeerRef }>();
