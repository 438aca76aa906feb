/**
 * OAP governance plane (OAP-CORE-1.0 §15, §17, §18, §20, §22, §29, §31): the layered policy
 * engine and decision records, the CCC pre-action confidentiality gate with IFC and Privileged
 * Mode, provenance tags and the provenance cascade, data rights, incidents, revocation checks,
 * the kill switch, time locks, coordination (concurrency modes, conflicts, CRDTs, sessions) and
 * conformance receipts. See docs/oap-governance.md.
 *
 * @module
 */
export * from "./records.js";
export * from "./locale.js";
export * from "./conditions.js";
export * from "./rules-schema.js";
export * from "./policy.js";
export * from "./review.js";
export * from "./provenance.js";
export * from "./ccc.js";
export * from "./privileged.js";
export * from "./cascade.js";
export * from "./data-rights.js";
export * from "./incidents.js";
export * from "./revocation.js";
export * from "./kill-switch.js";
export * from "./time-locks.js";
export * from "./coordination.js";
export * from "./crdt.js";
export * from "./sessions.js";
export * from "./conformance.js";
