/**
 * §9.3 webhook delivery: the Tool POSTs a JSON payload to each matching subscription, signed
 * with RFC 9421 HTTP Message Signatures under its DID key.
 *
 * Profile (docs/oap-server.md, "Webhooks"):
 * - covered components `("@method" "@target-uri" "content-type" "content-digest" "oap-webhook-id")`;
 * - parameters `created`, `expires` (= created + 300), `nonce` (128 random bits), `keyid` (the
 *   Tool's DID URL, resolvable through its DID document), `alg="ed25519"`, `tag="oap-webhook"`;
 * - `Content-Digest: sha-256=:…:` (RFC 9530) binds the body;
 * - `OAP-Webhook-Id` is the same on every retry of one delivery (subscribers dedupe on it), while
 *   each attempt is signed afresh (new `created` and `nonce`).
 * Failed deliveries (network error or non-2xx) are retried with exponential backoff.
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import type { OapSigner } from "../sign.js";
import { clockMs, oapIds, rfc3339, systemClock, systemRandom, type OapClock, type OapIds, type OapRandom } from "../util.js";
import type { TaskJson } from "../tasks/store.js";
import { contentDigest, httpMessage, signHttpMessage } from "./rfc9421.js";
import { subscriptionMatches, type WebhookPayload, type WebhookSubscription } from "./subscriptions.js";

/** The RFC 9421 `tag` of OAP webhooks. */
export const OAP_WEBHOOK_SIGNATURE_TAG = "oap-webhook";
/** Components every OAP webhook signature covers. */
export const OAP_WEBHOOK_COMPONENTS: readonly string[] = Object.freeze(["@method", "@target-uri", "content-type", "content-digest", "oap-webhook-id"]);
/** Lifetime of a webhook signature (created → expires), seconds. */
export const OAP_WEBHOOK_SIGNATURE_LIFETIME_S = 300;

/** Options of {@link signWebhookRequest}. */
export interface SignWebhookOptions {
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/**
 * The headers of one signed webhook POST of `body` (JSON text) to `url`: Content-Type,
 * Content-Digest, OAP-Webhook-Id, Signature-Input, Signature.
 */
export function signWebhookRequest(url: string, body: string, webhookId: string, signer: OapSigner, options: SignWebhookOptions = {}): Record<string, string> {
  const created = Math.floor(clockMs(options.clock ?? systemClock) / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-digest": contentDigest(body),
    "oap-webhook-id": webhookId,
  };
  const sig = signHttpMessage(httpMessage({ method: "POST", url, headers }), {
    label: "oap",
    components: OAP_WEBHOOK_COMPONENTS,
    params: {
      created,
      expires: created + OAP_WEBHOOK_SIGNATURE_LIFETIME_S,
      nonce: Buffer.from((options.random ?? systemRandom)(16)).toString("base64url"),
      keyid: signer.kid ?? signer.key.kid,
      alg: "ed25519",
      tag: OAP_WEBHOOK_SIGNATURE_TAG,
    },
    key: signer.key,
  });
  return { ...headers, "signature-input": sig.signatureInput, signature: sig.signature };
}

/** Options of {@link WebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  /** The Tool's key; `kid` must be a DID URL of `toolDid`. */
  readonly signer: OapSigner;
  readonly toolDid: string;
  readonly fetch?: typeof fetch;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
  readonly ids?: OapIds;
  /** Attempts after the first (default 3). */
  readonly retries?: number;
  /** First backoff (doubles each retry; default 500 ms). */
  readonly backoffMs?: number;
  /** Per-attempt timeout (default 10 s). */
  readonly timeoutMs?: number;
  readonly log?: (event: JsonObject) => void;
}

/** The result of one delivery. */
export interface DeliveryResult {
  readonly ok: boolean;
  readonly attempts: number;
  readonly status?: number;
  readonly webhook_id: string;
}

/** Signs and POSTs webhook payloads, with retries. */
export class WebhookDispatcher {
  readonly #o: WebhookDispatcherOptions;
  readonly #clock: OapClock;
  readonly #ids: OapIds;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: WebhookDispatcherOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? oapIds(this.#clock, options.random);
  }

  /** Delivers `event` with `data` to one subscription (awaits every attempt). */
  async deliver(subscription: WebhookSubscription, event: string, data: JsonObject): Promise<DeliveryResult> {
    const webhookId = `whk_${this.#ids.ulid()}`;
    const payload: WebhookPayload = { webhook_id: webhookId, subscription_id: subscription.id, event, occurred_at: rfc3339(this.#clock()), tool_did: this.#o.toolDid, data };
    const body = JSON.stringify(payload);
    const doFetch = this.#o.fetch ?? fetch;
    const retries = this.#o.retries ?? 3;
    let status: number | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, (this.#o.backoffMs ?? 500) * 2 ** (attempt - 1)));
      const headers = signWebhookRequest(subscription.callback_url, body, webhookId, this.#o.signer, {
        ...(this.#o.clock === undefined ? {} : { clock: this.#o.clock }),
        ...(this.#o.random === undefined ? {} : { random: this.#o.random }),
      });
      try {
        const res = await doFetch(subscription.callback_url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000), redirect: "manual" });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          this.#o.log?.({ event: "oap.webhook", webhook_id: webhookId, subscription_id: subscription.id, type: event, status, attempts: attempt + 1 });
          return { ok: true, attempts: attempt + 1, status, webhook_id: webhookId };
        }
      } catch {
        status = undefined;
      }
    }
    this.#o.log?.({ event: "oap.webhook-failed", webhook_id: webhookId, subscription_id: subscription.id, type: event, ...(status === undefined ? {} : { status }), attempts: retries + 1 });
    return { ok: false, attempts: retries + 1, ...(status === undefined ? {} : { status }), webhook_id: webhookId };
  }

  /** Delivers `task.<status>` to every matching subscription in the background. */
  dispatchTask(subscriptions: readonly WebhookSubscription[], task: TaskJson): void {
    const event = `task.${task.status}`;
    for (const s of subscriptions) {
      if (!subscriptionMatches(s, event, task)) continue;
      const p = this.deliver(s, event, task as unknown as JsonObject).catch((e: unknown) => {
        this.#o.log?.({ event: "oap.webhook-failed", subscription_id: s.id, message: (e as Error).message });
      });
      this.#inFlight.add(p);
      void p.finally(() => this.#inFlight.delete(p));
    }
  }

  /** Delivers `event` with `data` to each of `subscriptions` in the background (the caller picked them). */
  dispatch(subscriptions: readonly WebhookSubscription[], event: string, data: JsonObject): void {
    for (const s of subscriptions) {
      const p = this.deliver(s, event, data).catch((e: unknown) => {
        this.#o.log?.({ event: "oap.webhook-failed", subscription_id: s.id, message: (e as Error).message });
      });
      this.#inFlight.add(p);
      void p.finally(() => this.#inFlight.delete(p));
    }
  }

  /** Resolves when every background delivery has finished. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }
}

/**
 * Checks a callback URL: https, or http to a loopback host when `allowInsecure` (local tests).
 * Throws 400 ERR_OAP_INPUT_INVALID otherwise.
 */
export function checkCallbackUrl(url: unknown, allowInsecure: boolean): string {
  if (typeof url !== "string") throw new OapError("ERR_OAP_INPUT_INVALID", "callback_url must be a string");
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OapError("ERR_OAP_INPUT_INVALID", "callback_url must be an absolute URL");
  }
  const loopback = u.hostname === "localhost" || u.hostname === "127.0.0.1" || u.hostname === "[::1]";
  if (u.protocol === "https:" || (u.protocol === "http:" && allowInsecure && loopback)) return url;
  throw new OapError("ERR_OAP_INPUT_INVALID", "callback_url must be https (plain http only to loopback in test setups)");
}
