/**
 * OAP-CORE-1.0 §28.3 replay protection (±5 min timestamps, nonce reuse within 10 min) and
 * §7 / §8.4 / §28.4 idempotency (identical results within the declared window; non-idempotent
 * actions fail closed). No wall clock: every test drives a TestClock.
 */
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { IdempotencyGuard, MemoryIdempotencyStore, idempotencyFingerprint, idempotencyKeyOf } from "../../src/oap/idempotency.js";
import { MemoryNonceStore, OAP_NONCE_WINDOW_MS, OAP_TIMESTAMP_WINDOW_MS, ReplayGuard } from "../../src/oap/replay.js";
import { verifyRequest } from "../../src/oap/sign.js";
import { TestClock, codeOf, resolver, signedRequest, unsignedRequest } from "./helpers.js";

describe("§28.3 timestamps: outside ±5 min of the verifier clock → 401", () => {
  it("exactly 5 min either way passes; a millisecond more fails", async () => {
    const clock = new TestClock();
    const guard = new ReplayGuard({ clock: clock.now });
    guard.checkTimestamp(clock.iso(OAP_TIMESTAMP_WINDOW_MS));
    guard.checkTimestamp(clock.iso(-OAP_TIMESTAMP_WINDOW_MS));
    expect(await codeOf(() => guard.checkTimestamp(clock.iso(OAP_TIMESTAMP_WINDOW_MS + 1)))).toBe("ERR_OAP_REPLAY_TIMESTAMP");
    expect(await codeOf(() => guard.checkTimestamp(clock.iso(-OAP_TIMESTAMP_WINDOW_MS - 1)))).toBe("ERR_OAP_REPLAY_TIMESTAMP");
    expect(await codeOf(() => guard.checkTimestamp("yesterday"))).toBe("ERR_OAP_ENVELOPE_INVALID");
    guard.checkTimestamp("2026-05-02T12:00:00+02:00");
  });

  it("a signed request replayed 6 minutes later is refused for its timestamp (401 auth_required)", async () => {
    const clock = new TestClock();
    const replay = new ReplayGuard({ clock: clock.now });
    const env = signedRequest(clock);
    await verifyRequest(env, resolver, { replay, now: clock.now });
    clock.advance(6 * 60_000);
    const e = await verifyRequest(env, resolver, { replay, now: clock.now }).catch((x: unknown) => x as { code: string; httpStatus: number });
    expect(e).toMatchObject({ code: "ERR_OAP_REPLAY_TIMESTAMP", httpStatus: 401 });
  });
});

describe("§28.3 nonces: request_id reuse within 10 min → 409 (contradiction 7: request_id is the nonce)", () => {
  it("the same request_id from the same agent is refused until the window has passed", async () => {
    const clock = new TestClock();
    const guard = new ReplayGuard({ clock: clock.now });
    await guard.checkNonce("did:web:agent.example", "01J9V8B7H1ZK4D2A0M9R8F0KQX");
    clock.advance(OAP_NONCE_WINDOW_MS - 1);
    expect(await codeOf(() => guard.checkNonce("did:web:agent.example", "01J9V8B7H1ZK4D2A0M9R8F0KQX"))).toBe("ERR_OAP_REPLAY_NONCE");
    // Another agent's identical request_id is its own nonce.
    await guard.checkNonce("did:web:other.example", "01J9V8B7H1ZK4D2A0M9R8F0KQX");
    clock.advance(1);
    await guard.checkNonce("did:web:agent.example", "01J9V8B7H1ZK4D2A0M9R8F0KQX");
  });

  it("a resent envelope inside 5 min is a nonce replay, not a timestamp failure", async () => {
    const clock = new TestClock();
    const replay = new ReplayGuard({ clock: clock.now });
    const env = signedRequest(clock);
    await verifyRequest(env, resolver, { replay, now: clock.now });
    clock.advance(4 * 60_000);
    const e = await verifyRequest(env, resolver, { replay, now: clock.now }).catch((x: unknown) => x as { code: string; httpStatus: number; wire: string });
    expect(e).toMatchObject({ code: "ERR_OAP_REPLAY_NONCE", httpStatus: 409, wire: "conflict" });
  });

  it("the in-memory store refuses new nonces when full of live ones (503) rather than forgetting one", async () => {
    const clock = new TestClock();
    const guard = new ReplayGuard({ clock: clock.now, store: new MemoryNonceStore({ maxEntries: 2 }) });
    await guard.checkNonce("a", "1");
    await guard.checkNonce("a", "2");
    const e = await guard.checkNonce("a", "3").catch((x: unknown) => x as { code: string; httpStatus: number });
    expect(e).toMatchObject({ code: "ERR_OAP_MAINTENANCE", httpStatus: 503 });
    clock.advance(OAP_NONCE_WINDOW_MS);
    await guard.checkNonce("a", "3");
  });
});

const IDEMPOTENT = { id: "get_forecast", idempotent: true, idempotency_window_seconds: 60 };
const NOT_IDEMPOTENT = { id: "book_flight", idempotent: false };

describe("§28.4 idempotent actions: identical results within the declared window", () => {
  it("an idempotent retry (new request_id, same key and request) gets the stored response unchanged", async () => {
    const clock = new TestClock();
    const guard = new IdempotencyGuard({ clock: clock.now });
    const first = unsignedRequest(clock, { idempotency_key: "key-1" });
    const t1 = await guard.begin(first, IDEMPOTENT);
    expect(t1.kind).toBe("execute");
    const response: JsonObject = { oap_version: "1.0", request_id: String(first["request_id"]), response_id: "R1", status: "ok", output: { n: 1 } };
    if (t1.kind === "execute") await t1.complete(response);
    clock.advance(30_000);
    const retry = unsignedRequest(clock, { idempotency_key: "key-1" });
    expect(retry["request_id"]).not.toBe(first["request_id"]);
    const t2 = await guard.begin(retry, IDEMPOTENT);
    expect(t2).toMatchObject({ kind: "replay", key: "key-1", response });
  });

  it("the window is honoured: after idempotency_window_seconds the key starts over", async () => {
    const clock = new TestClock();
    const guard = new IdempotencyGuard({ clock: clock.now });
    const t1 = await guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), IDEMPOTENT);
    if (t1.kind === "execute") await t1.complete({ status: "ok" });
    clock.advance(59_999);
    expect((await guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), IDEMPOTENT)).kind).toBe("replay");
    clock.advance(1);
    expect((await guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), IDEMPOTENT)).kind).toBe("execute");
  });

  it("same key, different input → 409; still running → 409 with retry_after; key missing → 400", async () => {
    const clock = new TestClock();
    const guard = new IdempotencyGuard({ clock: clock.now });
    await guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), IDEMPOTENT);
    expect(await codeOf(() => guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), IDEMPOTENT))).toBe("ERR_OAP_IDEMPOTENCY_IN_FLIGHT");
    expect(await codeOf(() => guard.begin(unsignedRequest(clock, { idempotency_key: "k", input: { location: "Paris", days: 1 } }), IDEMPOTENT))).toBe("ERR_OAP_IDEMPOTENCY_MISMATCH");
    expect(await codeOf(() => guard.begin(unsignedRequest(clock), IDEMPOTENT))).toBe("ERR_OAP_IDEMPOTENCY_KEY_REQUIRED");
    // Keys are per principal: another principal may reuse it.
    expect((await guard.begin(unsignedRequest(clock, { idempotency_key: "k", principal_did: "did:plc:other" }), IDEMPOTENT)).kind).toBe("execute");
  });

  it("release() after a failure without effect lets the retry execute", async () => {
    const clock = new TestClock();
    const guard = new IdempotencyGuard({ clock: clock.now, store: new MemoryIdempotencyStore() });
    const t1 = await guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), IDEMPOTENT);
    if (t1.kind === "execute") await t1.release();
    expect((await guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), IDEMPOTENT)).kind).toBe("execute");
  });

  it("§8.4 the OAP-Idempotency-Key header and the envelope member must agree", async () => {
    const clock = new TestClock();
    const env = unsignedRequest(clock, { idempotency_key: "a" });
    expect(idempotencyKeyOf(env, "a")).toBe("a");
    expect(idempotencyKeyOf(unsignedRequest(clock), "h")).toBe("h");
    expect(await codeOf(() => idempotencyKeyOf(env, "b"))).toBe("ERR_OAP_ENVELOPE_INVALID");
    const guard = new IdempotencyGuard({ clock: clock.now });
    expect((await guard.begin(unsignedRequest(clock), IDEMPOTENT, "from-header")).kind).toBe("execute");
  });

  it("the fingerprint ignores request_id, timestamp and signature, not the input or scope", () => {
    const clock = new TestClock();
    const a = unsignedRequest(clock);
    const b = { ...unsignedRequest(clock.advance(1000)), signature: { alg: "EdDSA", kid: "k", value: "v" } };
    expect(idempotencyFingerprint(a)).toBe(idempotencyFingerprint(b));
    expect(idempotencyFingerprint({ ...a, scope_id: "s" })).not.toBe(idempotencyFingerprint(a));
  });

  it("an idempotent action without idempotency_window_seconds cannot honour a window (500, configuration error)", async () => {
    const clock = new TestClock();
    const guard = new IdempotencyGuard({ clock: clock.now });
    expect(await codeOf(() => guard.begin(unsignedRequest(clock, { idempotency_key: "k" }), { id: "x", idempotent: true }))).toBe("ERR_OAP_ACTION_INVALID");
  });
});

describe("§28.4 non-idempotent actions fail closed", () => {
  it("a repeated key is refused (409) and never replayed or re-run, for the default 24 h", async () => {
    const clock = new TestClock();
    const guard = new IdempotencyGuard({ clock: clock.now });
    const t1 = await guard.begin(unsignedRequest(clock, { action: "book_flight", idempotency_key: "k" }), NOT_IDEMPOTENT);
    if (t1.kind === "execute") await t1.complete({ status: "ok" });
    clock.advance(23 * 3600_000);
    expect(await codeOf(() => guard.begin(unsignedRequest(clock, { action: "book_flight", idempotency_key: "k" }), NOT_IDEMPOTENT))).toBe("ERR_OAP_IDEMPOTENCY_REUSED");
    expect((await guard.begin(unsignedRequest(clock, { action: "book_flight" }), NOT_IDEMPOTENT)).kind).toBe("none");
  });
});
