/**
 * In-process node:http request/response doubles, so the HTTP listeners' body handling can be
 * fuzzed without sockets: the request is a Readable of the body chunks with headers, method,
 * url and socket; the response records writeHead/setHeader/end.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

export interface MockRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Body chunks (split to exercise chunked reads). */
  readonly chunks: readonly Uint8Array[];
}

export interface MockResponse {
  status: number | undefined;
  headers: Record<string, unknown>;
  body: string;
  ended: boolean;
}

function request(r: MockRequest): IncomingMessage {
  const stream = Readable.from(r.chunks.map((c) => Buffer.from(c)));
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k.toLowerCase()] = v;
  return Object.assign(stream, { method: r.method, url: r.url, headers, socket: { remoteAddress: "127.0.0.1" } }) as unknown as IncomingMessage;
}

/**
 * Calls `listener` and resolves with what it answered once `end` was called (or the listener
 * settled without answering). Rejects when the listener rejects.
 */
export function invoke(listener: (req: IncomingMessage, res: ServerResponse) => unknown, r: MockRequest): Promise<{ response: MockResponse; returned: unknown }> {
  return new Promise((resolve, reject) => {
    const response: MockResponse = { status: undefined, headers: {}, body: "", ended: false };
    let returned: unknown;
    let settled = false;
    let ended = false;
    const finish = (): void => {
      if (ended && settled) resolve({ response, returned });
    };
    const res = {
      statusCode: 200,
      headersSent: false,
      setHeader(name: string, value: unknown) {
        response.headers[name.toLowerCase()] = value;
        return res;
      },
      writeHead(status: number, headers?: Record<string, unknown>) {
        response.status = status;
        for (const [k, v] of Object.entries(headers ?? {})) response.headers[k.toLowerCase()] = v;
        res.headersSent = true;
        return res;
      },
      end(body?: string | Uint8Array) {
        if (response.status === undefined) response.status = res.statusCode;
        if (body !== undefined) response.body = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
        response.ended = true;
        ended = true;
        finish();
        return res;
      },
    };
    let out: unknown;
    try {
      out = listener(request(r), res as unknown as ServerResponse);
    } catch (e) {
      reject(e);
      return;
    }
    Promise.resolve(out).then(
      (v) => {
        returned = v;
        settled = true;
        // A listener that declines (returns false) never ends the response.
        if (v === false) resolve({ response, returned });
        else finish();
      },
      (e: unknown) => reject(e),
    );
  });
}

/** Splits `body` into `n` chunks at `pick`-derived positions. */
export function chunked(body: Uint8Array, pick: number): Uint8Array[] {
  const n = 1 + (pick % 4);
  if (body.length === 0 || n === 1) return [body];
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 1; i < n; i++) {
    const cut = Math.min(body.length, start + 1 + ((pick >>> (i * 3)) % Math.max(1, Math.floor(body.length / n))));
    out.push(body.subarray(start, cut));
    start = cut;
  }
  out.push(body.subarray(start));
  return out;
}
