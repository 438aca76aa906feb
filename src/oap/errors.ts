/**
 * OAP errors (OAP-CORE-1.0 Appendix B): one error object `{code, message, details?}` for every
 * transport, the HTTP status of each code, and its gRPC / Connect code.
 *
 * Internally every failure is an {@link OapError} with a stable agentwire code (`ERR_OAP_*`,
 * what callers branch on); each agentwire code maps to exactly one Appendix B wire code
 * ({@link OAP_ERROR_WIRE_CODES}), which fixes the HTTP status and the gRPC code.
 *
 * The wire form (docs/oap.md, contradiction 11): the `error` member of a response envelope with
 * `status: "error"`. The §12.1 402 members (checkout_url, price_options, ...) travel in
 * `error.details`; 429 (and 503) carry `details.retry_after_seconds`, which HTTP also sends as
 * `Retry-After`. Over gRPC the Appendix B code is the `oap-error-code` trailer next to the gRPC
 * status, so the mapping is lossless both ways.
 *
 * @module
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { AgentwireError, type AgentwireErrorOptions } from "../errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";

/** The Appendix B error codes (the `error.code` member on the wire). */
export type OapWireErrorCode =
  | "invalid_input"
  | "auth_required"
  | "subscription_required"
  | "policy_block"
  | "not_found"
  | "conflict"
  | "deprecated"
  | "precondition_failed"
  | "output_unverifiable"
  | "rate_limited"
  | "legal_unavailable"
  | "internal_error"
  | "upstream_error"
  | "maintenance"
  | "timeout";

/** One row of Appendix B, with the gRPC code agentwire maps it to. */
export interface AppendixBRow {
  readonly status: number;
  /** null for the success statuses 200 and 202. */
  readonly code: OapWireErrorCode | null;
  readonly meaning: string;
  /** gRPC status code (Connect `Code`; 0 = OK). */
  readonly grpc: Code | 0;
}

/** Appendix B, in the spec's order, with the gRPC mapping. */
export const APPENDIX_B: readonly AppendixBRow[] = Object.freeze([
  { status: 200, code: null, meaning: "Success.", grpc: 0 },
  { status: 202, code: null, meaning: "Asynchronous task accepted.", grpc: 0 },
  { status: 400, code: "invalid_input", meaning: "Input failed schema validation.", grpc: Code.InvalidArgument },
  { status: 401, code: "auth_required", meaning: "No credential or invalid credential.", grpc: Code.Unauthenticated },
  { status: 402, code: "subscription_required", meaning: "Payment or active subscription required.", grpc: Code.FailedPrecondition },
  { status: 403, code: "policy_block", meaning: "Policy Engine denied the Invocation.", grpc: Code.PermissionDenied },
  { status: 404, code: "not_found", meaning: "Action or resource not found.", grpc: Code.NotFound },
  { status: 409, code: "conflict", meaning: "Concurrency or version conflict.", grpc: Code.Aborted },
  { status: 410, code: "deprecated", meaning: "Action sunset reached.", grpc: Code.NotFound },
  { status: 412, code: "precondition_failed", meaning: "CCC precondition not satisfied.", grpc: Code.FailedPrecondition },
  { status: 422, code: "output_unverifiable", meaning: "Tool cannot produce a verifiable output.", grpc: Code.Internal },
  { status: 429, code: "rate_limited", meaning: "Rate limit exceeded.", grpc: Code.ResourceExhausted },
  { status: 451, code: "legal_unavailable", meaning: "Tool cannot serve the requested jurisdiction.", grpc: Code.PermissionDenied },
  { status: 500, code: "internal_error", meaning: "Tool internal failure.", grpc: Code.Internal },
  { status: 502, code: "upstream_error", meaning: "Failure in a Tool dependency.", grpc: Code.Unavailable },
  { status: 503, code: "maintenance", meaning: "Tool in declared maintenance window.", grpc: Code.Unavailable },
  { status: 504, code: "timeout", meaning: "Action exceeded `max_call_duration_ms`.", grpc: Code.DeadlineExceeded },
] as const satisfies readonly AppendixBRow[]);

const ROW_BY_CODE = new Map(APPENDIX_B.filter((r) => r.code !== null).map((r) => [r.code as OapWireErrorCode, r]));

/** Every Appendix B error code. */
export const OAP_WIRE_ERROR_CODES: readonly OapWireErrorCode[] = Object.freeze([...ROW_BY_CODE.keys()]);

/** True when `code` is an Appendix B error code. */
export function isOapWireErrorCode(code: unknown): code is OapWireErrorCode {
  return typeof code === "string" && ROW_BY_CODE.has(code as OapWireErrorCode);
}

/** HTTP status of an Appendix B code. */
export function httpStatusOf(code: OapWireErrorCode): number {
  return (ROW_BY_CODE.get(code) as AppendixBRow).status;
}

/** gRPC code of an Appendix B code. */
export function grpcCodeOf(code: OapWireErrorCode): Code {
  return (ROW_BY_CODE.get(code) as AppendixBRow).grpc as Code;
}

/** Appendix B code of an HTTP error status (unknown 4xx → invalid_input, unknown 5xx → internal_error). */
export function wireCodeOfHttpStatus(status: number): OapWireErrorCode | null {
  const row = APPENDIX_B.find((r) => r.status === status);
  if (row !== undefined) return row.code;
  if (status >= 200 && status < 300) return null;
  return status >= 400 && status < 500 ? "invalid_input" : "internal_error";
}

/** Default Appendix B code for a bare gRPC status (no `oap-error-code` trailer). */
const WIRE_OF_GRPC: ReadonlyMap<Code, OapWireErrorCode> = new Map([
  [Code.InvalidArgument, "invalid_input"],
  [Code.OutOfRange, "invalid_input"],
  [Code.Unauthenticated, "auth_required"],
  [Code.PermissionDenied, "policy_block"],
  [Code.NotFound, "not_found"],
  [Code.AlreadyExists, "conflict"],
  [Code.Aborted, "conflict"],
  [Code.FailedPrecondition, "precondition_failed"],
  [Code.ResourceExhausted, "rate_limited"],
  [Code.Unavailable, "maintenance"],
  [Code.DeadlineExceeded, "timeout"],
  [Code.Canceled, "timeout"],
]);

/** Appendix B code of a gRPC status (the `oap-error-code` trailer wins when present). */
export function wireCodeOfGrpc(code: Code): OapWireErrorCode {
  return WIRE_OF_GRPC.get(code) ?? "internal_error";
}

/** Stable agentwire codes of {@link OapError}. Each maps to one Appendix B code. */
export type OapErrorCode =
  // 400 invalid_input
  | "ERR_OAP_INPUT_INVALID"
  | "ERR_OAP_ENVELOPE_INVALID"
  | "ERR_OAP_VERSION_UNSUPPORTED"
  | "ERR_OAP_IDEMPOTENCY_KEY_REQUIRED"
  | "ERR_OAP_CURRENCY_UNSUPPORTED"
  // 401 auth_required
  | "ERR_OAP_AUTH_REQUIRED"
  | "ERR_OAP_AUTH_INVALID"
  | "ERR_OAP_AUTH_METHOD_UNSUPPORTED"
  | "ERR_OAP_ANONYMOUS_NOT_ALLOWED"
  | "ERR_OAP_TOKEN_INVALID"
  | "ERR_OAP_TOKEN_EXPIRED"
  | "ERR_OAP_TOKEN_AUDIENCE"
  | "ERR_OAP_TOKEN_BINDING"
  | "ERR_OAP_TOKEN_REPLAY"
  | "ERR_OAP_SIGNATURE_MISSING"
  | "ERR_OAP_SIGNATURE_INVALID"
  | "ERR_OAP_SIGNATURE_KEY_UNKNOWN"
  | "ERR_OAP_SIGNATURE_ALG_UNSUPPORTED"
  | "ERR_OAP_SIGNER_MISMATCH"
  | "ERR_OAP_REPLAY_TIMESTAMP"
  // 402 subscription_required
  | "ERR_OAP_SUBSCRIPTION_REQUIRED"
  // 403 policy_block
  | "ERR_OAP_POLICY_BLOCK"
  | "ERR_OAP_SCOPE_INSUFFICIENT"
  | "ERR_OAP_CONSENT_REQUIRED"
  // 404 not_found
  | "ERR_OAP_NOT_FOUND"
  | "ERR_OAP_ACTION_NOT_FOUND"
  // 409 conflict
  | "ERR_OAP_CONFLICT"
  | "ERR_OAP_REPLAY_NONCE"
  | "ERR_OAP_IDEMPOTENCY_MISMATCH"
  | "ERR_OAP_IDEMPOTENCY_IN_FLIGHT"
  | "ERR_OAP_IDEMPOTENCY_REUSED"
  /** The in-flight reservation was taken over by another node after its lease expired (the loser's result is not stored). */
  | "ERR_OAP_IDEMPOTENCY_LEASE_LOST"
  // 410 deprecated
  | "ERR_OAP_DEPRECATED"
  // 412 precondition_failed
  | "ERR_OAP_CCC_PRECONDITION"
  // 422 output_unverifiable
  | "ERR_OAP_OUTPUT_INVALID"
  | "ERR_OAP_OUTPUT_INSTRUCTION_LIKE"
  // 429 rate_limited
  | "ERR_OAP_RATE_LIMITED"
  | "ERR_OAP_CONCURRENCY_LIMITED"
  // 451 legal_unavailable
  | "ERR_OAP_JURISDICTION"
  // 500 internal_error
  | "ERR_OAP_INTERNAL"
  | "ERR_OAP_ACTION_INVALID"
  | "ERR_OAP_SIGNING"
  | "ERR_OAP_RECEIPT_CHAIN"
  // 502, 503, 504
  | "ERR_OAP_UPSTREAM"
  | "ERR_OAP_MAINTENANCE"
  | "ERR_OAP_TIMEOUT"
  // an error answered by a remote OAP peer (its wire code is kept)
  | "ERR_OAP_REMOTE";

/** The Appendix B code of each agentwire code. */
export const OAP_ERROR_WIRE_CODES: Readonly<Record<Exclude<OapErrorCode, "ERR_OAP_REMOTE">, OapWireErrorCode>> = Object.freeze({
  ERR_OAP_INPUT_INVALID: "invalid_input",
  ERR_OAP_ENVELOPE_INVALID: "invalid_input",
  ERR_OAP_VERSION_UNSUPPORTED: "invalid_input",
  ERR_OAP_IDEMPOTENCY_KEY_REQUIRED: "invalid_input",
  ERR_OAP_CURRENCY_UNSUPPORTED: "invalid_input",
  ERR_OAP_AUTH_REQUIRED: "auth_required",
  ERR_OAP_AUTH_INVALID: "auth_required",
  ERR_OAP_AUTH_METHOD_UNSUPPORTED: "auth_required",
  ERR_OAP_ANONYMOUS_NOT_ALLOWED: "auth_required",
  ERR_OAP_TOKEN_INVALID: "auth_required",
  ERR_OAP_TOKEN_EXPIRED: "auth_required",
  ERR_OAP_TOKEN_AUDIENCE: "auth_required",
  ERR_OAP_TOKEN_BINDING: "auth_required",
  ERR_OAP_TOKEN_REPLAY: "auth_required",
  ERR_OAP_SIGNATURE_MISSING: "auth_required",
  ERR_OAP_SIGNATURE_INVALID: "auth_required",
  ERR_OAP_SIGNATURE_KEY_UNKNOWN: "auth_required",
  ERR_OAP_SIGNATURE_ALG_UNSUPPORTED: "auth_required",
  ERR_OAP_SIGNER_MISMATCH: "auth_required",
  ERR_OAP_REPLAY_TIMESTAMP: "auth_required",
  ERR_OAP_SUBSCRIPTION_REQUIRED: "subscription_required",
  ERR_OAP_POLICY_BLOCK: "policy_block",
  ERR_OAP_SCOPE_INSUFFICIENT: "policy_block",
  ERR_OAP_CONSENT_REQUIRED: "policy_block",
  ERR_OAP_NOT_FOUND: "not_found",
  ERR_OAP_ACTION_NOT_FOUND: "not_found",
  ERR_OAP_CONFLICT: "conflict",
  ERR_OAP_REPLAY_NONCE: "conflict",
  ERR_OAP_IDEMPOTENCY_MISMATCH: "conflict",
  ERR_OAP_IDEMPOTENCY_IN_FLIGHT: "conflict",
  ERR_OAP_IDEMPOTENCY_REUSED: "conflict",
  ERR_OAP_IDEMPOTENCY_LEASE_LOST: "conflict",
  ERR_OAP_DEPRECATED: "deprecated",
  ERR_OAP_CCC_PRECONDITION: "precondition_failed",
  ERR_OAP_OUTPUT_INVALID: "output_unverifiable",
  ERR_OAP_OUTPUT_INSTRUCTION_LIKE: "output_unverifiable",
  ERR_OAP_RATE_LIMITED: "rate_limited",
  ERR_OAP_CONCURRENCY_LIMITED: "rate_limited",
  ERR_OAP_JURISDICTION: "legal_unavailable",
  ERR_OAP_INTERNAL: "internal_error",
  ERR_OAP_ACTION_INVALID: "internal_error",
  ERR_OAP_SIGNING: "internal_error",
  ERR_OAP_RECEIPT_CHAIN: "internal_error",
  ERR_OAP_UPSTREAM: "upstream_error",
  ERR_OAP_MAINTENANCE: "maintenance",
  ERR_OAP_TIMEOUT: "timeout",
});

/** The error object of the wire (the response envelope's `error` member). */
export interface OapErrorObject {
  readonly code: OapWireErrorCode;
  readonly message: string;
  readonly details?: JsonObject;
}

/** Options of {@link OapError}. */
export interface OapErrorOptions extends AgentwireErrorOptions {
  /** Members of the wire `error.details` (JSON). Also exposed as `detail`. */
  readonly details?: JsonObject;
  /** Only for `ERR_OAP_REMOTE`: the wire code the peer answered. */
  readonly wire?: OapWireErrorCode;
}

/** Every OAP failure: an agentwire code, its Appendix B wire code, HTTP status and gRPC code. */
export class OapError extends AgentwireError<OapErrorCode> {
  /** Appendix B code sent on the wire. */
  readonly wire: OapWireErrorCode;
  /** `error.details` on the wire. */
  readonly details: JsonObject | undefined;

  constructor(code: OapErrorCode, message: string, options: OapErrorOptions = {}) {
    const base: { cause?: unknown; detail?: Record<string, unknown> } = {};
    if (options.cause !== undefined) base.cause = options.cause;
    const detail = options.detail ?? options.details;
    if (detail !== undefined) base.detail = detail;
    super(code, message, base);
    this.wire = code === "ERR_OAP_REMOTE" ? (options.wire ?? "internal_error") : OAP_ERROR_WIRE_CODES[code];
    this.details = options.details;
  }

  /** HTTP status (Appendix B). */
  get httpStatus(): number {
    return httpStatusOf(this.wire);
  }

  /** gRPC / Connect code. */
  get grpcCode(): Code {
    return grpcCodeOf(this.wire);
  }

  /** `details.retry_after_seconds` when the peer should retry later (429, 503). */
  get retryAfterSeconds(): number | undefined {
    const v = this.details?.["retry_after_seconds"];
    return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  }

  /** The wire error object. */
  toErrorObject(): OapErrorObject {
    return this.details === undefined ? { code: this.wire, message: this.message } : { code: this.wire, message: this.message, details: this.details };
  }
}

/** True when `e` is an {@link OapError} (optionally with the given agentwire code). */
export function isOapError(e: unknown, code?: OapErrorCode): e is OapError {
  return e instanceof OapError && (code === undefined || e.code === code);
}

/**
 * The wire error object of any thrown value. Anything that is not an {@link OapError} becomes
 * `internal_error` with a generic message: internal messages never reach the peer.
 */
export function errorObjectOf(e: unknown): OapErrorObject {
  if (e instanceof OapError) return e.toErrorObject();
  return { code: "internal_error", message: "internal error" };
}

/** An HTTP error answer: status, extra headers (`Retry-After`) and the error object. */
export interface HttpErrorAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly error: OapErrorObject;
}

/** The HTTP status, headers and error object for a thrown value. */
export function httpErrorOf(e: unknown): HttpErrorAnswer {
  const error = errorObjectOf(e);
  const headers: Record<string, string> = {};
  const retry = e instanceof OapError ? e.retryAfterSeconds : undefined;
  if (retry !== undefined) headers["retry-after"] = String(retry);
  return { status: httpStatusOf(error.code), headers, error };
}

/** Identifiers of the error response envelope. */
export interface ErrorEnvelopeIds {
  /** The request's `request_id` (from the envelope, else the OAP-Request-Id header). */
  readonly request_id: string;
  readonly response_id: string;
  /** RFC 3339. */
  readonly timestamp: string;
}

/**
 * The unsigned response envelope (`status: "error"`) answering a failed request. Sign it with
 * `signResponse` before sending: the schema requires a `signature`.
 */
export function errorResponseEnvelope(e: unknown, ids: ErrorEnvelopeIds): JsonObject {
  return {
    oap_version: "1.0",
    request_id: ids.request_id,
    response_id: ids.response_id,
    timestamp: ids.timestamp,
    status: "error",
    error: errorObjectOf(e) as unknown as JsonObject,
  };
}

/** Trailer (metadata) carrying the Appendix B code on gRPC / Connect errors. */
export const OAP_ERROR_CODE_TRAILER = "oap-error-code";
/** Trailer carrying `error.details` as JSON on gRPC / Connect errors. */
export const OAP_ERROR_DETAILS_TRAILER = "oap-error-details";

/** A ConnectError (gRPC status + `oap-error-code` / `oap-error-details` trailers) for a thrown value. */
export function toConnectError(e: unknown): ConnectError {
  const error = errorObjectOf(e);
  const metadata = new Headers({ [OAP_ERROR_CODE_TRAILER]: error.code });
  if (error.details !== undefined) metadata.set(OAP_ERROR_DETAILS_TRAILER, JSON.stringify(error.details));
  const retry = e instanceof OapError ? e.retryAfterSeconds : undefined;
  if (retry !== undefined) metadata.set("retry-after", String(retry));
  return new ConnectError(error.message, grpcCodeOf(error.code), metadata);
}

/** The wire error object of a ConnectError (trailer first, else the gRPC code's default). */
export function errorObjectOfConnectError(e: ConnectError): OapErrorObject {
  const trailer = e.metadata.get(OAP_ERROR_CODE_TRAILER);
  const code = isOapWireErrorCode(trailer) ? trailer : wireCodeOfGrpc(e.code);
  const rawDetails = e.metadata.get(OAP_ERROR_DETAILS_TRAILER);
  let details: JsonObject | undefined;
  if (rawDetails !== null) {
    try {
      const parsed = JSON.parse(rawDetails) as JsonValue;
      if (isJsonObject(parsed)) details = parsed;
    } catch {
      // Unparseable details are dropped; the code and message still stand.
    }
  }
  return details === undefined ? { code, message: e.rawMessage } : { code, message: e.rawMessage, details };
}

/**
 * Client side: the {@link OapError} (`ERR_OAP_REMOTE`, wire code kept) for an error object a
 * peer answered. An unknown or missing code falls back to the HTTP status's Appendix B code.
 */
export function remoteError(error: unknown, httpStatus?: number): OapError {
  const obj = isJsonObject(error) ? error : {};
  const fallback = httpStatus === undefined ? "internal_error" : (wireCodeOfHttpStatus(httpStatus) ?? "internal_error");
  const wire = isOapWireErrorCode(obj["code"]) ? obj["code"] : fallback;
  const message = typeof obj["message"] === "string" ? obj["message"] : `peer answered ${wire}`;
  const details = isJsonObject(obj["details"]) ? obj["details"] : undefined;
  return new OapError("ERR_OAP_REMOTE", message, details === undefined ? { wire } : { wire, details });
}
