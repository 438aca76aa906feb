/** Shared fixtures of the agent runtime, floor manager and binding tests. */
import { buildOfpEnvelope, dialogEvent, utterance } from "../../src/ofp/build.js";
import { textOf } from "../../src/ofp/dialog-event.js";
import type { OfpAgent } from "../../src/ofp/agent.js";
import type { FloorTransport } from "../../src/ofp/floor.js";
import type { Timer } from "../../src/ofp/runtime.js";
import type { Conversation, OfpDocument, OfpEvent, Sender, UtteranceEvent } from "../../src/ofp/types.js";
import type { Ofp1xVersion } from "../../src/ofp/versions.js";

/** A fixed clock. */
export const NOW = new Date("2026-01-13T10:00:00.000Z");
export const now = (): Date => NOW;

/** Deterministic ids: prefix-1, prefix-2, ... */
export function ids(prefix = "id"): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

export const USER: Sender = { speakerUri: "tag:user.example,2026:1" };
export const FLOOR_URI = "tag:floor.example,2026:1";

/** An identification of a test agent named `name`, served at https://name.example/ofp. */
export function ident(name: string, extra: { openFloorRoles?: Record<string, boolean> } = {}) {
  return { speakerUri: `tag:${name}.example,2026:1`, serviceUrl: `https://${name}.example/ofp`, organization: "Example", conversationalName: name, synopsis: `The ${name} agent.`, ...extra };
}

export function manifestOf(name: string, extra: { openFloorRoles?: Record<string, boolean> } = {}) {
  return { identification: ident(name, extra), capabilities: [{ keyphrases: [name], descriptions: [`${name} things`] }] };
}

let counter = 0;
/** A public utterance by `speakerUri`. */
export function say(speakerUri: string, text: string, to?: UtteranceEvent["to"]): UtteranceEvent {
  return utterance({ dialogEvent: dialogEvent({ id: `de-${++counter}`, speakerUri, startTime: NOW, text }), ...(to === undefined ? {} : { to }) });
}

/** An envelope from `sender` in conversation `conversation`. */
export function envelope(conversation: string | Conversation, sender: Sender, events: OfpEvent[], version: Ofp1xVersion = "1.1.0"): OfpDocument {
  return buildOfpEnvelope({ version, conversation, sender, events });
}

/** "speaker: text" of every utterance of a document. */
export function spoken(doc: OfpDocument): string[] {
  return doc.openFloor.events.flatMap((e) => (e.eventType === "utterance" ? [`${e.parameters.dialogEvent.speakerUri.split(".")[0]!.replace("tag:", "")}: ${textOf(e.parameters.dialogEvent) ?? ""}`] : []));
}

/** Event types of a document. */
export function types(doc: OfpDocument): string[] {
  return doc.openFloor.events.map((e) => e.eventType);
}

/** A transport that calls agents in process (by serviceUrl), recording every delivery. */
export function localTransport(agents: readonly OfpAgent[], hooks: { deliver?: (url: string, doc: OfpDocument) => Promise<OfpDocument | undefined> | undefined } = {}) {
  const deliveries: { url: string; doc: OfpDocument }[] = [];
  const transport: FloorTransport = {
    async deliver(url, doc) {
      deliveries.push({ url, doc: structuredClone(doc) });
      const custom = hooks.deliver?.(url, doc);
      if (custom !== undefined) return custom;
      const agent = agents.find((a) => a.serviceUrl === url);
      if (agent === undefined) throw new Error(`connection refused: ${url}`);
      return agent.handle(JSON.stringify(doc), { binding: "ofp/https" });
    },
  };
  return { transport, deliveries, to: (url: string) => deliveries.filter((d) => d.url === url).map((d) => d.doc) };
}

/** A timer the test fires by hand: no wall clock. */
export function manualTimer() {
  const pending = new Set<() => void>();
  const timer: Timer = (_ms, signal) =>
    new Promise<void>((resolve) => {
      const fire = (): void => {
        pending.delete(fire);
        resolve();
      };
      pending.add(fire);
      signal.addEventListener("abort", () => pending.delete(fire), { once: true });
    });
  return {
    timer,
    /** Fires every timer running now. */
    fire: () => [...pending].forEach((f) => f()),
    get running() {
      return pending.size;
    },
  };
}

/** A timer that never fires. */
export const neverTimer: Timer = () => new Promise<void>(() => undefined);
