import { performance } from "node:perf_hooks";
import { createWorld } from "../conformance/world.js";
import type { JsonObject } from "../json/types.js";
import { verifyEnvelope, verifyResultJson } from "../ohp/verify.js";
import { EXIT_FAIL, EXIT_OK, type CliIo, type Command } from "./io.js";

function ms(t0: number): string {
  return `${(performance.now() - t0).toFixed(1)} ms`;
}

export const demoCommand: Command = {
  name: "demo",
  summary: "end-to-end OHP demo: a Regulated handoff sealed, hybrid-signed, received through all 14 D09 steps, and a tampered copy rejected",
  usage: `usage: agentwire demo

Creates a world with fresh keys (issuer Ed25519 + ML-DSA-65, IdP Ed25519, receiver X25519), a
consent store and an in-memory transparency log; builds a Regulated envelope (IdP-signed
assurance proof and SD-JWT VC caller identity, issuer-signed Art 50 disclosure and prohibited-
practice attestation), seals two fields for the receiver, signs it (EdDSA + ML-DSA-65,
transparency leafHash), and runs the receiver pipeline with every hook supplied: pre-checks,
issuer, signatures, rate limit, replay, freshness, call binding, consent, assurance, the
Regulated gates 7-12, decryption and anchoring. Then shows that a one-character change is
rejected and that the same envelope cannot be replayed.

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
    say(ok ? "demo ok" : "demo FAILED");
    return ok ? EXIT_OK : EXIT_FAIL;
  },
};
