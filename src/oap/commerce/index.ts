/**
 * OAP commercial plane (OAP-CORE-1.0 §11, §12, §23.4): decimal-string money, pricing models and
 * quotes, consent receipts, subscriptions and subscription tokens, the Wallet (holds, captures,
 * refunds, signed statements, limits, portability) on a store interface with in-memory and
 * SQLite implementations, settlement statements and the refund / dispute desk.
 * See docs/oap-commerce.md.
 *
 * @module
 */
export * from "./money.js";
export * from "./pricing.js";
export * from "./consent.js";
export * from "./subscriptions.js";
export * from "./wallet-store.js";
export * from "./wallet.js";
export * from "./wallet-sqlite.js";
export * from "./settlement.js";
export * from "./disputes.js";
