import { AgentwireError } from "../errors.js";

/** Stable codes of {@link OfpError}. */
export type OfpErrorCode =
  /** The input text is not strict JSON (duplicate keys, unsafe integers, ...): see `cause`. */
  | "ERR_OFP_JSON"
  /** The document is not of the expected kind (no `openFloor` / `ovon` member, not an object). */
  | "ERR_OFP_NOT_ENVELOPE"
  /** The document fails its JSON Schema or a spec rule; `detail.errors` lists the issues. */
  | "ERR_OFP_INVALID"
  /** A version string the library has no schema or mapping for. */
  | "ERR_OFP_VERSION"
  /** A builder was called with arguments that cannot form a valid event. */
  | "ERR_OFP_BUILD"
  /** Translation met an event type (or member) the target version cannot express. */
  | "ERR_OFP_TRANSLATE_UNSUPPORTED"
  /** A carried translation residue (`x-ovon` / `x-openFloor`) is malformed. */
  | "ERR_OFP_RESIDUE";

/** Raised by the Open Floor / OVON library: parsing, building and translating envelopes. */
export class OfpError extends AgentwireError<OfpErrorCode> {}
