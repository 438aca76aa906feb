/**
 * The `ohp/sip-info` binding (OHP §7.1): envelopes as canonical CBOR in in-dialog SIP INFO.
 * See docs/ohp-sip-info.md.
 *
 * @module
 */
export {
  ChunkReassembler,
  decodeEnvelope,
  decodeOhpBody,
  deflateBody,
  DEFAULT_MAX_CHUNKS,
  DEFAULT_MAX_ENVELOPE_BYTES,
  encodeEnvelope,
  encodeOhpInfoBodies,
  formatChunkContentType,
  inflateBody,
  mediaTypeOf,
  OHP_ENVELOPE_ID_HEADER,
  OHP_INFO_BODY_LIMIT,
  OHP_MULTIPART_MEDIA_TYPE,
  parseChunkBody,
  parseChunkContentType,
  parseContentEncoding,
  type ChunkParams,
  type ChunkPart,
  type ChunkReassemblerOptions,
  type DecodedBody,
  type EncodeInfoOptions,
  type EnvelopeDecodeOptions,
  type OhpContentEncoding,
  type OhpInfoBody,
  type ReassemblyResult,
  type ReceivedChunk,
} from "./codec.js";
export { OHP_INFO_PACKAGE, SIP_ALLOW, SipInfoEndpoint, type SipDialog, type SipInfoEndpointOptions, type SipPeerAddress } from "./endpoint.js";
export { SipInfoError, sipStatusFor, type SipInfoErrorCode } from "./errors.js";
export {
  canonicalHeaderName,
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_MESSAGE_BYTES,
  parseCSeq,
  parseHeaderValue,
  parseNameAddr,
  parseParams,
  parseSipHead,
  parseSipMessage,
  parseSipUri,
  parseVia,
  serializeSipMessage,
  SIP_VERSION,
  SipHeaders,
  type SipHead,
  type SipMessage,
  type SipParseOptions,
  type SipRequest,
  type SipResponse,
} from "./message.js";
