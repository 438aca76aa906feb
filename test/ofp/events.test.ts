/**
 * §1.9-§1.22: every event type, built with the typed builders, placed in an envelope of each
 * version that has it, validated, serialised and parsed back; and the OVON whisper (OVON §1.11).
 */
import { describe, expect, it } from "vitest";
import {
  OfpError,
  OFP_EVENT_TYPES,
  acceptInvite,
  buildManifest,
  buildOfpEnvelope,
  buildOvonEnvelope,
  bye,
  contextEvent,
  conversantOf,
  declineInvite,
  dialogEvent,
  feature,
  getManifests,
  grantFloor,
  invite,
  ovonBye,
  ovonDialogEvent,
  ovonInvite,
  ovonUtterance,
  ovonWhisper,
  parseOfpEnvelope,
  parseOvonEnvelope,
  privateUtterance,
  publishManifests,
  requestFloor,
  revokeFloor,
  textFeature,
  textOf,
  uninvite,
  utterance,
  yieldFloor,
  type Manifest,
  type OfpEvent,
} from "../../src/ofp/index.js";

const USER = "tag:userproxy.example,2025:abc";
const AGENT = { speakerUri: "tag:travelbot.example,2025:0001", serviceUrl: "https://travelbot.example/ofp" };
const CONVENER = { speakerUri: "tag:convener.example,2025:1" };

const hello = dialogEvent({ id: "de:1", speakerUri: USER, startTime: new Date("2025-05-12T15:27:56Z"), text: "Give me the times to Vancouver!", lang: "en" });

const manifest: Manifest = buildManifest({
  identification: {
    ...AGENT,
    organization: "Travelbot Inc.",
    conversationalName: "travelbot",
    department: "Reservations",
    role: "Reservation Specialist",
    synopsis: "Reservation specialist.",
    openFloorRoles: { convener: false },
  },
  capabilities: [{ keyphrases: ["book", "flight"], descriptions: ["book flights"], languages: ["en-us"], supportedLayers: { input: ["text"], output: ["text"] } }],
});

/** One builder call per event type, and the versions it exists in. */
const EVENTS: [string, () => OfpEvent][] = [
  ["utterance", () => utterance({ dialogEvent: hello, to: { speakerUri: AGENT.speakerUri } })],
  ["context", () => contextEvent({ dialogHistory: [hello], extra: { summary: "booking" } })],
  ["invite", () => invite({ to: AGENT })],
  ["uninvite", () => uninvite({ to: { speakerUri: AGENT.speakerUri }, reason: "@timedOut" })],
  ["acceptInvite", () => acceptInvite({ to: CONVENER, reason: "ready" })],
  ["declineInvite", () => declineInvite({ to: CONVENER, reason: "@unavailable busy" })],
  ["bye", () => bye()],
  ["getManifests", () => getManifests({ to: { serviceUrl: AGENT.serviceUrl }, recommendScope: "internal" })],
  ["publishManifests", () => publishManifests({ to: { speakerUri: USER }, servicingManifests: [{ ...manifest, score: 0.9 }], discoveryManifests: [] })],
  ["requestFloor", () => requestFloor({ to: CONVENER, reason: "more to add" })],
  ["grantFloor", () => grantFloor({ to: { speakerUri: AGENT.speakerUri } })],
  ["revokeFloor", () => revokeFloor({ to: { speakerUri: AGENT.speakerUri }, reason: "@override" })],
  ["yieldFloor", () => yieldFloor({ reason: "@complete" })],
];

describe("§1.9 every event type: build → envelope → JSON → parse, in every version that has it", () => {
  for (const version of ["1.0.0", "1.0.1", "1.1.0"] as const) {
    for (const [type, build] of EVENTS) {
      const supported = OFP_EVENT_TYPES[version].includes(type);
      it(`${type} in ${version}: ${supported ? "round-trips" : "refused (not in this version)"}`, () => {
        const event = build();
        expect(event.eventType).toBe(type);
        if (!supported) {
          expect(() => buildOfpEnvelope({ version, conversation: "conv:1", sender: { speakerUri: USER }, events: [event] })).toThrow(
            expect.objectContaining({ code: "ERR_OFP_BUILD" }),
          );
          return;
        }
        const doc = buildOfpEnvelope({ version, conversation: "conv:1", sender: { speakerUri: USER }, events: [event] });
        const parsed = parseOfpEnvelope(JSON.stringify(doc));
        expect(parsed.version).toBe(version);
        expect(parsed.value).toStrictEqual(doc);
        expect(parsed.warnings).toStrictEqual([]);
        expect(parsed.envelope.events[0]).toStrictEqual(event);
      });
    }
  }
});

describe("typed access to parsed events", () => {
  it("narrowing on eventType gives typed parameters", () => {
    const doc = buildOfpEnvelope({
      conversation: { id: "conv:2", conversants: [conversantOf(manifest)], assignedFloorRoles: { convener: [AGENT.speakerUri] }, floorGranted: [USER] },
      sender: { speakerUri: USER },
      events: [utterance({ dialogEvent: hello }), invite({ to: AGENT, dialogHistory: [hello] }), getManifests({ recommendScope: "external" })],
    });
    const { envelope } = parseOfpEnvelope(doc);
    const seen: string[] = [];
    for (const e of envelope.events) {
      switch (e.eventType) {
        case "utterance":
          seen.push(textOf(e.parameters.dialogEvent) ?? "");
          break;
        case "invite":
          seen.push(`${e.parameters?.dialogHistory?.length} history`);
          break;
        case "getManifests":
          seen.push(e.parameters?.recommendScope ?? "internal");
          break;
        default:
          seen.push(e.eventType);
      }
    }
    expect(seen).toStrictEqual(["Give me the times to Vancouver!", "1 history", "external"]);
    expect(envelope.conversation.conversants?.[0]?.identification?.openFloorRoles).toStrictEqual({ convener: false });
  });
});

describe("dialog events, features and tokens (Dialog Event spec 1.0.2)", () => {
  it("dialogEvent: span from a Date or explicit, text shorthand, custom features", () => {
    expect(hello).toStrictEqual({
      id: "de:1",
      speakerUri: USER,
      span: { startTime: "2025-05-12T15:27:56.000Z" },
      features: { text: { mimeType: "text/plain", lang: "en", tokens: [{ value: "Give me the times to Vancouver!" }] } },
    });
    const rich = dialogEvent({
      id: "de:2",
      previousId: "de:1",
      speakerUri: USER,
      span: { startOffset: "PT0.5S", endOffset: "PT1.2S" },
      features: {
        text: textFeature(["what", "is", "the", "weather"], { confidence: 0.9 }),
        audio: feature("audio/wav", [{ valueUrl: "https://a.example/x.wav" }]),
        semantic: feature("text/x.semantic", [{ value: { intent: "Weather" }, links: ["$.text.tokens[3].value"] }], { lang: "en" }),
      },
    });
    expect(textOf(rich)).toBe("what is the weather");
    expect(textOf(rich, "audio")).toBeUndefined();
    expect(rich.features["semantic"]).toStrictEqual({ lang: "en", mimeType: "text/x.semantic", tokens: [{ value: { intent: "Weather" }, links: ["$.text.tokens[3].value"] }] });
  });
  it("refuses a dialog event without span or features", () => {
    expect(() => dialogEvent({ id: "x", speakerUri: USER, text: "hi" })).toThrow(expect.objectContaining({ code: "ERR_OFP_BUILD" }));
    expect(() => dialogEvent({ id: "x", speakerUri: USER, startTime: "2025-01-01T00:00:00Z" })).toThrow(expect.objectContaining({ code: "ERR_OFP_BUILD" }));
  });
});

describe("§1.8 `to` addressing and §1.10 private utterances", () => {
  it("privateUtterance sets to.private", () => {
    expect(privateUtterance({ to: { speakerUri: AGENT.speakerUri }, dialogEvent: hello }).to).toStrictEqual({ speakerUri: AGENT.speakerUri, private: true });
  });
  it("a `to` naming nobody is refused", () => {
    expect(() => bye({ to: { private: true } })).toThrow(OfpError);
  });
});

describe("builders refuse what would not validate", () => {
  it("a conversant without synopsis (strict schemas)", () => {
    const { synopsis: _s, ...id } = manifest.identification;
    expect(() => buildOfpEnvelope({ conversation: { id: "c", conversants: [{ identification: id }] }, sender: { speakerUri: USER }, events: [] })).toThrow(
      expect.objectContaining({ code: "ERR_OFP_BUILD", message: expect.stringContaining("/openFloor/conversation/conversants/0/identification/synopsis") }),
    );
  });
  it("openFloorRoles in a 1.0.0 conversant; a second convener", () => {
    expect(() => buildOfpEnvelope({ version: "1.0.0", conversation: { id: "c", conversants: [conversantOf(manifest)] }, sender: { speakerUri: USER }, events: [] })).toThrow(OfpError);
    expect(() => buildOfpEnvelope({ conversation: { id: "c", assignedFloorRoles: { convener: [USER, AGENT.speakerUri] } }, sender: { speakerUri: USER }, events: [] })).toThrow(OfpError);
  });
  it("a score outside 0.0-1.0; an unknown version; a manifest missing capabilities", () => {
    expect(() => publishManifests({ servicingManifests: [{ ...manifest, score: 14 }] })).toThrow(expect.objectContaining({ code: "ERR_OFP_BUILD" }));
    expect(() => buildOfpEnvelope({ version: "0.9.4" as "1.0.0", conversation: "c", sender: { speakerUri: USER }, events: [] })).toThrow(expect.objectContaining({ code: "ERR_OFP_VERSION" }));
    expect(() => buildManifest({ identification: manifest.identification } as Manifest)).toThrow(expect.objectContaining({ code: "ERR_OFP_BUILD" }));
  });
});

describe("OVON 0.9 builders (OVON §1.10-§1.13)", () => {
  const de = ovonDialogEvent({ id: "d1", speakerId: "agent08", startTime: "2023-06-19T03:09:07Z", text: "explain the side effects of citalopram" });
  it("whisper, utterance, invite and bye build a valid OVON envelope", () => {
    const doc = buildOvonEnvelope({
      version: "0.9.3",
      conversationId: "31050879662407560061859425913208",
      from: "https://pharmacy.example",
      events: [
        ovonUtterance({ dialogEvent: { ...de, speakerId: "user1" } }),
        ovonWhisper({ to: "https://mybot.pharmacy.example", private: true, dialogEvent: de, context: "history of depression" }),
        ovonInvite({ url: "https://mybot.pharmacy.example" }),
        ovonBye(),
      ],
    });
    const parsed = parseOvonEnvelope(JSON.stringify(doc));
    expect(parsed.version).toBe("0.9.3");
    expect(parsed.warnings).toStrictEqual([]);
    expect(parsed.envelope.events.map((e) => e.eventType)).toStrictEqual(["utterance", "whisper", "invite", "bye"]);
    expect(parsed.envelope.events[1]).toStrictEqual({
      eventType: "whisper",
      to: "https://mybot.pharmacy.example",
      private: true,
      parameters: { dialogEvent: de },
      context: "history of depression",
    });
  });
  it("0.9.0 has no discovery events", () => {
    expect(() => buildOvonEnvelope({ version: "0.9.0", conversationId: "c", from: "https://a", events: [{ eventType: "requestManifest" }] })).toThrow(
      expect.objectContaining({ code: "ERR_OFP_BUILD" }),
    );
  });
});
