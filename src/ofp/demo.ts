/**
 * The Open Floor demo (`agentwire ofp demo`): a user proxy, a floor manager with a convener, and
 * two agents (travel, weather), each on its own HTTP server on loopback, holding a multi-party
 * conversation with floor passing:
 *
 * 1. The user opens a conversation with an invite for the travel agent and a question. The
 *    convener approves the invite; travel accepts, greets, answers, invites the weather agent
 *    with the user's question as dialog history (§1.12) and yields the floor (@outOfDomain).
 *    The floor discovers the weather agent's manifest (§1.17); weather accepts and answers.
 * 2. The user asks travel to book. Travel has no floor, so it holds its reply and requests the
 *    floor; the convener grants it to travel and revokes it from weather (@override); travel
 *    speaks.
 * 3. The user thanks everyone and says bye; the floor closes the conversation and uninvites
 *    the agents.
 *
 * {@link runOfpDemo} prints a readable trace (from the floor's event log) and reports whether
 * every expected event happened.
 */
import { dialogEvent, grantFloor, invite, revokeFloor, utterance, yieldFloor } from "./build.js";
import { defineAgent, defineConvener, type AgentManifestInit, type OfpAgent } from "./agent.js";
import { textOf } from "./dialog-event.js";
import { FloorManager } from "./floor.js";
import type { FloorLogEntry } from "./floor-store.js";
import { sendEnvelope, type RunningOfpServer } from "./http.js";
import { composeEnvelope, defaultClock, defaultIds, type Clock, type IdSource } from "./runtime.js";
import type { OfpEvent } from "./types.js";

/** Options of {@link runOfpDemo}. */
export interface OfpDemoOptions {
  /** Where trace lines go (default: nowhere). */
  print?: (line: string) => void;
  now?: Clock;
  newId?: IdSource;
  /** How long an agent may take to answer the floor (default 10 s). */
  responseTimeoutMs?: number;
}

/** What {@link runOfpDemo} reports. */
export interface OfpDemoResult {
  ok: boolean;
  conversationId: string;
  /** The expectations, each with whether it held. */
  checks: { name: string; ok: boolean }[];
  /** Everything the user proxy heard, as "name: text". */
  heard: string[];
  log: FloorLogEntry[];
}

const ORG = "agentwire demo";

function identification(name: string, synopsis: string, extra: { openFloorRoles?: Record<string, boolean> } = {}): AgentManifestInit["identification"] {
  return { speakerUri: `tag:${name}.demo.agentwire.dev,2026:1`, organization: ORG, conversationalName: name, synopsis, ...extra };
}

const USER = "tag:user.demo.agentwire.dev,2026:1";

/** Runs the demo (see the module comment). */
export async function runOfpDemo(options: OfpDemoOptions = {}): Promise<OfpDemoResult> {
  const print = options.print ?? (() => undefined);
  const now = options.now ?? defaultClock;
  const newId = options.newId ?? defaultIds;
  const servers: RunningOfpServer[] = [];
  const names = new Map<string, string>([[USER, "user"]]);
  const name = (uri: string | undefined): string => (uri === undefined ? "?" : (names.get(uri) ?? uri));

  try {
    let weatherUrl = "";
    const travel = defineAgent({
      manifest: { identification: identification("travel", "Books hotels and trips."), capabilities: [{ keyphrases: ["travel", "hotel", "booking"], descriptions: ["Finds and books hotels."] }] },
      now,
      newId,
      onUtterance(u, ctx) {
        if (u.from !== USER) return undefined;
        if (/weather/i.test(u.text)) {
          const question = ctx.history.filter((d) => d.speakerUri === USER).slice(-1);
          return {
            text: "I can book you a hotel in Paris. For the forecast I'm bringing in the weather agent.",
            events: [invite({ to: { serviceUrl: weatherUrl }, dialogHistory: question }), yieldFloor({ reason: "@outOfDomain: weather" })],
          };
        }
        if (/book/i.test(u.text)) return "Done: Hotel Lutetia is booked for Saturday night.";
        if (/thank/i.test(u.text)) return "Enjoy Paris!";
        return undefined;
      },
    });
    const weather = defineAgent({
      manifest: { identification: identification("weather", "Weather forecasts for any city."), capabilities: [{ keyphrases: ["weather", "forecast"], descriptions: ["Gives weather forecasts."] }] },
      now,
      newId,
      onUtterance(u) {
        if (u.from !== USER) return undefined;
        return /weather|forecast/i.test(u.text) ? "Paris this weekend: sunny, 21°C on Saturday." : undefined;
      },
    });
    const convener = defineConvener({
      manifest: { identification: identification("convener", "Chairs multi-party conversations.", { openFloorRoles: { convener: true } }), capabilities: [{ keyphrases: ["convener"], descriptions: ["Decides invitations and floor requests."] }] },
      now,
      newId,
      policy: {
        decide({ event, from }, ctx): "approve" | OfpEvent[] {
          if (event.eventType !== "requestFloor") return "approve";
          // One speaker at a time: grant the requester, revoke the others' floor (§1.21 @override).
          const others = (ctx.conversation.floorGranted ?? []).filter((u) => u !== from && u !== USER && u !== ctx.self.speakerUri);
          return [grantFloor({ to: { speakerUri: from } }), ...others.map((u) => revokeFloor({ to: { speakerUri: u }, reason: "@override" }))];
        },
      },
    });
    for (const a of [travel, weather, convener] as OfpAgent[]) {
      servers.push(await a.serve());
      names.set(a.speakerUri, a.identification.conversationalName);
      names.set(a.serviceUrl!, a.identification.conversationalName);
    }
    weatherUrl = weather.serviceUrl!;

    const floor = new FloorManager({
      identity: { speakerUri: "tag:floor.demo.agentwire.dev,2026:1" },
      convener: convener.identification,
      closeWhen: "no-pull-conversants",
      now,
      ...(options.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: options.responseTimeoutMs }),
      onLog: (e) => {
        const line = traceLine(e, name);
        if (line !== undefined) print(line);
      },
    });
    names.set(floor.identity.speakerUri, "floor");
    const floorServer = await floor.serve();
    servers.push(floorServer);
    print(`floor ${floorServer.url}, convener ${convener.serviceUrl}, travel ${travel.serviceUrl}, weather ${weather.serviceUrl}`);

    const conversationId = `demo-${newId()}`;
    const heard: string[] = [];
    const user = { speakerUri: USER };
    const say = (text: string): OfpEvent => utterance({ dialogEvent: dialogEvent({ id: newId(), speakerUri: USER, startTime: now(), text }) });
    const post = async (events: OfpEvent[]): Promise<void> => {
      const doc = composeEnvelope({ version: "1.1.0", conversation: { id: conversationId }, sender: user, events }).document;
      const answer = await sendEnvelope(floorServer.url, doc);
      for (const e of answer.envelope.events) {
        if (e.eventType === "utterance") heard.push(`${name(e.parameters.dialogEvent.speakerUri)}: ${textOf(e.parameters.dialogEvent) ?? ""}`);
      }
    };

    print("-- 1. the user opens the conversation and invites the travel agent");
    await post([invite({ to: { serviceUrl: travel.serviceUrl! } }), say("I'd like a weekend in Paris. What will the weather be like?")]);
    print("-- 2. the user asks for a booking: travel has yielded the floor and must ask for it");
    await post([say("Great, please book the hotel for Saturday.")]);
    print("-- 3. the user thanks everyone and leaves");
    await post([say("Thanks, that's all.")]);
    await post([{ eventType: "bye" }]);

    print("-- what the user heard");
    for (const h of heard) print(`   ${h}`);

    const log = floor.log(conversationId);
    const has = (p: (e: FloorLogEntry) => boolean): boolean => log.some(p);
    const routed = (type: string, from: string, to?: string): boolean =>
      has((e) => e.kind === "routed" && e.event?.eventType === type && e.from === from && (to === undefined || e.event.to?.speakerUri === to));
    const checks = [
      { name: "the convener was assigned", ok: has((e) => e.kind === "floor" && e.to === convener.speakerUri && /convener/.test(e.note ?? "")) },
      { name: "the convener approved the user's invite of travel", ok: has((e) => e.kind === "delegated" && e.event?.eventType === "invite" && e.from === USER) && has((e) => e.kind === "joined" && e.to === travel.speakerUri) },
      { name: "travel accepted the invite", ok: routed("acceptInvite", travel.speakerUri) },
      { name: "the floor discovered weather's manifest", ok: has((e) => e.kind === "discovery" && /weather/.test(e.note ?? "")) },
      { name: "travel invited weather and yielded the floor", ok: routed("invite", travel.speakerUri) && routed("yieldFloor", travel.speakerUri) },
      { name: "weather accepted and answered", ok: routed("acceptInvite", weather.speakerUri) && heard.some((h) => h.startsWith("weather: Paris this weekend")) },
      { name: "travel requested the floor (delegated)", ok: has((e) => e.kind === "delegated" && e.event?.eventType === "requestFloor" && e.from === travel.speakerUri) },
      { name: "the convener granted travel the floor", ok: routed("grantFloor", convener.speakerUri, travel.speakerUri) },
      { name: "the convener revoked weather's floor", ok: routed("revokeFloor", convener.speakerUri, weather.speakerUri) },
      { name: "travel booked once it had the floor", ok: heard.some((h) => h.startsWith("travel: Done")) },
      { name: "the user said bye and the conversation closed", ok: routed("bye", USER) && has((e) => e.kind === "closed") },
    ];
    for (const c of checks) print(`${c.ok ? "ok  " : "FAIL"} ${c.name}`);
    return { ok: checks.every((c) => c.ok), conversationId, checks, heard, log };
  } finally {
    for (const s of servers) await s.close();
  }
}

function summary(e: OfpEvent, name: (uri: string | undefined) => string): string {
  const reason = e.reason === undefined ? "" : ` ${e.reason}`;
  switch (e.eventType) {
    case "utterance": {
      const text = textOf(e.parameters.dialogEvent) ?? "";
      return `${e.to?.private === true ? `whisper→${name(e.to.speakerUri)}` : "utterance"} "${text.length > 70 ? `${text.slice(0, 67)}...` : text}"`;
    }
    case "invite":
      return `invite(${e.to === undefined ? "everyone" : name(e.to.speakerUri ?? e.to.serviceUrl)}${(e.parameters?.dialogHistory?.length ?? 0) > 0 ? `, ${e.parameters!.dialogHistory!.length} turn(s) of history` : ""})`;
    case "uninvite":
    case "grantFloor":
    case "revokeFloor":
      return `${e.eventType}(${name(e.to?.speakerUri)}${reason})`;
    case "publishManifests":
      return `publishManifests(${(e.parameters?.servicingManifests ?? []).map((m) => String(m.identification.conversationalName)).join(", ")})`;
    default:
      return `${e.eventType}${reason === "" ? "" : `(${reason.trim()})`}`;
  }
}

/** One readable line per interesting log entry. */
function traceLine(e: FloorLogEntry, name: (uri: string | undefined) => string): string | undefined {
  const pad = (s: string): string => s.padEnd(9);
  switch (e.kind) {
    case "received":
      return `${pad(name(e.from))}→ floor     ${(e.document?.openFloor.events ?? []).map((x) => summary(x, name)).join(", ") || "(nothing to say)"}`;
    case "delegated":
      return `${pad("floor")}→ convener  delegates ${e.event === undefined ? "" : summary(e.event, name)} from ${name(e.from)}`;
    case "decided":
      return `${pad("convener")}→ floor     decides: ${(e.document?.openFloor.events ?? []).map((x) => summary(x, name)).join(", ") || "nothing"}`;
    case "joined":
    case "left":
    case "floor":
    case "timeout":
    case "failed":
    case "discovery":
    case "closed":
    case "ignored":
      return `           · ${e.kind}${e.to === undefined ? "" : ` ${name(e.to)}`}${e.note === undefined ? "" : `: ${e.note.replace(/[^\s()]+/g, (w) => name(w))}`}`;
    default:
      return undefined;
  }
}
