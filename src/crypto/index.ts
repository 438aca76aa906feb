/**
 * agentwire crypto: keys and JWK Sets (OHP §5.9), Ed25519, ML-DSA-65 (node:crypto or noble),
 * the opt-in composite ML-DSA-65-Ed25519, and the hybrid detached JWS profile (OHP §5.1-5.2).
 *
 * @module
 */
export * from "./jwk.js";
export * from "./thumbprint.js";
export * from "./ed25519.js";
export * from "./mldsa.js";
export * from "./composite.js";
export * from "./keys.js";
export * from "./jws.js";
