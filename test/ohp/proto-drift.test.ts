import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DescMessage } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EnvelopeSchema } from "../../gen/ohp/v0_1/envelope_pb.js";
import { Handoff } from "../../gen/ohp/v0_1/handoff_pb.js";
import {
  envelopeBinaryToJson,
  envelopeFromJson,
  envelopeJsonToBinary,
  envelopeToJson,
  ProtoJsonError,
} from "../../src/ohp/proto-json.js";
import { REPO_DIR, extractedBlocks, upstreamEnvelopes } from "../helpers/upstream.js";

type Schema = { [k: string]: unknown };
const root = JSON.parse(readFileSync(join(REPO_DIR, "schemas/ohp/ohp-envelope.schema.json"), "utf8")) as Schema;

function deref(s: Schema): Schema {
  let cur = s;
  while (typeof cur["$ref"] === "string") {
    const path = (cur["$ref"] as string).replace(/^#\//, "").split("/");
    cur = path.reduce<Schema>((o, k) => o[k] as Schema, root);
  }
  return cur;
}

/** Walks schema and message side by side; returns mismatches as readable strings. */
function compare(schema: Schema, desc: DescMessage, at: string, out: string[]): void {
  const props = (deref(schema)["properties"] ?? {}) as Record<string, Schema>;
  const fields = new Map(desc.fields.map((f) => [f.jsonName, f]));
  for (const [name, rawChild] of Object.entries(props)) {
    const child = deref(rawChild);
    const field = fields.get(name);
    const here = `${at}/${name}`;
    if (!field) {
      out.push(`schema member ${here} has no proto field`);
      continue;
    }
    const type = child["type"];
    const types = Array.isArray(type) ? type : [type];
    if (types.includes("array")) {
      if (field.fieldKind !== "list") out.push(`${here}: schema array, proto ${field.fieldKind}`);
      else if (field.listKind === "message") compare(deref(child["items"] as Schema), field.message, `${here}/*`, out);
      else if (field.listKind !== "scalar") out.push(`${here}: list of ${field.listKind}`);
    } else if (types.includes("null")) {
      if (field.fieldKind !== "message" || field.message.typeName !== "google.protobuf.Value")
        out.push(`${here}: nullable member must be google.protobuf.Value`);
    } else if (types.includes("object")) {
      if (field.fieldKind !== "message") out.push(`${here}: schema object, proto ${field.fieldKind}`);
      else if (child["additionalProperties"] === true) {
        if (field.message.typeName !== "google.protobuf.Struct") out.push(`${here}: free-form object must be Struct`);
      } else compare(child, field.message, here, out);
    } else if (field.fieldKind !== "scalar" || !field.proto.proto3Optional) {
      out.push(`${here}: scalar must be a proto3 optional scalar`);
    } else {
      const scalarName = { string: 9, number: 1, boolean: 8 }[types[0] as "string" | "number" | "boolean"];
      if (field.proto.type !== scalarName) out.push(`${here}: JSON ${String(types[0])} vs proto type ${field.proto.type}`);
    }
  }
  for (const f of desc.fields) {
    if (at === "" && f.jsonName === "extraMembers") continue;
    if (!Object.hasOwn(props, f.jsonName)) out.push(`proto field ${at}/${f.jsonName} is not in the schema`);
  }
}

describe("§7.4 ohp/grpc: proto mirrors the JSON Schema (drift guard)", () => {
  it("full method name is /ohp.v0_1.Handoff/Stream, bidirectional", () => {
    expect(Handoff.typeName).toBe("ohp.v0_1.Handoff");
    expect(Handoff.method.stream.name).toBe("Stream");
    expect(Handoff.method.stream.methodKind).toBe("bidi_streaming");
    expect(Handoff.method.stream.input.typeName).toBe("ohp.v0_1.Envelope");
  });

  it("every schema member has a proto field with the same JSON name and kind, and vice versa", () => {
    const problems: string[] = [];
    compare(root, EnvelopeSchema, "", problems);
    expect(problems).toEqual([]);
  });
});

describe("§7.4 lossless JSON ↔ proto binary round trip", () => {
  for (const { name, json } of upstreamEnvelopes()) {
    it(`upstream ${name} survives JSON → binary → JSON unchanged`, () => {
      expect(envelopeBinaryToJson(envelopeJsonToBinary(json))).toStrictEqual(json);
    });
  }
  for (const { name, json } of extractedBlocks()) {
    if (typeof json !== "object" || json === null || !("control" in json)) continue;
    it(`extracted ${name} (even when schema-invalid) survives the round trip`, () => {
      expect(envelopeBinaryToJson(envelopeJsonToBinary(json))).toStrictEqual(json);
    });
  }

  it("ProtoJSON of a v0.1 envelope without empty optional arrays is exactly the OHP JSON", () => {
    const { json } = upstreamEnvelopes().find((e) => e.name.includes("04-regulated"))!;
    const env = envelopeFromJson(json);
    expect(env.extraMembers).toEqual([]);
    expect(envelopeToJson(env)).toStrictEqual(json);
  });

  it("a member unknown to the proto (future v0.2 field) crosses a binary hop intact, nested and top level", () => {
    const base = structuredClone(upstreamEnvelopes()[0]!.json) as Record<string, any>;
    base["futureTopLevel"] = { a: [1, 2.5, "x", null, true], b: {} };
    base["session"]["media"] = { ...(base["session"]["media"] ?? {}), dtlsFingerprint: "sha-256 AB:CD" };
    base["intent"]["stack"] = [{ name: "x", status: "pending", weight: 0.25 }];
    base["transcript"]["turns"] = [];
    base["control"]["fallback"] = { verb: "RETURN", after: "PT2S", acceptableReasons: [] };
    const env = envelopeFromJson(base);
    expect(env.extraMembers.map((m) => m.pointer)).toEqual(
      expect.arrayContaining(["/futureTopLevel", "/session/media/dtlsFingerprint", "/intent/stack/0/weight", "/transcript/turns"]),
    );
    expect(envelopeBinaryToJson(envelopeJsonToBinary(base))).toStrictEqual(base);
  });

  it("an empty required array (intent.stack) is restored even when a foreign client drops it", () => {
    const { json } = upstreamEnvelopes()[0]!;
    const env = envelopeFromJson(json);
    env.extraMembers = [];
    expect((envelopeToJson(env)["intent"] as Record<string, unknown>)["stack"]).toEqual([]);
  });

  it("null for string|null members round-trips as null (Value), null elsewhere as an extra member", () => {
    const env = structuredClone(upstreamEnvelopes().find((e) => e.name.includes("03-sealed"))!.json) as Record<string, any>;
    env["notBefore"] = null;
    expect(envelopeBinaryToJson(envelopeJsonToBinary(env))).toStrictEqual(env);
  });

  it("rejects JSON that the proto cannot hold with a typed error", () => {
    expect(() => envelopeFromJson([])).toThrow(ProtoJsonError);
    expect(() => envelopeFromJson({ intent: { current: { confidence: "high" } } })).toThrow(ProtoJsonError);
    expect(() => envelopeBinaryToJson(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(ProtoJsonError);
  });
});
