import { performance } from "node:perf_hooks";
import { createWorld } from "../conformance/world.js";
import type { JsonObject } from "../json/types.js";
import { verifyEnvelope, verifyResultJson } from "../ohp/verify.js";
import { parseArgs } from "node:util";
import { runClusterDemo } from "../demo/cluster.js";
import { runOhpFlows } from "../demo/ohp-flows.js";
import { isPostgresUrl } from "../store/postgres-handoff-store.js";
import { ofpDemo } from "./ofp.js";
import { EXIT_FAIL, EXIT_OK, UsageError, type CliIo, type Command } from "./io.js";

function ms(t0: number): string {
  return `${(performance.now() - t0).toFixed(1)} ms`;
}

/** The single-envelope part of the demo (`agentwire demo envelope`). */
const envelopeDemo = {
  usage: `usage: agentwire demo [envelope|flows|ofp|all]
       agentwire demo cluster [--store postgres://...]

all (default): envelope and flows below. ofp: the Open Floor demo (a user proxy, a convener and
travel and weather agents passing the floor over HTTPS; see agentwire ofp demo --help).

envelope:

Creates a world with fresh keys (issuer Ed25519 + ML-DSA-65, IdP Ed25519, receiver X25519), a
consent store and an in-memory transparency log; builds a Regulated envelope (IdP-signed
assurance proof and SD-JWT VC caller identity, issuer-signed Art 50 disclosure and prohibited-
practice attestation), seals two fields for the receiver, signs it (EdDSA + ML-DSA-65,
transparency leafHash), and runs the receiver pipeline with every hook supplied: pre-checks,
issuer, signatures, rate limit, replay, freshness, call binding, consent, assurance, the
Regulated gates 7-12, decryption and anchoring. Then shows that a one-character change is
rejected and that the same envelope cannot be replayed.

flows: three local nodes (IVR vendor, AI vendor, contact centre) with their own keys and
stores, resolving each other by did:web, play OHP flows A-D at Core, Signed, Sealed and
Regulated: A AI→human over ohp/sip-info, B AI→AI with RETURN over ohp/ws, C IVR→queue with
REJECT and a fallback re-PROPOSE over ohp/https, D cross-channel resume with ASSUME.

cluster: two agentwire serve processes on one PostgreSQL database (a throwaway server started
from Debian's binaries with initdb/pg_ctl on loopback, or --store): a PROPOSE accepted by node 1
is answered identically by node 2 and a re-signed envelope reusing its (id, nonce) is rejected by
node 2 as a replay; an OAP task created on node 1 is polled to completion on node 2; concurrent
invocations on both nodes leave one linear, verified receipt chain anchored in the one
transparency log both nodes serve. Needs dist/ (npm run build) and PostgreSQL server binaries.

Exit status: 0 when every step behaved as expected, 1 otherwise.`,
  async run(_args: string[], io: CliIo): Promise<number> {
    const say = (line: string): void => io.stdout(line + "\n");
    let t0 = performance.now();
    const world = createWorld({ label: "random", now: new Date() });
    const k = world.keys;
    say(`1. keys (${ms(t0)}): issuer EdDSA ${k.issuerEd.kid}, ML-DSA-65 ${k.issuerMl.kid}; IdP ${k.idp.kid}; receiver X25519 ${k.receiver.kid}`);

    t0 = performance.now();
    const envelope = await world.envelope("regulated");
    const json = JSON.stringify(envelope);
    const sealed = envelope["sealed"] as JsonObject;
    say(`2. Regulated envelope ${String(envelope["id"])} built, sealed (${(sealed["fields"] as string[]).join(", ")}) and signed in ${ms(t0)}`);
    say(`   wire JSON ${Buffer.byteLength(json)} B; signatures ${(envelope["signatures"] as JsonObject[]).map((s) => s["alg"]).join(" + ")}`);

    const options = { ...world.receiverOptions(envelope), byteLength: Buffer.byteLength(json) };
    t0 = performance.now();
    const accepted = await verifyEnvelope(JSON.parse(json), options);
    say(`3. receiver pipeline (${ms(t0)}): ${accepted.steps.map((s) => `${s.step > 0 ? s.step : s.name}:${s.status}`).join(" ")}`);
    say(`   ${JSON.stringify(verifyResultJson(accepted))}`);

    const tampered = JSON.parse(json) as JsonObject;
    const transcript = tampered["transcript"] as JsonObject;
    transcript["summary"] = `${String(transcript["summary"])} Caller agreed to an upsell.`;
    const rejected = await verifyEnvelope(tampered, options);
    const brief = (r: typeof rejected): string => JSON.stringify({ outcome: r.outcome, rejectReason: r.rejectReason, firstFailingStep: r.firstFailingStep, check: r.check });
    say(`4. one field changed in transit: ${brief(rejected)}`);

    const ok =
      accepted.outcome === "accept" &&
      accepted.unverified.length === 0 &&
      accepted.sealed !== undefined &&
      accepted.anchorReceipt !== undefined &&
      rejected.rejectReason === "signature-invalid";
    say(ok ? "envelope demo ok" : "envelope demo FAILED");
    return ok ? EXIT_OK : EXIT_FAIL;
  },
};

async function flowsDemo(io: CliIo): Promise<number> {
  const results = await runOhpFlows({ trace: (l) => io.stdout(l + "\n") });
  const failed = results.filter((r) => !r.ok);
  io.stdout(`${results.length - failed.length} of ${results.length} flow runs ok${failed.length ? `; failed: ${failed.map((f) => `${f.flow}/${f.tier}`).join(", ")}` : ""}\n`);
  return failed.length === 0 ? EXIT_OK : EXIT_FAIL;
}

async function clusterDemo(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { store: { type: "string" } } });
  if (positionals.length > 0) throw new UsageError("demo cluster takes no positional arguments");
  if (values.store !== undefined && !isPostgresUrl(values.store)) throw new UsageError("--store must be a postgres:// URL");
  const report = await runClusterDemo({ ...(values.store === undefined ? {} : { store: values.store }), log: (l) => io.stdout(l + "\n") });
  io.stdout(report.ok ? "cluster demo ok\n" : "cluster demo FAILED\n");
  return report.ok ? EXIT_OK : EXIT_FAIL;
}

export const demoCommand: Command = {
  name: "demo",
  summary: "end-to-end OHP demo: a Regulated envelope through all 14 steps, then flows A-D between three local nodes at every tier",
  usage: envelopeDemo.usage,
  async run(args: string[], io: CliIo): Promise<number> {
    const part = args[0] ?? "all";
    if (part === "envelope") return envelopeDemo.run(args.slice(1), io);
    if (part === "flows") return flowsDemo(io);
    if (part === "ofp") return ofpDemo.run(args.slice(1), io);
    if (part === "cluster") return clusterDemo(args.slice(1), io);
    if (part !== "all") throw new UsageError(`unknown demo ${JSON.stringify(part)} (envelope, flows, ofp, cluster, all)`);
    io.stdout("== OHP envelope: build, seal, sign, receive through every step\n");
    const a = await envelopeDemo.run([], io);
    io.stdout("\n== OHP flows A-D between three local nodes\n");
    const b = await flowsDemo(io);
    const ok = a === EXIT_OK && b === EXIT_OK;
    io.stdout(ok ? "demo ok\n" : "demo FAILED\n");
    return ok ? EXIT_OK : EXIT_FAIL;
  },
};
