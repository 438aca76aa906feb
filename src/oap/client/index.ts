/**
 * The OAP client: discovery, signed invocations over HTTPS or Connect / gRPC, verified
 * responses and receipts, the Principal's receipt chain, tasks and streams.
 *
 * @module
 */
export * from "./client.js";
export { readSse, type SseEvent } from "./sse.js";
