/**
 * Peer test: a scripted conversant replays every upstream Open Floor sample envelope
 * (test/upstream/openfloor/**) against our floor manager over the HTTPS binding, on loopback.
 *
 * For each sample the floor starts with the conversants the sample's own conversation section
 * lists (the sender as a client, the others as agents answering at their serviceUrl, here a
 * stub server that acknowledges like a minimal agent, §2.3), then the conversant POSTs the sample
 * byte for byte, once to a strict floor and once to a lenient one. The table below is what the
 * floor did with each event; docs/ofp.md ("Replaying the upstream samples against the floor")
 * explains the disagreements.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FloorManager, type FloorTransport } from "../../src/ofp/floor.js";
import { sendEnvelope, serveOfp, type RunningOfpServer } from "../../src/ofp/http.js";
import { composeEnvelope } from "../../src/ofp/runtime.js";
import type { Identification, OfpDocument } from "../../src/ofp/types.js";
import { upstreamOfpEnvelopes } from "./helpers.js";

let stub: RunningOfpServer;
const stubbed: string[] = [];

beforeAll(async () => {
  // One stub for every agent the samples name: answers each envelope with an empty one (§2.3)
  // from the agent it was addressed to (the original serviceUrl travels in the path).
  stub = await serveOfp({
    routes: {
      "/agent": async (text) => {
        const doc = JSON.parse(String(text)) as OfpDocument;
        const to = stubbed.at(-1)!;
        return composeEnvelope({ version: "1.1.0", conversation: { id: doc.openFloor.conversation.id }, sender: { speakerUri: `urn:stub:${to}` }, events: [] }).document;
      },
    },
  });
});
afterAll(async () => {
  await stub.close();
});

/** Delivers to the stub, remembering the serviceUrl the floor meant. */
const stubTransport: FloorTransport = {
  async deliver(serviceUrl, document, signal) {
    stubbed.push(serviceUrl);
    return (await sendEnvelope(stub.urlOf("/agent"), document, { signal })).value;
  },
};

interface Outcome {
  status: number;
  /** Per event: routed to N conversants, or ignored / dropped with the floor's note. */
  events: string[];
}

async function replay(text: string, json: { openFloor: { conversation: { id: string; conversants?: { identification?: Identification }[] }; sender: { speakerUri: string } } }, lenient: boolean): Promise<Outcome> {
  const floor = new FloorManager({ identity: { speakerUri: "tag:floor.agentwire.dev,2026:peer" }, lenient, transport: stubTransport, discover: false });
  const server = await floor.serve();
  try {
    const env = json.openFloor;
    const listed = (env.conversation.conversants ?? []).flatMap((c) => (c.identification?.speakerUri === undefined || c.identification.serviceUrl === undefined ? [] : [c.identification]));
    const sender = listed.find((i) => i.speakerUri === env.sender.speakerUri) ?? { speakerUri: env.sender.speakerUri, serviceUrl: server.url, organization: "", conversationalName: env.sender.speakerUri, synopsis: "" };
    // Without listed conversants the sample's own POST opens the conversation.
    if (listed.length > 0) {
      await floor.openConversation({
        id: env.conversation.id,
        conversants: [{ identification: sender, delivery: "pull" as const }, ...listed.filter((i) => i.speakerUri !== sender.speakerUri).map((identification) => ({ identification, delivery: "push" as const }))],
      });
    }
    const res = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    await res.text();
    const events = floor
      .log(env.conversation.id)
      .filter((e) => e.kind === "routed" || e.kind === "ignored" || e.kind === "dropped")
      .map((e) => `${e.event?.eventType ?? e.events?.join("+") ?? "?"}:${e.kind === "routed" ? `routed(${e.to === "" ? 0 : (e.to ?? "").split(" ").length})` : `${e.kind}(${e.note})`}`);
    return { status: res.status, events };
  } finally {
    await server.close();
  }
}

/** A short name: the version directory (or python/) and the file. */
function short(name: string): string {
  return name.replace("openfloor-docs/schemas/conversation-envelope/", "").replace("sample-json/", "").replace("openfloor-python/python/sample_json/", "python/");
}

const NOTES: Record<string, string> = {
  "whisper for nobody in the conversation": "whisper for nobody",
  "the invitee has no serviceUrl the floor can reach": "invitee without serviceUrl",
};

/** "type→N" (passed through to N conversants) or "type: ignored (why)", in processing order. */
function summary(events: string[]): string {
  return events
    .map((e) => {
      const routed = /^(\w+):routed\((\d+)\)$/.exec(e);
      if (routed !== null) return `${routed[1]}→${routed[2]}`;
      const other = /^(\w+):(ignored|dropped)\((.*)\)$/.exec(e);
      return other === null ? e : `${other[1]}: ${other[2]} (${NOTES[other[3]!] ?? other[3]})`;
    })
    .join(", ");
}

/**
 * What the floor does with each upstream sample: [status from a strict floor, status from a
 * lenient floor (the default), what the lenient floor did with each event].
 */
const EXPECTED: Record<string, [number, number, string]> = {
  "0.9.4/example-bye.json": [200, 200, "bye→0"],
  "0.9.4/example-context.json": [200, 200, "context→0"],
  "0.9.4/example-declineInvite.json": [200, 200, "declineInvite→0"],
  "0.9.4/example-envelope.json": [200, 200, ""],
  "0.9.4/example-getManifests1.json": [200, 200, "getManifests→0"],
  "0.9.4/example-getManifests2.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody), context→0"],
  "0.9.4/example-getManifests3.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody)"],
  "0.9.4/example-grantFloor.json": [200, 200, "grantFloor→0, utterance: ignored (whisper for nobody)"],
  "0.9.4/example-invite.json": [200, 200, "invite→1"],
  "0.9.4/example-publishManifests.json": [200, 200, "publishManifest→0"],
  "0.9.4/example-requestFloor.json": [200, 200, "grantFloor→1"],
  "0.9.4/example-revokeFloor.json": [200, 200, "revokeFloor→0"],
  "0.9.4/example-uninvite.json": [200, 200, "uninvite→0"],
  "0.9.4/example-utterance.json": [200, 200, "utterance→1"],
  "0.9.4/example-yieldFloor.json": [200, 200, "yieldFloor→0"],
  "1.0.0/example-bye.json": [200, 200, "bye→0"],
  "1.0.0/example-context.json": [200, 200, "context→0"],
  "1.0.0/example-declineInvite.json": [200, 200, "declineInvite→0"],
  "1.0.0/example-envelope.json": [200, 200, ""],
  "1.0.0/example-getManifests1.json": [200, 200, "getManifests→0"],
  "1.0.0/example-getManifests2.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody), context→0"],
  "1.0.0/example-getManifests3.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody)"],
  "1.0.0/example-grantFloor.json": [200, 200, "grantFloor→0, utterance: ignored (whisper for nobody)"],
  "1.0.0/example-invite.json": [200, 200, "invite→1"],
  "1.0.0/example-publishManifests.json": [400, 400, ""],
  "1.0.0/example-requestFloor.json": [200, 200, "grantFloor→1"],
  "1.0.0/example-revokeFloor.json": [200, 200, "revokeFloor→0"],
  "1.0.0/example-uninvite.json": [200, 200, "uninvite→0"],
  "1.0.0/example-utterance.json": [200, 200, "utterance→1"],
  "1.0.0/example-yieldFloor.json": [200, 200, "yieldFloor→0"],
  "1.0.1/example-acceptInvite.json": [200, 200, "acceptInvite→0"],
  "1.0.1/example-bye.json": [200, 200, "bye→0"],
  "1.0.1/example-declineInvite.json": [200, 200, "declineInvite→0"],
  "1.0.1/example-envelope.json": [200, 200, ""],
  "1.0.1/example-getManifests1.json": [200, 200, "getManifests→0"],
  "1.0.1/example-getManifests2.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody)"],
  "1.0.1/example-getManifests3.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody)"],
  "1.0.1/example-grantFloor.json": [200, 200, "grantFloor→0, utterance: ignored (whisper for nobody)"],
  "1.0.1/example-invite-with-dialogHistory.json": [200, 200, "utterance→0, invite→1"],
  "1.0.1/example-invite.json": [200, 200, "invite→1"],
  "1.0.1/example-multiparty-conversation.json": [200, 200, "utterance→2"],
  "1.0.1/example-publishManifests.json": [200, 200, "publishManifests→0"],
  "1.0.1/example-requestFloor.json": [200, 200, "grantFloor→1"],
  "1.0.1/example-revokeFloor.json": [200, 200, "revokeFloor→0"],
  "1.0.1/example-uninvite.json": [200, 200, "uninvite→0"],
  "1.0.1/example-utterance.json": [200, 200, "utterance→1"],
  "1.0.1/example-yieldFloor.json": [200, 200, "yieldFloor→0"],
  "1.1.0/example-acceptInvite.json": [200, 200, "acceptInvite→0"],
  "1.1.0/example-bye.json": [200, 200, "bye→0"],
  "1.1.0/example-declineInvite.json": [200, 200, "declineInvite→0"],
  "1.1.0/example-envelope.json": [200, 200, ""],
  "1.1.0/example-getManifests1.json": [200, 200, "getManifests→0"],
  "1.1.0/example-getManifests2.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody)"],
  "1.1.0/example-getManifests3.json": [200, 200, "getManifests→0, utterance: ignored (whisper for nobody)"],
  "1.1.0/example-grantFloor.json": [200, 200, "grantFloor→0, utterance: ignored (whisper for nobody)"],
  "1.1.0/example-invite-with-dialogHistory.json": [200, 200, "utterance→0, invite→1"],
  "1.1.0/example-invite.json": [200, 200, "invite→1"],
  "1.1.0/example-multiparty-conversation.json": [200, 200, "utterance→2"],
  "1.1.0/example-publishManifests.json": [200, 200, "publishManifests→0"],
  "1.1.0/example-requestFloor.json": [200, 200, "grantFloor→1"],
  "1.1.0/example-revokeFloor.json": [200, 200, "revokeFloor→0"],
  "1.1.0/example-uninvite.json": [200, 200, "uninvite→0"],
  "1.1.0/example-utterance.json": [200, 200, "utterance→1"],
  "1.1.0/example-yieldFloor.json": [200, 200, "yieldFloor→0"],
  "python/envelope0.json": [400, 200, "utterance→1"],
  "python/envelope1.json": [400, 200, "invite: ignored (invitee without serviceUrl)"],
  "python/envelope2.json": [400, 200, "utterance→1"],
  "python/out_envelope0.json": [400, 200, ""],
  "python/out_envelope1.json": [400, 200, "utterance→1"],
};

describe("peer test: upstream samples replayed against the floor manager over HTTPS", () => {
  const samples = upstreamOfpEnvelopes();

  it("covers every upstream Open Floor envelope sample, and only those", () => {
    expect(samples.map((s) => short(s.name)).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const sample of samples) {
    it(short(sample.name), async () => {
      const strict = await replay(sample.text, sample.json as never, false);
      const lenient = await replay(sample.text, sample.json as never, true);
      expect([strict.status, lenient.status, summary(lenient.events)]).toEqual(EXPECTED[short(sample.name)]);
    });
  }
});
