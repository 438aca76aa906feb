/**
 * §9.3 webhooks: RFC 9421 HTTP Message Signatures (Ed25519) and RFC 9530 Content-Digest,
 * subscriptions, signed delivery, and the verifying subscriber.
 *
 * @module
 */
export * from "./structured-fields.js";
export * from "./rfc9421.js";
export * from "./subscriptions.js";
export * from "./deliver.js";
export * from "./subscriber.js";
