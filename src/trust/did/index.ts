/**
 * DID resolution (did:web, did:key) and OHP issuer key resolution. See docs/trust-did-dpop.md.
 *
 * @module
 */
export * from "./errors.js";
export * from "./base58.js";
export * from "./did-web.js";
export * from "./did-key.js";
export * from "./document.js";
export * from "./cache.js";
export * from "./fetcher.js";
export * from "./loader.js";
export * from "./resolver.js";
export * from "./rotation.js";
export * from "./issuer-keys.js";
