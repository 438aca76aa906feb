/**
 * Lossless conversion between the OHP JSON envelope and the protobuf `ohp.v0_1.Envelope`.
 *
 * ProtoJSON (protobuf-es `fromJson`/`toJson`) already maps every v0.1 member by its json_name.
 * Two things ProtoJSON cannot carry are handled here, so that a signature over the JSON data
 * model survives a gRPC hop:
 *  1. members the proto has no field for (a future OHP addition, or a JSON `null` where the
 *     proto has a plain scalar) travel in `extra_members` as {pointer, value};
 *  2. proto3 cannot tell an empty repeated field from an absent one: arrays the schema requires
 *     are restored as [] (gen/schemas.ts OHP_ENVELOPE_REQUIRED_ARRAYS), and empty optional
 *     arrays get an `extra_members` presence marker.
 */
import { fromBinary, fromJson, toBinary, toJson, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { EnvelopeSchema, ExtraMemberSchema, type Envelope, type ExtraMember } from "../../gen/ohp/v0_1/envelope_pb.js";
import { OHP_ENVELOPE_REQUIRED_ARRAYS } from "../../gen/schemas.js";
import { AgentwireError } from "../errors.js";
import { escapePointerToken, getAtPointer, setAtPointer } from "../json/pointer.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { create } from "@bufbuild/protobuf";

/** Raised when a JSON envelope cannot be represented as (or rebuilt from) the proto. */
export class ProtoJsonError extends AgentwireError {}

const REQUIRED_ARRAYS = new Set(OHP_ENVELOPE_REQUIRED_ARRAYS);
const WKT_PASSTHROUGH = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);

const fieldsByJsonName = new WeakMap<DescMessage, Map<string, DescField>>();
function fieldMap(desc: DescMessage): Map<string, DescField> {
  let m = fieldsByJsonName.get(desc);
  if (!m) {
    m = new Map(desc.fields.map((f) => [f.jsonName, f]));
    fieldsByJsonName.set(desc, m);
  }
  return m;
}

function isValueField(field: DescField): boolean {
  return field.fieldKind === "message" && field.message.typeName === "google.protobuf.Value";
}

/** Splits `json` into the part the proto knows and a list of extra members. */
function split(
  json: JsonObject,
  desc: DescMessage,
  pointer: string,
  pattern: string,
  extras: { pointer: string; value: JsonValue }[],
): JsonObject {
  const known: JsonObject = {};
  const fields = fieldMap(desc);
  for (const [key, value] of Object.entries(json)) {
    const p = `${pointer}/${escapePointerToken(key)}`;
    const pat = `${pattern}/${escapePointerToken(key)}`;
    const field = fields.get(key);
    if (field === undefined || (value === null && !isValueField(field))) {
      extras.push({ pointer: p, value });
      continue;
    }
    if (field.fieldKind === "message" && !WKT_PASSTHROUGH.has(field.message.typeName) && isJsonObject(value)) {
      known[key] = split(value, field.message, p, pat, extras);
    } else if (field.fieldKind === "list" && Array.isArray(value)) {
      if (value.length === 0) {
        if (!REQUIRED_ARRAYS.has(pat)) extras.push({ pointer: p, value: [] });
        continue;
      }
      const itemDesc = field.listKind === "message" ? field.message : undefined;
      known[key] =
        itemDesc === undefined || WKT_PASSTHROUGH.has(itemDesc.typeName)
          ? value
          : value.map((item, i) => (isJsonObject(item) ? split(item, itemDesc, `${p}/${i}`, `${pat}/*`, extras) : item));
    } else {
      known[key] = value;
    }
  }
  return known;
}

/**
 * Builds the protobuf Envelope for an OHP JSON envelope. Lossless: `envelopeToJson` of the
 * result equals `json` as a JSON data model. Throws ProtoJsonError (ERR_PROTO_JSON) when a
 * member known to the proto has a JSON type the proto cannot hold (such input also fails the
 * JSON Schema).
 */
export function envelopeFromJson(json: unknown): Envelope {
  if (!isJsonObject(json)) throw new ProtoJsonError("ERR_PROTO_JSON", "an OHP envelope must be a JSON object");
  const extras: { pointer: string; value: JsonValue }[] = [];
  const known = split(json, EnvelopeSchema, "", "", extras);
  let env: Envelope;
  try {
    env = fromJson(EnvelopeSchema, known);
    // Inside the try: fromJson(Value) throws plain Errors too (nesting beyond protobuf-es's
    // recursion limit of 100, found by the fuzzer).
    env.extraMembers = extras.map(
      (e): ExtraMember => create(ExtraMemberSchema, { pointer: e.pointer, value: fromJson(ValueSchema, e.value) }),
    );
  } catch (cause) {
    throw new ProtoJsonError("ERR_PROTO_JSON", `envelope does not fit ohp.v0_1.Envelope: ${(cause as Error).message}`, {
      cause,
    });
  }
  return env;
}

function restoreRequiredArrays(doc: JsonObject): void {
  for (const pattern of REQUIRED_ARRAYS) {
    const tokens = pattern.slice(1).split("/");
    const walk = (node: JsonValue | undefined, i: number): void => {
      if (node === undefined) return;
      const token = tokens[i] as string;
      if (token === "*") {
        if (Array.isArray(node)) for (const item of node) walk(item, i + 1);
        return;
      }
      if (!isJsonObject(node)) return;
      if (i === tokens.length - 1) {
        if (!Object.hasOwn(node, token)) node[token] = [];
        return;
      }
      walk(Object.hasOwn(node, token) ? node[token] : undefined, i + 1);
    };
    walk(doc, 0);
  }
}

/**
 * ProtoJSON of a decoded message. protobuf-es throws a plain Error for messages that have no JSON
 * form (a `google.protobuf.Value` with no kind or a NaN/±Infinity number, found by the fuzzer):
 * that is malformed input, so it becomes a ProtoJsonError.
 */
function protoJson<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (cause) {
    throw new ProtoJsonError("ERR_PROTO_JSON", `${what} has no JSON form: ${(cause as Error).message}`, { cause });
  }
}

/** Rebuilds the OHP JSON envelope from a protobuf Envelope (inverse of envelopeFromJson). */
export function envelopeToJson(env: Envelope): JsonObject {
  const { extraMembers } = env;
  const bare = { ...env, extraMembers: [] } as Envelope;
  const json = protoJson("the envelope", () => toJson(EnvelopeSchema, bare) as JsonValue);
  if (!isJsonObject(json)) throw new ProtoJsonError("ERR_PROTO_JSON", "ProtoJSON of an Envelope is not an object");
  restoreRequiredArrays(json);
  for (const extra of extraMembers) {
    const pointer = extra.pointer ?? "";
    const v = extra.value;
    const value = v === undefined ? null : protoJson(`extra member ${JSON.stringify(pointer)}`, () => toJson(ValueSchema, v) as JsonValue);
    if (pointer === "" || getAtPointer(json, pointer.replace(/\/[^/]*$/, "")) === undefined) {
      throw new ProtoJsonError("ERR_PROTO_JSON", `extra member ${JSON.stringify(pointer)} has no parent in the envelope`);
    }
    setAtPointer(json, pointer, value);
  }
  return json;
}

/** JSON envelope → protobuf binary (the ohp/grpc wire form). */
export function envelopeJsonToBinary(json: unknown): Uint8Array {
  return toBinary(EnvelopeSchema, envelopeFromJson(json));
}

/** Protobuf binary → JSON envelope. Throws ProtoJsonError on malformed bytes. */
export function envelopeBinaryToJson(bytes: Uint8Array): JsonObject {
  let env: Envelope;
  try {
    env = fromBinary(EnvelopeSchema, bytes);
  } catch (cause) {
    throw new ProtoJsonError("ERR_PROTO_BINARY", `malformed ohp.v0_1.Envelope bytes: ${(cause as Error).message}`, { cause });
  }
  return envelopeToJson(env);
}
