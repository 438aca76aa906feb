/**
 * OpenID Federation 1.0 entity statements (§3): signed JWTs with header
 * `{"typ":"entity-statement+jwt","alg":"EdDSA","kid":…}` and the claims `iss`, `sub`, `iat`,
 * `exp`, `jwks` plus, as used here, `authority_hints`, `metadata`, `metadata_policy`,
 * `metadata_policy_crit`, `constraints` and `crit`. An entity configuration is the statement an
 * entity issues about itself (`iss` = `sub`); a subordinate statement is issued by a superior.
 * Signing and signature checks use jose; everything else is checked here.
 *
 * @module
 */
import { CompactSign, compactVerify, importJWK, type JWK } from "jose";
import { ALG_EDDSA } from "../../crypto/jwk.js";
import { PrivateKeyRecord } from "../../crypto/keys.js";
import { parseJsonStrict } from "../../json/parse.js";
import { normaliseEntityId } from "./entity-id.js";
import { FederationError } from "./errors.js";

/** `typ` of an entity statement (§3). */
export const ENTITY_STATEMENT_TYP = "entity-statement+jwt";
/** Algorithms accepted on entity statements. */
export const FEDERATION_ALGS: readonly string[] = Object.freeze([ALG_EDDSA, "Ed25519"]);

/** A JWK as carried in a `jwks` claim. */
export type FederationJwk = Record<string, unknown> & { readonly kty: string; readonly kid?: string };

/** JWK Set claim. */
export interface FederationJwks {
  readonly keys: readonly FederationJwk[];
}

/** Claims of an entity statement (members this module interprets; others are kept). */
export interface EntityStatementClaims {
  readonly iss: string;
  readonly sub: string;
  /** NumericDate (seconds). */
  readonly iat: number;
  /** NumericDate (seconds). */
  readonly exp: number;
  readonly jwks: FederationJwks;
  readonly authority_hints?: readonly string[];
  /** Entity type identifier → metadata parameters. */
  readonly metadata?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Entity type identifier → parameter → operator → value (subordinate statements only). */
  readonly metadata_policy?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly metadata_policy_crit?: readonly string[];
  readonly constraints?: { readonly max_path_length?: number; readonly [k: string]: unknown };
  readonly crit?: readonly string[];
  readonly [claim: string]: unknown;
}

/** A decoded (not yet verified) entity statement. */
export interface EntityStatement {
  readonly jwt: string;
  readonly header: { readonly typ: string; readonly alg: string; readonly kid: string };
  readonly payload: EntityStatementClaims;
}

/** Claims this module understands when listed in `crit` (§3.1). */
const UNDERSTOOD_CRIT: readonly string[] = Object.freeze([]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    // Strict JSON (decision #8): among others, nesting is bounded (MAX_JSON_DEPTH), so metadata
    // policy merging and structuredClone never overflow the stack (found by the fuzzer).
    value = parseJsonStrict(Buffer.from(segment, "base64url").toString("utf8"));
  } catch (cause) {
    throw new FederationError("ERR_FED_MALFORMED", `entity statement ${what} is not base64url of strict JSON`, { cause });
  }
  if (!isObject(value)) throw new FederationError("ERR_FED_MALFORMED", `entity statement ${what} must be a JSON object`);
  return value;
}

function stringArray(v: unknown, claim: string): void {
  if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== "string"))) {
    throw new FederationError("ERR_FED_MALFORMED", `${claim} must be an array of strings`);
  }
}

/** Decodes an entity statement and checks its header and claim types (no signature, no time). */
export function decodeEntityStatement(jwt: unknown): EntityStatement {
  if (typeof jwt !== "string" || jwt.length > 256 * 1024) throw new FederationError("ERR_FED_MALFORMED", "an entity statement must be a compact JWT string");
  const parts = jwt.trim().split(".");
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) throw new FederationError("ERR_FED_MALFORMED", "an entity statement must be a compact JWS with three non-empty parts");
  const header = decodeSegment(parts[0] as string, "header");
  const payload = decodeSegment(parts[1] as string, "payload");
  if (header["typ"] !== ENTITY_STATEMENT_TYP) {
    throw new FederationError("ERR_FED_HEADER_INVALID", `typ must be ${ENTITY_STATEMENT_TYP}`, { detail: { typ: header["typ"] } });
  }
  if (typeof header["alg"] !== "string" || !FEDERATION_ALGS.includes(header["alg"])) {
    throw new FederationError("ERR_FED_HEADER_INVALID", `alg must be one of ${FEDERATION_ALGS.join(", ")}`, { detail: { alg: header["alg"] } });
  }
  if (typeof header["kid"] !== "string" || header["kid"].length === 0) throw new FederationError("ERR_FED_HEADER_INVALID", "kid is required (§3)");
  for (const claim of ["iss", "sub"] as const) {
    if (typeof payload[claim] !== "string") throw new FederationError("ERR_FED_MALFORMED", `${claim} must be a string`);
    normaliseEntityId(payload[claim]);
  }
  for (const claim of ["iat", "exp"] as const) {
    if (typeof payload[claim] !== "number" || !Number.isFinite(payload[claim])) throw new FederationError("ERR_FED_MALFORMED", `${claim} must be a NumericDate`);
  }
  const jwks = payload["jwks"];
  if (!isObject(jwks) || !Array.isArray(jwks["keys"]) || jwks["keys"].some((k) => !isObject(k) || typeof k["kty"] !== "string")) {
    throw new FederationError("ERR_FED_MALFORMED", "jwks must be a JWK Set");
  }
  stringArray(payload["authority_hints"], "authority_hints");
  stringArray(payload["metadata_policy_crit"], "metadata_policy_crit");
  stringArray(payload["crit"], "crit");
  for (const claim of ["metadata", "metadata_policy", "constraints"]) {
    if (payload[claim] !== undefined && !isObject(payload[claim])) throw new FederationError("ERR_FED_MALFORMED", `${claim} must be an object`);
  }
  for (const c of (payload["crit"] as string[] | undefined) ?? []) {
    if (!UNDERSTOOD_CRIT.includes(c)) throw new FederationError("ERR_FED_MALFORMED", `critical claim ${c} is not understood`, { detail: { claim: c } });
  }
  return Object.freeze({
    jwt: jwt.trim(),
    header: { typ: header["typ"], alg: header["alg"], kid: header["kid"] },
    payload: payload as unknown as EntityStatementClaims,
  });
}

/** Verifies the signature of `statement` with a key of `jwks` selected by the header `kid`. */
export async function verifyEntityStatementSignature(statement: EntityStatement, jwks: FederationJwks, what = "entity statement"): Promise<void> {
  const { kid } = statement.header;
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (jwk === undefined) {
    throw new FederationError("ERR_FED_SIGNATURE", `${what}: kid ${kid} is not among the keys that must sign it`, { detail: { kid, iss: statement.payload.iss } });
  }
  if (jwk["kty"] !== "OKP" || jwk["crv"] !== "Ed25519" || typeof jwk["x"] !== "string") {
    throw new FederationError("ERR_FED_SIGNATURE", `${what}: key ${kid} is not an Ed25519 OKP key`, { detail: { kid } });
  }
  try {
    const key = await importJWK({ kty: "OKP", crv: "Ed25519", x: jwk["x"] } as JWK, ALG_EDDSA);
    await compactVerify(statement.jwt, key, { algorithms: [...FEDERATION_ALGS] });
  } catch (cause) {
    throw new FederationError("ERR_FED_SIGNATURE", `${what}: signature by ${statement.payload.iss} (kid ${kid}) does not verify`, {
      cause,
      detail: { kid, iss: statement.payload.iss },
    });
  }
}

/** Time checks of one statement (§10.2): `iat` ≤ now + skew, now < `exp` + skew. */
export function checkStatementTime(statement: EntityStatement, nowSeconds: number, skewSeconds: number): void {
  const { iat, exp, iss, sub } = statement.payload;
  if (nowSeconds >= exp + skewSeconds) throw new FederationError("ERR_FED_EXPIRED", `statement ${iss} → ${sub} expired`, { detail: { iss, sub, exp } });
  if (iat > nowSeconds + skewSeconds) throw new FederationError("ERR_FED_NOT_YET_VALID", `statement ${iss} → ${sub} is issued in the future`, { detail: { iss, sub, iat } });
}

/** Input of {@link signEntityStatement}: every claim except those derived from the key. */
export type EntityStatementInput = Omit<EntityStatementClaims, "iat" | "exp"> & { readonly iat: number | Date; readonly exp: number | Date };

/** Signs an entity statement with an Ed25519 key (header `kid` = the key's kid). */
export async function signEntityStatement(claims: EntityStatementInput, key: PrivateKeyRecord): Promise<string> {
  if (!(key instanceof PrivateKeyRecord) || key.alg !== ALG_EDDSA || key.keyObject === undefined) {
    throw new FederationError("ERR_FED_MALFORMED", "entity statements are signed with an EdDSA PrivateKeyRecord");
  }
  const secs = (t: number | Date): number => (t instanceof Date ? Math.floor(t.getTime() / 1000) : t);
  const payload = { ...claims, iat: secs(claims.iat), exp: secs(claims.exp) };
  return new CompactSign(Buffer.from(JSON.stringify(payload), "utf8"))
    .setProtectedHeader({ alg: ALG_EDDSA, typ: ENTITY_STATEMENT_TYP, kid: key.kid })
    .sign(key.keyObject);
}

/** The public JWK Set to publish in a `jwks` claim for `keys` (lifecycle members dropped). */
export function federationJwks(keys: readonly (PrivateKeyRecord | Record<string, unknown>)[]): FederationJwks {
  return {
    keys: keys.map((k) => {
      const jwk = (k instanceof PrivateKeyRecord ? k.publicJwk : k) as Record<string, unknown>;
      const out: Record<string, unknown> = { kty: jwk["kty"], crv: jwk["crv"], x: jwk["x"], kid: jwk["kid"], alg: jwk["alg"] ?? ALG_EDDSA, use: jwk["use"] ?? "sig" };
      return out as FederationJwk;
    }),
  };
}
