/**
 * The OAP Tool server: `defineTool`, the transport-independent engine, the HTTPS/SSE binding,
 * `oap.v1.ToolService` over gRPC / gRPC-Web / Connect, stores (memory, SQLite), caller
 * authentication, trace context, compat mode, and a stand-alone server. See docs/oap-server.md.
 *
 * @module
 */
export * from "./tool.js";
export * from "./engine.js";
export * from "./http.js";
export * from "./grpc.js";
export * from "./store.js";
export * from "./sqlite-store.js";
export * from "./caller-auth.js";
export * from "./key-cache.js";
export * from "./node-host.js";
export * from "./trace.js";
export * from "./compat.js";
export * from "./standalone.js";
export * from "./planes.js";
export * from "./plane-endpoints.js";
