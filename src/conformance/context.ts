/**
 * The receiver context of a conformance vector, as JSON (`context.json` beside `envelope.json`):
 * everything the D09 pipeline needs from the outside world, so that any implementation can
 * replay a vector without our code. {@link contextOptions} turns it into pipeline options.
 *
 * ```json
 * {
 *   "policy": { "annexIIIAllowed": ["5(d)"], "requireHooks": true },   // ReceiverPolicy
 *   "issuer": { "jwks": "keys/issuer.public.jwks.json", "federation": { "annexIIIAllowed": [...] } }
 *           | { "refused": true, "reason": "unknown", "message": "..." },
 *   "live": { "callId": "...", "rtpFingerprint": "sha256:..." },
 *   "consentReceipts": [ { "receiptId": "...", "scope": [...], "purpose": "...", "revoked": false } ],
 *   "idps": [ { "id": "did:web:...", "jwks": "keys/idp.public.jwks.json", "caps": { "ial": "IAL3" } } ],
 *   "declarations": { "https://...": { "ok": true, "modelCardSha256": "sha256:..." } },
 *   "gpaiPolicies": { "https://...": true },
 *   "anchor": { "ok": true } | { "ok": false, "message": "..." },
 *   "receiverKeys": "keys/receiver.private.jwks.json",
 *   "expected": { "verb": "PROPOSE", "tier": "regulated" },
 *   "seenBefore": false,                 // the (id, nonce) was already received (replay)
 *   "rateLimitExceeded": false,          // the issuer kid is over its rate limit
 *   "byteLength": 1234
 * }
 * ```
 * JWKS members may be a path (relative to the vector directory) or an inline JWK Set.
 */
import type { Jwks, PublicJwk } from "../crypto/jwk.js";
import { parseJwks, parsePrivateJwks, type PrivateKeyRecord } from "../crypto/keys.js";
import { AgentwireError } from "../errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { parseReceiverPolicy, type ConsentReceipt, type IdpResolution, type ReceiverHooks } from "../ohp/policy.js";
import { MemoryReplayStore } from "../ohp/receiver-state.js";
import { isTier } from "../ohp/tiers.js";
import type { VerifyEnvelopeOptions } from "../ohp/verify.js";
import { MemoryLogStore } from "../trust/tlog/store.js";
import { TransparencyLog } from "../trust/tlog/log.js";

/** A vector context that is not valid. */
export class VectorContextError extends AgentwireError<"ERR_CONFORMANCE_CONTEXT"> {}

function bad(message: string): never {
  throw new VectorContextError("ERR_CONFORMANCE_CONTEXT", `context.json: ${message}`);
}

/** Reads a file relative to the vector directory (injected: the runner is I/O-agnostic). */
export type ReadText = (relativePath: string) => Promise<string>;

async function jsonAt(value: JsonValue | undefined, read: ReadText, what: string): Promise<JsonValue> {
  if (typeof value === "string") {
    try {
      return JSON.parse(await read(value)) as JsonValue;
    } catch (e) {
      bad(`${what}: cannot read ${value}: ${(e as Error).message}`);
    }
  }
  if (value === undefined) bad(`${what} is missing`);
  return value;
}

async function publicKeys(value: JsonValue | undefined, read: ReadText, what: string): Promise<Jwks<PublicJwk>> {
  return parseJwks(await jsonAt(value, read, what));
}

function obj(value: JsonValue | undefined, what: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) bad(`${what} must be an object`);
  return value;
}

/** Options for the pipeline from a context document. `now` comes from `expected.json`. */
export async function contextOptions(context: JsonValue, read: ReadText): Promise<VerifyEnvelopeOptions> {
  const c = obj(context, "the context") ?? bad("the context must be an object");
  const known = new Set(["policy", "issuer", "live", "consentReceipts", "idps", "declarations", "gpaiPolicies", "anchor", "receiverKeys", "expected", "seenBefore", "rateLimitExceeded", "byteLength", "notes"]);
  for (const k of Object.keys(c)) if (!known.has(k)) bad(`unknown member ${JSON.stringify(k)}`);
  const hooks: { -readonly [K in keyof ReceiverHooks]: ReceiverHooks[K] } = {};
  const options: { -readonly [K in keyof VerifyEnvelopeOptions]: VerifyEnvelopeOptions[K] } = {};
  if (c["policy"] !== undefined) options.policy = parseReceiverPolicy(c["policy"]);

  const issuer = obj(c["issuer"], "issuer");
  if (issuer !== undefined) {
    if (issuer["refused"] === true) {
      const reason = issuer["reason"] === "signature-invalid" ? "signature-invalid" : "unknown";
      const message = typeof issuer["message"] === "string" ? issuer["message"] : "issuer refused";
      hooks.resolveIssuer = () => ({ refused: true, reason, message });
    } else {
      const keys = await publicKeys(issuer["jwks"], read, "issuer.jwks");
      const fed = obj(issuer["federation"], "issuer.federation");
      const federation =
        fed === undefined
          ? undefined
          : {
              ...(Array.isArray(fed["annexIIIAllowed"]) ? { annexIIIAllowed: fed["annexIIIAllowed"].map(String) } : {}),
              ...(Array.isArray(fed["jurisdictions"]) ? { jurisdictions: fed["jurisdictions"].map(String) } : {}),
            };
      hooks.resolveIssuer = () => (federation === undefined ? { keys } : { keys, federation });
    }
  }

  const live = obj(c["live"], "live");
  if (live !== undefined) {
    const callId = typeof live["callId"] === "string" ? live["callId"] : undefined;
    const rtp = typeof live["rtpFingerprint"] === "string" ? live["rtpFingerprint"] : undefined;
    hooks.liveCall = () => ({ ...(callId === undefined ? {} : { callId }), ...(rtp === undefined ? {} : { rtpFingerprint: rtp }) });
  }

  if (c["consentReceipts"] !== undefined) {
    if (!Array.isArray(c["consentReceipts"])) bad("consentReceipts must be an array");
    const store = new Map<string, ConsentReceipt>();
    for (const r of c["consentReceipts"]) {
      const o = obj(r, "consentReceipts[]") as JsonObject;
      if (typeof o["receiptId"] !== "string" || !Array.isArray(o["scope"])) bad("a consent receipt needs receiptId and scope");
      store.set(o["receiptId"], o as unknown as ConsentReceipt);
    }
    hooks.consentReceipt = (id) => store.get(id);
  }

  if (c["idps"] !== undefined) {
    if (!Array.isArray(c["idps"])) bad("idps must be an array");
    const idps = new Map<string, IdpResolution>();
    for (const raw of c["idps"]) {
      const o = obj(raw, "idps[]") as JsonObject;
      if (typeof o["id"] !== "string") bad("an idp needs an id");
      const caps = obj(o["caps"], "idps[].caps");
      idps.set(o["id"], { keys: await publicKeys(o["jwks"], read, "idps[].jwks"), ...(caps ? { caps: caps as IdpResolution["caps"] & object } : {}) });
    }
    hooks.resolveIdp = (id) => idps.get(id);
  }

  const declarations = obj(c["declarations"], "declarations");
  if (declarations !== undefined) {
    hooks.fetchDeclaration = async (url) => {
      const d = obj(declarations[url], "declarations[url]");
      if (d === undefined) return { ok: false };
      return { ok: d["ok"] === true, ...(typeof d["modelCardSha256"] === "string" ? { modelCardSha256: d["modelCardSha256"] } : {}) };
    };
  }

  const gpai = obj(c["gpaiPolicies"], "gpaiPolicies");
  if (gpai !== undefined) hooks.checkGpaiPolicy = (url) => gpai[url] === true;

  const anchor = obj(c["anchor"], "anchor");
  if (anchor !== undefined) {
    const log = new TransparencyLog(new MemoryLogStore(), { origin: "conformance.agentwire.dev/log" });
    hooks.anchor = async (_env, leafHash, logId) => {
      if (anchor["ok"] !== true) throw new Error(typeof anchor["message"] === "string" ? anchor["message"] : "the log refused the entry");
      const hex = leafHash.startsWith("sha256:") ? leafHash.slice(7) : "";
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error("leafHash is not sha256:<64 hex>");
      return { logId, ...log.submit(new Uint8Array(Buffer.from(hex, "hex"))) };
    };
  }

  if (c["receiverKeys"] !== undefined) {
    const keys: PrivateKeyRecord[] = parsePrivateJwks(await jsonAt(c["receiverKeys"], read, "receiverKeys"));
    options.keys = keys;
  }
  const expected = obj(c["expected"], "expected");
  if (expected !== undefined) {
    const tier = expected["tier"];
    if (tier !== undefined && !isTier(tier)) bad("expected.tier must be a tier");
    options.expected = {
      ...(typeof expected["verb"] === "string" ? { verb: expected["verb"] } : {}),
      ...(isTier(tier) ? { tier } : {}),
    };
  }
  if (typeof c["byteLength"] === "number") options.byteLength = c["byteLength"];
  if (c["seenBefore"] === true) options.replayStore = { firstUse: () => false };
  else options.replayStore = new MemoryReplayStore();
  if (c["rateLimitExceeded"] === true) options.rateLimiter = { allow: () => false };
  options.hooks = hooks;
  return options;
}
