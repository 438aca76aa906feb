/**
 * W3C Trace Context (traceparent) for the §8.4 `OAP-Trace` header: parsed from the request (or
 * a plain `traceparent`), continued by a fresh span of the Tool, written back on the response
 * and into every log line of the request.
 *
 * @module
 */
import { systemRandom, type OapRandom } from "../util.js";

/** A trace position. */
export interface TraceContext {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** This server's span (16 hex digits). */
  readonly spanId: string;
  /** The caller's span, when the request carried one. */
  readonly parentId?: string;
  /** 2 hex digits (01 = sampled). */
  readonly flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

function hex(random: OapRandom, bytes: number): string {
  return Buffer.from(random(bytes)).toString("hex");
}

/** Parses a traceparent value (version 00, or a later one read as 00); undefined when invalid. */
export function parseTraceparent(value: string | null | undefined): { traceId: string; parentId: string; flags: string } | undefined {
  if (typeof value !== "string") return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (m === null) return undefined;
  const [, version, traceId, parentId, flags] = m as unknown as [string, string, string, string, string];
  if (version === "ff" || (version === "00" && value.trim().length !== 55)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/** The server's trace context: the caller's trace continued with a new span, or a new trace. */
export function continueTrace(header: string | null | undefined, random: OapRandom = systemRandom): TraceContext {
  const parent = parseTraceparent(header);
  const spanId = hex(random, 8);
  if (parent === undefined) return { traceId: hex(random, 16), spanId, flags: "01" };
  return { traceId: parent.traceId, spanId, parentId: parent.parentId, flags: parent.flags };
}

/** The traceparent of this server's span (the response's OAP-Trace, and what the handler propagates). */
export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags}`;
}
