/** The `ohp/ws` binding (OHP §7.2): see docs/ohp-ws.md. */
export { attachOhpWsServer } from "./server.js";
export type {
  OhpWsAuthenticate,
  OhpWsAuthResult,
  OhpWsServer,
  OhpWsServerCloseOptions,
  OhpWsServerHello,
  OhpWsServerOptions,
  OhpWsUpgradeInfo,
} from "./server.js";
export { connectOhpWs } from "./client.js";
export type { OhpWsClient, OhpWsClientHello, OhpWsClientOptions, OhpWsClientTls } from "./client.js";
export { ohpWsTenantPair } from "./api.js";
export type { OhpWsCloseInfo, OhpWsConnection, OhpWsEvent, OhpWsSendOptions } from "./api.js";
export {
  errorFrame,
  helloFrame,
  OHP_WS_CLOSE,
  OHP_WS_DEFAULT_PATH,
  OHP_WS_FRAME_OVERHEAD_BYTES,
  OHP_WS_MAX_ENVELOPE_BYTES,
  OHP_WS_MAX_FRAME_BYTES,
  OHP_WS_MAX_ID_LENGTH,
  OHP_WS_SUBPROTOCOL,
  parseOhpWsFrame,
  serializeOhpWsFrame,
} from "./frames.js";
export type {
  OhpWsAckFrame,
  OhpWsAckStatus,
  OhpWsEnvelopeFrame,
  OhpWsErrorFrame,
  OhpWsFrame,
  OhpWsFrameType,
  OhpWsHelloFrame,
  OhpWsPingFrame,
  OhpWsPongFrame,
  ParsedOhpWsFrame,
  ParseOhpWsFrameOptions,
} from "./frames.js";
export { OHP_MAX_LIFETIME_MS, OHP_SKEW_MS, OHP_WS_DEDUPE_MAX_ENTRIES, OhpWsDedupeCache, ohpWsDedupeWindowMs } from "./dedupe.js";
export type { OhpWsDedupeCacheOptions, OhpWsDedupeEntry } from "./dedupe.js";
export { isOhpWsErrorCode, OHP_WS_ERROR_CODES, OhpWsError } from "./errors.js";
export type { OhpWsErrorCode } from "./errors.js";
