/**
 * Event addressing (OFP §1.8, §2.1) and `reason` tokens: pure helpers an agent runtime or floor
 * manager uses to decide what an event means for it.
 */
import type { OfpEvent, To } from "./types.js";

/** Who an agent is, for addressing. */
export interface Self {
  speakerUri: string;
  serviceUrl?: string;
}

/**
 * OFP §1.8/§2.1: is `event` addressed to `self`? No `to` (or a `to` naming nobody) means every
 * recipient. A `speakerUri` must match, except that an invite may also reach the agent at its
 * `serviceUrl` (§1.12: the invitee need not adopt the suggested speakerUri). Without a
 * `speakerUri`, the `serviceUrl` must match (§1.17: every agent served there).
 */
export function isAddressedTo(event: { eventType?: string; to?: To }, self: Self): boolean {
  const to = event.to;
  if (to === undefined || (to.speakerUri === undefined && to.serviceUrl === undefined)) return true;
  const urlMatch = to.serviceUrl !== undefined && to.serviceUrl === self.serviceUrl;
  if (to.speakerUri !== undefined) return to.speakerUri === self.speakerUri || (event.eventType === "invite" && urlMatch);
  return urlMatch;
}

/** OFP §1.8: the event is meant for its `to` conversant alone. */
export function isPrivate(event: { to?: To }): boolean {
  return event.to?.private === true;
}

/** OFP §1.10: a private utterance, also termed a "whisper". */
export function isWhisper(event: OfpEvent): boolean {
  return event.eventType === "utterance" && isPrivate(event);
}

/** OFP §1.8: the special tokens of a `reason` (`@[a-zA-Z0-9_]+`), in order, as written. */
export function reasonTokens(reason: string | undefined): string[] {
  return reason === undefined ? [] : (reason.match(/@[a-zA-Z0-9_]+/g) ?? []);
}

/** Reason tokens with a defined meaning, per event type (OFP §1.13, §1.15, §1.21, §1.22). */
export const REASON_TOKENS = {
  uninvite: ["@timedOut", "@brokenPolicy", "@error"],
  declineInvite: ["@outOfDomain", "@unavailable", "@refused", "@error"],
  revokeFloor: ["@timedOut", "@brokenPolicy", "@override", "@error"],
  yieldFloor: ["@outOfDomain", "@complete", "@timedOut", "@refused", "@error"],
} as const satisfies Partial<Record<OfpEvent["eventType"], readonly string[]>>;
