/**
 * Regression tests for the bugs the fuzzers found (docs/fuzzing.md, "Findings"): each input is
 * the minimised counter-example, and each must now fail with a typed error.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ListValueSchema, ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { EnvelopeSchema, ExtraMemberSchema, IntentSchema } from "../../gen/ohp/v0_1/envelope_pb.js";
import { AgentwireError } from "../../src/errors.js";
import { envelopeBinaryToJson, envelopeFromJson, envelopeJsonToBinary, ProtoJsonError } from "../../src/ohp/proto-json.js";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { keyPairFromSeed } from "../../src/crypto/keys.js";
import { applyMetadataPolicy, decodeEntityStatement, FederationError, mergeMetadataPolicies, mergeParameterPolicies, resolveMetadata, verifyTrustChain } from "../../src/trust/federation/index.js";
import { closeSchema } from "../../src/oap/actions.js";
import { disclosureFrameFor } from "../../src/trust/sdjwt/index.js";
import { createTlogHandler, ed25519NoteSigner, MemoryLogStore, TransparencyLog } from "../../src/trust/tlog/index.js";
import { invoke } from "./http-mock.js";
import { buildFederation, leafKey, NOW, trustAnchors } from "../trust/federation/helpers.js";
import { ohpVectors } from "./corpus.js";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

async function rejected(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

const b64u = (v: unknown): string => Buffer.from(JSON.stringify(v), "utf8").toString("base64url");

describe("fuzz regressions: src/ohp/proto-json.ts", () => {
  const withExtra = (value: Value): Uint8Array =>
    toBinary(EnvelopeSchema, create(EnvelopeSchema, { id: "env_1", extraMembers: [create(ExtraMemberSchema, { pointer: "/x", value })] }));

  it("envelopeBinaryToJson: an extra member whose google.protobuf.Value has no kind is ERR_PROTO_JSON (was a plain Error)", () => {
    const e = thrown(() => envelopeBinaryToJson(withExtra(create(ValueSchema, {}))));
    expect(e).toBeInstanceOf(ProtoJsonError);
    expect((e as ProtoJsonError).code).toBe("ERR_PROTO_JSON");
  });

  it("envelopeBinaryToJson: a google.protobuf.Value holding NaN or ±Infinity is ERR_PROTO_JSON (was a plain Error)", () => {
    for (const n of [Number.NaN, Infinity, -Infinity]) {
      const e = thrown(() => envelopeBinaryToJson(withExtra(create(ValueSchema, { kind: { case: "numberValue", value: n } }))));
      expect(e).toBeInstanceOf(ProtoJsonError);
      expect((e as ProtoJsonError).code).toBe("ERR_PROTO_JSON");
    }
  });

  it("envelopeBinaryToJson: a NaN inside a Struct field (intent.slots) is ERR_PROTO_JSON", () => {
    // protobuf-es models Struct fields as plain JSON objects; NaN still goes over the wire as a double.
    const bytes = toBinary(EnvelopeSchema, create(EnvelopeSchema, { id: "env_1", intent: create(IntentSchema, { slots: { a: Number.NaN } as never }) }));
    const e = thrown(() => envelopeBinaryToJson(bytes));
    expect(e).toBeInstanceOf(ProtoJsonError);
  });

  it("envelopeFromJson / envelopeJsonToBinary: an extra member nested beyond protobuf-es's recursion limit is ERR_PROTO_JSON (was a plain Error)", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 150; i++) deep = [deep];
    const env = { ...(ohpVectors()[0]?.envelope as object), extra: deep };
    for (const fn of [() => envelopeFromJson(env), () => envelopeJsonToBinary(env)]) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(ProtoJsonError);
      expect((e as ProtoJsonError).code).toBe("ERR_PROTO_JSON");
    }
  });

  it("a well-formed Value still round-trips", () => {
    const list = create(ValueSchema, { kind: { case: "listValue", value: create(ListValueSchema, { values: [create(ValueSchema, { kind: { case: "numberValue", value: 1.5 } })] }) } });
    expect(envelopeBinaryToJson(withExtra(list))["x"]).toEqual([1.5]);
  });
});

describe("fuzz regressions: src/trust/federation/statement.ts", () => {
  it("decodeEntityStatement: claims nested 5000 levels deep are ERR_FED_MALFORMED (was a RangeError in metadata policy handling)", () => {
    const deep = `${"[".repeat(5000)}1${"]".repeat(5000)}`;
    const payload = `{"iss":"https://a.example","sub":"https://a.example","iat":1,"exp":2,"jwks":{"keys":[]},"metadata":{"t":{"p":${deep}}}}`;
    const jwt = `${b64u({ alg: "EdDSA", typ: "entity-statement+jwt", kid: "k" })}.${Buffer.from(payload, "utf8").toString("base64url")}.c2ln`;
    const e = thrown(() => decodeEntityStatement(jwt));
    expect(e).toBeInstanceOf(FederationError);
    expect((e as FederationError).code).toBe("ERR_FED_MALFORMED");
  });

  it("verifyTrustChain: a leaf entity configuration (self-signed, attacker-controlled) with deep metadata is a typed rejection", async () => {
    const fed = await buildFederation();
    const [h, p] = fed.leafEc.split(".") as [string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
    const body = Buffer.from(`{"iss":${JSON.stringify(payload["iss"])},"sub":${JSON.stringify(payload["sub"])},"iat":${String(payload["iat"])},"exp":${String(payload["exp"])},"jwks":${JSON.stringify(payload["jwks"])},"authority_hints":${JSON.stringify(payload["authority_hints"])},"metadata":{"ohp_issuer":{"x":${'{"a":'.repeat(6000)}"x"${"}".repeat(6000)}}}}`, "utf8").toString("base64url");
    const signature = Buffer.from(leafKey.sign(Buffer.from(`${h}.${body}`, "latin1"))).toString("base64url");
    const e = await rejected(verifyTrustChain([`${h}.${body}.${signature}`, ...fed.chain.slice(1)], { trustAnchors, now: NOW }));
    expect(e).toBeInstanceOf(AgentwireError);
    expect((e as AgentwireError).code).toBe("ERR_FED_MALFORMED");
  });

  it("decodeEntityStatement: duplicate claim names are rejected (strict JSON)", () => {
    const header = b64u({ alg: "EdDSA", typ: "entity-statement+jwt", kid: "k" });
    const payload = Buffer.from('{"iss":"https://a.example","iss":"https://b.example","sub":"https://a.example","iat":1,"exp":2,"jwks":{"keys":[]}}').toString("base64url");
    const e = thrown(() => decodeEntityStatement(`${header}.${payload}.c2ln`));
    expect((e as FederationError).code).toBe("ERR_FED_MALFORMED");
  });
});

describe("fuzz regressions: src/trust/federation/policy.ts", () => {
  // Found by `npm run fuzz` (FUZZ_SEED=1193146493): an entity type "__proto__" made
  // mergeMetadataPolicies write parameter policies onto Object.prototype (every object in the
  // process gained them); with a parameter also named "__proto__" it crashed with a TypeError.
  const policy = (text: string) => JSON.parse(text) as never;

  it("metadata_policy keyed __proto__ stays data: nothing reaches Object.prototype", () => {
    const merged = mergeMetadataPolicies([policy('{"__proto__": {"polluted": {"value": 1}}}'), policy('{"__proto__": {"__proto__": {"value": 2}}}')]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.getPrototypeOf(Object.prototype)).toBeNull();
    expect(Object.hasOwn(merged, "__proto__")).toBe(true);
    expect(Object.keys(merged["__proto__" as never] as object)).toEqual(["polluted", "__proto__"]);
  });

  it("applyMetadataPolicy and resolveMetadata keep __proto__ entity types and parameters as own members", () => {
    const merged = mergeMetadataPolicies([policy('{"__proto__": {"__proto__": {"value": {"x": 1}}, "a": {"default": 7}}}')]);
    const applied = applyMetadataPolicy(policy('{"__proto__": {"b": 2}}'), merged) as Record<string, Record<string, unknown>>;
    const t = Object.getOwnPropertyDescriptor(applied, "__proto__")?.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(applied)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(t, "__proto__")?.value).toEqual({ x: 1 });
    expect(t["a"]).toBe(7);
    const resolved = resolveMetadata(policy('{"__proto__": {"c": 3}}'), policy('{"__proto__": {"d": 4}}'), []) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(resolved, "__proto__")?.value).toEqual({ c: 3, d: 4 });
    expect(({} as Record<string, unknown>)["c"]).toBeUndefined();
  });

  it("a subordinate operator named __proto__ is an own member of the merged parameter policy, not its prototype", () => {
    const merged = mergeParameterPolicies("t.p", { essential: false } as never, policy('{"__proto__": {"essential": true}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect((merged as Record<string, unknown>)["essential"]).toBe(false);
  });
});

describe("prototype-safe maps: src/trust/sdjwt/issue.ts", () => {
  it("disclosureFrameFor: a claim named __proto__ on a disclosable path is an own frame member; nothing reaches Object.prototype", () => {
    const claims = JSON.parse('{"__proto__": {"street": "x", "city": "y"}}') as Record<string, unknown>;
    const frame = disclosureFrameFor(claims, ["__proto__.street", "__proto__.city"]);
    expect(({} as Record<string, unknown>)["_sd"]).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(frame, "__proto__")?.value).toEqual({ _sd: ["street", "city"] });
  });
});

describe("prototype-safe maps: src/oap/actions.ts", () => {
  it("closeSchema keeps a schema member named __proto__ as an own member, the copy's prototype untouched", () => {
    const closed = closeSchema(JSON.parse('{"type": "object", "properties": {"a": {"type": "string"}}, "__proto__": {"x": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(closed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(closed, "__proto__")?.value).toEqual({ x: 1 });
    expect(closed["unevaluatedProperties"]).toBe(false);
  });
});

describe("fuzz regressions: src/trust/tlog/server.ts", () => {
  it('a request target "//" (valid HTTP, an empty authority to WHATWG URL) is a 400, not a 500 ERR_TLOG_INTERNAL', async () => {
    const key = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x73));
    const log = new TransparencyLog(new MemoryLogStore(), { origin: "regression.example/log", signers: [ed25519NoteSigner("regression.example/log", key)] });
    const handler = createTlogHandler({ log });
    for (const url of ["//", "//?index=1"]) {
      const { response } = await invoke(handler, { method: "GET", url, headers: {}, chunks: [] });
      expect(response.status, url).toBe(400);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: "ERR_TLOG_HTTP_BAD_REQUEST" } });
    }
  });
});
