/**
 * OAP-CORE-1.0 §8.1 "gRPC transports MAY be offered": proto/oap/v1 ToolService, whose messages'
 * ProtoJSON is the OAP JSON; src/oap/proto-json.ts maps OAP JSON ⇄ messages losslessly (a
 * signature over the JSON survives a gRPC hop).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, toJson, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RequestEnvelopeSchema, ResponseEnvelopeSchema } from "../../gen/oap/v1/envelope_pb.js";
import { ReceiptSchema } from "../../gen/oap/v1/receipt_pb.js";
import { StreamEventSchema, TaskSchema } from "../../gen/oap/v1/task_pb.js";
import { ToolService } from "../../gen/oap/v1/tool_service_pb.js";
import { canonicalizeJson } from "../../src/jcs/index.js";
import type { JsonObject } from "../../src/json/types.js";
import {
  OapProtoJsonError,
  oapBinaryToJson,
  oapJsonToBinary,
  oapMessageFromJson,
  oapMessageToJson,
  receiptFromJson,
  receiptToJson,
  requestEnvelopeFromJson,
  requestEnvelopeToJson,
  responseEnvelopeFromJson,
  streamEventFromJson,
  streamEventToJson,
  taskFromJson,
  taskToJson,
} from "../../src/oap/proto-json.js";
import { ReceiptLedger, invocationReceiptBody } from "../../src/oap/receipts.js";
import { signDocument, signResponse, verifyReceiptSignatures, verifyRequest, verifyResponse } from "../../src/oap/sign.js";
import { oapIds } from "../../src/oap/util.js";
import { REPO_DIR } from "../helpers/upstream.js";
import { TOOL_DID, TestClock, agentSigner, codeOf, counterRandom, resolver, signedRequest, toolSigner, unsignedRequest, upstream } from "./helpers.js";

type Schema = { [k: string]: unknown };
const schemaOf = (name: string): Schema => JSON.parse(readFileSync(join(REPO_DIR, "schemas", "oap", `${name}.schema.json`), "utf8")) as Schema;

/** Walks schema and message side by side; returns mismatches. */
function compare(schema: Schema, desc: DescMessage, at: string, out: string[]): void {
  const props = (schema["properties"] ?? {}) as Record<string, Schema>;
  const fields = new Map(desc.fields.map((f) => [f.jsonName, f]));
  for (const [name, child] of Object.entries(props)) {
    const field = fields.get(name);
    const here = `${at}/${name}`;
    if (field === undefined) {
      out.push(`schema member ${here} has no proto field`);
      continue;
    }
    if (field.name !== name) out.push(`${here}: proto field name ${field.name} differs from the JSON name`);
    const type = child["type"];
    if (child["$ref"] !== undefined || (type === undefined && child["enum"] === undefined && child["const"] === undefined)) {
      const ok = field.fieldKind === "message" && ["google.protobuf.Value", "google.protobuf.Struct"].includes(field.message.typeName);
      if (!ok) out.push(`${here}: free-form member must be Value or Struct`);
    } else if (type === "array") {
      if (field.fieldKind !== "list") out.push(`${here}: schema array, proto ${field.fieldKind}`);
      else if (field.listKind === "message" && !field.message.typeName.startsWith("google.protobuf.")) compare(child["items"] as Schema, field.message, `${here}/*`, out);
    } else if (type === "object") {
      if (field.fieldKind !== "message") out.push(`${here}: schema object, proto ${field.fieldKind}`);
      else if (!field.message.typeName.startsWith("google.protobuf.")) compare(child, field.message, here, out);
      else if (child["properties"] !== undefined) out.push(`${here}: a typed object is a Struct`);
    } else if (field.fieldKind !== "scalar" || !field.proto.proto3Optional) {
      out.push(`${here}: scalar must be a proto3 optional scalar`);
    } else {
      const want = { string: [9], integer: [1, 13], number: [1], boolean: [8] }[(type ?? "string") as "string"];
      if (!want.includes(field.proto.type as number)) out.push(`${here}: JSON ${String(type)} vs proto type ${field.proto.type}`);
    }
  }
  for (const f of desc.fields) {
    if (f.jsonName === "extra_members") continue;
    if (!Object.hasOwn(props, f.jsonName)) out.push(`proto field ${at}/${f.jsonName} is not in the schema`);
  }
}

describe("§8.1 gRPC: oap.v1.ToolService", () => {
  it("full method names and streaming kinds", () => {
    expect(ToolService.typeName).toBe("oap.v1.ToolService");
    const m = ToolService.method;
    expect([m.invoke, m.stream, m.getTask, m.cancelTask, m.listTasks, m.watchTask, m.provideInput].map((x) => [x.name, x.methodKind, x.input.typeName, x.output.typeName])).toEqual([
      ["Invoke", "unary", "oap.v1.RequestEnvelope", "oap.v1.ResponseEnvelope"],
      ["Stream", "server_streaming", "oap.v1.RequestEnvelope", "oap.v1.StreamEvent"],
      ["GetTask", "unary", "oap.v1.GetTaskRequest", "oap.v1.Task"],
      ["CancelTask", "unary", "oap.v1.CancelTaskRequest", "oap.v1.Task"],
      ["ListTasks", "unary", "oap.v1.ListTasksRequest", "oap.v1.ListTasksResponse"],
      ["WatchTask", "server_streaming", "oap.v1.WatchTaskRequest", "oap.v1.TaskEvent"],
      ["ProvideInput", "unary", "oap.v1.ProvideInputRequest", "oap.v1.Task"],
    ]);
  });

  for (const [name, desc] of [
    ["oap-request-envelope", RequestEnvelopeSchema],
    ["oap-response-envelope", ResponseEnvelopeSchema],
    ["oap-receipt", ReceiptSchema],
  ] as const) {
    it(`${name}: every schema member has a field with the same (snake_case) JSON name and kind, and vice versa`, () => {
      const problems: string[] = [];
      compare(schemaOf(name), desc, "", problems);
      expect(problems).toEqual([]);
    });
  }
});

function roundTrip(desc: DescMessage, json: JsonObject): JsonObject {
  return oapBinaryToJson(desc, oapJsonToBinary(desc, json));
}

describe("ProtoJSON is the OAP JSON; conversion is lossless", () => {
  it("a typical signed request: plain ProtoJSON of the message is the envelope itself; the signature verifies after JSON → binary → JSON", async () => {
    const clock = new TestClock();
    const env = signedRequest(clock, { scope_id: "s", idempotency_key: "k", policy_assertions: { confidentiality_class: "confidential", provenance_tags: ["nda:x"] } });
    const msg = requestEnvelopeFromJson(env);
    expect(msg.extraMembers).toEqual([]);
    expect(toJson(RequestEnvelopeSchema, msg)).toEqual(env);
    const back = roundTrip(RequestEnvelopeSchema, env);
    expect(canonicalizeJson(back)).toBe(canonicalizeJson(env));
    await verifyRequest(back, resolver, { now: clock.now });
  });

  it("members the proto cannot hold travel in extra_members: open-object members, nulls, wrong JSON types, empty arrays", async () => {
    const clock = new TestClock();
    const odd = signDocument(unsignedRequest(clock, {
      context: { locale: "de-DE", currency: "EUR", jurisdiction_user: "DE", jurisdiction_agent: "DE", accessibility_profile: { simplified: true } },
      policy_assertions: { provenance_tags: [] },
      consent_receipt: null,
      scope_id: 42,
      input: null,
    }), agentSigner) as unknown as JsonObject;
    const msg = requestEnvelopeFromJson(odd);
    expect(msg.extraMembers.map((e) => e.pointer).sort()).toEqual(["/consent_receipt", "/context/accessibility_profile", "/policy_assertions/provenance_tags", "/scope_id"]);
    const back = requestEnvelopeToJson(msg);
    expect(canonicalizeJson(back)).toBe(canonicalizeJson(odd));
    await verifyRequest(back, resolver, { now: clock.now, validateSchema: false });
  });

  it("a signed response envelope (warnings: [], energy, attestations, error details) round-trips and verifies", async () => {
    const resp = signResponse(
      {
        oap_version: "1.0",
        request_id: "01J9V8B7H1ZK4D2A0M9R8F0KQX",
        response_id: "01J9V8B7HM3K8E2A0M9R8F0LZP",
        timestamp: "2026-05-02T10:00:00.215Z",
        status: "error",
        error: { code: "rate_limited", message: "slow", details: { retry_after_seconds: 3, nested: [1, "a", null] } },
        warnings: [],
        energy: { compute_kwh: "0.0000123", carbon_g_co2e: "0.0049" },
        attestations: [{ type: "email_dkim", evidence: { d: "x" } }],
        receipt: { id: "urn:oap:receipt:1", anchored_in: [] },
      },
      toolSigner,
    ) as unknown as JsonObject;
    const back = roundTrip(ResponseEnvelopeSchema, resp);
    expect(back).toEqual(resp);
    await verifyResponse(back, resolver, { toolDid: TOOL_DID });
    expect(responseEnvelopeFromJson(resp).extraMembers.map((e) => e.pointer)).toEqual(["/warnings", "/receipt/anchored_in"]);
  });

  it("receipts: the upstream examples and anchored ledger receipts round-trip; signatures still verify", async () => {
    for (const f of ["examples/weather-pro/receipt.json", "test-suite/schema/valid/receipt-genesis.json", "test-suite/schema/invalid/receipt-bad-id-no-signatures.json"]) {
      const r = upstream(f);
      expect(receiptToJson(receiptFromJson(r))).toEqual(r);
    }
    const clock = new TestClock();
    const ledger = new ReceiptLedger({ signer: toolSigner, clock: clock.now, ids: oapIds(clock.now, counterRandom()) });
    const { receipt } = await ledger.issue({
      ...invocationReceiptBody({ request: unsignedRequest(clock) as never, response: { output: { a: 1 } }, toolDid: TOOL_DID }),
      consumption_proof: { unit: "token", count: 1234, content_hash: `sha256:${"a".repeat(64)}` },
      citations: [{ provider_did: "did:web:k.example", knowledge_node_id: "n1", contribution_weight: 0.25 }],
      zkp: { system: "groth16", public_inputs: ["x"], proof: { pi_a: ["1", "2"] } },
      commerce_primitive: { preset: "per_invocation" },
    });
    const anchored = { ...receipt, anchors: [{ log_id: "log.example", log_index: 123456789012, inclusion_proof: "c2sp.org/tlog-proof@v1\nindex 0\n\ncp\n" }] };
    const back = roundTrip(ReceiptSchema, anchored);
    expect(back).toEqual(anchored);
    expect(receiptFromJson(anchored).extraMembers).toEqual([]);
    await verifyReceiptSignatures(back, resolver);
  });

  it("§9.1 stream events and §9.2 tasks: their JSON is their ProtoJSON (nested envelopes keep their extras)", () => {
    const complete = {
      seq: 7,
      event: "oap.complete",
      response: { oap_version: "1.0", request_id: "r", response_id: "s", timestamp: "2026-05-02T10:00:00Z", status: "ok", output: { x: 1 }, warnings: [], signature: { alg: "EdDSA", kid: "k", value: "v" } },
      receipt: upstream("test-suite/schema/valid/receipt-genesis.json"),
    };
    expect(streamEventToJson(streamEventFromJson(complete))).toEqual(complete);
    const progress = { seq: 1, event: "oap.progress", data: { pct: 40, note: "fetching" } };
    expect(streamEventToJson(streamEventFromJson(progress))).toEqual(progress);
    const task = {
      task_id: "urn:oap:task:01J9V8B7H1ZK4D2A0M9R8F0KQX",
      status: "awaiting_input",
      poll_url: "https://api.weatherpro.example/oap/tasks/01J9V8B7H1ZK4D2A0M9R8F0KQX",
      callback_url_supported: true,
      estimated_completion: "2026-05-02T10:05:00Z",
      transitions: [
        { seq: 1, status: "submitted", at: "2026-05-02T10:00:00Z" },
        { seq: 2, status: "awaiting_input", at: "2026-05-02T10:00:01Z", reason: "needs a date" },
      ],
      input_required: { schema: { type: "object", properties: { date: { type: "string" } } } },
    };
    expect(taskToJson(taskFromJson(task))).toEqual(task);
    expect(toJson(TaskSchema, taskFromJson(task))).toEqual(task);
  });

  it("agentwire's own messages refuse members they do not know; malformed binary is typed", async () => {
    expect(await codeOf(() => taskFromJson({ task_id: "t", colour: "blue" }))).toBe("ERR_OAP_PROTO_JSON");
    expect(await codeOf(() => oapMessageFromJson(StreamEventSchema, { seq: -1 }))).toBe("ERR_OAP_PROTO_JSON");
    expect(await codeOf(() => requestEnvelopeFromJson([1]))).toBe("ERR_OAP_PROTO_JSON");
    expect(await codeOf(() => oapBinaryToJson(RequestEnvelopeSchema, new Uint8Array([0xff, 0xff, 0xff])))).toBe("ERR_OAP_PROTO_BINARY");
    const bogus = create(RequestEnvelopeSchema, { extraMembers: [{ pointer: "/no/parent" }] });
    expect(() => oapMessageToJson(RequestEnvelopeSchema, bogus)).toThrow(OapProtoJsonError);
    expect(toBinary(RequestEnvelopeSchema, create(RequestEnvelopeSchema)).length).toBe(0);
  });
});
