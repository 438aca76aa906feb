/**
 * The outside world of DID resolution: a pluggable HTTP fetcher (default: global `fetch`), the
 * transport rules (https only, timeout, response size cap, redirects refused) and strict JSON.
 *
 * @module
 */
import { parseJsonStrict } from "../../json/parse.js";
import type { JsonValue } from "../../json/types.js";
import { DidError } from "./errors.js";

/** The part of a fetch `Response` the loader uses; the global `Response` satisfies it. */
export interface DidFetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** When present, read incrementally so that the size cap holds before the whole body arrives. */
  readonly body?: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

/** Request options handed to a {@link DidFetcher}. */
export interface DidFetchInit {
  /** Aborted when the timeout expires. */
  readonly signal: AbortSignal;
  readonly headers: Readonly<Record<string, string>>;
}

/** Pluggable HTTP GET. Must not follow redirects to non-https URLs (the default refuses all redirects). */
export type DidFetcher = (url: string, init: DidFetchInit) => Promise<DidFetchResponse>;

/** The default fetcher: global `fetch`, GET, redirects refused (`redirect: "error"`). */
export const defaultDidFetcher: DidFetcher = (url, init) =>
  fetch(url, { method: "GET", headers: init.headers, signal: init.signal, redirect: "error" });

/** Transport options shared by the DID resolver and the issuer key source. */
export interface HttpLoaderOptions {
  /** HTTP GET implementation; default {@link defaultDidFetcher}. */
  readonly fetcher?: DidFetcher;
  /** Whole-request timeout (headers and body). Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Largest accepted body in bytes. Default 256 KiB. */
  readonly maxBytes?: number;
  /** Permit `http:` for `localhost` / `127.0.0.1` / `[::1]` (tests only). Default false. */
  readonly allowInsecureLocalhost?: boolean;
}

/** Defaults of {@link HttpLoaderOptions}. */
export const DEFAULT_DID_TIMEOUT_MS = 5000;
export const DEFAULT_DID_MAX_BYTES = 256 * 1024;

/** A fetched and parsed JSON document with its caching header. */
export interface LoadedJson {
  readonly url: string;
  readonly value: JsonValue;
  /** The raw `Cache-Control` header, if any. */
  readonly cacheControl: string | null;
}

const LOCALHOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Checks the URL scheme: https, or http to localhost when explicitly allowed. */
export function checkDocumentUrl(url: string, allowInsecureLocalhost = false): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new DidError("ERR_DID_INVALID", `not a URL: ${url}`, { cause });
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:" && allowInsecureLocalhost && LOCALHOSTS.has(parsed.hostname)) return parsed;
  throw new DidError("ERR_DID_URL_INSECURE", `refusing to fetch ${url}: only https is allowed`, { detail: { url } });
}

async function readCapped(response: DidFetchResponse, maxBytes: number, url: string): Promise<Uint8Array> {
  const tooLarge = (size: number): DidError =>
    new DidError("ERR_DID_RESPONSE_TOO_LARGE", `response from ${url} is larger than ${maxBytes} bytes`, { detail: { url, maxBytes, size } });
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(declared);
  if (response.body === undefined || response.body === null) {
    const bytes = new TextEncoder().encode(await response.text());
    if (bytes.length > maxBytes) throw tooLarge(bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(size);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function parseBody(bytes: Uint8Array, url: string): JsonValue {
  try {
    // ignoreBOM keeps a leading U+FEFF, which the JSON parser then rejects.
    return parseJsonStrict(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (cause) {
    throw new DidError("ERR_DID_NOT_JSON", `response from ${url} is not strict JSON`, { cause, detail: { url } });
  }
}

/**
 * GETs `url` and parses the body as strict JSON. Throws {@link DidError}: `ERR_DID_URL_INSECURE`,
 * `ERR_DID_FETCH_FAILED`, `ERR_DID_FETCH_TIMEOUT`, `ERR_DID_HTTP_STATUS`, `ERR_DID_RESPONSE_TOO_LARGE`,
 * `ERR_DID_NOT_JSON`.
 */
export async function fetchJson(url: string, accept: string, options: HttpLoaderOptions = {}): Promise<LoadedJson> {
  checkDocumentUrl(url, options.allowInsecureLocalhost === true);
  const fetcher = options.fetcher ?? defaultDidFetcher;
  const timeoutMs = options.timeoutMs ?? DEFAULT_DID_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_DID_MAX_BYTES;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DidError("ERR_DID_FETCH_TIMEOUT", `no complete response from ${url} within ${timeoutMs} ms`, { detail: { url, timeoutMs } });
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const run = async (): Promise<LoadedJson> => {
    let response: DidFetchResponse;
    try {
      response = await fetcher(url, { signal: controller.signal, headers: { accept } });
    } catch (cause) {
      if (cause instanceof DidError) throw cause;
      throw new DidError("ERR_DID_FETCH_FAILED", `fetching ${url} failed: ${(cause as Error).message ?? String(cause)}`, { cause, detail: { url } });
    }
    if (response.status !== 200) {
      throw new DidError("ERR_DID_HTTP_STATUS", `GET ${url} answered ${response.status}`, { detail: { url, status: response.status } });
    }
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(response, maxBytes, url);
    } catch (cause) {
      if (cause instanceof DidError) throw cause;
      throw new DidError("ERR_DID_FETCH_FAILED", `reading the body of ${url} failed`, { cause, detail: { url } });
    }
    return { url, value: parseBody(bytes, url), cacheControl: response.headers.get("cache-control") };
  };
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
