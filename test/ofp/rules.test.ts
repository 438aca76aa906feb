/** The specification rules the schemas cannot express (src/ofp/rules.ts), one section per describe. */
import { describe, expect, it } from "vitest";
import { validateOfp, type OfpValidation } from "../../src/ofp/index.js";

const SPEAKER = "tag:user.example,2025:1";
const de = (extra: Record<string, unknown> = {}) => ({
  id: "de1",
  speakerUri: SPEAKER,
  span: { startTime: "2025-01-01T00:00:00Z" },
  features: { text: { mimeType: "text/plain", tokens: [{ value: "hello" }] } },
  ...extra,
});
const envelope = (events: unknown[], conversation: Record<string, unknown> = {}, version = "1.1.0") => ({
  openFloor: { schema: { version }, conversation: { id: "c1", ...conversation }, sender: { speakerUri: SPEAKER }, events },
});
const at = (r: OfpValidation, kind: "errors" | "warnings") => r[kind].map((i) => `${i.pointer} [${i.rule}]`);

describe("§1.8 events object", () => {
  it("each event must have an eventType", () => {
    expect(at(validateOfp(envelope([{ to: { speakerUri: SPEAKER } }])), "errors")).toStrictEqual(["/openFloor/events/0/eventType [§1.8]"]);
  });
  it("a `to` must name a speakerUri or a serviceUrl", () => {
    expect(at(validateOfp(envelope([{ eventType: "bye", to: { private: true } }])), "errors")).toStrictEqual(["/openFloor/events/0/to [§1.8]"]);
    expect(validateOfp(envelope([{ eventType: "bye", to: { serviceUrl: "https://b.example" } }])).valid).toBe(true);
  });
});

describe("§1.10 utterance events", () => {
  it("an utterance needs parameters.dialogEvent", () => {
    expect(at(validateOfp(envelope([{ eventType: "utterance" }])), "errors")).toStrictEqual(["/openFloor/events/0/parameters/dialogEvent [§1.10]"]);
  });
  it("the dialog event must be a Dialog Event 1.0.2 (errors located inside the envelope)", () => {
    const r = validateOfp(envelope([{ eventType: "utterance", parameters: { dialogEvent: { ...de(), speakerUri: undefined, span: {} } } }]));
    expect(r.errors.map((e) => e.pointer)).toEqual(
      expect.arrayContaining(["/openFloor/events/0/parameters/dialogEvent/speakerUri", "/openFloor/events/0/parameters/dialogEvent/span/startTime"]),
    );
    expect(r.errors.every((e) => e.rule === "§1.10 (ofp-dialog-event-1.0.2)")).toBe(true);
  });
  it("a missing dialog event id is only a warning (no upstream envelope sample has one)", () => {
    const { id: _id, ...noId } = de();
    const r = validateOfp(envelope([{ eventType: "utterance", parameters: { dialogEvent: noId } }]));
    expect(r.valid).toBe(true);
    expect(at(r, "warnings")).toStrictEqual(["/openFloor/events/0/parameters/dialogEvent/id [§1.10 (ofp-dialog-event-1.0.2)]"]);
  });
  it("utterance parameters admit nothing but dialogEvent (schema)", () => {
    expect(validateOfp(envelope([{ eventType: "utterance", parameters: { dialogEvent: de(), extra: 1 } }])).valid).toBe(false);
  });
});

describe("§1.10.1 the text feature is mandatory", () => {
  it("an utterance whose dialog event has no `text` feature is invalid", () => {
    const audioOnly = de({ features: { audio: { mimeType: "audio/wav", tokens: [{ valueUrl: "https://a.example/x.wav" }] } } });
    expect(at(validateOfp(envelope([{ eventType: "utterance", parameters: { dialogEvent: audioOnly } }])), "errors")).toStrictEqual([
      "/openFloor/events/0/parameters/dialogEvent/features/text [§1.10.1]",
    ]);
  });
});

describe("§1.12 invite", () => {
  it("dialogHistory entries are dialog events (1.0.1+)", () => {
    const r = validateOfp(envelope([{ eventType: "invite", to: { serviceUrl: "https://b.example" }, parameters: { dialogHistory: [de(), { speakerUri: SPEAKER }] } }]));
    expect(r.errors.map((e) => e.pointer)).toEqual(expect.arrayContaining(["/openFloor/events/0/parameters/dialogHistory/1/features", "/openFloor/events/0/parameters/dialogHistory/1/span"]));
  });
  it("1.0.0 invites are bare; 1.0.0 context events carry the dialog history", () => {
    expect(validateOfp(envelope([{ eventType: "invite", parameters: { dialogHistory: [de()] } }], {}, "1.0.0")).valid).toBe(false);
    expect(validateOfp(envelope([{ eventType: "context", parameters: { dialogHistory: [de()], anything: { else: 1 } } }], {}, "1.0.0")).valid).toBe(true);
    expect(validateOfp(envelope([{ eventType: "context", parameters: { dialogHistory: [{}] } }], {}, "1.0.0")).errors.map((e) => e.rule)).toContain("§1.12 (ofp-dialog-event-1.0.2)");
  });
  it("an invite's `to` should name the serviceUrl (warning)", () => {
    const r = validateOfp(envelope([{ eventType: "invite", to: { speakerUri: "tag:b,2025:1" } }]));
    expect(r.valid).toBe(true);
    expect(at(r, "warnings")).toStrictEqual(["/openFloor/events/0/to/serviceUrl [§1.12]"]);
  });
});

describe("§1.6 conversation object", () => {
  const id = (uri: string) => ({ identification: { speakerUri: uri, serviceUrl: "https://a.example", organization: "A", conversationalName: "a", synopsis: "s" } });
  it("§1.6.1 conversants are mandatory with assignedFloorRoles or floorGranted (warning)", () => {
    expect(at(validateOfp(envelope([], { floorGranted: [SPEAKER] })), "warnings")).toStrictEqual(["/openFloor/conversation/conversants [§1.6.1]"]);
  });
  it("§1.6.2 role holders must be listed in conversants (warning)", () => {
    const r = validateOfp(envelope([], { conversants: [id(SPEAKER)], assignedFloorRoles: { convener: ["tag:other,2025:9"], "x/y": [SPEAKER] } }));
    expect(r.valid).toBe(true);
    expect(at(r, "warnings")).toStrictEqual(["/openFloor/conversation/assignedFloorRoles/convener/0 [§1.6.2]"]);
  });
  it("1.0.0 identification rejects members it does not define, such as openFloorRoles (schema)", () => {
    const c = id(SPEAKER);
    const r = validateOfp(envelope([], { conversants: [{ identification: { ...c.identification, openFloorRoles: { convener: true } } }] }, "1.0.0"));
    expect(r.errors.map((e) => e.pointer)).toStrictEqual(["/openFloor/conversation/conversants/0/identification"]);
  });
});

describe("§1.18 publishManifests", () => {
  const manifest = { identification: { speakerUri: SPEAKER, serviceUrl: "https://a.example", organization: "A", conversationalName: "a", synopsis: "s" }, capabilities: [] };
  it("manifest lists must be arrays of objects with identification (error)", () => {
    expect(at(validateOfp(envelope([{ eventType: "publishManifests", parameters: { servicingManifests: {} } }])), "errors")).toStrictEqual([
      "/openFloor/events/0/parameters/servicingManifests [§1.18]",
    ]);
    expect(at(validateOfp(envelope([{ eventType: "publishManifests", parameters: { discoveryManifests: [{ score: 1 }] } }])), "errors")).toStrictEqual([
      "/openFloor/events/0/parameters/discoveryManifests/0/identification [§1.18]",
    ]);
  });
  it("manifest-schema problems and scores outside 0.0-1.0 are warnings", () => {
    const r = validateOfp(envelope([{ eventType: "publishManifests", parameters: { servicingManifests: [{ ...manifest, score: 14 }, { identification: {} }] } }]));
    expect(r.valid).toBe(true);
    expect(r.warnings.map((w) => w.pointer)).toEqual(
      expect.arrayContaining(["/openFloor/events/0/parameters/servicingManifests/0/score", "/openFloor/events/0/parameters/servicingManifests/1/capabilities"]),
    );
  });
});

describe("lenient mode", () => {
  const python = envelope([], { conversants: [{ identification: { speakerUri: SPEAKER, serviceUrl: "https://u.example", conversationalName: "John", role: "User" } }] }, "1.0.0");
  it("strict: the missing identification members are errors, by name", () => {
    expect(validateOfp(python).errors.map((e) => e.pointer)).toStrictEqual([
      "/openFloor/conversation/conversants/0/identification/organization",
      "/openFloor/conversation/conversants/0/identification/synopsis",
    ]);
  });
  it("lenient: they become warnings (rule `lenient`); nothing else is relaxed", () => {
    const r = validateOfp(python, { lenient: true });
    expect(r.valid).toBe(true);
    expect(at(r, "warnings")).toStrictEqual([
      "/openFloor/conversation/conversants/0/identification/organization [lenient]",
      "/openFloor/conversation/conversants/0/identification/synopsis [lenient]",
    ]);
    const noName = structuredClone(python) as unknown as { openFloor: { conversation: { conversants: { identification: Record<string, unknown> }[] } } };
    delete noName.openFloor.conversation.conversants[0]!.identification["conversationalName"];
    expect(validateOfp(noName, { lenient: true }).errors.map((e) => e.pointer)).toStrictEqual(["/openFloor/conversation/conversants/0/identification/conversationalName"]);
  });
  it("applies to manifests too", () => {
    const m = { identification: { speakerUri: SPEAKER, serviceUrl: "https://a.example", conversationalName: "a" }, capabilities: [] };
    expect(validateOfp(m).valid).toBe(false);
    expect(validateOfp(m, { lenient: true }).valid).toBe(true);
  });
});

describe("OVON §1.8/§1.10 rules", () => {
  const ovon = (events: unknown[]) => ({ ovon: { schema: { version: "0.9.1" }, conversation: { id: "c" }, sender: { from: "https://a.example" }, events } });
  it("eventType is required; `to` is a URL string and `private` a boolean", () => {
    expect(at(validateOfp(ovon([{ to: 5, private: "yes" }])), "errors")).toStrictEqual(["/ovon/events/0/eventType [OVON §1.8]", "/ovon/events/0/private [OVON §1.8]", "/ovon/events/0/to [OVON §1.8]"]);
  });
  it("dialog events that break Dialog Event 1.0.1 are warnings only", () => {
    const r = validateOfp(ovon([{ eventType: "whisper", parameters: { dialogEvent: { speakerID: "x", span: {}, features: {} } } }]));
    expect(r.valid).toBe(true);
    expect(r.warnings.map((w) => w.pointer)).toEqual(expect.arrayContaining(["/ovon/events/0/parameters/dialogEvent/speakerId", "/ovon/events/0/parameters/dialogEvent/id"]));
  });
});
