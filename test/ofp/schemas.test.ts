/**
 * §3 "JSON Envelope Schema": our schemas/ofp and schemas/ovon are upstream's schemas under our
 * own $ids, compiled by codegen into types and validators like the OHP ones.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { schemas } from "../../gen/schemas.js";
import { OFP_EVENT_TYPES, OVON_EVENT_TYPES } from "../../src/ofp/versions.js";
import { REPO_DIR } from "../helpers/upstream.js";
import { UPSTREAM_OFP, upstreamSchemas } from "./helpers.js";

const DOCS = "openfloor-docs/schemas";

/** Our schema → its upstream file. */
const OURS: Record<string, string> = {
  "ofp/ofp-envelope-0.9.4": `${DOCS}/conversation-envelope/0.9.4/conversation-envelope-schema.json`,
  "ofp/ofp-envelope-1.0.0": `${DOCS}/conversation-envelope/1.0.0/conversation-envelope-schema.json`,
  "ofp/ofp-envelope-1.0.1": `${DOCS}/conversation-envelope/1.0.1/conversation-envelope-schema.json`,
  "ofp/ofp-envelope-1.1.0": `${DOCS}/conversation-envelope/1.1.0/conversation-envelope-schema.json`,
  "ofp/ofp-dialog-event-1.0.2": `${DOCS}/dialog-event/1.0.2/dialog-event-schema.json`,
  "ofp/ofp-assistant-manifest-1.0.0": `${DOCS}/assistant-manifest/1.0.0/assistant-manifest-schema.json`,
  "ofp/ofp-assistant-manifest-1.0.1": `${DOCS}/assistant-manifest/1.0.1/assistant-manifest-schema.json`,
  "ovon/ovon-envelope-0.9.0": `${DOCS}/conversation-envelope/0.9.0/conversation-envelope-schema.json`,
  "ovon/ovon-envelope-0.9.1": `${DOCS}/conversation-envelope/0.9.1/conversation-envelope-schema.json`,
  "ovon/ovon-envelope-0.9.2": `${DOCS}/conversation-envelope/0.9.2/conversation-envelope-schema.json`,
  "ovon/ovon-envelope-0.9.3": `${DOCS}/conversation-envelope/0.9.3/conversation-envelope-schema.json`,
  "ovon/ovon-dialog-event-1.0.1": `${DOCS}/dialog-event/1.0.1/dialog-event-schema.json`,
  "ovon/ovon-assistant-manifest-0.9.0": `${DOCS}/assistant-manifest/0.9.0/assistant-manifest-schema.json`,
  "ovon/ovon-assistant-manifest-0.9.1": `${DOCS}/assistant-manifest/0.9.1/assistant-manifest-schema.json`,
  "ovon/ovon-assistant-manifest-0.9.2": `${DOCS}/assistant-manifest/0.9.2/assistant-manifest-schema.json`,
};

const readJson = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>;
const ours = (key: string): Record<string, unknown> => readJson(join(REPO_DIR, "schemas", `${key}.schema.json`));
const upstream = (rel: string): Record<string, unknown> => readJson(join(UPSTREAM_OFP, rel));

describe("§3 our schemas are upstream's, under our own $id", () => {
  for (const [key, rel] of Object.entries(OURS)) {
    it(`${key} equals ${rel} except $id${key.includes("dialog-event") ? " and $schema" : ""}`, () => {
      const a = ours(key);
      const b = upstream(rel);
      expect(a["$id"]).toBe(`https://schemas.agentwire.dev/${key.split("/")[0]}/${rel.slice(DOCS.length + 1)}`);
      expect(a["$schema"]).toBe("https://json-schema.org/draft/2020-12/schema");
      // Upstream dialog event schemas name a meta-schema that does not exist ("https://openvoicenetwork.org/schema").
      if (key.includes("dialog-event")) expect(b["$schema"]).toBe("https://openvoicenetwork.org/schema");
      expect({ ...a, $id: null, $schema: null }).toStrictEqual({ ...b, $id: null, $schema: null });
    });
  }

  it("every shipped OFP/OVON schema is in the generated registry, with its validator", () => {
    for (const key of Object.keys(OURS)) {
      const name = key.split("/")[1] as keyof typeof schemas;
      expect(schemas[name].file).toBe(`schemas/${key}.schema.json`);
      expect(typeof schemas[name].validate).toBe("function");
    }
  });

  it("upstream's own copies agree: openfloor-js bundles the openfloor-docs schemas (reformatted), lib-interop differs only in $id", () => {
    expect(upstream("openfloor-js/schemas/conversation-envelope/1.0.0/conversation-envelope-schema.json")).toStrictEqual(upstream(`${DOCS}/conversation-envelope/1.0.0/conversation-envelope-schema.json`));
    expect(upstream("openfloor-js/schemas/dialog-event/1.0.2/dialog-event-schema.json")).toStrictEqual(upstream(`${DOCS}/dialog-event/1.0.2/dialog-event-schema.json`));
    expect(upstream("openfloor-js/schemas/assistant-manifest/1.0.0/assistant-manifest-schema.json")).toStrictEqual(upstream(`${DOCS}/assistant-manifest/1.0.0/assistant-manifest-schema.json`));
    for (const n of ["assistant-manifest", "conversation-envelope", "dialog-event"]) {
      expect(readFileSync(join(UPSTREAM_OFP, `openfloor-js/docs/media/${n}-schema.json`), "utf8")).toBe(
        readFileSync(join(UPSTREAM_OFP, `openfloor-js/schemas/${n}/${n === "dialog-event" ? "1.0.2" : "1.0.0"}/${n}-schema.json`), "utf8"),
      );
    }
    for (const rel of ["conversation-envelope/0.9.0/conversation-envelope-schema.json", "dialog-event/1.0.0/dialog-event-schema.json", "dialog-event/1.0.1/dialog-event-schema.json"]) {
      const { $id: _a, ...lib } = upstream(`lib-interop/schemas/${rel}`);
      const { $id: _b, ...docs } = upstream(`${DOCS}/${rel}`);
      expect(lib).toStrictEqual(docs);
    }
  });

  it("every upstream schema file is either shipped or accounted for", () => {
    const shipped = new Set(Object.values(OURS));
    const notShipped = upstreamSchemas()
      .map((f) => f.name)
      .filter((n) => !shipped.has(n));
    // Dialog event 1.0.0 (kebab-case `speaker-id`, referenced by no envelope) and upstream's
    // duplicate copies, compared with the shipped ones above.
    expect(notShipped).toStrictEqual([
      "lib-interop/schemas/conversation-envelope/0.9.0/conversation-envelope-schema.json",
      "lib-interop/schemas/dialog-event/1.0.0/dialog-event-schema.json",
      "lib-interop/schemas/dialog-event/1.0.1/dialog-event-schema.json",
      "openfloor-docs/schemas/dialog-event/1.0.0/dialog-event-schema.json",
      "openfloor-js/docs/media/assistant-manifest-schema.json",
      "openfloor-js/docs/media/conversation-envelope-schema.json",
      "openfloor-js/docs/media/dialog-event-schema.json",
      "openfloor-js/schemas/assistant-manifest/1.0.0/assistant-manifest-schema.json",
      "openfloor-js/schemas/conversation-envelope/1.0.0/conversation-envelope-schema.json",
      "openfloor-js/schemas/dialog-event/1.0.2/dialog-event-schema.json",
    ]);
  });
});

describe("§1.9 event types: the version tables mirror the schemas' eventType enums", () => {
  const enumOf = (s: Record<string, unknown>): unknown => {
    const root = (s["properties"] as Record<string, { properties: Record<string, { items: { properties: { eventType: { enum: unknown } } } }> }>)[
      Object.keys(s["properties"] as object)[0] as string
    ];
    return root?.properties["events"]?.items.properties.eventType.enum;
  };
  for (const [v, types] of Object.entries(OFP_EVENT_TYPES)) {
    it(`Open Floor ${v}`, () => expect(types).toStrictEqual(enumOf(ours(`ofp/ofp-envelope-${v}`))));
  }
  for (const [v, types] of Object.entries(OVON_EVENT_TYPES)) {
    it(`OVON ${v}`, () => expect(types).toStrictEqual(enumOf(ours(`ovon/ovon-envelope-${v}`))));
  }
  it("1.0.1 added acceptInvite and dropped context (and the 0.9 discovery leftovers)", () => {
    expect(OFP_EVENT_TYPES["1.0.0"]).not.toContain("acceptInvite");
    expect(OFP_EVENT_TYPES["1.0.1"]).toContain("acceptInvite");
    expect(OFP_EVENT_TYPES["1.0.1"]).not.toContain("context");
  });
});

describe("§1.6.2 floor roles in the 1.0.1+ schemas", () => {
  const v = schemas["ofp-envelope-1.1.0"].validate;
  const base = (conversation: object) => ({ openFloor: { schema: { version: "1.1.0" }, conversation: { id: "c", ...conversation }, sender: { speakerUri: "tag:a,2025:1" }, events: [] } });
  it("convener has at most one speakerUri; other roles any number", () => {
    expect(v(base({ assignedFloorRoles: { convener: ["tag:a,2025:1"], moderator: ["tag:b,2025:1", "tag:c,2025:1"] } }))).toBe(true);
    expect(v(base({ assignedFloorRoles: { convener: ["tag:a,2025:1", "tag:b,2025:1"] } }))).toBe(false);
  });
  it("openFloorRoles are booleans; 1.0.0 does not know them", () => {
    const id = { speakerUri: "tag:a,2025:1", serviceUrl: "https://a", organization: "A", conversationalName: "a", synopsis: "s", openFloorRoles: { convener: true } };
    expect(v(base({ conversants: [{ identification: id }] }))).toBe(true);
    expect(v(base({ conversants: [{ identification: { ...id, openFloorRoles: { convener: "yes" } } }] }))).toBe(false);
    expect(schemas["ofp-envelope-1.0.0"].validate({ openFloor: { ...base({ conversants: [{ identification: id }] }).openFloor, schema: { version: "1.0.0" } } })).toBe(false);
  });
});
