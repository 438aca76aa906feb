/**
 * OHP names federations and issuers by DID (`issuer.federation`, `issuer.did`, `assurance.idp`,
 * e.g. `did:web:federation.openhandoffprotocol.org`), OpenID Federation 1.0 by https entity
 * identifiers. agentwire maps them through the did:web method's own host/path rule:
 *
 *     did:web:<host>[%3A<port>][:<seg>]*   ↔   https://<host>[:<port>][/<seg>]*
 *
 * (percent-decoding the host part once, exactly as did:web resolution does). The entity
 * configuration then lives at `<entity id>/.well-known/openid-federation` (§9). Other DID methods
 * do not map and are rejected (`ERR_FED_ENTITY_ID`).
 *
 * @module
 */
import { FederationError } from "./errors.js";

/** OpenID Federation 1.0 §9: path of the entity configuration under the entity identifier. */
export const ENTITY_CONFIGURATION_PATH = "/.well-known/openid-federation";

const DID_WEB = /^did:web:([^:]+)((?::[^:]+)*)$/;

/** Validates and normalises an https entity identifier (no query, fragment, or trailing slash). */
export function normaliseEntityId(entityId: string): string {
  let url: URL;
  try {
    url = new URL(entityId);
  } catch (cause) {
    throw new FederationError("ERR_FED_ENTITY_ID", `entity identifier ${JSON.stringify(entityId)} is not a URL`, { cause });
  }
  if (url.protocol !== "https:" || url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new FederationError("ERR_FED_ENTITY_ID", `entity identifier ${entityId} must be an https URL without query, fragment or credentials`);
  }
  const path = url.pathname.replace(/\/+$/, "");
  return `https://${url.host}${path}`;
}

/** did:web → https entity identifier. */
export function didWebToEntityId(did: string): string {
  const m = DID_WEB.exec(did);
  if (m === null) throw new FederationError("ERR_FED_ENTITY_ID", `${JSON.stringify(did)} is not a did:web identifier`);
  let host: string;
  try {
    host = decodeURIComponent(m[1] as string);
  } catch (cause) {
    throw new FederationError("ERR_FED_ENTITY_ID", `${did}: bad percent-encoding in the host`, { cause });
  }
  const segments = (m[2] ?? "").split(":").filter((s) => s.length > 0);
  if (host.includes("/") || segments.some((s) => s.includes("/"))) {
    throw new FederationError("ERR_FED_ENTITY_ID", `${did}: did:web segments must not contain "/"`);
  }
  return normaliseEntityId(`https://${host}${segments.map((s) => `/${s}`).join("")}`);
}

/** https entity identifier → did:web (the inverse of {@link didWebToEntityId}). */
export function entityIdToDidWeb(entityId: string): string {
  const url = new URL(normaliseEntityId(entityId));
  const host = url.port === "" ? url.hostname : `${url.hostname}%3A${url.port}`;
  const segments = url.pathname.split("/").filter((s) => s.length > 0);
  return `did:web:${[host, ...segments].join(":")}`;
}

/** Accepts either form and returns the https entity identifier. */
export function toEntityId(idOrDid: string): string {
  return idOrDid.startsWith("did:") ? didWebToEntityId(idOrDid) : normaliseEntityId(idOrDid);
}

/** `<entity id>/.well-known/openid-federation`. */
export function entityConfigurationUrl(entityId: string): string {
  return `${normaliseEntityId(entityId)}${ENTITY_CONFIGURATION_PATH}`;
}
