/**
 * OVON 0.9 ↔ Open Floor 1.x translation (docs/ofp-translation.md): the field mapping, the
 * residue that makes OVON → Open Floor → OVON lossless, and the explicit failures.
 */
import { describe, expect, it } from "vitest";
import {
  OFP_RESIDUE_MEMBER,
  OVON_RESIDUE_MEMBER,
  openFloorToOvon,
  ovonToOpenFloor,
  translateEnvelope,
  validateOfp,
  type OfpDocument,
  type OvonDocument,
} from "../../src/ofp/index.js";
import { applyJsonPatch, diffJson } from "../../src/ofp/translate/json-patch.js";
import { upstreamOfpEnvelopes, upstreamOvonEnvelopes } from "./helpers.js";

const FOCAL = { serviceUrl: "https://focal.example" };

describe("OVON 0.9 → Open Floor 1.x → OVON 0.9 restores every upstream 0.9 sample exactly", () => {
  const samples = upstreamOvonEnvelopes();
  it("there are 36 upstream OVON envelopes", () => expect(samples).toHaveLength(36));
  for (const version of ["1.0.0", "1.0.1", "1.1.0"] as const) {
    for (const { name, json } of samples) {
      it(`${name} via ${version}`, () => {
        const there = ovonToOpenFloor(json, { version, whisperTo: FOCAL });
        expect(there.version).toBe(version);
        expect(validateOfp(there.document)).toMatchObject({ schema: `ofp-envelope-${version}`, valid: true, errors: [] });
        const back = openFloorToOvon(there.document);
        expect(back.restored).toBe(true);
        expect(back.losses).toStrictEqual([]);
        expect(back.document).toStrictEqual(json);
      });
    }
  }
});

describe("the mapping where OVON and Open Floor overlap", () => {
  const ovon: OvonDocument = {
    ovon: {
      schema: { version: "0.9.3" },
      conversation: { id: "conv-1", persistentState: { "www.example.com:k": "state" } },
      sender: { from: "https://sender.example", replyTo: "https://sender.example/reply" },
      responseCode: { code: 200 },
      events: [
        { eventType: "utterance", to: "https://agent.example", parameters: { dialogEvent: { speakerId: "u1", span: { startTime: "2024-01-01T00:00:00Z" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "hi" }] } }, "custom-id": "1" } } },
        { eventType: "whisper", to: "https://agent.example", context: "be brief", parameters: { dialogEvent: { speakerID: "a1", span: { startTime: "2024-01-01T00:00:01Z" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "summarise" }] }, audio: { mimeType: "audio/mpeg", "value-uri": "https://x.example/a.mp3" } } } } },
        { eventType: "invite", parameters: { to: { url: "https://agent.example" } } },
        { eventType: "requestManifest", to: "https://agent.example" },
        { eventType: "findAssistant", to: "https://discovery.example" },
        { eventType: "proposeAssistant", parameters: { servicingManifests: [{ identification: { serviceEndpoint: "https://books.example", synopsis: "books" }, score: 25 }] } },
        { eventType: "publishManifest", parameters: { manifest: { identification: { serviceEndpoint: "https://agent.example", organization: "Org", conversationalName: "agent", serviceName: "Desk", synopsis: "s" }, capabilities: [{ keyphrases: ["k"], descriptions: ["d"], supportedLayers: ["text"] }] } } },
        { eventType: "bye", private: true },
      ],
    },
  };
  const t = ovonToOpenFloor(ovon, { version: "1.0.0" });
  const of = t.document.openFloor;

  it("envelope: schema.version is the target; from → sender.speakerUri and serviceUrl; conversation.id", () => {
    expect(of.schema).toStrictEqual({ version: "1.0.0" });
    expect(of.sender).toStrictEqual({ speakerUri: "https://sender.example", serviceUrl: "https://sender.example" });
    expect(of.conversation).toStrictEqual({ id: "conv-1" });
  });
  it("events, one for one", () => {
    expect(of.events).toStrictEqual([
      { eventType: "utterance", to: { serviceUrl: "https://agent.example" }, parameters: { dialogEvent: { speakerUri: "u1", span: { startTime: "2024-01-01T00:00:00Z" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "hi" }] } }, "custom-id": "1" } } },
      // whisper → private utterance; speakerID (Dialog Event 1.0.0 spelling) → speakerUri; a feature without tokens stays behind
      { eventType: "utterance", to: { serviceUrl: "https://agent.example", private: true }, parameters: { dialogEvent: { speakerUri: "a1", span: { startTime: "2024-01-01T00:00:01Z" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "summarise" }] } } } } },
      { eventType: "invite", to: { serviceUrl: "https://agent.example" } },
      { eventType: "getManifests", to: { serviceUrl: "https://agent.example" } },
      { eventType: "getManifests", to: { serviceUrl: "https://discovery.example" }, parameters: { recommendScope: "all" } },
      { eventType: "publishManifests", parameters: { servicingManifests: [{ identification: { speakerUri: "https://books.example", serviceUrl: "https://books.example", synopsis: "books" }, score: 0.25 }] } },
      {
        eventType: "publishManifests",
        parameters: {
          servicingManifests: [
            {
              identification: { speakerUri: "https://agent.example", serviceUrl: "https://agent.example", organization: "Org", conversationalName: "agent", department: "Desk", synopsis: "s" },
              capabilities: [{ keyphrases: ["k"], descriptions: ["d"], supportedLayers: { input: ["text"], output: ["text"] } }],
            },
          ],
        },
      },
      { eventType: "bye" },
    ]);
  });
  it("what Open Floor cannot express is listed as losses and carried in openFloor.x-ovon", () => {
    expect(t.losses.map((l) => l.pointer).sort()).toStrictEqual([
      "/ovon/conversation/persistentState",
      "/ovon/events/1/context",
      "/ovon/events/1/parameters/dialogEvent/features/audio",
      "/ovon/events/1/parameters/dialogEvent/speakerID",
      "/ovon/events/1/parameters/dialogEvent/speakerId",
      "/ovon/events/7/private",
      "/ovon/responseCode",
      "/ovon/sender/replyTo",
    ]);
    expect(t.losses.every((l) => l.message.includes("carried in openFloor.x-ovon"))).toBe(true);
    expect(of[OVON_RESIDUE_MEMBER]).toMatchObject({ version: "0.9.3", base: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(openFloorToOvon(t.document).document).toStrictEqual(ovon);
  });
  it("carry: false drops the residue; the losses are still reported", () => {
    const dropped = ovonToOpenFloor(ovon, { carry: false });
    expect(OVON_RESIDUE_MEMBER in dropped.document.openFloor).toBe(false);
    expect(dropped.losses).toHaveLength(8);
    expect(dropped.losses.every((l) => l.message.includes("dropped"))).toBe(true);
    const back = openFloorToOvon(dropped.document, { version: "0.9.3" });
    expect(back.restored).toBe(false);
    expect(back.document.ovon.events[1]).toMatchObject({ eventType: "whisper", to: "https://agent.example" });
  });
});

describe("OVON whispers without a recipient", () => {
  const whisper = {
    ovon: { schema: { version: "0.9.1" }, conversation: { id: "c" }, sender: { from: "https://a.example" }, events: [{ eventType: "whisper", parameters: { dialogEvent: { speakerId: "a", span: { startTime: "t" }, features: { text: { mimeType: "text/plain", tokens: [{ value: "psst" }] } } } } }] },
  };
  it("need an explicit whisperTo (OVON's focal agent has no Open Floor equivalent)", () => {
    expect(() => ovonToOpenFloor(whisper)).toThrow(expect.objectContaining({ code: "ERR_OFP_TRANSLATE_UNSUPPORTED", detail: { pointer: "/ovon/events/0/to" } }));
    const t = ovonToOpenFloor(whisper, { whisperTo: { speakerUri: "tag:focal,2025:1" } });
    expect(t.document.openFloor.events[0]?.to).toStrictEqual({ speakerUri: "tag:focal,2025:1", private: true });
    expect(openFloorToOvon(t.document).document).toStrictEqual(whisper);
  });
});

describe("Open Floor 1.x → OVON 0.9 → Open Floor 1.x", () => {
  const OVON_EXPRESSIBLE = new Set(["utterance", "invite", "bye", "getManifests", "publishManifests", "publishManifest", "findAssistant", "proposeAssistant"]);
  const samples = upstreamOfpEnvelopes().filter((s) => validateOfp(s.json, { lenient: true }).valid);
  it("there are 68 valid upstream Open Floor envelopes (lenient)", () => expect(samples).toHaveLength(68));
  for (const { name, json } of samples) {
    const types = (json as OfpDocument).openFloor.events.map((e) => e.eventType);
    const expressible = types.every((t) => OVON_EXPRESSIBLE.has(t));
    it(`${name}: ${expressible ? "round-trips" : "refused, or round-trips with dropUnsupported"}`, () => {
      if (!expressible) {
        expect(() => openFloorToOvon(json, { lenient: true })).toThrow(expect.objectContaining({ code: "ERR_OFP_TRANSLATE_UNSUPPORTED" }));
      }
      const there = openFloorToOvon(json, { lenient: true, dropUnsupported: true });
      expect(validateOfp(there.document).valid).toBe(true);
      expect(there.losses.filter((l) => l.message.includes("(dropped)")).length).toBe(types.filter((t) => !OVON_EXPRESSIBLE.has(t)).length);
      const back = ovonToOpenFloor(there.document, { lenient: true });
      expect(back.restored).toBe(true);
      expect(back.document).toStrictEqual(json);
    });
  }
  it("OVON 0.9.0 has no discovery events: getManifests is refused there", () => {
    const doc = { openFloor: { schema: { version: "1.1.0" }, conversation: { id: "c" }, sender: { speakerUri: "tag:a,2025:1" }, events: [{ eventType: "getManifests" }] } };
    expect(() => openFloorToOvon(doc, { version: "0.9.0" })).toThrow(expect.objectContaining({ code: "ERR_OFP_TRANSLATE_UNSUPPORTED", detail: { pointer: "/openFloor/events/0/eventType" } }));
    expect(openFloorToOvon(doc, { version: "0.9.2" }).document.ovon.events).toStrictEqual([{ eventType: "requestManifest" }]);
  });
});

describe("residues are applied only where they belong", () => {
  const sample = upstreamOvonEnvelopes().find((s) => s.name.endsWith("0.9.2/sample-json/example-ovon-response-and-delegate-verbose.json"))!.json;
  const there = ovonToOpenFloor(sample, { version: "1.1.0", whisperTo: FOCAL }).document;

  it("translating back to another OVON version ignores it (and says so)", () => {
    const back = openFloorToOvon(there, { version: "0.9.3" });
    expect(back.restored).toBe(false);
    expect(back.document.ovon.schema.version).toBe("0.9.3");
    expect(back.losses[0]).toStrictEqual({ pointer: `/openFloor/${OVON_RESIDUE_MEMBER}`, message: expect.stringContaining("not applied") });
  });
  it("an envelope edited since translation is not patched", () => {
    const edited = structuredClone(there);
    edited.openFloor.conversation.id = "another";
    const back = openFloorToOvon(edited);
    expect(back.restored).toBe(false);
    expect(back.document.ovon.conversation.id).toBe("another");
  });
  it("a malformed residue is ERR_OFP_RESIDUE", () => {
    const bad = structuredClone(there) as unknown as { openFloor: Record<string, unknown> };
    bad.openFloor[OVON_RESIDUE_MEMBER] = { version: "0.9.2", base: "sha256:00", patch: [] };
    expect(() => openFloorToOvon(bad)).toThrow(expect.objectContaining({ code: "ERR_OFP_RESIDUE" }));
    const res = (there.openFloor[OVON_RESIDUE_MEMBER] as { base: string });
    bad.openFloor[OVON_RESIDUE_MEMBER] = { version: "0.9.2", base: res.base, patch: [{ op: "move", from: "/a", path: "/b" }] };
    expect(() => openFloorToOvon(bad)).toThrow(expect.objectContaining({ code: "ERR_OFP_RESIDUE" }));
  });
  it("the OVON side carries x-openFloor the same way", () => {
    const of = upstreamOfpEnvelopes().find((s) => s.name.endsWith("1.1.0/sample-json/example-multiparty-conversation.json"))!.json;
    const ovon = openFloorToOvon(of);
    expect(Object.keys(ovon.document.ovon)).toContain(OFP_RESIDUE_MEMBER);
    expect(ovon.losses.map((l) => l.pointer)).toEqual(expect.arrayContaining(["/openFloor/conversation/conversants", "/openFloor/conversation/assignedFloorRoles", "/openFloor/conversation/floorGranted"]));
  });
});

describe("translateEnvelope dispatches by family and re-labels within one", () => {
  const bye = (version: string, eventType = "bye") => ({ openFloor: { schema: { version }, conversation: { id: "c" }, sender: { speakerUri: "tag:a,2025:1" }, events: [{ eventType }] } });
  it("Open Floor 1.1.0 → 1.0.0 re-labels when the target admits everything", () => {
    const t = translateEnvelope(bye("1.1.0"), { to: "openFloor", version: "1.0.0" });
    expect(t.document).toStrictEqual(bye("1.0.0"));
  });
  it("acceptInvite does not exist in 1.0.0", () => {
    expect(() => translateEnvelope(bye("1.1.0", "acceptInvite"), { to: "openFloor", version: "1.0.0" })).toThrow(expect.objectContaining({ code: "ERR_OFP_TRANSLATE_UNSUPPORTED" }));
  });
  it("unknown target versions and non-envelopes are refused", () => {
    expect(() => translateEnvelope(bye("1.1.0"), { to: "openFloor", version: "2.0.0" })).toThrow(expect.objectContaining({ code: "ERR_OFP_VERSION" }));
    expect(() => translateEnvelope(bye("1.1.0"), { to: "ovon", version: "0.9.4" })).toThrow(expect.objectContaining({ code: "ERR_OFP_VERSION" }));
    expect(() => translateEnvelope({ hello: 1 }, { to: "ovon" })).toThrow(expect.objectContaining({ code: "ERR_OFP_NOT_ENVELOPE" }));
  });
  it("across families it is ovonToOpenFloor / openFloorToOvon", () => {
    expect(translateEnvelope(bye("1.1.0"), { to: "ovon" }).document).toMatchObject({ ovon: { schema: { version: "0.9.3" }, events: [{ eventType: "bye" }] } });
  });
});

describe("RFC 6902 residue patches", () => {
  it("diff then apply reproduces the target, nulls, arrays and odd keys included", () => {
    const a = { x: 1, list: [1, 2, 3], obj: { keep: true, drop: "me" }, same: [{ a: 1 }] };
    const b = { x: null, list: [1, 2], obj: { keep: true, "a/b~c": 2 }, same: [{ a: 2 }], ["__proto__"]: { polluted: true } } as Record<string, unknown>;
    const patch = diffJson(a, b as never);
    const out = applyJsonPatch(a, patch) as Record<string, unknown>;
    expect(out).toStrictEqual(b);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(patch).toContainEqual({ op: "replace", path: "/list", value: [1, 2] });
    expect(patch).toContainEqual({ op: "add", path: "/obj/a~1b~0c", value: 2 });
  });
  it("patches that do not fit are ERR_OFP_RESIDUE", () => {
    expect(() => applyJsonPatch({}, [{ op: "remove", path: "/missing" }])).toThrow(expect.objectContaining({ code: "ERR_OFP_RESIDUE" }));
    expect(() => applyJsonPatch([], [{ op: "replace", path: "/3", value: 1 }])).toThrow(expect.objectContaining({ code: "ERR_OFP_RESIDUE" }));
  });
});
