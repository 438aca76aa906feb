import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { monotonicFactory } from "ulid";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../crypto/jwk.js";
import { generateKeyPair, publicJwks } from "../crypto/keys.js";
import { parseJsonStrict } from "../json/parse.js";
import type { JsonObject } from "../json/types.js";
import { sealEnvelope } from "../ohp/seal.js";
import { signEnvelope } from "../ohp/sign.js";
import { verifyEnvelope, verifyResultJson } from "../ohp/verify.js";
import { EXIT_FAIL, EXIT_OK, type CliIo, type Command } from "./io.js";

/** The upstream Regulated example the demo starts from (repository data). */
function templatePath(): string {
  // dist/src/cli/demo.js or src/cli/demo.ts → repository root
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${join("dist", "src")}`) ? join(here, "..", "..", "..") : join(here, "..", "..");
  return join(root, "test", "upstream", "ohp", "examples", "envelopes", "04-regulated-healthcare.json");
}

function ms(t0: number): string {
  return `${(performance.now() - t0).toFixed(1)} ms`;
}

export const demoCommand: Command = {
  name: "demo",
  summary: "end-to-end OHP demo: keys, seal, hybrid-sign, verify and a tampered copy, all in memory",
  usage: `usage: agentwire demo

Generates an issuer (Ed25519 + ML-DSA-65) and a receiver (X25519), builds a fresh Regulated
envelope from the upstream example, seals two fields for the receiver, signs it (EdDSA +
ML-DSA-65, transparency leafHash), verifies it as the receiver would (structure, signatures,
freshness, call binding, decryption), then shows that a one-character change is rejected.

Exit status: 0 when every step behaved as expected, 1 otherwise.`,
  async run(_args: string[], io: CliIo): Promise<number> {
    const say = (line: string): void => io.stdout(line + "\n");
    let t0 = performance.now();
    const issuer = [generateKeyPair(ALG_EDDSA), generateKeyPair(ALG_MLDSA65)];
    const receiver = generateKeyPair(ALG_HPKE_X25519);
    say(`1. keys (${ms(t0)}): issuer EdDSA ${issuer[0]!.kid}, ML-DSA-65 ${issuer[1]!.kid}; receiver X25519 ${receiver.kid}`);

    const template = parseJsonStrict(await readFile(templatePath(), "utf8")) as JsonObject;
    const now = new Date();
    const ulid = monotonicFactory();
    const envelope: JsonObject = {
      ...template,
      id: `cse_${ulid(now.getTime())}`,
      issuedAt: now.toISOString(),
      notBefore: now.toISOString(),
      notAfter: new Date(now.getTime() + 4 * 60_000).toISOString(),
    };
    delete envelope["sealed"];
    delete envelope["signatures"];
    const callId = (envelope["session"] as JsonObject)["callId"] as string;
    say(`2. envelope ${String(envelope["id"])} (tier ${String(envelope["conformance"])}, call ${callId})`);

    t0 = performance.now();
    const sealed = await sealEnvelope(envelope, {
      recipients: [receiver.publicJwk],
      fields: { "healthcare.fhirRef": "Patient/example-123", "caller.vulnerable": true },
    });
    say(`3. sealed healthcare.fhirRef and caller.vulnerable for ${receiver.kid} (${ms(t0)})`);

    t0 = performance.now();
    const signed = signEnvelope(sealed, { keys: issuer });
    say(`4. signed (${ms(t0)}): surface ${signed.surface.length} B, leafHash ${signed.leafHash}`);
    const json = JSON.stringify(signed.envelope);
    say(`   wire JSON ${Buffer.byteLength(json)} B; signatures ${signed.signatures.map((s) => s.alg).join(" + ")}`);

    const jwks = publicJwks(issuer);
    t0 = performance.now();
    const accepted = await verifyEnvelope(parseJsonStrict(json), { jwks, now, callId, keys: [receiver], byteLength: Buffer.byteLength(json) });
    say(`5. receiver verifies (${ms(t0)}): ${JSON.stringify(verifyResultJson(accepted))}`);

    const tampered = parseJsonStrict(json) as JsonObject;
    const transcript = tampered["transcript"] as JsonObject;
    transcript["summary"] = `${String(transcript["summary"])} Caller agreed to an upsell.`;
    const rejected = await verifyEnvelope(tampered, { jwks, now, callId, keys: [receiver] });
    say(`6. one field changed in transit: ${JSON.stringify({ outcome: rejected.outcome, rejectReason: rejected.rejectReason, firstFailingStep: rejected.firstFailingStep })}`);

    const ok = accepted.outcome === "accept" && accepted.sealed !== undefined && rejected.rejectReason === "signature-invalid";
    say(ok ? "demo ok" : "demo FAILED");
    return ok ? EXIT_OK : EXIT_FAIL;
  },
};
