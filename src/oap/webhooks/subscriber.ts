/**
 * The subscriber side of §9.3: "Subscribers MUST verify signature, replay window, and DID
 * resolution before acting on a Webhook payload."
 *
 * {@link verifyWebhook} checks, in order: the RFC 9421 signature tagged `oap-webhook` covers the
 * profile's components and carries created / expires / keyid / nonce; `keyid` is a DID URL of
 * the expected Tool DID (ERR_OAP_SIGNER_MISMATCH); `expires` has not passed and `created` is
 * within the replay window of the subscriber's clock (ERR_OAP_REPLAY_TIMESTAMP); the key
 * resolved from the Tool's DID document verifies the signature; the body matches
 * `Content-Digest`; the `nonce` is unseen (ERR_OAP_REPLAY_NONCE, recorded only after the
 * signature verified); the payload is JSON whose `webhook_id` equals `OAP-Webhook-Id` and whose
 * `tool_did` is the Tool's.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseJsonStrict } from "../../json/parse.js";
import { isJsonObject, type JsonObject } from "../../json/types.js";
import { errorObjectOf, httpErrorOf, OapError } from "../errors.js";
import { MemoryNonceStore, type NonceStore } from "../replay.js";
import type { OapKeyResolver } from "../sign.js";
import { clockMs, didOf, systemClock, type OapClock } from "../util.js";
import { OAP_WEBHOOK_COMPONENTS, OAP_WEBHOOK_SIGNATURE_TAG } from "./deliver.js";
import { checkContentDigest, httpMessage, verifyHttpMessageSignature } from "./rfc9421.js";
import type { WebhookPayload } from "./subscriptions.js";

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** The Tool the webhook must come from. */
  readonly toolDid: string;
  /** Resolves the Tool's keys (DID resolution: `didKeyResolver(new DidResolver())`). */
  readonly keys: OapKeyResolver;
  /** Seen nonces (default: a fresh in-memory store; share one across calls for replay protection). */
  readonly nonces?: NonceStore;
  readonly clock?: OapClock;
  /** Accepted age of `created` (and clock skew), seconds. Default 300 (§28.3). */
  readonly windowSeconds?: number;
}

/** A verified webhook. */
export interface VerifiedWebhook {
  readonly payload: WebhookPayload;
  readonly keyid: string;
  readonly webhookId: string;
}

/** A received request: method, absolute URL, headers, raw body. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Uint8Array | string;
}

/** Verifies a webhook request (see the module comment). Throws OapError (401 / 409 / 400). */
export async function verifyWebhook(request: ReceivedRequest, options: VerifyWebhookOptions): Promise<VerifiedWebhook> {
  const msg = httpMessage({ method: request.method, url: request.url, headers: request.headers });
  const window = options.windowSeconds ?? 300;
  const v = await verifyHttpMessageSignature(msg, {
    tag: OAP_WEBHOOK_SIGNATURE_TAG,
    requiredComponents: OAP_WEBHOOK_COMPONENTS,
    requiredParams: ["created", "expires", "keyid", "nonce"],
    nowSeconds: Math.floor(clockMs(options.clock ?? systemClock) / 1000),
    maxAgeSeconds: window,
    nonces: { store: options.nonces ?? new MemoryNonceStore(), windowSeconds: 2 * window },
    resolveKey: (keyid) => {
      if (!keyid.includes("#") || didOf(keyid) !== options.toolDid) {
        throw new OapError("ERR_OAP_SIGNER_MISMATCH", `the webhook is signed by ${keyid}, not by a key of ${options.toolDid}`, { details: { keyid, expected: options.toolDid } });
      }
      return options.keys.resolve(keyid);
    },
  });
  checkContentDigest(msg.header("content-digest"), request.body);
  const text = typeof request.body === "string" ? request.body : Buffer.from(request.body).toString("utf8");
  let payload: unknown;
  try {
    payload = parseJsonStrict(text);
  } catch {
    throw new OapError("ERR_OAP_INPUT_INVALID", "the webhook body is not JSON");
  }
  if (!isJsonObject(payload)) throw new OapError("ERR_OAP_INPUT_INVALID", "the webhook body must be a JSON object");
  const webhookId = msg.header("oap-webhook-id");
  if (payload["webhook_id"] !== webhookId) throw new OapError("ERR_OAP_INPUT_INVALID", "webhook_id differs from OAP-Webhook-Id");
  if (payload["tool_did"] !== options.toolDid) throw new OapError("ERR_OAP_SIGNER_MISMATCH", "the payload names another Tool");
  return { payload: payload as WebhookPayload, keyid: v.keyid, webhookId: webhookId as string };
}

/** Options of {@link createWebhookReceiver}. */
export interface WebhookReceiverOptions extends VerifyWebhookOptions {
  /** Called once per verified webhook id (retries of a delivered webhook are acknowledged, not repeated). */
  onEvent(webhook: VerifiedWebhook): void | Promise<void>;
  /** Called for every refused request. */
  onRejected?(error: OapError): void;
  /** Public origin of the receiver (the URL the Tool posts to), e.g. "http://127.0.0.1:9000". */
  readonly origin: string;
  /** Largest body accepted (default 1 MiB). */
  readonly maxBodyBytes?: number;
}

/** A Node request handler that verifies webhooks and answers 204 (or the OAP error status). */
export function createWebhookReceiver(options: WebhookReceiverOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const nonces = options.nonces ?? new MemoryNonceStore();
  const seen = new Set<string>();
  return async (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > (options.maxBodyBytes ?? 1 << 20)) {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ code: "invalid_input", message: "body too large" }));
        return;
      }
      chunks.push(c as Buffer);
    }
    try {
      const w = await verifyWebhook({ method: req.method ?? "POST", url: new URL(req.url ?? "/", options.origin).href, headers: req.headers, body: Buffer.concat(chunks) }, { ...options, nonces });
      if (!seen.has(w.webhookId)) {
        seen.add(w.webhookId);
        if (seen.size > 10_000) seen.delete(seen.values().next().value as string);
        await options.onEvent(w);
      }
      res.writeHead(204).end();
    } catch (e) {
      const error = e instanceof OapError ? e : new OapError("ERR_OAP_INTERNAL", "internal error", { cause: e });
      options.onRejected?.(error);
      const { status } = httpErrorOf(error);
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(errorObjectOf(error) as unknown as JsonObject));
    }
  };
}
