/**
 * What every OHP binding (ohp/grpc, ohp/https, ohp/ws, ohp/sip-info) shares: the transport hands
 * each received envelope to an {@link OhpEnvelopeHandler} with what the transport itself
 * announced ({@link InboundMeta}), and sends back the answer envelope the handler returns.
 * Bindings never judge envelopes themselves; they frame, deduplicate, and report transport
 * errors.
 */
import type { JsonObject } from "../../json/types.js";
import type { Tier } from "../tiers.js";

/** The four OHP bindings (§7). */
export type OhpBindingName = "ohp/grpc" | "ohp/https" | "ohp/ws" | "ohp/sip-info";

/** What the transport knows about one received envelope. */
export interface InboundMeta {
  readonly binding: OhpBindingName;
  /** Verb and tier the transport announced (OHP-Verb / OHP-Tier headers, frame type). */
  readonly expected?: { readonly verb?: string; readonly tier?: Tier };
  /** Size of the envelope as received (JSON bytes, or CBOR bytes for sip-info). */
  readonly byteLength?: number;
  /** Transport-level peer identity (tenant pair, TLS identity, SIP From), for logs and rate limits. */
  readonly peer?: string;
  /** The SIP dialog's Call-ID (ohp/sip-info): the live call the envelope must be bound to. */
  readonly sipCallId?: string;
  /** `Authorization` and `DPoP` as presented (Sealed+ transports, RFC 9449). */
  readonly authorization?: string;
  readonly dpop?: string;
  /** W3C `traceparent` of the request, carried into the node's logs. */
  readonly traceparent?: string;
  /** Method and URI the DPoP proof must be bound to (`htm`, `htu`). */
  readonly httpMethod?: string;
  readonly httpUri?: string;
}

/**
 * Handles one received envelope (already parsed from the wire, not yet validated) and returns
 * the envelope to send back: an ACCEPT or REJECT for a PROPOSE, an ACCEPT for an ASSUME, …, or
 * `undefined` when the verb needs no answer (an ACCEPT/REJECT received by a sender). Never
 * throws for bad input: bad envelopes are answered with a REJECT.
 */
export type OhpEnvelopeHandler = (envelope: unknown, meta: InboundMeta) => Promise<JsonObject | undefined>;

/** The media type of OHP JSON on HTTP (§7.3). */
export const OHP_JSON_MEDIA_TYPE = "application/ohp+json";
/** The media type of OHP CBOR on SIP INFO (§7.1). */
export const OHP_CBOR_MEDIA_TYPE = "application/ohp+cbor";
/** The wire version (`OHP-Version` header). */
export const OHP_WIRE_VERSION = "0.1";
