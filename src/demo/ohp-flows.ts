/**
 * The OHP flows demo: three local nodes (an IVR vendor, an AI vendor and a contact centre), each
 * a real `agentwire serve` node in-process with its own keys and SQLite store, resolving each
 * other's keys the did:web way, playing the four flows of the spec at every tier:
 *
 *   A  AI → human over ohp/sip-info:   PROPOSE → ACCEPT → ASSUME
 *   B  AI → AI over ohp/ws:            PROPOSE → ACCEPT → ASSUME → RETURN
 *   C  IVR → queue over ohp/https:     PROPOSE → REJECT → PROPOSE (fallback) → ACCEPT
 *   D  cross-channel resume, https:    ASSUME (refs a prior id) → ACCEPT
 *
 * Each verb, each receiver verdict (outcome, failing step) and each state change is traced.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builderInputOf } from "../conformance/world.js";
import { baseEnvelope } from "../conformance/templates.js";
import type { EnvelopeInput } from "../ohp/builder.js";
import { discoverPeer } from "../ohp/bindings/https.js";
import type { OhpBindingName } from "../ohp/bindings/types.js";
import type { NodeLogEvent, OhpTransport, PeerRef } from "../ohp/control/node.js";
import type { Tier } from "../ohp/tiers.js";
import { startAgentwireNode, type AgentwireNodeOptions, type RunningAgentwireNode } from "../node/node.js";

/** One flow run. */
export interface FlowResult {
  readonly flow: "A" | "B" | "C" | "D";
  readonly tier: Tier;
  readonly binding: OhpBindingName;
  readonly ok: boolean;
  readonly verbs: readonly string[];
  readonly finalState: string;
  readonly error?: string;
}

/** Extra bindings a caller can plug in (ws, sip-info): transports and server attachment. */
export interface DemoBindings {
  readonly transports?: AgentwireNodeOptions["transports"];
  readonly attach?: AgentwireNodeOptions["attach"];
  /** The peer for a binding, given the node (for bindings whose address is not an HTTP URL). */
  readonly peerFor?: (binding: OhpBindingName, target: RunningAgentwireNode, base: PeerRef) => PeerRef;
}

/** Options of {@link runOhpFlows}. */
export interface OhpFlowsOptions {
  readonly tiers?: readonly Tier[];
  readonly flows?: readonly ("A" | "B" | "C" | "D")[];
  readonly trace?: (line: string) => void;
  readonly bindings?: DemoBindings;
}

function input(tier: Tier, purpose: string, callId: string): EnvelopeInput {
  const i = builderInputOf(baseEnvelope(tier));
  return { ...i, audience: { ...i.audience, purpose }, session: { ...i.session, callId } };
}

const FLOW_BINDING: Record<"A" | "B" | "C" | "D", OhpBindingName> = { A: "ohp/sip-info", B: "ohp/ws", C: "ohp/https", D: "ohp/https" };

/** Runs the flows and returns one result per (flow, tier). Never throws for a failing flow. */
export async function runOhpFlows(options: OhpFlowsOptions = {}): Promise<FlowResult[]> {
  const trace = options.trace ?? (() => undefined);
  const tiers = options.tiers ?? ["core", "signed", "sealed", "regulated"];
  const flows = options.flows ?? ["A", "B", "C", "D"];
  const root = await mkdtemp(join(tmpdir(), "agentwire-demo-"));
  const names = new Map<string, string>();
  const logFor = (name: string) => (e: NodeLogEvent) => {
    if (e.event === "verified") {
      trace(`      ${name} verifies ${e.verb ?? "?"} ${e.handoff ?? ""}: ${e.outcome}${e.outcome === "reject" ? ` (${e.reason} at step ${e.step}, ${String(e["check"])})` : ""}`);
    }
  };
  const bindings = options.bindings ?? {};
  const start = (name: string, extra: Partial<AgentwireNodeOptions> = {}): Promise<RunningAgentwireNode> =>
    startAgentwireNode({
      dataDir: join(root, name),
      config: { identity: { vendor: name, agentId: `${name}-agent`, region: "uk-west" }, ...(extra.config ?? {}) },
      port: 0,
      grpcPort: 0,
      log: logFor(name),
      ...(bindings.transports ? { transports: bindings.transports } : {}),
      ...(bindings.attach ? { attach: bindings.attach } : {}),
    });
  const ivr = await start("ivr-vendor");
  const ai = await start("ai-vendor");
  const cc = await start("contact-centre", { config: { identity: { vendor: "contact-centre", agentId: "queue-router", region: "uk-south" }, rejectPurposes: ["queue-routing"] } });
  for (const n of [ivr, ai, cc]) names.set(n.did, n.identity.vendor);
  trace(`nodes: ivr-vendor ${ivr.servers.url}, ai-vendor ${ai.servers.url}, contact-centre ${cc.servers.url} (did:web, keys resolved from /.well-known/ohp-jwks.json)`);

  const peer = async (target: RunningAgentwireNode, binding: OhpBindingName): Promise<PeerRef> => {
    const base = await discoverPeer(target.servers.url, "ohp/https");
    const endpoints = (base.capabilities["endpoints"] ?? {}) as Record<string, string>;
    const ref: PeerRef = { ...base, binding, url: endpoints[binding] ?? base.url };
    return bindings.peerFor ? bindings.peerFor(binding, target, ref) : ref;
  };

  const results: FlowResult[] = [];
  let call = 0;
  try {
    for (const flow of flows) {
      for (const tier of tiers) {
        const binding = FLOW_BINDING[flow];
        const verbs: string[] = [];
        const say = (from: string, to: string, verb: string, detail = ""): void => {
          verbs.push(verb);
          trace(`  ${from} → ${to}  ${verb}${detail ? `  ${detail}` : ""}`);
        };
        const callId = `callid_demo_${flow}_${tier}_${++call}`;
        trace(`flow ${flow} at ${tier} over ${binding}`);
        try {
          let finalState = "";
          let ok = false;
          if (flow === "A" || flow === "B") {
            const target = flow === "A" ? cc : ai;
            const sender = flow === "A" ? ai : ivr;
            const p = await peer(target, binding);
            const r = await sender.node.propose(p, input(tier, flow === "A" ? "human-takeover" : "ai-vendor-handoff", callId));
            say(sender.identity.vendor, target.identity.vendor, "PROPOSE", `${r.handoffId} [${tier}]`);
            say(target.identity.vendor, sender.identity.vendor, r.verb ?? "?", r.reason ?? "");
            if (r.verb !== "ACCEPT") throw new Error(`expected ACCEPT, got ${r.verb} ${r.reason ?? ""}`);
            const a = await sender.node.assume(p, r.handoffId);
            say(sender.identity.vendor, target.identity.vendor, "ASSUME", `state ${a.state}`);
            finalState = a.state;
            ok = a.state === "HANDED_OFF";
            if (flow === "B") {
              const back = await peer(sender, binding);
              const ret = await target.node.returnHandoff(back, r.handoffId, { fraud_case_opened: true });
              say(target.identity.vendor, sender.identity.vendor, "RETURN", `receiver state ${ret.state}`);
              finalState = (await sender.node.handoffs("sender")).find((h) => h.id === r.handoffId)?.state ?? "?";
              ok = finalState === "RESUMED";
            }
          } else if (flow === "C") {
            const p = await peer(cc, binding);
            const r = await ivr.node.propose(p, input(tier, "queue-routing", callId), {
              fallback: { onReasons: ["unknown"], edit: (i) => ({ ...i, audience: { ...i.audience, purpose: "human-takeover" } }) },
            });
            say("ivr-vendor", "contact-centre", "PROPOSE", `${r.attempts[0]} [${tier}] purpose queue-routing`);
            say("contact-centre", "ivr-vendor", "REJECT", "over capacity");
            say("ivr-vendor", "contact-centre", "PROPOSE", `${r.attempts[1] ?? "?"} (fallback: human-takeover)`);
            say("contact-centre", "ivr-vendor", r.verb ?? "?");
            finalState = r.state;
            ok = r.attempts.length === 2 && r.verb === "ACCEPT";
          } else {
            const p = await peer(cc, binding);
            const r = await ai.node.resume(p, input(tier, "cross-channel-resume", callId), "cse_01HZX0R5N9V8W1QYK0XQM3R3K9");
            say("ai-vendor", "contact-centre", "ASSUME", `${r.handoffId} [${tier}] resumes cse_01HZX0R5N9V8W1QYK0XQM3R3K9`);
            say("contact-centre", "ai-vendor", r.verb ?? "?");
            finalState = r.state;
            ok = r.verb === "ACCEPT" && r.state === "HANDED_OFF";
          }
          results.push({ flow, tier, binding, ok, verbs, finalState });
          trace(`  → ${ok ? "ok" : "FAILED"} (${finalState})`);
        } catch (e) {
          results.push({ flow, tier, binding, ok: false, verbs, finalState: "error", error: (e as Error).message });
          trace(`  → FAILED: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    await Promise.all([ivr.stop(), ai.stop(), cc.stop()]);
    await rm(root, { recursive: true, force: true });
  }
  return results;
}

/** Transport type re-export for callers wiring bindings. */
export type { OhpTransport };
