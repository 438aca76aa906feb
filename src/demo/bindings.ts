/**
 * The bindings the demo nodes use beyond ohp/https and ohp/grpc (wired as the ohp/ws and
 * ohp/sip-info modules land).
 */
import type { DemoBindings } from "./ohp-flows.js";

/** Transports and server attachments for ohp/ws and ohp/sip-info. */
export function demoBindings(): DemoBindings {
  return {};
}
