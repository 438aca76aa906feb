/** §1.1 "Syntax and Protocol": untrusted JSON in, typed envelopes out, typed errors otherwise. */
import { describe, expect, it } from "vitest";
import { OfpError, parseDialogEvent, parseManifest, parseOfpEnvelope, parseOvonEnvelope } from "../../src/ofp/index.js";
import { AgentwireError } from "../../src/errors.js";
import { upstreamSamples } from "./helpers.js";

const text = (name: string) => upstreamSamples().find((s) => s.name === name)!.text;
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof OfpError ? e.code : "not an OfpError";
  }
  return undefined;
};

describe("§1.1 strict JSON", () => {
  it("duplicate member names, unsafe integers and bad syntax are ERR_OFP_JSON (with the JSON pointer)", () => {
    expect(codeOf(() => parseOfpEnvelope('{"openFloor":{},"openFloor":{}}'))).toBe("ERR_OFP_JSON");
    expect(codeOf(() => parseOfpEnvelope('{"openFloor":{"n":9007199254740993}}'))).toBe("ERR_OFP_JSON");
    expect(codeOf(() => parseOfpEnvelope("{"))).toBe("ERR_OFP_JSON");
    try {
      parseOfpEnvelope('{"openFloor":{"events":[{"eventType":"bye","eventType":"bye"}]}}');
    } catch (e) {
      expect(e).toBeInstanceOf(AgentwireError);
      expect((e as OfpError).detail).toStrictEqual({ pointer: "/openFloor/events/0/eventType" });
    }
  });
  it("a document of another kind is ERR_OFP_NOT_ENVELOPE", () => {
    expect(codeOf(() => parseOfpEnvelope({ ovon: {} }))).toBe("ERR_OFP_NOT_ENVELOPE");
    expect(codeOf(() => parseOvonEnvelope({ openFloor: {} }))).toBe("ERR_OFP_NOT_ENVELOPE");
    expect(codeOf(() => parseOfpEnvelope("[]"))).toBe("ERR_OFP_NOT_ENVELOPE");
  });
  it("an invalid envelope is ERR_OFP_INVALID with every error in detail.errors", () => {
    try {
      parseOfpEnvelope({ openFloor: { schema: {}, conversation: {}, sender: {}, events: [{ eventType: "shout" }] } });
      expect.unreachable();
    } catch (e) {
      expect((e as OfpError).code).toBe("ERR_OFP_INVALID");
      expect((e as OfpError).message).toMatch(/^invalid an Open Floor envelope: \/openFloor\/conversation\/id: is required \[schema:required\] \(and 3 more\)$/);
      const errors = (e as OfpError).detail?.["errors"] as { pointer: string }[];
      expect(errors.map((i) => i.pointer)).toStrictEqual(["/openFloor/conversation/id", "/openFloor/events/0/eventType", "/openFloor/schema/version", "/openFloor/sender/speakerUri"]);
    }
  });
  it("the parsed value never aliases the input", () => {
    const input = JSON.parse(text("openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-bye.json")) as { openFloor: object };
    const parsed = parseOfpEnvelope(input);
    expect(parsed.value).toStrictEqual(input);
    expect(parsed.value).not.toBe(input);
    expect(parsed.envelope).not.toBe(input.openFloor);
  });
});

describe("lenient parsing of reference-library peers", () => {
  const python = text("openfloor-python/python/sample_json/envelope2.json");
  it("strict refuses, naming organization and synopsis", () => {
    expect(() => parseOfpEnvelope(python)).toThrow(/identification\/organization: is required/);
  });
  it("lenient accepts and reports them as warnings", () => {
    const parsed = parseOfpEnvelope(python, { lenient: true });
    expect(parsed.version).toBe("1.0.0");
    expect(parsed.warnings.map((w) => w.rule)).toStrictEqual(["lenient", "lenient"]);
    expect(parsed.envelope.conversation.conversants?.[0]?.identification?.organization).toBeUndefined();
  });
});

describe("standalone dialog events and manifests", () => {
  it("parseDialogEvent requires Dialog Event 1.0.2 (id included)", () => {
    const de = parseDialogEvent(text("openfloor-python/python/sample_json/dialog_event1.json"));
    expect(de.value.speakerUri).toBe("tag:userproxy.com,2025:abc123");
    expect(codeOf(() => parseDialogEvent({ speakerUri: "x", span: { startTime: "t" }, features: {} }))).toBe("ERR_OFP_INVALID");
    expect(codeOf(() => parseDialogEvent(text("openfloor-docs/schemas/dialog-event/1.0.1/sample-json/figure2.json")))).toBe("ERR_OFP_INVALID");
  });
  it("parseManifest checks Assistant Manifest 1.0.1 (lenient: organization/synopsis optional)", () => {
    expect(parseManifest(text("openfloor-python/python/sample_json/manifest1.json")).value.identification.conversationalName).toBe("travelbot");
    expect(parseManifest(text("openfloor-docs/schemas/assistant-manifest/1.0.1/sample-json/example-manifest2.json")).value.identification.openFloorRoles).toStrictEqual({
      convener: true,
      moderator: false,
      participant: true,
    });
    expect(codeOf(() => parseManifest(text("openfloor-docs/schemas/assistant-manifest/0.9.0/sample-json/example-manifest1.json")))).toBe("ERR_OFP_INVALID");
    const noOrg = { identification: { speakerUri: "tag:a,2025:1", serviceUrl: "https://a", conversationalName: "a" }, capabilities: [] };
    expect(codeOf(() => parseManifest(noOrg))).toBe("ERR_OFP_INVALID");
    expect(parseManifest(noOrg, { lenient: true }).warnings).toHaveLength(2);
  });
});
