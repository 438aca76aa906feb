/**
 * §15.4 coordination sessions served by the Tool (`governance.sessions`: create / join /
 * message / read / close, authenticated like the other plane endpoints, messages signed by
 * their sender and read back in Lamport order) and §15.2 change broadcasts: a `PUT state`
 * delivers a signed `state.changed` webhook (RFC 9421, the Tool's key) to the subscriptions that
 * asked for it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isJsonObject, type JsonObject, type JsonValue } from "../../src/json/types.js";
import { CoordinationSession, type SessionManifest } from "../../src/oap/governance/sessions.js";
import { didKeyResolver } from "../../src/oap/sign.js";
import { signCallerRequest } from "../../src/oap/server/caller-auth.js";
import type { RunningOapServer } from "../../src/oap/server/standalone.js";
import { weatherTool } from "../../src/oap/tools/weather.js";
import { createWebhookReceiver, type VerifiedWebhook } from "../../src/oap/webhooks/subscriber.js";
import { DidResolver } from "../../src/trust/did/resolver.js";
import { API_KEY, agent, codeOf, otherAgent, principal, startTool, type DidKeyIdentity, type HttpAnswer } from "./server-helpers.js";

const keys = didKeyResolver(new DidResolver({ allowInsecureLocalhost: true }));

/** A request signed (RFC 9421 oap-request) by `who`'s DID key. */
async function signed(who: DidKeyIdentity, method: "GET" | "POST" | "PUT", url: string, body?: JsonValue): Promise<HttpAnswer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const base: Record<string, string> = text === undefined ? {} : { "content-type": "application/json" };
  const headers = { ...base, ...signCallerRequest({ method, url, headers: base, ...(text === undefined ? {} : { body: new TextEncoder().encode(text) }) }, who.signer) };
  const res = await fetch(url, { method, headers, ...(text === undefined ? {} : { body: text }) });
  const raw = await res.text();
  const parsed = raw === "" ? {} : (JSON.parse(raw) as JsonValue);
  return { status: res.status, headers: res.headers, body: isJsonObject(parsed) ? parsed : { value: parsed } };
}

describe("§15.4 coordination sessions as endpoints", () => {
  let s: RunningOapServer;
  beforeAll(async () => {
    s = await startTool({ tool: { ...weatherTool(), governance: { sessions: true } } });
  });
  afterAll(async () => s?.close());

  it("create → join → signed messages in Lamport order → close; non-participants, forgeries, stale clocks and late appends are refused", async () => {
    const u = `${s.url}/oap/session`;
    expect((await fetch(u, { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status).toBe(401);
    const created = await signed(agent, "POST", u, { participants: [agent.did, otherAgent.did], clock: "lamport", task: "trip-planning" });
    expect(created.status).toBe(201);
    const manifest = created.body["manifest"] as unknown as SessionManifest;
    expect(created.body).toMatchObject({ creator: agent.did, status: "open", joined: [agent.did] });
    const sid = manifest.session_did;
    // a bearer Principal that is not a participant does not see it
    const outsider = await fetch(`${u}?session_did=${encodeURIComponent(sid)}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(outsider.status).toBe(404);
    // a participant must be among the participants it names
    expect((await signed(agent, "POST", u, { participants: [otherAgent.did, principal.did] })).status).toBe(403);

    const a = new CoordinationSession({ manifest, self: agent.did, signer: agent.signer, keys });
    const b = new CoordinationSession({ manifest, self: otherAgent.did, signer: otherAgent.signer, keys });
    const m1 = a.send({ propose: "Berlin" });
    expect((await signed(agent, "POST", `${u}/message`, { message: m1 as unknown as JsonValue })).status).toBe(201);
    const early = b.send({ early: true });
    const notJoined = await signed(otherAgent, "POST", `${u}/message`, { message: early as unknown as JsonValue });
    expect(notJoined.status).toBe(409);
    expect((await signed(otherAgent, "POST", `${u}/join`, { session_did: sid })).body["joined"]).toEqual([agent.did, otherAgent.did]);
    await b.receive(m1);
    const m2 = b.send({ counter: "Munich" }); // lamport 3 (after receiving 1)
    expect((await signed(otherAgent, "POST", `${u}/message`, { message: m2 as unknown as JsonValue })).status).toBe(201);
    // agent appends a message of the other agent: refused; a forged body: refused; a replayed clock: refused
    expect((await signed(agent, "POST", `${u}/message`, { message: m2 as unknown as JsonValue })).status).toBe(403);
    const forged = { ...(a.send({ accept: "Munich" }) as unknown as JsonObject), body: { accept: "Paris" } };
    expect([401, 403, 400]).toContain((await signed(agent, "POST", `${u}/message`, { message: forged })).status);
    const replay = await signed(agent, "POST", `${u}/message`, { message: m1 as unknown as JsonValue });
    expect(replay.status).toBe(409);
    await a.receive(m2);
    const m3 = a.send({ accept: "Munich" });
    const appended = await signed(agent, "POST", `${u}/message`, { message: m3 as unknown as JsonValue });
    expect(appended.status).toBe(201);
    expect(appended.body["position"]).toBe(2);

    const read = await signed(otherAgent, "GET", `${u}?session_did=${encodeURIComponent(sid)}`);
    expect(read.status).toBe(200);
    const msgs = read.body["messages"] as JsonObject[];
    expect(msgs.map((m) => m["lamport"])).toEqual([1, 3, 5]);
    expect(msgs.map((m) => m["body"])).toEqual([{ propose: "Berlin" }, { counter: "Munich" }, { accept: "Munich" }]);
    expect(((await signed(otherAgent, "GET", `${u}?session_did=${encodeURIComponent(sid)}&after=1`)).body["messages"] as JsonObject[]).map((m) => m["lamport"])).toEqual([5]);

    expect((await signed(otherAgent, "POST", `${u}/close`, { session_did: sid })).status).toBe(403);
    const closed = await signed(agent, "POST", `${u}/close`, { session_did: sid });
    expect(closed.status).toBe(200);
    expect(closed.body["status"]).toBe("closed");
    const late = await signed(otherAgent, "POST", `${u}/message`, { message: b.send({ late: true }) as unknown as JsonValue });
    expect(late.status).toBe(409);
    expect(codeOf(late)).toBe("conflict");
  });

  it("404 without the option", async () => {
    const plain = await startTool();
    try {
      expect((await signed(agent, "POST", `${plain.url}/oap/session`, { participants: [agent.did, otherAgent.did] })).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe("§15.2 change broadcasts: PUT state → signed state.changed webhooks", () => {
  let s: RunningOapServer;
  let receiver: Server;
  let origin: string;
  const got: VerifiedWebhook[] = [];
  const rejected: string[] = [];
  beforeAll(async () => {
    s = await startTool({ tool: { ...weatherTool(), governance: { coordination: true } }, webhooks: { allowInsecureCallbacks: true, retries: 0 } });
    let handler: ReturnType<typeof createWebhookReceiver> | undefined;
    receiver = createServer((req, res) => void handler?.(req, res));
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    handler = createWebhookReceiver({ toolDid: s.server.did, keys, origin, onEvent: (w) => void got.push(w), onRejected: (e) => void rejected.push(e.code) });
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it("delivers to the subscriptions of that resource (or of every resource), verified by the subscriber; task-only subscriptions get nothing", async () => {
    const AUTH = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };
    const sub = async (body: JsonObject): Promise<Response> => fetch(`${s.url}/oap/subscribe`, { method: "POST", headers: AUTH, body: JSON.stringify(body) });
    expect((await sub({ callback_url: `${origin}/doc`, events: ["state.changed"], resource: "doc:1" })).status).toBe(201);
    expect((await sub({ callback_url: `${origin}/all`, events: ["state.changed"] })).status).toBe(201);
    expect((await sub({ callback_url: `${origin}/tasks`, events: ["task.*"] })).status).toBe(201);
    expect((await sub({ callback_url: `${origin}/bad`, events: ["task.*"], resource: "doc:1" })).status).toBe(400);

    const put1 = await signed(agent, "PUT", `${s.url}/oap/state`, { resource: "doc:1", value: { title: "v1" } });
    expect(put1.status).toBe(200);
    const put2 = await signed(agent, "PUT", `${s.url}/oap/state`, { resource: "doc:2", value: { title: "other" } });
    expect(put2.status).toBe(200);
    const stale = await signed(otherAgent, "PUT", `${s.url}/oap/state`, { resource: "doc:1", value: { title: "lost" }, expected_version: 0 });
    expect(stale.status).toBe(409);
    for (let i = 0; i < 100 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(rejected).toEqual([]);
    expect(got).toHaveLength(3);
    for (const w of got) {
      expect(w.payload.event).toBe("state.changed");
      expect(w.payload.tool_did).toBe(s.server.did);
      expect(w.keyid.startsWith(`${s.server.did}#`)).toBe(true);
    }
    const byResource = got.map((w) => `${String(w.payload.data["resource"])}@${String(w.payload.data["version"])}`).sort();
    expect(byResource).toEqual(["doc:1@1", "doc:1@1", "doc:2@1"]);
    expect(got.every((w) => w.payload.data["agent_did"] === agent.did && typeof w.payload.data["value_hash"] === "string")).toBe(true);
  });
});
