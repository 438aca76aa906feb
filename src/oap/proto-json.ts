/**
 * Lossless conversion between OAP JSON documents and the `oap.v1` protobuf messages
 * (proto/oap/v1). ProtoJSON already maps every member by its json_name (the OAP snake_case
 * name); what ProtoJSON cannot carry is handled here so that a signature over the JSON data
 * model survives a gRPC hop:
 *  1. members the proto has no field for (members of open objects such as `context`, or values
 *     whose JSON type the field cannot hold, e.g. a JSON null for a string) travel in the
 *     nearest enclosing message's `extra_members` as {pointer, value};
 *  2. proto3 cannot tell an empty repeated field from an absent one, so an empty array gets an
 *     `extra_members` presence marker.
 * Messages without `extra_members` (Task, StreamEvent, the RPC requests) are agentwire's own
 * JSON: their JSON form is defined as their ProtoJSON, and members they do not know are an error.
 *
 * "Lossless" means equal as a JSON data model (member order aside), so the JCS bytes — and
 * hence signatures and receipt hashes — are unchanged.
 *
 * @module
 */
import { fromBinary, fromJson, toBinary, toJson, ScalarType, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { RequestEnvelopeSchema, ResponseEnvelopeSchema, type RequestEnvelope, type ResponseEnvelope } from "../../gen/oap/v1/envelope_pb.js";
import { ReceiptSchema, type Receipt } from "../../gen/oap/v1/receipt_pb.js";
import { StreamEventSchema, TaskSchema, type StreamEvent, type Task } from "../../gen/oap/v1/task_pb.js";
import { AgentwireError } from "../errors.js";
import { escapePointerToken, getAtPointer, setAtPointer } from "../json/pointer.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";

/** Raised when a JSON document cannot be represented as (or rebuilt from) an oap.v1 message. */
export class OapProtoJsonError extends AgentwireError<"ERR_OAP_PROTO_JSON" | "ERR_OAP_PROTO_BINARY"> {}

const EXTRAS = "extra_members";
const STRUCT = "google.protobuf.Struct";
const VALUE = "google.protobuf.Value";
const LIST_VALUE = "google.protobuf.ListValue";

const fieldsByJsonName = new WeakMap<DescMessage, Map<string, DescField>>();
function fieldMap(desc: DescMessage): Map<string, DescField> {
  let m = fieldsByJsonName.get(desc);
  if (m === undefined) {
    m = new Map(desc.fields.filter((f) => f.jsonName !== EXTRAS).map((f) => [f.jsonName, f]));
    fieldsByJsonName.set(desc, m);
  }
  return m;
}

function hasExtras(desc: DescMessage): boolean {
  return desc.fields.some((f) => f.jsonName === EXTRAS);
}

/** True when a JSON value has the JSON type a scalar of type `t` is written as. */
function fitsScalar(t: ScalarType, v: JsonValue): boolean {
  switch (t) {
    case ScalarType.STRING:
      return typeof v === "string";
    case ScalarType.BOOL:
      return typeof v === "boolean";
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return typeof v === "number" && Number.isFinite(v) && (t === ScalarType.DOUBLE || Math.fround(v) === v);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff && !Object.is(v, -0);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff && !Object.is(v, -0);
    default:
      // 64-bit integers and bytes are JSON strings in ProtoJSON: OAP messages use neither.
      return false;
  }
}

function fitsMessageValue(typeName: string, v: JsonValue): boolean {
  if (typeName === VALUE) return true;
  if (typeName === STRUCT) return isJsonObject(v);
  if (typeName === LIST_VALUE) return Array.isArray(v);
  return isJsonObject(v);
}

interface Extra {
  pointer: string;
  value: JsonValue;
}

/** The ProtoJSON object for `json` as message `desc` (extras collected when `desc` has the field). */
function prepare(json: JsonObject, desc: DescMessage, where: string): JsonObject {
  if (!hasExtras(desc)) return split(json, desc, "", undefined, where);
  const extras: Extra[] = [];
  const known = split(json, desc, "", extras, where);
  if (extras.length > 0) known[EXTRAS] = extras.map((e) => ({ pointer: e.pointer, value: e.value }));
  return known;
}

function split(json: JsonObject, desc: DescMessage, pointer: string, extras: Extra[] | undefined, where: string): JsonObject {
  const known: JsonObject = {};
  const fields = fieldMap(desc);
  const extra = (p: string, value: JsonValue): void => {
    if (extras === undefined) throw new OapProtoJsonError("ERR_OAP_PROTO_JSON", `${where}${p}: no ${desc.typeName} field can hold this member`);
    extras.push({ pointer: p, value });
  };
  for (const [key, value] of Object.entries(json)) {
    const p = `${pointer}/${escapePointerToken(key)}`;
    const field = fields.get(key);
    if (field === undefined) {
      extra(p, value);
      continue;
    }
    switch (field.fieldKind) {
      case "scalar":
        if (fitsScalar(field.scalar, value)) known[key] = value;
        else extra(p, value);
        break;
      case "message": {
        const child = field.message;
        if (!fitsMessageValue(child.typeName, value)) extra(p, value);
        else if (child.typeName === VALUE || child.typeName === STRUCT || child.typeName === LIST_VALUE) known[key] = value;
        else known[key] = hasExtras(child) ? prepare(value as JsonObject, child, `${where}${p}`) : split(value as JsonObject, child, p, extras, where);
        break;
      }
      case "list": {
        if (!Array.isArray(value)) {
          extra(p, value);
          break;
        }
        if (value.length === 0) {
          // proto3 drops empty repeated fields: keep the array as a presence marker.
          if (extras !== undefined) extras.push({ pointer: p, value: [] });
          break;
        }
        if (field.listKind === "scalar") {
          const t = field.scalar;
          if (value.every((v) => fitsScalar(t, v))) known[key] = value;
          else extra(p, value);
        } else if (field.listKind === "message") {
          const child = field.message;
          if (!value.every((v) => fitsMessageValue(child.typeName, v))) {
            extra(p, value);
          } else if (child.typeName === VALUE || child.typeName === STRUCT || child.typeName === LIST_VALUE) {
            known[key] = value;
          } else {
            known[key] = value.map((item, i) =>
              hasExtras(child) ? prepare(item as JsonObject, child, `${where}${p}/${i}`) : split(item as JsonObject, child, `${p}/${i}`, extras, where),
            );
          }
        } else {
          extra(p, value);
        }
        break;
      }
      default:
        extra(p, value);
    }
  }
  return known;
}

/** Re-applies `extra_members` (and removes the field) in every extras-carrying message of `json`. */
function restore(json: JsonValue, desc: DescMessage): void {
  if (!isJsonObject(json)) return;
  const fields = fieldMap(desc);
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    if (field === undefined) continue;
    if (field.fieldKind === "message" && ![VALUE, STRUCT, LIST_VALUE].includes(field.message.typeName)) restore(value, field.message);
    if (field.fieldKind === "list" && field.listKind === "message" && ![VALUE, STRUCT, LIST_VALUE].includes(field.message.typeName) && Array.isArray(value)) {
      for (const item of value) restore(item, field.message);
    }
  }
  if (!hasExtras(desc)) return;
  const extras = json[EXTRAS];
  delete json[EXTRAS];
  if (!Array.isArray(extras)) return;
  for (const e of extras) {
    const p = isJsonObject(e) && typeof e["pointer"] === "string" ? e["pointer"] : "";
    const value = isJsonObject(e) && Object.hasOwn(e, "value") ? (e["value"] as JsonValue) : null;
    const parent = p.replace(/\/[^/]*$/u, "");
    if (p === "" || getAtPointer(json, parent) === undefined) {
      throw new OapProtoJsonError("ERR_OAP_PROTO_JSON", `extra member ${JSON.stringify(p)} has no parent in the ${desc.typeName}`);
    }
    setAtPointer(json, p, value);
  }
}

/**
 * The oap.v1 message for an OAP JSON document. Lossless: {@link oapMessageToJson} of the result
 * equals `json` as a JSON data model. Throws OapProtoJsonError for members a message without
 * `extra_members` cannot hold.
 */
export function oapMessageFromJson<Desc extends DescMessage>(schema: Desc, json: unknown): MessageShape<Desc> {
  if (!isJsonObject(json)) throw new OapProtoJsonError("ERR_OAP_PROTO_JSON", `a ${schema.typeName} must be a JSON object`);
  const prepared = prepare(json, schema, "");
  try {
    return fromJson(schema, prepared);
  } catch (cause) {
    throw new OapProtoJsonError("ERR_OAP_PROTO_JSON", `the document does not fit ${schema.typeName}: ${(cause as Error).message}`, { cause });
  }
}

/** The OAP JSON document of an oap.v1 message (inverse of {@link oapMessageFromJson}). */
export function oapMessageToJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): JsonObject {
  const json = toJson(schema, message) as JsonValue;
  if (!isJsonObject(json)) throw new OapProtoJsonError("ERR_OAP_PROTO_JSON", `ProtoJSON of a ${schema.typeName} is not an object`);
  restore(json, schema);
  return json;
}

/** JSON document → protobuf binary. */
export function oapJsonToBinary<Desc extends DescMessage>(schema: Desc, json: unknown): Uint8Array {
  return toBinary(schema, oapMessageFromJson(schema, json));
}

/** Protobuf binary → JSON document (OapProtoJsonError ERR_OAP_PROTO_BINARY on malformed bytes). */
export function oapBinaryToJson<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): JsonObject {
  let message: MessageShape<Desc>;
  try {
    message = fromBinary(schema, bytes);
  } catch (cause) {
    throw new OapProtoJsonError("ERR_OAP_PROTO_BINARY", `malformed ${schema.typeName} bytes: ${(cause as Error).message}`, { cause });
  }
  return oapMessageToJson(schema, message);
}

/** §8.2 request envelope JSON → `oap.v1.RequestEnvelope`. */
export function requestEnvelopeFromJson(json: unknown): RequestEnvelope {
  return oapMessageFromJson(RequestEnvelopeSchema, json);
}
/** `oap.v1.RequestEnvelope` → §8.2 request envelope JSON. */
export function requestEnvelopeToJson(message: RequestEnvelope): JsonObject {
  return oapMessageToJson(RequestEnvelopeSchema, message);
}
/** §8.3 response envelope JSON → `oap.v1.ResponseEnvelope`. */
export function responseEnvelopeFromJson(json: unknown): ResponseEnvelope {
  return oapMessageFromJson(ResponseEnvelopeSchema, json);
}
/** `oap.v1.ResponseEnvelope` → §8.3 response envelope JSON. */
export function responseEnvelopeToJson(message: ResponseEnvelope): JsonObject {
  return oapMessageToJson(ResponseEnvelopeSchema, message);
}
/** §19.1 receipt JSON → `oap.v1.Receipt`. */
export function receiptFromJson(json: unknown): Receipt {
  return oapMessageFromJson(ReceiptSchema, json);
}
/** `oap.v1.Receipt` → §19.1 receipt JSON. */
export function receiptToJson(message: Receipt): JsonObject {
  return oapMessageToJson(ReceiptSchema, message);
}
/** §9.2 task JSON → `oap.v1.Task`. */
export function taskFromJson(json: unknown): Task {
  return oapMessageFromJson(TaskSchema, json);
}
/** `oap.v1.Task` → §9.2 task JSON. */
export function taskToJson(message: Task): JsonObject {
  return oapMessageToJson(TaskSchema, message);
}
/** §9.1 stream event JSON (the SSE `data:` payload) → `oap.v1.StreamEvent`. */
export function streamEventFromJson(json: unknown): StreamEvent {
  return oapMessageFromJson(StreamEventSchema, json);
}
/** `oap.v1.StreamEvent` → §9.1 stream event JSON. */
export function streamEventToJson(message: StreamEvent): JsonObject {
  return oapMessageToJson(StreamEventSchema, message);
}
