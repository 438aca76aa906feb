/**
 * The Open Floor ⇄ OHP bridge end to end: vendor A's floor hands a conversation to vendor B
 * with an OHP PROPOSE over ohp/https (two OhpNodes, real servers on loopback); B's `decide`
 * hook opens the conversation on B's floor and invites B's agent with the transcript.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnvelope } from "../../src/conformance/templates.js";
import { builderInputOf } from "../../src/conformance/world.js";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { discoverPeer, httpsTransport } from "../../src/ohp/bindings/https.js";
import { OhpNode, type NodeIdentity, type PeerRef } from "../../src/ohp/control/node.js";
import { MemoryHandoffStore, type HandoffStore } from "../../src/ohp/control/store.js";
import { startOhpServers, type RunningOhpServers } from "../../src/node/server.js";
import { defineAgent } from "../../src/ofp/agent.js";
import { invite } from "../../src/ofp/build.js";
import { textOf } from "../../src/ofp/dialog-event.js";
import { FloorManager } from "../../src/ofp/floor.js";
import type { RunningOfpServer } from "../../src/ofp/http.js";
import { floorHandoffDecider, floorToOhpInput, handOffConversation, OFP_OHP_SLOT, ohpReasonOf, ohpToFloorState, type FloorHandoffState } from "../../src/ofp/ohp-bridge.js";
import { envelope, say, spoken, USER } from "./runtime-helpers.js";

const seed = (n: number) => new Uint8Array(32).fill(n);
function keysOf(n: number) {
  return { signing: [keyPairFromSeed(ALG_EDDSA, seed(n)), keyPairFromSeed(ALG_MLDSA65, seed(n + 1))], enc: [keyPairFromSeed(ALG_HPKE_X25519, seed(n + 2))] };
}
const A_ID: NodeIdentity = { vendor: "floor-vendor-a", agentId: "floor-a", region: "uk-west", did: "did:web:floor-a.example" };
const B_ID: NodeIdentity = { vendor: "floor-vendor-b", agentId: "floor-b", region: "uk-south", did: "did:web:floor-b.example" };
const aKeys = keysOf(30);
const bKeys = keysOf(40);

function node(identity: NodeIdentity, keys: ReturnType<typeof keysOf>, store: HandoffStore, trust: [string, ReturnType<typeof keysOf>], decide?: ConstructorParameters<typeof OhpNode>[0]["decide"]): OhpNode {
  return new OhpNode({
    identity,
    signingKeys: keys.signing,
    encryptionKeys: keys.enc,
    store,
    trustedIssuers: new Map([[trust[0], publicJwks([...trust[1].signing, ...trust[1].enc])]]),
    policy: { annexIIIAllowed: ["5(b)", "5(d)"] },
    transports: { "ohp/https": httpsTransport() },
    ...(decide === undefined ? {} : { decide }),
  });
}

const USER_IDENT = { speakerUri: USER.speakerUri, serviceUrl: "https://user.example/", organization: "Users", conversationalName: "Uma", synopsis: "A traveller." };

let floorA: FloorManager;
let floorB: FloorManager;
let a: OhpNode;
let b: OhpNode;
let aServers: RunningOhpServers;
let bServers: RunningOhpServers;
let agentServers: RunningOfpServer[];
let peerB: PeerRef;
const opened: string[] = [];
const travel = defineAgent({ manifest: { identification: { speakerUri: "tag:travel.a.example,2026:1", organization: "A", conversationalName: "travel", synopsis: "Books trips." }, capabilities: [] }, greeting: false, onUtterance: (u) => (u.from === USER.speakerUri ? "I can book flights, but not visas." : undefined) });
const visa = defineAgent({
  manifest: { identification: { speakerUri: "tag:visa.b.example,2026:1", organization: "B", conversationalName: "visa", synopsis: "Visa specialist." }, capabilities: [] },
  greeting: "Hello, visa desk here; I have your conversation.",
  // §2.1: respond to the dialog history; this agent picks the user's last turn.
  onInvite: ({ dialogHistory }) => {
    const question = dialogHistory.filter((d) => d.speakerUri === USER.speakerUri).at(-1);
    return { accept: true, ...(question === undefined ? {} : { reply: `About "${textOf(question)}": you need a visa.` }) };
  },
  onUtterance: (u) => (u.from === USER.speakerUri ? `About "${u.text}": you need a visa.` : undefined),
});

beforeAll(async () => {
  agentServers = [await travel.serve(), await visa.serve()];
  floorA = new FloorManager({ identity: { speakerUri: "tag:floor.a.example,2026:1", serviceUrl: "https://floor.a.example/ofp" } });
  floorB = new FloorManager({ identity: { speakerUri: "tag:floor.b.example,2026:1", serviceUrl: "https://floor.b.example/ofp" } });
  b = node(B_ID, bKeys, new MemoryHandoffStore(), [A_ID.did, aKeys], floorHandoffDecider({ floor: floorB, invite: [{ serviceUrl: visa.serviceUrl! }], onOpened: (c) => void opened.push(c.id) }));
  a = node(A_ID, aKeys, new MemoryHandoffStore(), [B_ID.did, bKeys]);
  bServers = await startOhpServers({ node: b, grpcPort: false });
  aServers = await startOhpServers({ node: a, grpcPort: false });
  peerB = await discoverPeer(bServers.url, "ohp/https");
});
afterAll(async () => {
  await aServers.close();
  await bServers.close();
  for (const s of agentServers) await s.close();
});

describe("OFP → OHP: a floor hands a conversation to another vendor (docs/ofp-ohp-bridge.md)", () => {
  it("PROPOSE carries the floor's state; B ACCEPTs, opens the conversation and its agent answers the user", async () => {
    await floorA.receive(envelope({ id: "trip-1", conversants: [{ identification: USER_IDENT }] }, USER, [invite({ to: { serviceUrl: travel.serviceUrl! } }), say(USER.speakerUri, "Do I need a visa for India?")]));
    const r = await handOffConversation(floorA, a, peerB, "trip-1", { ofpReason: "@outOfDomain visas", intent: { name: "visa_question", confidence: 0.9 }, close: true });
    expect(r.propose.verb).toBe("ACCEPT");
    expect(r.assumed).toBe("HANDED_OFF");
    const propose = (await a.handoffs("sender")).find((h) => h.id === r.propose.handoffId)!.envelopes["PROPOSE"]!;
    expect((propose["control"] as JsonObject)["reason"]).toBe("skill-routing");
    expect((propose["session"] as JsonObject)["callId"]).toBe("ofp:trip-1");
    expect((propose["transcript"] as JsonObject)["turns"]).toEqual([
      { t: "2026-01-13T10:00:00.000Z", role: "caller", text: "Do I need a visa for India?" },
      { t: expect.any(String), role: "agent", text: "I can book flights, but not visas." },
    ]);
    const state = ((propose["intent"] as JsonObject)["slots"] as JsonObject)[OFP_OHP_SLOT] as unknown as FloorHandoffState;
    expect(state.conversants.map((c) => [c.identification.conversationalName, c.delivery])).toEqual([["Uma", "pull"], ["travel", "push"]]);
    expect(state.focal).toBe(travel.speakerUri);
    expect(state.turnSpeakers).toEqual([USER.speakerUri, travel.speakerUri]);

    // B: the conversation exists on its floor with the user (pull) and B's agent invited with the transcript.
    expect(opened).toEqual(["trip-1"]);
    const conv = floorB.conversation("trip-1")!;
    expect(conv.conversants.map((c) => c.identification.conversationalName)).toEqual(["Uma", "visa"]);
    expect(conv.data["ohpHandoff"]).toMatchObject({ id: r.propose.handoffId, from: A_ID.vendor, intent: { name: "visa_question", confidence: 0.9 } });
    expect((await b.handoffs("receiver")).find((h) => h.id === r.propose.handoffId)?.state).toBe("HANDED_OFF");
    // The user continues the same conversation id at B's floor.
    const heard = await floorB.receive(envelope("trip-1", USER, []));
    expect(spoken(heard)).toEqual(["visa: Hello, visa desk here; I have your conversation.", 'visa: About "Do I need a visa for India?": you need a visa.']);

    // A: the handoff is logged and, with close, the conversation ended.
    expect(floorA.log("trip-1").filter((e) => e.kind === "handoff").map((e) => e.note)).toEqual([
      `OHP PROPOSE ${r.propose.handoffId} to ${B_ID.vendor}: ACCEPT`,
      `OHP ASSUME for ${r.propose.handoffId}: HANDED_OFF`,
    ]);
    expect(floorA.conversation("trip-1")).toMatchObject({ status: "closed", data: { ohpHandoff: { id: r.propose.handoffId, verb: "ACCEPT", state: "HANDED_OFF" } } });
  });

  it("B REJECTs (unknown) a PROPOSE without Open Floor state", async () => {
    const r = await a.propose(peerB, builderInputOf(baseEnvelope("signed")));
    expect([r.verb, r.reason]).toEqual(["REJECT", "unknown"]);
  });

  it("B REJECTs a handoff whose conversation it cannot open (the id exists there)", async () => {
    await floorA.receive(envelope({ id: "trip-1b", conversants: [{ identification: USER_IDENT }] }, USER, [say(USER.speakerUri, "again")]));
    await floorB.openConversation({ id: "trip-1b" });
    const r = await handOffConversation(floorA, a, peerB, "trip-1b");
    expect([r.propose.verb, r.propose.reason, r.assumed]).toEqual(["REJECT", "unknown", undefined]);
    expect(floorA.conversation("trip-1b")!.status).toBe("open");
  });
});

describe("OFP ⇄ OHP vocabulary", () => {
  it("reason tokens map to OHP control.reason triggers", () => {
    expect(ohpReasonOf("@outOfDomain weather")).toBe("skill-routing");
    expect(ohpReasonOf("@timedOut")).toBe("policy");
    expect(ohpReasonOf("@unavailable")).toBe("queue-routing");
    expect(ohpReasonOf("no token", "human-requested")).toBe("human-requested");
    expect(ohpReasonOf(undefined)).toBe("skill-routing");
  });

  it("floorToOhpInput → ohpToFloorState restores state and dialog history", async () => {
    await floorA.receive(envelope({ id: "map-1", conversants: [{ identification: USER_IDENT }] }, USER, [say(USER.speakerUri, "hello")]));
    const input = floorToOhpInput(floorA, "map-1", A_ID, { summary: "s", locale: "en-GB", channel: "voice/webrtc" });
    expect(input.session).toEqual({ callId: "ofp:map-1", channel: "voice/webrtc", locale: "en-GB", startedAt: expect.any(String) });
    const back = ohpToFloorState({ id: "cse_x", intent: input.intent as unknown as JsonObject, transcript: input.transcript as unknown as JsonObject });
    expect(back!.state.conversationId).toBe("map-1");
    expect(back!.dialogHistory).toEqual([{ id: "cse_x#turn-0", speakerUri: USER.speakerUri, span: { startTime: "2026-01-13T10:00:00.000Z" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "hello" }] } } }]);
    expect(ohpToFloorState({ intent: { current: { name: "x", confidence: 1 }, stack: [], slots: {} } })).toBeUndefined();
    expect(() => floorToOhpInput(floorA, "nope", A_ID)).toThrow(/no conversation nope/);
  });
});
