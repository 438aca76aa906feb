/**
 * did:web identifiers (W3C CCG did:web method): syntax (§2.3) and the DID → URL mapping of
 * Read/Resolve (§2.5.2), plus the OHP key-set location (OHP §5.9, agentwire decision B13).
 *
 * ```
 * did:web:w3c-ccg.github.io                 → https://w3c-ccg.github.io/.well-known/did.json
 * did:web:w3c-ccg.github.io:user:alice      → https://w3c-ccg.github.io/user/alice/did.json
 * did:web:example.com%3A3000:user:alice     → https://example.com:3000/user/alice/did.json
 * ```
 *
 * @module
 */
import { DidError } from "./errors.js";

/** Upper bound on the length of a DID accepted anywhere in this module. */
export const MAX_DID_LENGTH = 2048;

/** A parsed did:web. */
export interface DidWeb {
  /** The DID, exactly as given. */
  readonly did: string;
  /** Host name (case preserved; compared case-insensitively by URL parsing). */
  readonly host: string;
  /** Port, when the DID carries `%3A<port>`. */
  readonly port: number | undefined;
  /** Path segments (still percent-encoded, as in the DID). */
  readonly path: readonly string[];
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PORT_SUFFIX = /%3a(\d{1,5})$/i;
/** DID Core idchar: ALPHA / DIGIT / "." / "-" / "_" / pct-encoded. */
const SEGMENT = /^(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$/;

function invalid(did: string, reason: string): DidError {
  return new DidError("ERR_DID_INVALID", `invalid did:web ${JSON.stringify(did.slice(0, 200))}: ${reason}`, { detail: { reason } });
}

/** did:web §2.3: a fully qualified domain name (RFC 1035/1123), never an IP address. */
function checkHost(did: string, host: string): void {
  if (host.length === 0 || host.length > 253) throw invalid(did, "host must be 1 to 253 characters");
  const labels = host.split(".");
  if (!labels.every((label) => LABEL.test(label))) throw invalid(did, "host is not a valid domain name");
  if (/^\d+$/.test(labels[labels.length - 1] as string)) throw invalid(did, "host must not be an IP address");
  if (labels.length < 2 && host.toLowerCase() !== "localhost") throw invalid(did, "host must be a fully qualified domain name");
}

function checkSegment(did: string, segment: string): void {
  if (!SEGMENT.test(segment)) throw invalid(did, "path segments must be non-empty DID idchars");
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw invalid(did, "path segment has an invalid percent-encoding");
  }
  if (decoded === "." || decoded === ".." || decoded.includes("/") || decoded.includes("\\")) {
    throw invalid(did, "path segments must not be dot segments or contain slashes");
  }
}

/**
 * Parses a did:web (§2.2 method name, §2.3 method-specific identifier). DID URLs (path, query,
 * fragment) are rejected: resolve the DID, then dereference. Throws {@link DidError}
 * `ERR_DID_INVALID` (or `ERR_DID_METHOD_UNSUPPORTED` for another method).
 */
export function parseDidWeb(did: string): DidWeb {
  if (typeof did !== "string" || did.length > MAX_DID_LENGTH) throw invalid(String(did), `a DID is a string of at most ${MAX_DID_LENGTH} characters`);
  if (!did.startsWith("did:web:")) {
    if (/^did:[a-z0-9]+:/.test(did)) {
      throw new DidError("ERR_DID_METHOD_UNSUPPORTED", `not a did:web: ${JSON.stringify(did.slice(0, 200))}`, { detail: { method: did.split(":")[1] } });
    }
    throw invalid(did, 'must start with "did:web:" (method name in lowercase)');
  }
  const msid = did.slice("did:web:".length);
  if (/[/?#]/.test(msid)) throw invalid(did, "a DID URL (path, query or fragment) is not a DID");
  const [authority, ...path] = msid.split(":") as [string, ...string[]];
  let host = authority;
  let port: number | undefined;
  const portMatch = PORT_SUFFIX.exec(authority);
  if (portMatch !== null) {
    port = Number(portMatch[1]);
    if (port < 1 || port > 65535) throw invalid(did, "port must be 1 to 65535");
    host = authority.slice(0, portMatch.index);
  }
  if (host.includes("%")) throw invalid(did, "only the port colon may be percent-encoded in the host");
  checkHost(did, host);
  for (const segment of path) checkSegment(did, segment);
  return Object.freeze({ did, host, port, path: Object.freeze(path) });
}

function origin(web: DidWeb): string {
  return `https://${web.host}${web.port === undefined ? "" : `:${web.port}`}`;
}

/**
 * did:web §2.5.2 steps 1-5: `:` → `/`, percent-decode the port colon, prepend `https://`, append
 * `/.well-known` when there is no path, append `/did.json`.
 */
export function didWebDocumentUrl(did: string | DidWeb): string {
  const web = typeof did === "string" ? parseDidWeb(did) : did;
  const path = web.path.length === 0 ? "/.well-known" : `/${web.path.join("/")}`;
  return `${origin(web)}${path}/did.json`;
}

/** Well-known path of the OHP key set (OHP §5.9). */
export const OHP_JWKS_PATH = "/.well-known/ohp-jwks.json";

/**
 * Where the OHP JWKS of a did:web issuer lives: always `https://<host>[:port]/.well-known/ohp-jwks.json`,
 * also for path-form DIDs (agentwire decision B13: one key set per host, as OHP §5.9 publishes it).
 */
export function didWebJwksUrl(did: string | DidWeb): string {
  const web = typeof did === "string" ? parseDidWeb(did) : did;
  return `${origin(web)}${OHP_JWKS_PATH}`;
}

/** The method name of a DID (`web`, `key`, …) after a basic `did:<method>:<msid>` syntax check. */
export function didMethodOf(did: string): string {
  if (typeof did !== "string" || did.length > MAX_DID_LENGTH) throw invalid(String(did), "not a DID");
  const match = /^did:([a-z0-9]+):(.+)$/.exec(did);
  if (match === null) {
    throw new DidError("ERR_DID_INVALID", `not a DID: ${JSON.stringify(did.slice(0, 200))}`, { detail: { reason: "syntax" } });
  }
  return match[1] as string;
}
