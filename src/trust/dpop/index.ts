/**
 * DPoP (RFC 9449): proof creation and verification, replay cache, OHP §5.8 issuer-JWKS binding.
 * See docs/trust-did-dpop.md.
 *
 * @module
 */
export * from "./errors.js";
export * from "./htu.js";
export * from "./replay.js";
export * from "./create.js";
export * from "./verify.js";
