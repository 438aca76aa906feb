/**
 * OAP-CORE-1.0 §35 Appendix B "HTTP Status and Error Codes": one error object for every
 * transport, the status of each code, and the gRPC mapping — tested as a table.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  APPENDIX_B,
  OAP_ERROR_WIRE_CODES,
  OAP_WIRE_ERROR_CODES,
  OapError,
  errorObjectOf,
  errorObjectOfConnectError,
  errorResponseEnvelope,
  grpcCodeOf,
  httpErrorOf,
  httpStatusOf,
  remoteError,
  toConnectError,
  wireCodeOfGrpc,
  wireCodeOfHttpStatus,
  type OapErrorCode,
  type OapWireErrorCode,
} from "../../src/oap/errors.js";
import { validateOapDocument } from "../../src/oap/documents.js";

/** Appendix B, transcribed from the spec text, with agentwire's gRPC choice. */
const TABLE: [number, OapWireErrorCode | null, Code | 0][] = [
  [200, null, 0],
  [202, null, 0],
  [400, "invalid_input", Code.InvalidArgument],
  [401, "auth_required", Code.Unauthenticated],
  [402, "subscription_required", Code.FailedPrecondition],
  [403, "policy_block", Code.PermissionDenied],
  [404, "not_found", Code.NotFound],
  [409, "conflict", Code.Aborted],
  [410, "deprecated", Code.NotFound],
  [412, "precondition_failed", Code.FailedPrecondition],
  [422, "output_unverifiable", Code.Internal],
  [429, "rate_limited", Code.ResourceExhausted],
  [451, "legal_unavailable", Code.PermissionDenied],
  [500, "internal_error", Code.Internal],
  [502, "upstream_error", Code.Unavailable],
  [503, "maintenance", Code.Unavailable],
  [504, "timeout", Code.DeadlineExceeded],
];

describe("Appendix B: status ↔ error code ↔ gRPC code", () => {
  it("the table has the spec's 17 rows in order", () => {
    expect(APPENDIX_B.map((r) => [r.status, r.code, r.grpc])).toEqual(TABLE);
    expect(OAP_WIRE_ERROR_CODES).toHaveLength(15);
  });

  for (const [status, code, grpc] of TABLE) {
    if (code === null) continue;
    it(`${status} ${code}: HTTP status, gRPC code, and back`, () => {
      expect(httpStatusOf(code)).toBe(status);
      expect(grpcCodeOf(code)).toBe(grpc);
      expect(wireCodeOfHttpStatus(status)).toBe(code);
      // Over gRPC the trailer carries the exact code, so the mapping is lossless.
      const back = errorObjectOfConnectError(toConnectError(remoteError({ code, message: "m" })));
      expect(back.code).toBe(code);
    });
  }

  it("bare gRPC statuses (no trailer) fall back to a sensible code", () => {
    expect(wireCodeOfGrpc(Code.InvalidArgument)).toBe("invalid_input");
    expect(wireCodeOfGrpc(Code.Unauthenticated)).toBe("auth_required");
    expect(wireCodeOfGrpc(Code.Aborted)).toBe("conflict");
    expect(wireCodeOfGrpc(Code.ResourceExhausted)).toBe("rate_limited");
    expect(wireCodeOfGrpc(Code.DeadlineExceeded)).toBe("timeout");
    expect(wireCodeOfGrpc(Code.DataLoss)).toBe("internal_error");
    expect(wireCodeOfHttpStatus(418)).toBe("invalid_input");
    expect(wireCodeOfHttpStatus(599)).toBe("internal_error");
    expect(wireCodeOfHttpStatus(204)).toBeNull();
  });

  it("every agentwire code maps to an Appendix B code", () => {
    for (const [code, wire] of Object.entries(OAP_ERROR_WIRE_CODES)) {
      const e = new OapError(code as OapErrorCode, "x");
      expect(e.wire).toBe(wire);
      expect(e.httpStatus).toBe(httpStatusOf(wire));
    }
  });
});

describe("Appendix B: one error body shape", () => {
  it("429 carries details.retry_after_seconds and HTTP Retry-After", () => {
    const e = new OapError("ERR_OAP_RATE_LIMITED", "slow down", { details: { retry_after_seconds: 17 } });
    expect(httpErrorOf(e)).toEqual({ status: 429, headers: { "retry-after": "17" }, error: { code: "rate_limited", message: "slow down", details: { retry_after_seconds: 17 } } });
    const c = toConnectError(e);
    expect(c.code).toBe(Code.ResourceExhausted);
    expect(c.metadata.get("retry-after")).toBe("17");
    expect(errorObjectOfConnectError(c)).toEqual({ code: "rate_limited", message: "slow down", details: { retry_after_seconds: 17 } });
  });

  it("§12.1 402: the checkout members travel in error.details (contradiction 11)", () => {
    const e = new OapError("ERR_OAP_SUBSCRIPTION_REQUIRED", "subscription required", {
      details: { checkout_url: "https://t.example/checkout/1", agent_subscribe_url: "https://t.example/oap/subscribe", price_options: [{ tier: "pro", amount: "9.99", currency: "EUR", interval: "month" }], user_consent_required: true, trial_available: true },
    });
    expect(httpErrorOf(e).status).toBe(402);
    expect(errorObjectOf(e).details?.["price_options"]).toHaveLength(1);
  });

  it("errors that are not OapErrors never leak their message", () => {
    expect(errorObjectOf(new Error("db password is hunter2"))).toEqual({ code: "internal_error", message: "internal error" });
    expect(httpErrorOf("boom").status).toBe(500);
  });

  it("the error response envelope is a response envelope once signed", () => {
    const env = errorResponseEnvelope(new OapError("ERR_OAP_ACTION_NOT_FOUND", "unknown action"), {
      request_id: "01J9V8B7H1ZK4D2A0M9R8F0KQX",
      response_id: "01J9V8B7HM3K8E2A0M9R8F0LZP",
      timestamp: "2026-05-02T10:00:00.215Z",
    });
    expect(env["status"]).toBe("error");
    expect(env["error"]).toEqual({ code: "not_found", message: "unknown action" });
    expect(validateOapDocument("oap-response-envelope", { ...env, signature: { alg: "EdDSA", kid: "did:web:t#k", value: "AA" } })).toEqual([]);
  });

  it("client side: a peer's error object becomes ERR_OAP_REMOTE with the wire code kept", () => {
    const e = remoteError({ code: "legal_unavailable", message: "not in CN", details: { jurisdiction: "CN" } }, 451);
    expect(e.code).toBe("ERR_OAP_REMOTE");
    expect(e.wire).toBe("legal_unavailable");
    expect(e.httpStatus).toBe(451);
    expect(remoteError({ code: "nonsense" }, 503).wire).toBe("maintenance");
    expect(remoteError("not an object").wire).toBe("internal_error");
    const plain = new ConnectError("x", Code.NotFound);
    expect(errorObjectOfConnectError(plain).code).toBe("not_found");
  });
});
