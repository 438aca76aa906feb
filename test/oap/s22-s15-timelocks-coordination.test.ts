/**
 * The last governance / commerce gaps of the Tool server, end to end over HTTP:
 * §22.4 time locks in the invoke path (202 with the lock, release with `OAP-Time-Lock` after the
 * delay, cancellation by the Principal; an injected clock, no wall-clock waits), §15
 * coordination (`conflicts` list / propose / resolve, `lock` / `unlock`, shared `state` with
 * optimistic versions → 409, pessimistic writes needing the lock) and §11.2 wallet
 * export / import.
 */
import { describe, expect, it } from "vitest";
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/json/types.js";
import { Wallet } from "../../src/oap/commerce/wallet.js";
import { TimeLockQueue } from "../../src/oap/governance/time-locks.js";
import { mapKeyResolver } from "../../src/oap/sign.js";
import { signCallerRequest } from "../../src/oap/server/caller-auth.js";
import type { RunningOapServer } from "../../src/oap/server/standalone.js";
import type { OapToolDefinition } from "../../src/oap/server/tool.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { API_KEY, OTHER_API_KEY, codeOf, envelope, invoke, oapHeaders, otherPrincipal, post, principal, startTool, toolKey, type HttpAnswer } from "./server-helpers.js";

const AUTH = { authorization: `Bearer ${API_KEY}` };
const OTHER = { authorization: `Bearer ${OTHER_API_KEY}` };

async function call(method: string, url: string, body?: JsonValue, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { method, headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  const parsed = text === "" ? {} : (JSON.parse(text) as JsonValue);
  return { status: res.status, headers: res.headers, body: isJsonObject(parsed) ? parsed : { value: parsed } };
}

function details(a: HttpAnswer): JsonObject {
  const e = a.body["error"];
  return isJsonObject(e) && isJsonObject(e["details"]) ? e["details"] : {};
}

function tool(overrides: Partial<OapToolDefinition> = {}, collaboration?: JsonObject): OapToolDefinition {
  const base = weatherTool();
  const m = base.manifest;
  const actions = m.actions.map((a) => (a.id === "get_forecast" ? { ...a, rate_limit: { rpm: 100_000, concurrent: 100 }, idempotent: false, idempotency_window_seconds: undefined } : a));
  return { ...base, manifest: { ...m, actions: actions as typeof m.actions, ...(collaboration === undefined ? {} : { collaboration }) } as typeof m, ...overrides };
}

async function withServer(t: OapToolDefinition, fn: (s: RunningOapServer) => Promise<void>): Promise<void> {
  const s = await startTool({ tool: t });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** A time-lock queue on a settable clock: get_forecast (0.001 EUR) is over the 0.0005 EUR threshold. */
function lockQueue(): { queue: TimeLockQueue; advance: (seconds: number) => void } {
  let now = Date.now();
  const queue = new TimeLockQueue({
    rules: (p) => (p === principal.did ? [{ id: "big-spend", threshold: { amount: "0.0005", currency: "EUR" }, delay_seconds: 3600, actions: ["get_forecast"] }] : []),
    clock: () => new Date(now),
  });
  return { queue, advance: (s) => (now += s * 1000) };
}

describe("§22.4 time locks in the invoke path", () => {
  it("locks an over-threshold call (202 + lock), refuses it before the delay, runs it once after with OAP-Time-Lock", async () => {
    const { queue, advance } = lockQueue();
    await withServer(tool({ governance: { timeLocks: queue } }), async (s) => {
      const input = { location: "Berlin", days: 3 };
      const first = await invoke(s, envelope({ input }), AUTH);
      expect(first.status).toBe(202);
      expect(first.body["status"]).toBe("accepted");
      expect(first.body["signature"]).toBeDefined();
      const tl = (first.body["output"] as JsonObject)["time_lock"] as JsonObject;
      expect(tl).toMatchObject({ status: "locked", action: "get_forecast", rule_id: "big-spend", amount: { amount: "0.001", currency: "EUR" } });
      const lockId = String(tl["lock_id"]);
      expect(lockId).toMatch(/^urn:oap:timelock:/);
      expect(String(tl["cancel_url"])).toMatch(/\/oap\/time-lock\/cancel$/);
      expect(first.body).not.toHaveProperty("receipt");

      // status: the Principal sees it; another Principal does not; no credential → 401
      const st = await call("GET", `${s.url}/oap/time-lock?lock_id=${encodeURIComponent(lockId)}`, undefined, AUTH);
      expect(st.status).toBe(200);
      expect(st.body).toMatchObject({ lock_id: lockId, status: "locked", principal_did: principal.did });
      expect((await call("GET", `${s.url}/oap/time-lock?lock_id=${encodeURIComponent(lockId)}`, undefined, OTHER)).status).toBe(404);
      expect((await call("GET", `${s.url}/oap/time-lock?lock_id=${encodeURIComponent(lockId)}`)).status).toBe(401);

      // before execute_after: 409 conflict
      const early = await invoke(s, envelope({ input }), { ...AUTH, "oap-time-lock": lockId });
      expect(early.status).toBe(409);
      expect(codeOf(early)).toBe("conflict");
      expect(details(early)).toHaveProperty("execute_after", tl["execute_after"]);

      advance(3601);
      // another input cannot ride on the lock
      const wrongInput = await invoke(s, envelope({ input: { location: "Paris", days: 3 } }), { ...AUTH, "oap-time-lock": lockId });
      expect(wrongInput.status).toBe(403);
      expect(codeOf(wrongInput)).toBe("policy_block");
      const unknown = await invoke(s, envelope({ input }), { ...AUTH, "oap-time-lock": "urn:oap:timelock:01J00000000000000000000000" });
      expect(unknown.status).toBe(404);

      const released = await invoke(s, envelope({ input }), { ...AUTH, "oap-time-lock": lockId });
      expect(released.status).toBe(200);
      expect(released.body["status"]).toBe("ok");
      expect((released.body["receipt"] as JsonObject)["id"]).toMatch(/^urn:oap:receipt:/);
      expect(queue.get(lockId)?.status).toBe("released");

      // at most once
      const twice = await invoke(s, envelope({ input }), { ...AUTH, "oap-time-lock": lockId });
      expect(twice.status).toBe(409);

      // below every threshold (a free action) runs at once
      const free = await invoke(s, envelope({ action: "find_location", input: { query: "Berlin" } }), AUTH);
      expect(free.status).toBe(200);
    });
  });

  it("the stream binding answers a locked call 409 with the lock id", async () => {
    const { queue } = lockQueue();
    await withServer(tool({ governance: { timeLocks: queue } }), async (s) => {
      const env = envelope();
      const a = await post(`${s.url}/oap/stream`, env, oapHeaders(env, AUTH));
      expect(a.status).toBe(409);
      expect(codeOf(a)).toBe("conflict");
      expect(String(details(a)["lock_id"])).toMatch(/^urn:oap:timelock:/);
    });
  });

  it("the Principal cancels during the lock (no cost); a canceled lock never runs", async () => {
    const { queue, advance } = lockQueue();
    await withServer(tool({ governance: { timeLocks: queue } }), async (s) => {
      const env = envelope();
      const first = await invoke(s, env, AUTH);
      expect(first.status).toBe(202);
      // the locked envelope itself cannot be re-sent (its nonce is spent): a new envelope with the header is needed
      expect((await invoke(s, env, AUTH)).status).toBe(409);
      const lockId = String(((first.body["output"] as JsonObject)["time_lock"] as JsonObject)["lock_id"]);

      expect((await call("POST", `${s.url}/oap/time-lock/cancel`, { lock_id: lockId })).status).toBe(401);
      const byOther = await call("POST", `${s.url}/oap/time-lock/cancel`, { lock_id: lockId }, OTHER);
      expect(byOther.status).toBe(403);
      expect((await call("POST", `${s.url}/oap/time-lock/cancel`, {}, AUTH)).status).toBe(400);
      expect((await call("POST", `${s.url}/oap/time-lock/cancel`, { lock_id: "urn:oap:timelock:nope" }, AUTH)).status).toBe(404);

      // RFC 9421 signed by the Principal's key works too
      const url = `${s.url}/oap/time-lock/cancel`;
      const body = JSON.stringify({ lock_id: lockId });
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...signCallerRequest({ method: "POST", url, headers: { "content-type": "application/json" }, body: new TextEncoder().encode(body) }, principal.signer) }, body });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ lock_id: lockId, status: "canceled" });

      const again = await call("POST", `${s.url}/oap/time-lock/cancel`, { lock_id: lockId }, AUTH);
      expect(again.status).toBe(409);
      advance(7200);
      const after = await invoke(s, envelope({ input: env["input"] as JsonObject }), { ...AUTH, "oap-time-lock": lockId });
      expect(after.status).toBe(409);
    });
  });

  it("another Principal without rules is not locked; without timeLocks the endpoints are 404", async () => {
    const { queue } = lockQueue();
    await withServer(tool({ governance: { timeLocks: queue } }), async (s) => {
      const other = await invoke(s, envelope({}, undefined, otherPrincipal.did), OTHER);
      expect(other.status).toBe(200);
    });
    await withServer(tool(), async (s) => {
      expect((await call("GET", `${s.url}/oap/time-lock?lock_id=x`, undefined, AUTH)).status).toBe(404);
      expect((await invoke(s, envelope(), AUTH)).status).toBe(200);
    });
  });
});

describe("§15 coordination endpoints", () => {
  it("optimistic state: stale expected_version → 409 registered in conflicts; propose, resolve (receipt), lock/unlock", async () => {
    await withServer(tool({ governance: { coordination: true } }), async (s) => {
      const st = `${s.url}/oap/state`;
      expect((await call("GET", `${st}?resource=doc`)).status).toBe(401);
      const empty = await call("GET", `${st}?resource=doc`, undefined, AUTH);
      expect(empty.body).toMatchObject({ resource: "doc", version: 0, value: null });

      const w1 = await call("PUT", st, { resource: "doc", value: { text: "a" }, expected_version: 0 }, AUTH);
      expect(w1.status).toBe(200);
      expect(w1.body).toMatchObject({ resource: "doc", version: 1 });
      const stale = await call("PUT", st, { resource: "doc", value: { text: "b" }, expected_version: 0 }, OTHER);
      expect(stale.status).toBe(409);
      expect(codeOf(stale)).toBe("conflict");
      const conflictId = String(details(stale)["conflict_id"]);
      expect(conflictId).toMatch(/^urn:oap:conflict:/);
      expect(details(stale)).toMatchObject({ current_version: 1, expected_version: 0 });
      expect((await call("PUT", st, { resource: "doc", value: 1, expected_version: -1 }, AUTH)).status).toBe(400);
      // last write wins without expected_version
      expect((await call("PUT", st, { resource: "other", value: 1 }, AUTH)).status).toBe(200);

      const c = `${s.url}/oap/conflicts`;
      expect((await call("GET", c)).status).toBe(401);
      const mine = await call("GET", c, undefined, OTHER);
      expect(mine.status).toBe(200);
      expect(mine.body["conflicts"]).toHaveLength(1);
      expect((mine.body["conflicts"] as JsonObject[])[0]).toMatchObject({ conflict_id: conflictId, resource: "doc", kind: "version", status: "open", principal_did: otherPrincipal.did });
      const notMine = await call("GET", c, undefined, AUTH);
      expect(notMine.body["conflicts"]).toEqual([]);
      expect((await call("GET", `${c}?status=bogus`, undefined, OTHER)).status).toBe(400);

      expect((await call("POST", `${c}/propose`, { conflict_id: conflictId, value: { text: "x" } }, AUTH)).status).toBe(404);
      expect((await call("POST", `${c}/propose`, { conflict_id: conflictId }, OTHER)).status).toBe(400);
      const prop = await call("POST", `${c}/propose`, { conflict_id: conflictId, value: { text: "a+b" }, rationale: "merge" }, OTHER);
      expect(prop.status).toBe(201);
      const proposalId = String(prop.body["proposal_id"]);

      expect((await call("POST", `${c}/resolve`, { conflict_id: conflictId, proposal_id: proposalId }, AUTH)).status).toBe(404);
      expect((await call("POST", `${c}/resolve`, { conflict_id: conflictId, proposal_id: "urn:oap:proposal:nope" }, OTHER)).status).toBe(404);
      const res = await call("POST", `${c}/resolve`, { conflict_id: conflictId, proposal_id: proposalId }, OTHER);
      expect(res.status).toBe(200);
      expect(res.body["conflict"]).toMatchObject({ status: "resolved", resolution: { version: 2, proposal_id: proposalId } });
      const receipt = res.body["receipt"] as JsonObject;
      expect(receipt).toMatchObject({ action_id: "conflicts.resolve", principal_did: otherPrincipal.did });
      expect(await s.server.store.receipts.get(String(receipt["receipt_id"]))).toBeDefined();
      expect((await call("POST", `${c}/resolve`, { conflict_id: conflictId, proposal_id: proposalId }, OTHER)).status).toBe(409);
      const now = await call("GET", `${st}?resource=doc`, undefined, AUTH);
      expect(now.body).toMatchObject({ version: 2, value: { text: "a+b" } });
      expect((await call("GET", `${c}?status=resolved`, undefined, OTHER)).body["conflicts"]).toHaveLength(1);

      // lock / unlock
      const l = `${s.url}/oap/lock`;
      expect((await call("POST", l, { resource: "doc" })).status).toBe(401);
      const lock = await call("POST", l, { resource: "doc", ttl_seconds: 60 }, AUTH);
      expect(lock.status).toBe(201);
      expect(lock.body).toMatchObject({ resource: "doc", holder_did: principal.did });
      const token = String(lock.body["lock_token"]);
      const taken = await call("POST", l, { resource: "doc" }, OTHER);
      expect(taken.status).toBe(409);
      expect(details(taken)).toMatchObject({ holder_did: principal.did });
      expect((await call("POST", `${s.url}/oap/unlock`, { resource: "doc", lock_token: "urn:oap:lock:wrong" }, OTHER)).status).toBe(409);
      expect((await call("POST", `${s.url}/oap/unlock`, { resource: "doc" }, AUTH)).status).toBe(400);
      expect((await call("POST", `${s.url}/oap/unlock`, { resource: "doc", lock_token: token }, AUTH)).body).toEqual({ resource: "doc", unlocked: true });
      expect((await call("POST", l, { resource: "doc" }, OTHER)).status).toBe(201);
    });
  });

  it("pessimistic (manifest locking_strategy): a write needs the lock token", async () => {
    await withServer(tool({ governance: { coordination: true } }, { supports_concurrent_agents: true, locking_strategy: "pessimistic" }), async (s) => {
      const st = `${s.url}/oap/state`;
      const noLock = await call("PUT", st, { resource: "doc", value: 1 }, AUTH);
      expect(noLock.status).toBe(409);
      const lock = await call("POST", `${s.url}/oap/lock`, { resource: "doc" }, AUTH);
      const ok = await call("PUT", st, { resource: "doc", value: 1, lock_token: lock.body["lock_token"] as string }, AUTH);
      expect(ok.status).toBe(200);
      expect((await call("PUT", st, { resource: "doc", value: 2, lock_token: lock.body["lock_token"] as string }, OTHER)).status).toBe(409);
    });
  });

  it("without coordination the endpoints are 404", async () => {
    await withServer(tool(), async (s) => {
      expect((await call("GET", `${s.url}/oap/conflicts`, undefined, AUTH)).status).toBe(404);
      expect((await call("POST", `${s.url}/oap/lock`, { resource: "doc" }, AUTH)).status).toBe(404);
      expect((await call("GET", `${s.url}/oap/state?resource=doc`, undefined, AUTH)).status).toBe(404);
    });
  });
});

describe("§11.2 wallet export / import endpoints", () => {
  it("exports the signed ledger (transfer) and imports it into a new wallet, by the Principal only", async () => {
    const wallet = new Wallet({ providerDid: "did:web:wallet.example", signer: { key: toolKey, kid: "did:web:wallet.example#k" } });
    const walletDid = "did:web:wallet.example:w:1";
    await wallet.open(walletDid, principal.did);
    await wallet.credit(walletDid, { amount: "1.00", currency: "EUR" });
    const keys = mapKeyResolver({ "did:web:wallet.example#k": toolKey.publicJwk });
    await withServer(tool({ commerce: { wallet, walletImportKeys: keys } }), async (s) => {
      const w = `${s.url}/oap/wallet`;
      expect((await call("POST", `${w}/export`, { wallet_did: walletDid })).status).toBe(401);
      expect((await call("POST", `${w}/export`, { wallet_did: walletDid }, OTHER)).status).toBe(403);
      const exp = await call("POST", `${w}/export`, { principal_did: principal.did, transfer: true }, AUTH);
      expect(exp.status).toBe(200);
      expect(exp.body).toMatchObject({ format: "agentwire-oap-wallet-ledger/1", wallet_did: walletDid, principal_did: principal.did, transfer: true });
      expect(exp.body["signature"]).toBeDefined();

      expect((await call("POST", `${w}/import`, { export: exp.body, wallet_did: "did:web:wallet.example:w:2" }, OTHER)).status).toBe(403);
      expect((await call("POST", `${w}/import`, { wallet_did: "did:web:wallet.example:w:2" }, AUTH)).status).toBe(400);
      const tampered = await call("POST", `${w}/import`, { export: { ...exp.body, balances: [{ currency: "EUR", balance: "9.00" }] }, wallet_did: "did:web:wallet.example:w:3" }, AUTH);
      expect(tampered.status).toBeGreaterThanOrEqual(400);
      expect(tampered.status).toBeLessThan(500);
      const imp = await call("POST", `${w}/import`, { export: exp.body, wallet_did: "did:web:wallet.example:w:2" }, AUTH);
      expect(imp.status).toBe(201);
      expect(imp.body).toMatchObject({ wallet_did: "did:web:wallet.example:w:2", principal_did: principal.did, balances: [{ currency: "EUR", balance: "1.00" }] });
      const again = await call("POST", `${w}/import`, { export: exp.body, wallet_did: "did:web:wallet.example:w:4" }, AUTH);
      expect(again.status).toBe(409);
    });
  });
});
