/**
 * OAP adapters (OAP-CORE-1.0 §38, Appendix E): MCP tool lists and calls ⇄ OAP manifests and
 * envelopes, A2A Agent Cards ⇄ OAP manifests. Pure mapping functions.
 *
 * @module
 */
export * from "./l0.js";
export * from "./mcp.js";
export * from "./a2a.js";
