/** The agent runtime: OFP §2.1 minimal servicing-assistant behaviours, §2.3, the convener role, the HTTPS binding. */
import { afterAll, describe, expect, it } from "vitest";
import { defineAgent, defineConvener, type AgentDefinition } from "../../src/ofp/agent.js";
import {
  acceptInvite,
  bye,
  contextEvent,
  declineInvite,
  dialogEvent,
  getManifests,
  grantFloor,
  invite,
  privateUtterance,
  publishManifests,
  requestFloor,
  revokeFloor,
  uninvite,
  yieldFloor,
} from "../../src/ofp/build.js";
import { sendEnvelope, serveOfp, type RunningOfpServer } from "../../src/ofp/http.js";
import { OfpRuntimeError } from "../../src/ofp/runtime.js";
import type { OfpDocument, OfpEvent } from "../../src/ofp/types.js";
import { envelope, ident, ids, manifestOf, now, say, spoken, types, USER } from "./runtime-helpers.js";

const ME = ident("travel");

function travel(extra: Partial<AgentDefinition> = {}) {
  return defineAgent({
    manifest: manifestOf("travel"),
    now,
    newId: ids("t"),
    onUtterance: (u) => `you said: ${u.text}`,
    ...extra,
  });
}

async function send(agent: ReturnType<typeof travel>, events: OfpEvent[], o: { conversation?: Parameters<typeof envelope>[0]; sender?: typeof USER; version?: Parameters<typeof envelope>[3] } = {}): Promise<OfpDocument> {
  return agent.handle(JSON.stringify(envelope(o.conversation ?? "c1", o.sender ?? USER, events, o.version)), { binding: "ofp/https" });
}

describe("OFP §2.1 utterance", () => {
  it("answers a public utterance publicly, from its own speakerUri", async () => {
    const answer = await send(travel(), [say(USER.speakerUri, "hello")]);
    expect(spoken(answer)).toEqual(["travel: you said: hello"]);
    expect(answer.openFloor.sender).toEqual({ speakerUri: ME.speakerUri, serviceUrl: ME.serviceUrl });
    expect(answer.openFloor.conversation).toEqual({ id: "c1" });
    expect(answer.openFloor.events[0]!.to).toBeUndefined();
  });

  it("answers a private utterance (whisper) privately to its sender", async () => {
    const answer = await send(travel(), [privateUtterance({ to: { speakerUri: ME.speakerUri }, dialogEvent: dialogEvent({ id: "w", speakerUri: USER.speakerUri, startTime: now(), text: "psst" }) })]);
    expect(answer.openFloor.events[0]!.to).toEqual({ speakerUri: USER.speakerUri, private: true });
  });

  it("§1.8 ignores events whose `to` names another agent; §2.3 answers with an empty events array", async () => {
    const answer = await send(travel(), [say(USER.speakerUri, "hi weather", { speakerUri: ident("weather").speakerUri })]);
    expect(answer.openFloor.events).toEqual([]);
  });

  it("stays silent when the handler returns nothing (§2.3)", async () => {
    const answer = await send(travel({ onUtterance: () => undefined }), [say(USER.speakerUri, "hello")]);
    expect(types(answer)).toEqual([]);
  });

  it("ignores envelopes it sent itself", async () => {
    const answer = await send(travel(), [say(ME.speakerUri, "echo")], { sender: { speakerUri: ME.speakerUri } });
    expect(types(answer)).toEqual([]);
  });
});

describe("OFP §2.1 invite (§1.12, §1.14, §1.15)", () => {
  it("accepts a bare invite: acceptInvite to the inviter, then a greeting", async () => {
    const answer = await send(travel(), [invite({ to: { serviceUrl: ME.serviceUrl } })]);
    expect(types(answer)).toEqual(["acceptInvite", "utterance"]);
    expect(answer.openFloor.events[0]!.to).toEqual({ speakerUri: USER.speakerUri });
    expect(spoken(answer)).toEqual(["travel: Hello, I'm travel. How can I help?"]);
  });

  it("answers the last turn of the dialog history when no utterance accompanies the invite", async () => {
    const history = [dialogEvent({ id: "h1", speakerUri: USER.speakerUri, startTime: now(), text: "book Paris" })];
    const answer = await send(travel(), [invite({ to: { serviceUrl: ME.serviceUrl }, dialogHistory: history })]);
    expect(spoken(answer)).toEqual(["travel: Hello, I'm travel. How can I help?", "travel: you said: book Paris"]);
  });

  it("answers the accompanying utterance instead of the dialog history", async () => {
    const history = [dialogEvent({ id: "h1", speakerUri: USER.speakerUri, startTime: now(), text: "old" })];
    const answer = await send(travel({ greeting: false }), [invite({ to: { serviceUrl: ME.serviceUrl }, dialogHistory: history }), say(USER.speakerUri, "new")]);
    expect(spoken(answer)).toEqual(["travel: you said: new"]);
  });

  it("declines with a reason token when onInvite says no", async () => {
    const answer = await send(travel({ onInvite: () => ({ accept: false, reason: "@outOfDomain only travel" }) }), [invite({ to: { serviceUrl: ME.serviceUrl } })]);
    expect(answer.openFloor.events).toEqual([{ eventType: "declineInvite", to: { speakerUri: USER.speakerUri }, reason: "@outOfDomain only travel" }]);
  });

  it("answers a 1.0.0 invite in 1.0.0, without acceptInvite (which 1.0.0 lacks)", async () => {
    const answer = await send(travel(), [invite({ to: { serviceUrl: ME.serviceUrl } })], { version: "1.0.0" });
    expect(answer.openFloor.schema.version).toBe("1.0.0");
    expect(types(answer)).toEqual(["utterance"]);
  });

  it("an invite for another agent is not for it", async () => {
    const answer = await send(travel(), [invite({ to: { serviceUrl: "https://weather.example/ofp" } })]);
    expect(types(answer)).toEqual([]);
  });

  it("acceptInvite / declineInvite are ignored unless it sent the invite", async () => {
    const answers: boolean[] = [];
    const agent = travel({ onInviteAnswer: ({ accepted }) => (answers.push(accepted), undefined), onUtterance: () => ({ events: [invite({ to: { serviceUrl: "https://weather.example/ofp" } })] }) });
    const weather = { speakerUri: ident("weather").speakerUri, serviceUrl: "https://weather.example/ofp" };
    await send(agent, [acceptInvite({ to: { speakerUri: ME.speakerUri } })], { sender: weather });
    expect(answers).toEqual([]);
    await send(agent, [say(USER.speakerUri, "get the weather agent")]);
    await send(agent, [declineInvite({ reason: "@unavailable" })], { sender: weather });
    expect(answers).toEqual([false]);
  });
});

describe("OFP §2.1 bye, uninvite (§1.13, §1.16)", () => {
  it("ignores another conversant's bye (onBye is told)", async () => {
    const byes: string[] = [];
    const answer = await send(travel({ onBye: ({ from }) => void byes.push(from) }), [bye()]);
    expect(types(answer)).toEqual([]);
    expect(byes).toEqual([USER.speakerUri]);
  });

  it("leaves on uninvite: later events of the conversation are ignored until a new invite", async () => {
    const agent = travel();
    await send(agent, [uninvite({ to: { speakerUri: ME.speakerUri }, reason: "@brokenPolicy" })]);
    expect(agent.conversation("c1")?.left).toBe(true);
    expect(types(await send(agent, [say(USER.speakerUri, "still there?")]))).toEqual([]);
    expect(types(await send(agent, [say(USER.speakerUri, "other conversation")], { conversation: "c2" }))).toEqual(["utterance"]);
    expect(types(await send(agent, [invite({ to: { serviceUrl: ME.serviceUrl } })]))).toEqual(["acceptInvite", "utterance"]);
    expect(types(await send(agent, [say(USER.speakerUri, "back?")]))).toEqual(["utterance"]);
  });
});

describe("OFP §2.1 getManifests / publishManifests (§1.17, §1.18)", () => {
  it("publishes its own manifest when addressed (scope internal or all)", async () => {
    for (const scope of [undefined, "internal", "all"] as const) {
      const answer = await send(travel(), [getManifests({ to: { serviceUrl: ME.serviceUrl }, ...(scope === undefined ? {} : { recommendScope: scope }) })]);
      expect(answer.openFloor.events).toEqual([{ eventType: "publishManifests", to: { speakerUri: USER.speakerUri }, parameters: { servicingManifests: [manifestOf("travel")] } }]);
    }
  });

  it("ignores scope external, and unaddressed requests unless onGetManifests wants them", async () => {
    expect(types(await send(travel(), [getManifests({ to: { serviceUrl: ME.serviceUrl }, recommendScope: "external" })]))).toEqual([]);
    expect(types(await send(travel(), [getManifests()]))).toEqual([]);
    const keen = travel({ onGetManifests: (_g, ctx) => [{ identification: ctx.self, capabilities: [], score: 0.8 }] });
    expect(types(await send(keen, [getManifests({ recommendScope: "all" })]))).toEqual(["publishManifests"]);
    expect(types(await send(keen, [getManifests({ recommendScope: "external" })]))).toEqual([]);
  });

  it("ignores publishManifests it did not ask for", async () => {
    const seen: string[] = [];
    const agent = travel({ onManifests: ({ from }) => (seen.push(from), "thanks"), onUtterance: () => ({ events: [getManifests()] }) });
    const pm = publishManifests({ servicingManifests: [manifestOf("weather")] });
    expect(types(await send(agent, [pm]))).toEqual([]);
    await send(agent, [say(USER.speakerUri, "who can help?")]);
    expect(spoken(await send(agent, [pm]))).toEqual(["travel: thanks"]);
    expect(seen).toEqual([USER.speakerUri]);
  });
});

describe("OFP §2.1 floor events (§1.19-§1.22)", () => {
  it("ignores requestFloor and yieldFloor", async () => {
    expect(types(await send(travel(), [requestFloor(), yieldFloor({ reason: "@complete" })]))).toEqual([]);
  });

  it("revokeFloor: replies are held and a requestFloor is sent; grantFloor releases them", async () => {
    const agent = travel();
    expect(types(await send(agent, [revokeFloor({ to: { speakerUri: ME.speakerUri }, reason: "@override" })]))).toEqual([]);
    expect(agent.conversation("c1")?.hasFloor).toBe(false);
    const asked = await send(agent, [say(USER.speakerUri, "one")]);
    expect(asked.openFloor.events).toEqual([{ eventType: "requestFloor", reason: "has an answer" }]);
    expect(types(await send(agent, [say(USER.speakerUri, "two")]))).toEqual([]); // asked once
    const granted = await send(agent, [grantFloor({ to: { speakerUri: ME.speakerUri } })]);
    expect(spoken(granted)).toEqual(["travel: you said: one", "travel: you said: two"]);
  });

  it("revokeFloor: an utterance addressed to it by speakerUri is still answered", async () => {
    const agent = travel();
    await send(agent, [revokeFloor({ to: { speakerUri: ME.speakerUri } })]);
    expect(spoken(await send(agent, [say(USER.speakerUri, "you", { speakerUri: ME.speakerUri })]))).toEqual(["travel: you said: you"]);
  });

  it("whenFloorless: silent drops floorless replies; speak sends them anyway", async () => {
    for (const [mode, expected] of [["silent", []], ["speak", ["utterance"]]] as const) {
      const agent = travel({ whenFloorless: mode });
      await send(agent, [revokeFloor({ to: { speakerUri: ME.speakerUri } })]);
      expect(types(await send(agent, [say(USER.speakerUri, "x")]))).toEqual(expected);
    }
  });

  it("§1.6.3 the floor's floorGranted decides when the envelope lists the agent", async () => {
    const conversation = { id: "c1", conversants: [{ identification: ident("travel") }], floorGranted: [USER.speakerUri] };
    expect(types(await send(travel(), [say(USER.speakerUri, "x")], { conversation }))).toEqual(["requestFloor"]);
  });

  it("§1.6.3 a floorGranted that lists it again releases the held replies", async () => {
    const agent = travel();
    const floorless = { id: "c1", conversants: [{ identification: ident("travel") }], floorGranted: [USER.speakerUri] };
    expect(types(await send(agent, [say(USER.speakerUri, "x")], { conversation: floorless }))).toEqual(["requestFloor"]);
    const granted = { ...floorless, floorGranted: [USER.speakerUri, ME.speakerUri] };
    expect(spoken(await send(agent, [], { conversation: granted }))).toEqual(["travel: you said: x"]);
  });

  it("its own yieldFloor gives up the floor", async () => {
    const agent = travel({ onUtterance: () => ({ text: "done", events: [yieldFloor({ reason: "@complete" })] }) });
    expect(types(await send(agent, [say(USER.speakerUri, "x")]))).toEqual(["utterance", "yieldFloor"]);
    expect(agent.conversation("c1")?.hasFloor).toBe(false);
  });
});

describe("OFP 1.0.0 context and other events", () => {
  it("hands a 1.0.0 context event to onContext", async () => {
    const answer = await send(travel({ onContext: ({ dialogHistory }) => `history of ${dialogHistory.length}` }), [contextEvent({ dialogHistory: [dialogEvent({ id: "h", speakerUri: USER.speakerUri, startTime: now(), text: "x" })] })], { version: "1.0.0" });
    expect(spoken(answer)).toEqual(["travel: history of 1"]);
  });

  it("remembers the dialog (ctx.history) for the invites it sends (§1.12)", async () => {
    let seen = 0;
    const agent = travel({ onUtterance: (_u, ctx) => ((seen = ctx.history.length), "ok") });
    await send(agent, [say(USER.speakerUri, "a")]);
    await send(agent, [say(USER.speakerUri, "b")]);
    expect(seen).toBe(3); // a, its answer, b
  });
});

describe("OFP §0.4.2 / §2.2 convener role", () => {
  const conveners = ["tag:convener.example,2026:1"];
  const conversation = { id: "c1", conversants: [{ identification: ident("convener") }, { identification: ident("travel") }], assignedFloorRoles: { convener: conveners }, floorGranted: [USER.speakerUri] };
  const sender = { speakerUri: ident("travel").speakerUri };

  it("answers a delegated requestFloor with grantFloor to the requester and approves other delegations", async () => {
    const convener = defineConvener({ manifest: manifestOf("convener", { openFloorRoles: { convener: true } }), now, newId: ids("c") });
    const r = await convener.handle(JSON.stringify(envelope(conversation, sender, [requestFloor({ reason: "x" })])), { binding: "ofp/https" });
    expect(r.openFloor.events).toEqual([{ eventType: "grantFloor", to: { speakerUri: sender.speakerUri }, reason: "requested: x" }]);
    const inv = invite({ to: { serviceUrl: "https://weather.example/ofp" } });
    const approved = await convener.handle(JSON.stringify(envelope(conversation, sender, [inv])), { binding: "ofp/https" });
    expect(approved.openFloor.events).toEqual([inv]);
  });

  it("a floorless conversant's utterance is a delegation; a policy may substitute events", async () => {
    const convener = defineConvener({
      manifest: manifestOf("convener", { openFloorRoles: { convener: true } }),
      policy: { decide: ({ event, from }) => (event.eventType === "utterance" ? [revokeFloor({ to: { speakerUri: from }, reason: "@brokenPolicy" })] : "approve") },
    });
    const r = await convener.handle(JSON.stringify(envelope(conversation, sender, [say(sender.speakerUri, "me me me")])), { binding: "ofp/https" });
    expect(r.openFloor.events).toEqual([{ eventType: "revokeFloor", to: { speakerUri: sender.speakerUri }, reason: "@brokenPolicy" }]);
  });

  it("its own invitation is not a delegation: it accepts without a greeting", async () => {
    const convener = defineConvener({ manifest: manifestOf("convener", { openFloorRoles: { convener: true } }) });
    const r = await convener.handle(JSON.stringify(envelope(conversation, { speakerUri: "tag:floor.example,2026:1" }, [invite({ to: { speakerUri: conveners[0]!, serviceUrl: "https://convener.example/ofp" } })])), { binding: "ofp/https" });
    expect(types(r)).toEqual(["acceptInvite"]);
  });

  it("without the role it is an ordinary agent", async () => {
    const convener = defineConvener({ manifest: manifestOf("convener", { openFloorRoles: { convener: true } }) });
    const r = await convener.handle(JSON.stringify(envelope("c1", sender, [requestFloor()])), { binding: "ofp/https" });
    expect(types(r)).toEqual([]);
  });
});

describe("OFP HTTPS binding (§1.1, §2.3)", () => {
  const servers: RunningOfpServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it("serves an agent on loopback, fills its serviceUrl, and answers a POSTed envelope", async () => {
    const agent = defineAgent({ manifest: { identification: { speakerUri: "tag:x.example,2026:1", organization: "X", conversationalName: "x", synopsis: "x" }, capabilities: [] }, onUtterance: () => "pong" });
    expect(() => agent.manifest).toThrow(OfpRuntimeError);
    const server = await agent.serve({ path: "/agents/x" });
    servers.push(server);
    expect(agent.serviceUrl).toBe(`${server.origin}/agents/x`);
    expect(agent.manifest.identification.serviceUrl).toBe(agent.serviceUrl);
    const answer = await sendEnvelope(agent.serviceUrl!, envelope("c1", USER, [say(USER.speakerUri, "ping")]));
    expect(spoken(answer.value)).toEqual(["x: pong"]);
  });

  it("answers 400 (bad JSON, invalid envelope), 404, 405, 413 and 415 with a problem document", async () => {
    const server = await serveOfp({ routes: { "/a": travel().handle }, maxBytes: 2048 });
    servers.push(server);
    const post = (body: string, type = "application/json", path = "/a") => fetch(`${server.origin}${path}`, { method: "POST", headers: { "content-type": type }, body });
    const bad = await post("{\"a\":1,\"a\":2}");
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([400, "invalid-json"]);
    const invalid = await post(JSON.stringify({ openFloor: { schema: { version: "1.1.0" }, conversation: {}, sender: { speakerUri: "x" }, events: [] } }));
    const body = (await invalid.json()) as { error: string; errors: { pointer: string }[] };
    expect([invalid.status, body.error, body.errors[0]!.pointer]).toEqual([400, "invalid-envelope", "/openFloor/conversation/id"]);
    expect((await post("{}", "application/json", "/nope")).status).toBe(404);
    expect((await fetch(`${server.origin}/a`)).status).toBe(405);
    expect((await post("x".repeat(4096))).status).toBe(413);
    expect((await post("{}", "text/plain")).status).toBe(415);
  });

  it("sendEnvelope: ERR_OFP_TRANSPORT for an HTTP error or an unreachable peer", async () => {
    const server = await serveOfp({ routes: { "/a": async () => { throw new Error("boom"); } } });
    servers.push(server);
    await expect(sendEnvelope(`${server.origin}/a`, envelope("c1", USER, []))).rejects.toMatchObject({ code: "ERR_OFP_TRANSPORT", detail: { status: 500 } });
    await expect(sendEnvelope(`${server.origin}/missing`, envelope("c1", USER, []))).rejects.toMatchObject({ code: "ERR_OFP_TRANSPORT", detail: { status: 404 } });
    await expect(sendEnvelope("http://127.0.0.1:9/", envelope("c1", USER, []))).rejects.toMatchObject({ code: "ERR_OFP_TRANSPORT" });
  });

  it("lenient peers: an answer without organization/synopsis parses (lenient default), strict refuses", async () => {
    const server = await serveOfp({
      routes: async () => ({ openFloor: { schema: { version: "1.0.0" }, conversation: { id: "c1", conversants: [{ identification: { speakerUri: "tag:py,2025:1", serviceUrl: "https://py.example", conversationalName: "py" } }] }, sender: { speakerUri: "tag:py,2025:1" }, events: [] } }) as OfpDocument,
    });
    servers.push(server);
    const doc = envelope("c1", USER, []);
    expect((await sendEnvelope(server.url, doc)).warnings.map((w) => w.rule)).toEqual(["lenient", "lenient"]);
    await expect(sendEnvelope(server.url, doc, { lenient: false })).rejects.toMatchObject({ code: "ERR_OFP_INVALID" });
  });
});
