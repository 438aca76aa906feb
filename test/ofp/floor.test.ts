/** The floor manager: OFP §2.2 routing, delegation to a convener, bookkeeping, timeouts, stores and the event log. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defineAgent, defineConvener, type AgentDefinition, type OfpAgent } from "../../src/ofp/agent.js";
import { bye, dialogEvent, grantFloor, invite, privateUtterance, requestFloor, revokeFloor, uninvite, yieldFloor } from "../../src/ofp/build.js";
import { FloorManager, type FloorManagerOptions } from "../../src/ofp/floor.js";
import { MemoryFloorStore, SqliteFloorStore } from "../../src/ofp/floor-store.js";
import { OfpRuntimeError } from "../../src/ofp/runtime.js";
import type { OfpDocument, OfpEvent } from "../../src/ofp/types.js";
import { envelope, FLOOR_URI, ident, ids, localTransport, manifestOf, manualTimer, now, say, spoken, types, USER } from "./runtime-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "agentwire-ofp-floor-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TRAVEL = ident("travel");
const WEATHER = ident("weather");
const CONVENER = ident("convener", { openFloorRoles: { convener: true } });

function agent(name: string, extra: Partial<AgentDefinition> = {}): OfpAgent {
  return defineAgent({ manifest: manifestOf(name), now, newId: ids(name), greeting: false, onUtterance: (u) => (u.from === USER.speakerUri ? `${name} heard "${u.text}"` : undefined), ...extra });
}

function setup(agents: OfpAgent[], options: Partial<FloorManagerOptions> = {}, hooks: Parameters<typeof localTransport>[1] = {}) {
  const local = localTransport(agents, hooks);
  const floor = new FloorManager({ identity: { speakerUri: FLOOR_URI, serviceUrl: "https://floor.example/ofp" }, transport: local.transport, now, ...options });
  const post = (events: OfpEvent[], conversation = "c1", sender = USER): Promise<OfpDocument> => floor.receive(JSON.stringify(envelope(conversation, sender, events)));
  return { floor, post, ...local };
}

const uris = (floor: FloorManager, id = "c1") => floor.conversation(id)!.conversants.map((c) => c.identification.speakerUri);

describe("OFP §2.2 opening a conversation", () => {
  it("an envelope naming an unknown conversation opens it, its sender a pull conversant with the floor", async () => {
    const { floor, post } = setup([]);
    const answer = await post([]);
    const conv = floor.conversation("c1")!;
    expect(conv.conversants).toEqual([{ identification: { speakerUri: USER.speakerUri, serviceUrl: "https://floor.example/ofp", organization: "", conversationalName: USER.speakerUri, synopsis: "" }, delivery: "pull", status: "joined", outbox: [], addedAt: now().toISOString() }]);
    expect(conv.floorGranted).toEqual([USER.speakerUri]);
    // §2.3: nothing to say → an envelope with no events, from the floor, with the curated conversation.
    expect(answer.openFloor.sender).toEqual({ speakerUri: FLOOR_URI, serviceUrl: "https://floor.example/ofp" });
    expect(answer.openFloor.events).toEqual([]);
    expect(answer.openFloor.conversation.floorGranted).toEqual([USER.speakerUri]);
  });

  it("takes the opener's identification from the conversants section it sent", async () => {
    const { floor } = setup([]);
    const me = { speakerUri: USER.speakerUri, serviceUrl: "https://user.example/", organization: "U", conversationalName: "Ursula", synopsis: "a user" };
    await floor.receive(envelope({ id: "c1", conversants: [{ identification: me }] }, USER, []));
    expect(floor.conversation("c1")!.conversants[0]!.identification).toEqual({ speakerUri: USER.speakerUri, serviceUrl: "https://user.example/", organization: "U", conversationalName: "Ursula", synopsis: "a user" });
  });

  it("refuses unknown conversations when openOnFirstEnvelope is false", async () => {
    const { post } = setup([], { openOnFirstEnvelope: false });
    await expect(post([])).rejects.toMatchObject({ code: "ERR_OFP_FLOOR" });
  });

  it("refuses senders that are not conversants, and closed conversations", async () => {
    const { floor, post } = setup([]);
    await post([]);
    await expect(post([], "c1", { speakerUri: "tag:stranger,2026:1" })).rejects.toBeInstanceOf(OfpRuntimeError);
    expect(floor.log("c1").at(-1)).toMatchObject({ kind: "ignored", note: "sender is not a conversant" });
    await post([bye()]);
    expect(floor.conversation("c1")!.status).toBe("closed");
    await expect(post([])).rejects.toMatchObject({ code: "ERR_OFP_FLOOR", message: "conversation c1 is closed" });
  });

  it("rejects invalid envelopes (OfpError) and accepts lenient peers (no organization/synopsis)", async () => {
    const { floor } = setup([]);
    await expect(floor.receive("{\"openFloor\":{}}")).rejects.toMatchObject({ code: "ERR_OFP_INVALID" });
    const python = { openFloor: { schema: { version: "1.0.0" }, conversation: { id: "py", conversants: [{ identification: { speakerUri: USER.speakerUri, serviceUrl: "https://py.example", conversationalName: "py" } }] }, sender: USER, events: [] } };
    await floor.receive(python);
    expect(floor.conversation("py")!.conversants[0]!.identification).toEqual({ speakerUri: USER.speakerUri, serviceUrl: "https://py.example", conversationalName: "py" });
    const strict = setup([], { lenient: false }).floor;
    await expect(strict.receive(python)).rejects.toMatchObject({ code: "ERR_OFP_INVALID" });
  });
});

describe("OFP §2.2 invite: the invitee joins at once and becomes focal (§1.12)", () => {
  it("discovers an unknown invitee's manifest (§1.17 getManifests), adds it with the floor, forwards invite and utterance", async () => {
    const travel = agent("travel", { greeting: "hi" });
    const { floor, post, to } = setup([travel]);
    const answer = await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } }), say(USER.speakerUri, "a trip")]);
    const [discovery, delivered] = to(TRAVEL.serviceUrl);
    expect(discovery!.openFloor.events).toEqual([{ eventType: "getManifests", to: { serviceUrl: TRAVEL.serviceUrl } }]);
    expect(discovery!.openFloor.sender.speakerUri).toBe(FLOOR_URI);
    expect(types(delivered!)).toEqual(["invite", "utterance"]);
    expect(delivered!.openFloor.sender).toEqual(USER);
    const conv = floor.conversation("c1")!;
    expect(conv.conversants[1]).toMatchObject({ identification: TRAVEL, delivery: "push", status: "joined" });
    expect(conv.floorGranted).toEqual([USER.speakerUri, TRAVEL.speakerUri]);
    expect(conv.focal).toBe(TRAVEL.speakerUri);
    // §1.6: the conversation section the invitee got is the floor's.
    expect(delivered!.openFloor.conversation).toEqual({ id: "c1", conversants: [{ identification: conv.conversants[0]!.identification }, { identification: TRAVEL }], floorGranted: [USER.speakerUri, TRAVEL.speakerUri] });
    // The pull conversant (user) gets what travel said in its answer.
    expect(types(answer)).toEqual(["acceptInvite", "utterance", "utterance"]);
    expect(spoken(answer)).toEqual(["travel: hi", 'travel: travel heard "a trip"']);
    expect(answer.openFloor.sender.speakerUri).toBe(FLOOR_URI);
  });

  it("uses the directory before discovery, and a fallback identification when discovery fails", async () => {
    const { floor, post, to } = setup([agent("travel")], { directory: (t) => (t.serviceUrl === TRAVEL.serviceUrl ? TRAVEL : undefined) });
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    expect(to(TRAVEL.serviceUrl).map(types)).toEqual([["invite"]]);
    const silent = agent("silent");
    const s = setup([silent], {}, { deliver: (_u, doc) => (types(doc)[0] === "getManifests" ? Promise.resolve(undefined) : undefined) });
    await s.post([invite({ to: { serviceUrl: "https://silent.example/ofp", speakerUri: "tag:suggested,2026:1" } })]);
    expect(s.floor.conversation("c1")!.conversants[1]!.identification).toEqual({ speakerUri: "tag:silent.example,2026:1", serviceUrl: "https://silent.example/ofp", organization: "", conversationalName: "tag:suggested,2026:1", synopsis: "" });
    expect(s.floor.log("c1").some((e) => e.kind === "joined" && /not tag:suggested/.test(e.note ?? ""))).toBe(true);
    expect(floor.log("c1").some((e) => e.kind === "discovery")).toBe(false);
  });

  it("ignores an invite it cannot deliver (no serviceUrl, §1.12 requires one)", async () => {
    const { floor, post } = setup([]);
    await post([invite({ to: { speakerUri: "tag:nowhere,2026:1" } })]);
    expect(uris(floor)).toEqual([USER.speakerUri]);
    expect(floor.log("c1").at(-1)).toMatchObject({ kind: "ignored", note: "the invitee has no serviceUrl the floor can reach" });
  });

  it("§2.2 declineInvite removes the invitee; the others hear the decline", async () => {
    const travel = agent("travel", { onInvite: () => ({ accept: false, reason: "@outOfDomain" }) });
    const { floor, post } = setup([travel]);
    const answer = await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    expect(answer.openFloor.events).toEqual([{ eventType: "declineInvite", to: { speakerUri: USER.speakerUri }, reason: "@outOfDomain" }]);
    expect(uris(floor)).toEqual([USER.speakerUri]);
    expect(floor.conversation("c1")!.focal).toBeUndefined();
  });
});

describe("OFP §2.2 Pass-Through routing (§1.8)", () => {
  async function three(extra: Partial<FloorManagerOptions> = {}) {
    const travel = agent("travel");
    const weather = agent("weather");
    const s = setup([travel, weather], extra);
    await s.post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } }), invite({ to: { serviceUrl: WEATHER.serviceUrl } })]);
    s.deliveries.length = 0;
    return s;
  }

  it("a public utterance goes to every conversant but its sender", async () => {
    const { post, to } = await three();
    const answer = await post([say(USER.speakerUri, "hello all")]);
    expect(to(TRAVEL.serviceUrl)[0]!.openFloor.sender).toEqual(USER);
    expect(to(WEATHER.serviceUrl)[0]!.openFloor.sender).toEqual(USER);
    // each agent's answer reaches the user and the other agent, never its own speaker
    expect(spoken(answer)).toEqual(['travel: travel heard "hello all"', 'weather: weather heard "hello all"']);
    expect(to(TRAVEL.serviceUrl).flatMap(spoken)).toEqual(['user: hello all', 'weather: weather heard "hello all"']);
    expect(to(WEATHER.serviceUrl).flatMap(spoken)).toEqual(['user: hello all', 'travel: travel heard "hello all"']);
  });

  it("a whisper (private utterance) goes to its `to` conversant alone", async () => {
    const { post, to } = await three();
    await post([privateUtterance({ to: { speakerUri: WEATHER.speakerUri }, dialogEvent: dialogEvent({ id: "w", speakerUri: USER.speakerUri, startTime: now(), text: "psst" }) })]);
    expect(to(TRAVEL.serviceUrl)).toEqual([]);
    expect(to(WEATHER.serviceUrl).map(types)).toEqual([["utterance"]]);
  });

  it("a whisper to the floor itself goes to the focal agent (OVON 0.9 §2 whisper)", async () => {
    const { floor, post, to } = await three();
    expect(floor.conversation("c1")!.focal).toBe(WEATHER.speakerUri);
    await post([privateUtterance({ to: { speakerUri: FLOOR_URI }, dialogEvent: dialogEvent({ id: "w", speakerUri: USER.speakerUri, startTime: now(), text: "psst" }) })]);
    expect(to(TRAVEL.serviceUrl)).toEqual([]);
    expect(to(WEATHER.serviceUrl).map(types)).toEqual([["utterance"]]);
  });

  it("§1.8 `private` is ignored for events other than utterances", async () => {
    const { post, to } = await three();
    await post([{ eventType: "getManifests", to: { speakerUri: TRAVEL.speakerUri, private: true } }]);
    expect(to(WEATHER.serviceUrl)[0]!.openFloor.events).toEqual([{ eventType: "getManifests", to: { speakerUri: TRAVEL.speakerUri, private: true } }]);
  });

  it("§1.6 conversation sections sent by conversants are replaced by the floor's", async () => {
    const { floor, to } = await three();
    await floor.receive(envelope({ id: "c1", conversants: [], floorGranted: [], assignedFloorRoles: { convener: [USER.speakerUri] } }, USER, [say(USER.speakerUri, "y")]));
    const got = to(TRAVEL.serviceUrl)[0]!.openFloor.conversation;
    expect(got.conversants!.map((c) => c.identification!.speakerUri)).toEqual([USER.speakerUri, TRAVEL.speakerUri, WEATHER.speakerUri]);
    expect(got.floorGranted).toEqual([USER.speakerUri, TRAVEL.speakerUri, WEATHER.speakerUri]);
    expect(got.assignedFloorRoles).toBeUndefined();
  });

  it("§2.2 bye removes its sender; the others ignore it (§2.1)", async () => {
    const { floor, post, to } = await three();
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [say(TRAVEL.speakerUri, "bye all"), bye()]));
    expect(uris(floor)).toEqual([USER.speakerUri, WEATHER.speakerUri]);
    expect(to(WEATHER.serviceUrl).map(types)).toEqual([["utterance"], ["bye"]]);
    const answer = await post([]);
    expect(types(answer)).toEqual(["utterance", "bye"]);
  });

  it("§2.2 uninvite (no convener: pass-through): the uninvitee is told, then removed (§1.13)", async () => {
    const { floor, post, to } = await three();
    await post([uninvite({ to: { speakerUri: TRAVEL.speakerUri }, reason: "@brokenPolicy" })]);
    expect(to(TRAVEL.serviceUrl).map(types)).toEqual([["uninvite"]]);
    expect(to(TRAVEL.serviceUrl)[0]!.openFloor.conversation.conversants!.map((c) => c.identification!.speakerUri)).toEqual([USER.speakerUri, WEATHER.speakerUri]);
    expect(uris(floor)).toEqual([USER.speakerUri, WEATHER.speakerUri]);
    await post([say(USER.speakerUri, "x")]);
    expect(to(TRAVEL.serviceUrl)).toHaveLength(1);
  });

  it("events are processed in order: an utterance after an uninvite no longer reaches the uninvitee", async () => {
    const { post, to } = await three();
    await post([say(USER.speakerUri, "one"), uninvite({ to: { speakerUri: TRAVEL.speakerUri } }), say(USER.speakerUri, "two")]);
    expect(to(TRAVEL.serviceUrl).map(types)).toEqual([["utterance"], ["uninvite"]]);
    // one envelope per state: "two" was routed after the uninvite, under the same conversation state
    expect(to(WEATHER.serviceUrl).map(types)).toEqual([["utterance"], ["uninvite", "utterance"]]);
  });
});

describe("OFP §2.2 floor rights (§1.6.3, §1.19-§1.22)", () => {
  async function two() {
    const travel = agent("travel", { whenFloorless: "speak" });
    const s = setup([travel]);
    await s.post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    return s;
  }

  it("yieldFloor takes the sender's floor rights; requestFloor alone changes nothing", async () => {
    const { floor } = await two();
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [yieldFloor({ reason: "@complete" })]));
    expect(floor.conversation("c1")!.floorGranted).toEqual([USER.speakerUri]);
  });

  it("no convener: requestFloor is answered by a grantFloor from the floor", async () => {
    const { floor, post } = await two();
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [yieldFloor()]));
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [requestFloor({ reason: "more to add" })]));
    expect(floor.conversation("c1")!.floorGranted).toEqual([USER.speakerUri, TRAVEL.speakerUri]);
    const answer = await post([]);
    expect(answer.openFloor.events.slice(-1)).toEqual([{ eventType: "grantFloor", to: { speakerUri: TRAVEL.speakerUri }, reason: "requested (no convener)" }]);
    expect(floor.log("c1").find((e) => e.kind === "routed" && e.event?.eventType === "requestFloor")).toBeUndefined();
  });

  it("no convener: an utterance from a conversant without the floor is ignored", async () => {
    const { floor, post } = await two();
    await post([revokeFloor({ to: { speakerUri: TRAVEL.speakerUri }, reason: "@override" })]);
    expect(floor.conversation("c1")!.floorGranted).toEqual([USER.speakerUri]);
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [say(TRAVEL.speakerUri, "me!")]));
    expect(floor.log("c1").at(-1)).toMatchObject({ kind: "ignored", note: "utterance without the floor and no convener (§2.2)" });
    await post([grantFloor({ to: { speakerUri: TRAVEL.speakerUri } })]);
    expect(floor.conversation("c1")!.floorGranted).toEqual([USER.speakerUri, TRAVEL.speakerUri]);
    expect(floor.conversation("c1")!.focal).toBe(TRAVEL.speakerUri);
  });
});

describe("OFP §2.2 Delegating Events To Convener (§0.4.2)", () => {
  function withConvener(decide?: Parameters<typeof defineConvener>[0]["policy"], extra: Partial<FloorManagerOptions> = {}) {
    const convener = defineConvener({ manifest: manifestOf("convener", { openFloorRoles: { convener: true } }), now, newId: ids("c"), ...(decide === undefined ? {} : { policy: decide }) });
    const travel = agent("travel");
    const weather = agent("weather");
    return { ...setup([convener, travel, weather], { convener: CONVENER, ...extra }), convener };
  }

  it("invites the convener when it opens a conversation and assigns the role once accepted (§1.6.2)", async () => {
    const { floor, post, to } = withConvener();
    const answer = await post([]);
    expect(to(CONVENER.serviceUrl).map(types)).toEqual([["invite"]]);
    expect(floor.conversation("c1")!.convener).toBe(CONVENER.speakerUri);
    expect(answer.openFloor.conversation.assignedFloorRoles).toEqual({ convener: [CONVENER.speakerUri] });
  });

  it("no convener role when the convener declines", async () => {
    const decliner = defineAgent({ manifest: manifestOf("convener"), onUtterance: () => undefined, onInvite: () => ({ accept: false, reason: "@unavailable" }) });
    const s = setup([decliner], { convener: CONVENER });
    await s.post([]);
    expect(s.floor.conversation("c1")!.convener).toBeUndefined();
    expect(uris(s.floor)).toEqual([USER.speakerUri]);
  });

  it("an invite is delegated; returned unchanged it passes through from its sender, never back to the convener", async () => {
    const { floor, post, to } = withConvener();
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    const toConvener = to(CONVENER.serviceUrl);
    expect(toConvener.map(types)).toEqual([["invite"], ["invite"], ["acceptInvite"]]);
    expect(toConvener[1]!.openFloor.sender).toEqual(USER);
    expect(to(TRAVEL.serviceUrl)[1]!.openFloor.sender).toEqual(USER);
    expect(uris(floor)).toEqual([USER.speakerUri, CONVENER.speakerUri, TRAVEL.speakerUri]);
    expect(floor.log("c1").filter((e) => e.kind === "delegated" || e.kind === "decided").map((e) => e.kind)).toEqual(["delegated", "decided"]);
  });

  it("the convener may substitute events: a refused invite never adds the invitee", async () => {
    const { floor, post, to } = withConvener({ decide: ({ event }) => (event.eventType === "invite" ? [] : "approve") });
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    expect(to(TRAVEL.serviceUrl)).toEqual([]);
    expect(uris(floor)).toEqual([USER.speakerUri, CONVENER.speakerUri]);
  });

  it("events the convener returns are processed at the head of the list, as the convener's", async () => {
    const { floor, post } = withConvener({
      decide: ({ event }) => (event.eventType === "uninvite" ? [say(CONVENER.speakerUri, "let's keep travel"), yieldFloor()] : "approve"),
    });
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    await post([uninvite({ to: { speakerUri: TRAVEL.speakerUri } }), say(USER.speakerUri, "ok")]);
    const log = floor.log("c1");
    const delegated = log.findLastIndex((e) => e.kind === "delegated");
    const routed = log.slice(delegated).filter((e) => e.kind === "routed" && (e.from === CONVENER.speakerUri || e.from === USER.speakerUri));
    expect(routed.map((e) => `${e.from === CONVENER.speakerUri ? "convener" : "user"}:${e.event!.eventType}`)).toEqual(["convener:utterance", "convener:yieldFloor", "user:utterance"]);
    expect(uris(floor)).toContain(TRAVEL.speakerUri);
  });

  it("requestFloor is delegated: the convener's grantFloor restores floor rights", async () => {
    const { floor, post } = withConvener();
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [yieldFloor()]));
    expect(floor.conversation("c1")!.floorGranted).not.toContain(TRAVEL.speakerUri);
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [requestFloor()]));
    expect(floor.conversation("c1")!.floorGranted).toContain(TRAVEL.speakerUri);
    expect(floor.log("c1").some((e) => e.kind === "routed" && e.event?.eventType === "grantFloor" && e.from === CONVENER.speakerUri)).toBe(true);
  });

  it("an utterance from a conversant without the floor is delegated; approved, it passes through", async () => {
    const { floor, post, to } = withConvener();
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } }), invite({ to: { serviceUrl: WEATHER.serviceUrl } })]);
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [yieldFloor()]));
    const before = to(CONVENER.serviceUrl).length;
    await floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [say(TRAVEL.speakerUri, "one more thing")]));
    expect(to(CONVENER.serviceUrl).slice(before).map(types)).toEqual([["utterance"]]); // the delegation only
    expect(to(WEATHER.serviceUrl).at(-1)!.openFloor.sender.speakerUri).toBe(TRAVEL.speakerUri);
  });

  it("a convener that does not answer is removed; the delegated event is then decided without it", async () => {
    const timers = manualTimer();
    let stalled = false;
    const convener = defineConvener({ manifest: manifestOf("convener", { openFloorRoles: { convener: true } }) });
    const { floor, post } = setup([convener, agent("travel")], { convener: CONVENER, timer: timers.timer }, {
      deliver: (url, doc) => (url === CONVENER.serviceUrl && doc.openFloor.sender.speakerUri === USER.speakerUri ? ((stalled = true), new Promise(() => undefined)) : undefined),
    });
    await post([]);
    const pending = post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    await waitFor(() => stalled);
    timers.fire();
    await pending;
    expect(uris(floor)).toEqual([USER.speakerUri, TRAVEL.speakerUri]);
    expect(floor.conversation("c1")!.convener).toBeUndefined();
    expect(floor.log("c1").some((e) => e.kind === "timeout" && e.to === CONVENER.speakerUri)).toBe(true);
  });
});

/** Yields to the event loop until `p` holds (no wall-clock waits). */
async function waitFor(p: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !p(); i++) await new Promise((r) => setImmediate(r));
  if (!p()) throw new Error("condition never held");
}

describe("OFP §1.13 @timedOut: removing conversants that do not answer", () => {
  it("a push conversant silent past responseTimeoutMs is removed; the others get uninvite @timedOut from the floor", async () => {
    const timers = manualTimer();
    let stalled = false;
    const travel = agent("travel");
    const weather = agent("weather");
    const { floor, post, to } = setup([travel, weather], { timer: timers.timer, responseTimeoutMs: 5000 }, {
      deliver: (url, doc) => (url === TRAVEL.serviceUrl && types(doc).includes("utterance") ? ((stalled = true), new Promise(() => undefined)) : undefined),
    });
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } }), invite({ to: { serviceUrl: WEATHER.serviceUrl } })]);
    const pending = post([say(USER.speakerUri, "anyone?")]);
    await waitFor(() => stalled);
    expect(timers.running).toBe(1);
    timers.fire();
    const answer = await pending;
    expect(uris(floor)).toEqual([USER.speakerUri, WEATHER.speakerUri]);
    const notice = { eventType: "uninvite", to: { speakerUri: TRAVEL.speakerUri, serviceUrl: TRAVEL.serviceUrl }, reason: "@timedOut: no answer within 5000 ms" };
    expect(to(WEATHER.serviceUrl).at(-1)!.openFloor.events).toEqual([notice]);
    expect(to(WEATHER.serviceUrl).at(-1)!.openFloor.sender.speakerUri).toBe(FLOOR_URI);
    expect(answer.openFloor.events.at(-1)).toEqual(notice);
    expect(floor.log("c1").filter((e) => e.kind === "timeout" || e.kind === "left").map((e) => e.kind)).toEqual(["timeout", "left"]);
  });

  it("an unreachable conversant is removed with @error", async () => {
    const { floor, post } = setup([], { discover: false });
    const answer = await post([invite({ to: { serviceUrl: "https://gone.example/ofp" } })]);
    expect(uris(floor)).toEqual([USER.speakerUri]);
    expect(answer.openFloor.events.at(-1)).toMatchObject({ eventType: "uninvite", reason: "@error: connection refused: https://gone.example/ofp" });
  });
});

describe("OFP floor manager: closing, limits and the event log", () => {
  it("closes when the last conversant but the convener leaves, uninviting the convener", async () => {
    const convener = defineConvener({ manifest: manifestOf("convener", { openFloorRoles: { convener: true } }) });
    const { floor, post, to } = setup([convener], { convener: CONVENER });
    await post([]);
    await post([bye()]);
    expect(floor.conversation("c1")).toMatchObject({ status: "closed", conversants: [] });
    expect(to(CONVENER.serviceUrl).at(-1)!.openFloor.events).toEqual([{ eventType: "uninvite", to: { speakerUri: CONVENER.speakerUri, serviceUrl: CONVENER.serviceUrl }, reason: "conversation closed" }]);
  });

  it("closeWhen no-pull-conversants: the user leaving ends the conversation for the agents", async () => {
    const { floor, post, to } = setup([agent("travel")], { closeWhen: "no-pull-conversants" });
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    await post([bye()]);
    expect(floor.conversation("c1")!.status).toBe("closed");
    expect(types(to(TRAVEL.serviceUrl).at(-1)!)).toEqual(["uninvite"]);
  });

  it("stops after maxEnvelopesPerRequest when agents answer each other forever", async () => {
    const chatty = (name: string) => defineAgent({ manifest: manifestOf(name), greeting: false, onUtterance: () => `${name} again` });
    const { floor, post } = setup([chatty("travel"), chatty("weather")], { maxEnvelopesPerRequest: 10 });
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } }), invite({ to: { serviceUrl: WEATHER.serviceUrl } }), say(USER.speakerUri, "talk")]);
    expect(floor.log("c1").some((e) => e.kind === "dropped" && /more than 10 envelopes/.test(e.note ?? ""))).toBe(true);
  });

  it("logs every envelope received, delegated, delivered or queued, and every decision, in order", async () => {
    const { floor, post } = setup([agent("travel")]);
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } }), say(USER.speakerUri, "hi")]);
    const log = floor.log("c1");
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.map((e) => e.kind)).toEqual(["opened", "joined", "received", "discovery", "joined", "floor", "routed", "routed", "delivered", "received", "joined", "routed", "routed", "queued", "answered"]);
    expect(floor.dialogHistory("c1").map((d) => d.speakerUri)).toEqual([USER.speakerUri, TRAVEL.speakerUri]);
  });

  it("SqliteFloorStore keeps conversations, outboxes and logs across floor instances", async () => {
    const path = join(dir, "floor.sqlite");
    const travel = agent("travel");
    const first = setup([travel], { store: new SqliteFloorStore(path) });
    await first.post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    await first.floor.receive(envelope("c1", { speakerUri: TRAVEL.speakerUri }, [say(TRAVEL.speakerUri, "queued for the user")]));
    first.floor.store.close();
    const second = setup([travel], { store: new SqliteFloorStore(path) });
    expect(uris(second.floor)).toEqual([USER.speakerUri, TRAVEL.speakerUri]);
    expect(spoken(await second.post([]))).toEqual(["travel: queued for the user"]);
    expect(second.floor.log("c1").length).toBeGreaterThan(10);
    expect(second.floor.conversations().map((c) => c.id)).toEqual(["c1"]);
    second.floor.store.close();
  });

  it("MemoryFloorStore hands out copies", () => {
    const store = new MemoryFloorStore();
    const entry = store.append({ conversationId: "x", at: now().toISOString(), kind: "opened" });
    entry.kind = "closed";
    expect(store.log("x")[0]!.kind).toBe("opened");
  });

  it("processes concurrent envelopes of one conversation one at a time, in arrival order", async () => {
    const order: string[] = [];
    const slow = defineAgent({ manifest: manifestOf("travel"), greeting: false, onUtterance: async (u) => (order.push(u.text), undefined) });
    const { floor, post } = setup([slow]);
    await post([invite({ to: { serviceUrl: TRAVEL.serviceUrl } })]);
    await Promise.all(["a", "b", "c"].map((t) => post([say(USER.speakerUri, t)])));
    expect(order).toEqual(["a", "b", "c"]);
    expect(floor.log("c1").filter((e) => e.kind === "received" && e.from === USER.speakerUri)).toHaveLength(4);
  });

  it("openConversation: initial conversants, floor invites with dialog history, no duplicates", async () => {
    const { floor } = setup([agent("travel", { greeting: "hello" })]);
    const history = [dialogEvent({ id: "h", speakerUri: USER.speakerUri, startTime: now(), text: "a hotel" })];
    const conv = await floor.openConversation({ id: "o1", conversants: [{ identification: { ...ident("user"), speakerUri: USER.speakerUri } }], invite: [{ to: { serviceUrl: TRAVEL.serviceUrl }, dialogHistory: history }] });
    expect(conv.conversants.map((c) => c.identification.speakerUri)).toEqual([USER.speakerUri, TRAVEL.speakerUri]);
    expect(spoken(await floor.receive(envelope("o1", USER, [])))).toEqual(["travel: hello", 'travel: travel heard "a hotel"']);
    await expect(floor.openConversation({ id: "o1" })).rejects.toMatchObject({ code: "ERR_OFP_FLOOR" });
  });
});
