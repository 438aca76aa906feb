/**
 * HTTP Message Signatures (RFC 9421) with Ed25519, and `Content-Digest` (RFC 9530).
 *
 * Scope: requests and responses, derived components `@method`, `@target-uri`, `@authority`,
 * `@scheme`, `@request-target`, `@path`, `@query`, `@query-param` (single occurrence) and
 * `@status`, and HTTP fields by name (the `sf`, `key`, `bs`, `req` and `tr` component parameters
 * are refused). The algorithm is `ed25519` (RFC 9421 §3.3.6); `Signature-Input` and `Signature`
 * are RFC 8941 dictionaries. The signature base (§2.5) is built exactly as the RFC's Appendix B
 * examples show: one line `"<component id>": <value>` per covered component, then
 * `"@signature-params": <inner list with parameters>`, lines joined by LF, no trailing LF.
 *
 * OAP uses it for webhooks (§9.3, the Tool signs) and for authenticating non-invocation requests
 * (audit, tasks, data rights: the caller signs) — see docs/oap-server.md.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { PrivateKeyRecord, PublicKeyRecord } from "../../crypto/keys.js";
import { OapError } from "../errors.js";
import type { NonceStore } from "../replay.js";
import {
  isInnerList,
  parseDictionary,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  SfToken,
  StructuredFieldError,
  type SfBareItem,
  type SfInnerList,
  type SfItem,
  type SfParams,
} from "./structured-fields.js";

/** The only algorithm produced and accepted (RFC 9421 §3.3.6). */
export const RFC9421_ED25519 = "ed25519";

/** What a signature covers: a view of a request or a response. */
export interface HttpMessageView {
  /** Request method (requests). */
  readonly method?: string;
  /** Absolute target URI (requests; also needed for `;req` — not supported). */
  readonly url?: string;
  /** Status code (responses). */
  readonly status?: number;
  /** The field value of `name` (lowercase), several field lines combined with ", "; undefined when absent. */
  header(name: string): string | undefined;
}

type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** A {@link HttpMessageView} over a method, URL and headers (a `Headers`, or Node's header object). */
export function httpMessage(parts: { readonly method?: string; readonly url?: string; readonly status?: number; readonly headers: HeaderSource }): HttpMessageView {
  const h = parts.headers;
  const header =
    h instanceof Headers
      ? (name: string): string | undefined => h.get(name) ?? undefined
      : (name: string): string | undefined => {
          const wanted = name.toLowerCase();
          for (const [k, v] of Object.entries(h)) {
            if (k.toLowerCase() !== wanted || v === undefined) continue;
            return Array.isArray(v) ? v.join(", ") : String(v);
          }
          return undefined;
        };
  return {
    ...(parts.method === undefined ? {} : { method: parts.method }),
    ...(parts.url === undefined ? {} : { url: parts.url }),
    ...(parts.status === undefined ? {} : { status: parts.status }),
    header,
  };
}

function invalid(message: string, details?: Record<string, string>): OapError {
  return new OapError("ERR_OAP_SIGNATURE_INVALID", message, details === undefined ? {} : { details });
}

function componentItem(c: string | SfItem): SfItem {
  if (typeof c !== "string") return c;
  return { value: c.toLowerCase(), params: [] };
}

/** The value of one covered component (§2.1, §2.2). */
export function componentValue(msg: HttpMessageView, id: SfItem): string {
  const name = id.value;
  if (typeof name !== "string") throw invalid("a component identifier must be a string");
  const params = new Map(id.params);
  for (const p of params.keys()) {
    if (p !== "name") throw invalid(`component parameter ;${p} is not supported`, { component: name });
  }
  if (!name.startsWith("@")) {
    if (params.size > 0) throw invalid(`component parameters on ${name} are not supported`, { component: name });
    const v = msg.header(name);
    if (v === undefined) throw invalid(`the covered field ${name} is absent`, { component: name });
    return v.trim().replace(/[ \t]*\r?\n[ \t]*/g, " ");
  }
  if (name === "@status") {
    if (msg.status === undefined) throw invalid("@status is only defined for responses");
    return String(msg.status);
  }
  if (name === "@method") {
    if (msg.method === undefined) throw invalid("@method needs a request");
    return msg.method;
  }
  if (msg.url === undefined) throw invalid(`${name} needs the request's target URI`, { component: name });
  let url: URL;
  try {
    url = new URL(msg.url);
  } catch {
    throw invalid("the target URI is not absolute");
  }
  switch (name) {
    case "@target-uri":
      return msg.url;
    case "@authority":
      return url.host.toLowerCase();
    case "@scheme":
      return url.protocol.slice(0, -1).toLowerCase();
    case "@request-target":
      return `${url.pathname || "/"}${url.search}`;
    case "@path":
      return url.pathname || "/";
    case "@query":
      return url.search === "" ? "?" : url.search;
    case "@query-param": {
      const wanted = params.get("name");
      if (typeof wanted !== "string") throw invalid("@query-param needs ;name");
      const values = new URLSearchParams(url.search).getAll(wanted);
      if (values.length !== 1) throw invalid(`@query-param ${wanted} must occur exactly once`);
      return encodeURIComponent(values[0] as string);
    }
    default:
      throw invalid(`derived component ${name} is not supported`, { component: name });
  }
}

/** Signature parameters (§2.3), serialised in the order given. */
export interface SignatureParams {
  /** Seconds since the epoch. */
  readonly created?: number;
  readonly expires?: number;
  readonly nonce?: string;
  readonly alg?: string;
  readonly keyid?: string;
  readonly tag?: string;
}

function paramsList(p: SignatureParams | SfParams): SfParams {
  if (Array.isArray(p)) return p;
  const out: SfParams = [];
  for (const [k, v] of Object.entries(p)) if (v !== undefined) out.push([k, v as SfBareItem]);
  return out;
}

/** The signature base (§2.5) of `msg` for `components` and `params`, and the serialised `@signature-params`. */
export function signatureBase(msg: HttpMessageView, components: readonly (string | SfItem)[], params: SignatureParams | SfParams): { base: string; signatureParams: string } {
  const items = components.map(componentItem);
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const item of items) {
    const id = serializeItem(item);
    if (seen.has(id)) throw invalid(`component ${id} is covered twice`);
    seen.add(id);
    if (item.value === "@signature-params") throw invalid("@signature-params cannot be covered");
    lines.push(`${id}: ${componentValue(msg, item)}`);
  }
  const signatureParams = serializeInnerList({ items, params: paramsList(params) });
  lines.push(`"@signature-params": ${signatureParams}`);
  return { base: lines.join("\n"), signatureParams };
}

/** Options of {@link signHttpMessage}. */
export interface SignHttpMessageOptions {
  /** Dictionary label, e.g. "sig1". */
  readonly label: string;
  readonly components: readonly (string | SfItem)[];
  readonly params: SignatureParams;
  /** An Ed25519 key. */
  readonly key: PrivateKeyRecord;
}

/** A produced signature: the two header members and the signed base. */
export interface HttpSignature {
  /** The `Signature-Input` dictionary member (`label=(...);created=…`). */
  readonly signatureInput: string;
  /** The `Signature` dictionary member (`label=:base64:`). */
  readonly signature: string;
  readonly base: string;
}

/** Signs `msg` (RFC 9421 §3.1) with Ed25519. */
export function signHttpMessage(msg: HttpMessageView, options: SignHttpMessageOptions): HttpSignature {
  if (options.key.alg !== "EdDSA") throw new OapError("ERR_OAP_SIGNING", "RFC 9421 signatures here need an Ed25519 key");
  if (options.params.alg !== undefined && options.params.alg !== RFC9421_ED25519) throw new OapError("ERR_OAP_SIGNING", `unsupported RFC 9421 alg ${options.params.alg}`);
  const { base, signatureParams } = signatureBase(msg, options.components, options.params);
  const raw = options.key.sign(new TextEncoder().encode(base));
  const label = options.label;
  if (!/^[a-z*][a-z0-9_\-.*]*$/.test(label)) throw new OapError("ERR_OAP_SIGNING", `invalid signature label ${label}`);
  return { signatureInput: `${label}=${signatureParams}`, signature: `${label}=:${Buffer.from(raw).toString("base64")}:`, base };
}

/** Options of {@link verifyHttpMessageSignature}. */
export interface VerifyHttpMessageOptions {
  /** Verify this label; otherwise the one whose `tag` is {@link tag}, or the only one. */
  readonly label?: string;
  /** Pick the signature by its `tag` parameter (and require it). */
  readonly tag?: string;
  /** The key of a `keyid` (undefined → ERR_OAP_SIGNATURE_KEY_UNKNOWN). */
  readonly resolveKey: (keyid: string) => PublicKeyRecord | undefined | Promise<PublicKeyRecord | undefined>;
  /** Components that must be covered (e.g. "@method", "content-digest"). */
  readonly requiredComponents?: readonly string[];
  /** Parameters that must be present (e.g. "created", "keyid", "nonce"). Default ["keyid"]. */
  readonly requiredParams?: readonly string[];
  /** Verifier clock, seconds since the epoch (for created / expires). */
  readonly nowSeconds?: number;
  /** Oldest acceptable `created` (seconds before now); also the accepted clock skew into the future. */
  readonly maxAgeSeconds?: number;
  /** Nonce replay protection: `nonce` must be unseen in this store (scope: keyid) for `windowSeconds`. */
  readonly nonces?: { readonly store: NonceStore; readonly windowSeconds: number };
}

/** A verified signature. */
export interface VerifiedHttpSignature {
  readonly label: string;
  readonly keyid: string;
  readonly params: Readonly<Record<string, SfBareItem>>;
  /** Covered component identifiers as serialised (`"@method"`, `"content-digest"`, …). */
  readonly components: readonly string[];
  readonly base: string;
  readonly key: PublicKeyRecord;
}

function pickLabel(inputs: [string, SfInnerList][], options: VerifyHttpMessageOptions): [string, SfInnerList] {
  if (options.label !== undefined) {
    const hit = inputs.find(([l]) => l === options.label);
    if (hit === undefined) throw new OapError("ERR_OAP_SIGNATURE_MISSING", `no signature labelled ${options.label}`);
    return hit;
  }
  if (options.tag !== undefined) {
    const hits = inputs.filter(([, list]) => list.params.some(([k, v]) => k === "tag" && v === options.tag));
    if (hits.length === 0) throw new OapError("ERR_OAP_SIGNATURE_MISSING", `no signature with tag ${options.tag}`);
    if (hits.length > 1) throw invalid(`several signatures with tag ${options.tag}`);
    return hits[0] as [string, SfInnerList];
  }
  if (inputs.length !== 1) throw invalid("several signatures: name the label to verify");
  return inputs[0] as [string, SfInnerList];
}

/**
 * Verifies one signature of `msg` (RFC 9421 §3.2): parses `Signature-Input` and `Signature`,
 * checks the required components and parameters, `alg` (ed25519 only), `created` / `expires`
 * against the clock, rebuilds the base, resolves the key by `keyid` and verifies, and finally
 * records the `nonce` (only after the signature verified, so forgeries cannot burn nonces).
 * Throws OapError: ERR_OAP_SIGNATURE_MISSING / _INVALID / _KEY_UNKNOWN / _ALG_UNSUPPORTED (401),
 * ERR_OAP_REPLAY_TIMESTAMP (401), ERR_OAP_REPLAY_NONCE (409).
 */
export async function verifyHttpMessageSignature(msg: HttpMessageView, options: VerifyHttpMessageOptions): Promise<VerifiedHttpSignature> {
  const inputHeader = msg.header("signature-input");
  const sigHeader = msg.header("signature");
  if (inputHeader === undefined || sigHeader === undefined) throw new OapError("ERR_OAP_SIGNATURE_MISSING", "the message carries no Signature-Input / Signature");
  let inputs: [string, SfInnerList][];
  let sigs: Map<string, SfBareItem>;
  try {
    inputs = parseDictionary(inputHeader).map(([l, m]) => {
      if (!isInnerList(m)) throw invalid(`Signature-Input ${l} is not an inner list`);
      return [l, m];
    });
    sigs = new Map(parseDictionary(sigHeader).map(([l, m]) => [l, isInnerList(m) ? false : m.value]));
  } catch (e) {
    if (e instanceof StructuredFieldError) throw invalid(`malformed signature fields: ${e.message}`);
    throw e;
  }
  const [label, list] = pickLabel(inputs, options);
  const raw = sigs.get(label);
  if (!(raw instanceof Uint8Array)) throw new OapError("ERR_OAP_SIGNATURE_MISSING", `no Signature value for ${label}`);
  const params: Record<string, SfBareItem> = {};
  for (const [k, v] of list.params) params[k] = v instanceof SfToken ? v.value : v;
  for (const p of options.requiredParams ?? ["keyid"]) {
    if (params[p] === undefined) throw invalid(`the signature lacks the ${p} parameter`, { param: p });
  }
  const keyid = params["keyid"];
  if (typeof keyid !== "string" || keyid.length === 0) throw invalid("keyid must be a string");
  if (params["alg"] !== undefined && params["alg"] !== RFC9421_ED25519) {
    throw new OapError("ERR_OAP_SIGNATURE_ALG_UNSUPPORTED", `RFC 9421 alg ${String(params["alg"])} is not supported (ed25519 only)`);
  }
  const components = list.items.map(serializeItem);
  for (const c of options.requiredComponents ?? []) {
    if (!components.includes(serializeItem(componentItem(c)))) throw invalid(`the signature does not cover ${c}`, { component: c });
  }
  const now = options.nowSeconds;
  if (now !== undefined) {
    const created = params["created"];
    const expires = params["expires"];
    if (created !== undefined && (typeof created !== "number" || !Number.isInteger(created))) throw invalid("created must be an integer");
    if (expires !== undefined && (typeof expires !== "number" || !Number.isInteger(expires))) throw invalid("expires must be an integer");
    const maxAge = options.maxAgeSeconds;
    if (typeof expires === "number" && now > expires) throw new OapError("ERR_OAP_REPLAY_TIMESTAMP", "the signature has expired", { details: { expires } });
    if (typeof created === "number" && maxAge !== undefined && (now - created > maxAge || created - now > maxAge)) {
      throw new OapError("ERR_OAP_REPLAY_TIMESTAMP", `the signature was created ${now - created} s from the verifier clock (limit ${maxAge} s)`, { details: { created } });
    }
  }
  const { base } = signatureBase(msg, list.items, list.params);
  let key: PublicKeyRecord | undefined;
  try {
    key = await options.resolveKey(keyid);
  } catch (cause) {
    if (cause instanceof OapError) throw cause;
    throw new OapError("ERR_OAP_SIGNATURE_KEY_UNKNOWN", `cannot resolve keyid ${keyid}`, { cause, details: { keyid } });
  }
  if (key === undefined) throw new OapError("ERR_OAP_SIGNATURE_KEY_UNKNOWN", `unknown keyid ${keyid}`, { details: { keyid } });
  if (key.alg !== "EdDSA") throw new OapError("ERR_OAP_SIGNATURE_ALG_UNSUPPORTED", `the key ${keyid} is not an Ed25519 key`);
  if (!(await key.verifyAsync(new TextEncoder().encode(base), raw))) throw invalid(`the HTTP message signature by ${keyid} does not verify`, { keyid });
  if (options.nonces !== undefined) {
    const nonce = params["nonce"];
    if (typeof nonce !== "string" || nonce.length === 0) throw invalid("a nonce is required");
    const nowMs = (now ?? Math.floor(Date.now() / 1000)) * 1000;
    const fresh = await options.nonces.store.checkAndStore(`rfc9421\u0000${keyid}\u0000${nonce}`, nowMs + options.nonces.windowSeconds * 1000, nowMs);
    if (!fresh) throw new OapError("ERR_OAP_REPLAY_NONCE", `nonce ${nonce} was already used`, { details: { nonce } });
  }
  return { label, keyid, params, components, base, key };
}

/** Adds a member to a dictionary header value (keeps existing members). */
export function appendDictionaryMember(existing: string | undefined | null, member: string): string {
  return existing === undefined || existing === null || existing.trim() === "" ? member : `${existing}, ${member}`;
}

// ---------------------------------------------------------------------------------------------
// Content-Digest (RFC 9530)
// ---------------------------------------------------------------------------------------------

/** `Content-Digest` value for `body`: `sha-256=:<base64>:`. */
export function contentDigest(body: Uint8Array | string): string {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return serializeDictionary([["sha-256", { value: new Uint8Array(createHash("sha256").update(bytes).digest()), params: [] }]]);
}

/**
 * Checks a `Content-Digest` header against `body`: every sha-256 / sha-512 member present must
 * match, and at least one of them must be present (ERR_OAP_SIGNATURE_INVALID otherwise).
 */
export function checkContentDigest(header: string | undefined, body: Uint8Array | string): void {
  if (header === undefined) throw invalid("Content-Digest is missing");
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  let members;
  try {
    members = parseDictionary(header);
  } catch {
    throw invalid("malformed Content-Digest");
  }
  let checked = 0;
  for (const [alg, m] of members) {
    if (alg !== "sha-256" && alg !== "sha-512") continue;
    if (isInnerList(m) || !(m.value instanceof Uint8Array)) throw invalid("malformed Content-Digest member");
    const want = createHash(alg === "sha-256" ? "sha256" : "sha512").update(bytes).digest();
    if (Buffer.compare(want, Buffer.from(m.value)) !== 0) throw invalid(`Content-Digest ${alg} does not match the body`);
    checked++;
  }
  if (checked === 0) throw invalid("Content-Digest has no sha-256 or sha-512 member");
}
