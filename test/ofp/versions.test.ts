/** §1.5 "Schema Object": which schema a document's declared version selects, and document detection. */
import { describe, expect, it } from "vitest";
import { detectSchema } from "../../src/schema/validate.js";
import { detectOfpSchema, ofpDocumentKind, resolveOfpVersion, resolveOvonVersion, validateOfp } from "../../src/ofp/index.js";

const env = (version: unknown) => ({ openFloor: { schema: { version }, conversation: { id: "c" }, sender: { speakerUri: "tag:a,2025:1" }, events: [] } });

describe("§1.5 the declared schema.version selects the schema", () => {
  it("shipped versions select themselves", () => {
    for (const v of ["0.9.4", "1.0.0", "1.0.1", "1.1.0"]) expect(resolveOfpVersion(v)).toStrictEqual({ version: v, declared: v, exact: true });
    for (const v of ["0.9.0", "0.9.1", "0.9.2", "0.9.3"]) expect(resolveOvonVersion(v)).toStrictEqual({ version: v, declared: v, exact: true });
  });
  it("an unknown patch level selects the newest shipped version of its major.minor line", () => {
    expect(resolveOfpVersion("1.1.1")).toMatchObject({ version: "1.1.0", exact: false });
    expect(resolveOfpVersion("1.0.7")).toMatchObject({ version: "1.0.1", exact: false });
    expect(resolveOfpVersion("1.0")).toMatchObject({ version: "1.0.1", exact: false });
    expect(resolveOfpVersion("0.9.2")).toMatchObject({ version: "0.9.4", exact: false });
    expect(resolveOvonVersion("0.9.7")).toMatchObject({ version: "0.9.3", exact: false });
  });
  it("anything else selects the newest version", () => {
    expect(resolveOfpVersion("2.0.0")).toMatchObject({ version: "1.1.0", exact: false });
    expect(resolveOfpVersion(undefined)).toStrictEqual({ version: "1.1.0", declared: undefined, exact: false });
    expect(resolveOfpVersion(110)).toMatchObject({ version: "1.1.0", declared: undefined });
    expect(resolveOvonVersion("1.0")).toMatchObject({ version: "0.9.3", exact: false });
  });
  it("a version without its own schema is a warning naming the schema used", () => {
    const r = validateOfp(env("1.1.1"));
    expect(r).toMatchObject({ schema: "ofp-envelope-1.1.0", declaredVersion: "1.1.1", valid: true });
    expect(r.warnings).toStrictEqual([{ pointer: "/openFloor/schema/version", message: 'no schema for version "1.1.1": validated against 1.1.0', rule: "§1.5" }]);
  });
  it("a missing or non-string version is a schema error", () => {
    expect(validateOfp(env(undefined)).errors.map((e) => e.pointer)).toContain("/openFloor/schema/version");
    expect(validateOfp(env(1)).errors.map((e) => e.pointer)).toContain("/openFloor/schema/version");
  });
});

describe("detection: `openFloor` / `ovon` envelopes, dialog events, manifests", () => {
  it("detectSchema (agentwire validate) recognises each kind", () => {
    expect(detectSchema(env("1.0.1"))).toBe("ofp-envelope-1.0.1");
    expect(detectSchema({ ovon: { schema: { version: "0.9.1" }, conversation: { id: "c" }, sender: { from: "https://a" }, events: [] } })).toBe("ovon-envelope-0.9.1");
    expect(detectSchema({ id: "d", speakerUri: "tag:a,2025:1", span: { startTime: "2025-01-01T00:00:00Z" }, features: {} })).toBe("ofp-dialog-event-1.0.2");
    expect(detectSchema({ id: "d", speakerId: "a", span: { startTime: "2025-01-01T00:00:00Z" }, features: {} })).toBe("ovon-dialog-event-1.0.1");
    expect(detectSchema({ identification: { speakerUri: "tag:a,2025:1", serviceUrl: "https://a" }, capabilities: [] })).toBe("ofp-assistant-manifest-1.0.1");
    expect(detectSchema({ identification: { serviceEndpoint: "https://a", serviceName: "x" }, capabilities: [] })).toBe("ovon-assistant-manifest-0.9.0");
    expect(detectSchema({ identification: { serviceEndpoint: "https://a" }, capabilities: [{ supportedLayers: { input: [], output: [] } }] })).toBe("ovon-assistant-manifest-0.9.1");
  });
  it("OHP documents keep their detection; other JSON is nothing", () => {
    expect(detectSchema({ ohp: "0.1", conformance: "core" })).toBe("ohp-envelope");
    expect(detectOfpSchema({ hello: 1 })).toBeUndefined();
    expect(ofpDocumentKind([])).toBeUndefined();
    expect(ofpDocumentKind({ openFloor: "1.0.0" })).toBeUndefined();
    expect(validateOfp({ hello: 1 })).toMatchObject({ schema: undefined, valid: false });
  });
});
