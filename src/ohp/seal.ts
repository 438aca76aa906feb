/**
 * OHP §5.3 sealed fields: HPKE base mode (DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * ChaCha20Poly1305) over a canonical CBOR map of dotted field names to values.
 *
 * - plaintext = canonical CBOR `{ "<dotted.name>": value, ... }` (JSON number rule, no tags);
 * - AAD = canonical CBOR of the flat map `{ "id", "issuedAt" (tag 0), "audience.did",
 *   "session.callId" }` (docs/decisions.md: flat dotted keys, `issuedAt` tagged as in the surface);
 * - one recipient: exactly the spec's `{alg, recipients:[{kid, enc}], ciphertext, fields}`;
 *   several: the `agentwire-multi-1` extension (docs/hpke-multi-recipient.md).
 *
 * Sealing happens before signing: the `sealed` block is part of the signing surface.
 */
import { CborTag, decodeCanonical, encodeCanonical, toJsonModel, type CborValue } from "../cbor/index.js";
import { ALG_HPKE_X25519, type PublicJwk } from "../crypto/jwk.js";
import { openSealed, sealForRecipients, type HpkeRecipientKey, type OpenSealedOptions } from "../crypto/hpke/index.js";
import type { PrivateKeyRecord } from "../crypto/keys.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { b64uDecode } from "../util/base64url.js";
import { OhpCryptoError } from "./errors.js";

/** `sealed.alg` of OHP v0.1. */
export const OHP_SEALED_ALG = ALG_HPKE_X25519;

/** A sealed field name: dot-separated member names, e.g. `caller.vulnerable`. */
const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$/;

function text(envelope: JsonObject, path: readonly string[]): string {
  let node: JsonValue | undefined = envelope;
  for (const member of path) node = isJsonObject(node) ? node[member] : undefined;
  if (typeof node !== "string") {
    throw new OhpCryptoError("ERR_OHP_SEAL_AAD", `the sealing AAD needs /${path.join("/")} (a string) and the envelope has none`, {
      detail: { pointer: `/${path.join("/")}` },
    });
  }
  return node;
}

/**
 * The HPKE AAD of an envelope (§5.3): canonical CBOR of `{id, issuedAt, audience.did,
 * session.callId}` with flat dotted keys and `issuedAt` under tag 0. `ERR_OHP_SEAL_AAD` when a
 * member is missing.
 */
export function sealedAad(envelope: JsonObject): Uint8Array {
  return encodeCanonical({
    id: text(envelope, ["id"]),
    issuedAt: new CborTag(0, text(envelope, ["issuedAt"])),
    "audience.did": text(envelope, ["audience", "did"]),
    "session.callId": text(envelope, ["session", "callId"]),
  });
}

/** A recipient of sealed fields: a public X25519 JWK with `kid` (as published in its JWKS). */
export type SealRecipient = PublicJwk;

/** Options of {@link sealEnvelope}. */
export interface SealEnvelopeOptions {
  /** Recipients (public X25519 JWKs with `alg` `HPKE/X25519-SHA256-CHACHA20POLY1305`). */
  readonly recipients: readonly SealRecipient[];
  /** Values to seal, keyed by dotted field name (they need not exist in the schema, §6.4). */
  readonly fields?: Readonly<Record<string, JsonValue>>;
  /** Dotted paths of envelope members to move into the sealed block (removed from the clear part). */
  readonly move?: readonly string[];
}

function checkName(name: string): string[] {
  if (!FIELD_NAME.test(name)) {
    throw new OhpCryptoError("ERR_OHP_SEAL_FIELD", `sealed field name ${JSON.stringify(name)} is not a dotted member path`, {
      detail: { field: name },
    });
  }
  return name.split(".");
}

function cloneObject(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(o)) Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true });
  return out;
}

/** Removes `path` from `root` (already a clone), cloning the objects along the path first. */
function take(root: JsonObject, path: readonly string[], name: string): JsonValue {
  const missing = (): OhpCryptoError =>
    new OhpCryptoError("ERR_OHP_SEAL_FIELD", `cannot move ${name}: the envelope has no such member`, { detail: { field: name } });
  let node = root;
  for (const member of path.slice(0, -1)) {
    const child = Object.hasOwn(node, member) ? node[member] : undefined;
    if (!isJsonObject(child)) throw missing();
    const copy = cloneObject(child);
    node[member] = copy;
    node = copy;
  }
  const last = path[path.length - 1] as string;
  if (!Object.hasOwn(node, last)) throw missing();
  const value = node[last] as JsonValue;
  delete node[last];
  return value;
}

function recipientBytes(jwk: SealRecipient, index: number): { kid: string; publicKey: Uint8Array } {
  const raw = jwk as unknown as Record<string, unknown>;
  if (raw["kty"] !== "OKP" || raw["crv"] !== "X25519" || typeof raw["x"] !== "string" || typeof raw["kid"] !== "string") {
    throw new OhpCryptoError("ERR_OHP_SEAL_RECIPIENT", `recipient ${index} must be a public X25519 JWK with a kid`, { detail: { index } });
  }
  if (raw["alg"] !== undefined && raw["alg"] !== OHP_SEALED_ALG) {
    throw new OhpCryptoError("ERR_OHP_SEAL_RECIPIENT", `recipient ${raw["kid"]} is for ${String(raw["alg"])}, not ${OHP_SEALED_ALG}`, {
      detail: { index, kid: raw["kid"] },
    });
  }
  return { kid: raw["kid"], publicKey: b64uDecode(raw["x"]) };
}

/**
 * Seals fields of an envelope for its recipients. Moves the `move` paths out of the clear part,
 * adds the `fields` values, writes `sealed` (`fields` lists every sealed name, sorted) and sets
 * `audience.recipientKeys` to the recipients. Returns a new envelope; sign it afterwards.
 */
export async function sealEnvelope(envelope: unknown, options: SealEnvelopeOptions): Promise<JsonObject> {
  if (!isJsonObject(envelope)) throw new OhpCryptoError("ERR_OHP_ENVELOPE_INVALID", "an OHP envelope must be a JSON object");
  if (!Array.isArray(options.recipients) || options.recipients.length === 0) {
    throw new OhpCryptoError("ERR_OHP_SEAL_RECIPIENT", "sealing needs at least one recipient");
  }
  if (envelope["sealed"] !== undefined) {
    throw new OhpCryptoError("ERR_OHP_SEAL_FIELD", "the envelope already has a sealed block; open it and seal everything again");
  }
  const out = cloneObject(envelope);
  const plain: Record<string, CborValue> = {};
  const put = (name: string, value: JsonValue): void => {
    if (Object.hasOwn(plain, name)) throw new OhpCryptoError("ERR_OHP_SEAL_FIELD", `field ${name} is sealed twice`, { detail: { field: name } });
    Object.defineProperty(plain, name, { value, enumerable: true, writable: true, configurable: true });
  };
  for (const name of options.move ?? []) put(name, take(out, checkName(name), name));
  for (const [name, value] of Object.entries(options.fields ?? {})) {
    checkName(name);
    put(name, value);
  }
  const names = Object.keys(plain).sort();
  if (names.length === 0) throw new OhpCryptoError("ERR_OHP_SEAL_FIELD", "nothing to seal: give fields or move paths");

  const audience = out["audience"];
  if (!isJsonObject(audience)) throw new OhpCryptoError("ERR_OHP_SEAL_AAD", "the envelope has no audience object");
  out["audience"] = {
    ...audience,
    recipientKeys: options.recipients.map((r) => ({ kid: r.kid, alg: OHP_SEALED_ALG })),
  };
  const aad = sealedAad(out);
  const block = await sealForRecipients({
    recipients: options.recipients.map(recipientBytes),
    plaintext: encodeCanonical(plain),
    aad,
  });
  out["sealed"] = {
    alg: block.alg,
    recipients: block.recipients.map((r) => ({ ...r })),
    ciphertext: block.ciphertext,
    fields: names,
  };
  return out;
}

/** Result of {@link openEnvelope}. */
export interface OpenedEnvelope {
  /** The recipient slot that was opened. */
  readonly kid: string;
  /** `single` (spec shape) or `multi` (agentwire-multi-1). */
  readonly mode: "single" | "multi";
  /** The sealed values by dotted field name. */
  readonly fields: Record<string, JsonValue>;
}

/** The HPKE keys among private key records (X25519 `enc` keys). */
export function hpkeKeysOf(keys: readonly PrivateKeyRecord[]): HpkeRecipientKey[] {
  return keys
    .filter((k) => k.alg === ALG_HPKE_X25519)
    .map((k) => {
      const d = (k.exportPrivateJwk() as unknown as Record<string, string>)["d"] as string;
      return { kid: k.kid, privateKey: b64uDecode(d), suite: "x25519" as const };
    });
}

/**
 * Opens the envelope's sealed block with the receiver's own keys (D09 step 13: only the slot
 * whose `kid` matches is touched). Throws HpkeError (`ERR_HPKE_NO_RECIPIENT`,
 * `ERR_HPKE_OPEN_FAILED`, ...) or {@link OhpCryptoError} (`ERR_OHP_NOT_SEALED`,
 * `ERR_OHP_SEALED_PLAINTEXT` when the plaintext is not a canonical CBOR map matching `fields`).
 */
export async function openEnvelope(
  envelope: unknown,
  keys: readonly PrivateKeyRecord[] | readonly HpkeRecipientKey[],
  options: OpenSealedOptions = {},
): Promise<OpenedEnvelope> {
  if (!isJsonObject(envelope)) throw new OhpCryptoError("ERR_OHP_ENVELOPE_INVALID", "an OHP envelope must be a JSON object");
  const sealed = envelope["sealed"];
  if (!isJsonObject(sealed)) throw new OhpCryptoError("ERR_OHP_NOT_SEALED", "the envelope has no sealed block");
  const hpkeKeys = keys.map((k) => ("privateKey" in k ? k : undefined)).every((k) => k !== undefined)
    ? (keys as readonly HpkeRecipientKey[])
    : hpkeKeysOf(keys as readonly PrivateKeyRecord[]);
  const opened = await openSealed(sealed as never, hpkeKeys, sealedAad(envelope), options);
  let model: JsonValue;
  try {
    model = toJsonModel(decodeCanonical(opened.plaintext)) as JsonValue;
  } catch (cause) {
    throw new OhpCryptoError("ERR_OHP_SEALED_PLAINTEXT", "the sealed plaintext is not canonical CBOR of the JSON data model", { cause });
  }
  if (!isJsonObject(model)) throw new OhpCryptoError("ERR_OHP_SEALED_PLAINTEXT", "the sealed plaintext is not a map");
  const declared = sealed["fields"];
  const names = Object.keys(model).sort();
  if (!Array.isArray(declared) || declared.length !== names.length || [...declared].map(String).sort().some((n, i) => n !== names[i])) {
    throw new OhpCryptoError("ERR_OHP_SEALED_PLAINTEXT", "sealed.fields does not list exactly the sealed names", {
      detail: { declared: Array.isArray(declared) ? declared : null, sealed: names },
    });
  }
  return { kid: opened.kid, mode: opened.mode, fields: model };
}
