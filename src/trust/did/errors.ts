/**
 * Typed errors of DID resolution (did:web, did:key), of the HTTP document loader and of issuer
 * key resolution. Callers branch on `code`, never on the message.
 *
 * @module
 */
import { AgentwireError } from "../../errors.js";

/** Stable codes of {@link DidError}. */
export type DidErrorCode =
  /** Not a syntactically valid DID of its method (did:web §2.3, did:key §2), or a DID URL where a DID is expected. */
  | "ERR_DID_INVALID"
  /** A DID method other than `web` and `key` (or one the resolver was configured without). */
  | "ERR_DID_METHOD_UNSUPPORTED"
  /** did:key: the multicodec header is neither ed25519-pub (0xed) nor x25519-pub (0xec). */
  | "ERR_DID_KEY_CODEC_UNSUPPORTED"
  /** The document URL is not https (plain http only for localhost with `allowInsecureLocalhost`). */
  | "ERR_DID_URL_INSECURE"
  /** The fetch itself failed (DNS, connection, TLS, redirect refused, body read error). */
  | "ERR_DID_FETCH_FAILED"
  /** No complete response within the timeout. */
  | "ERR_DID_FETCH_TIMEOUT"
  /** The server answered with a status other than 200. */
  | "ERR_DID_HTTP_STATUS"
  /** The response body is larger than the configured cap. */
  | "ERR_DID_RESPONSE_TOO_LARGE"
  /** The response body is not strict JSON (UTF-8, RFC 8259, no duplicate members). */
  | "ERR_DID_NOT_JSON"
  /** The DID document is not a JSON object with a string `id`, or a verification method is malformed. */
  | "ERR_DID_DOCUMENT_INVALID"
  /** The document `id` differs from the DID being resolved (did:web §2.5.2 step 7). */
  | "ERR_DID_DOCUMENT_ID_MISMATCH"
  /** The DID document or key set yields no usable key. */
  | "ERR_DID_NO_KEYS"
  /** The issuer's OHP JWKS (`/.well-known/ohp-jwks.json`) is not a valid JWK Set (cause: the KeyError). */
  | "ERR_DID_JWKS_INVALID"
  /** A static key source has no key set for this DID. */
  | "ERR_DID_NOT_FOUND";

/** Thrown by every DID and issuer-key operation that fails. */
export class DidError extends AgentwireError<DidErrorCode> {}
