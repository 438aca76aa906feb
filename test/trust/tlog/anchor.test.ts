import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signEnvelope } from "../../../src/ohp/sign.js";
import { verifyEnvelopeSignatures } from "../../../src/ohp/verify.js";
import {
  MemoryLogStore,
  TlogClient,
  TransparencyLog,
  anchorEnvelope,
  ed25519NoteSigner,
  startTlogServer,
  verifierKeyOf,
  verifyAnchoring,
  type RunningTlogServer,
} from "../../../src/trust/tlog/index.js";
import { testKeys } from "../../helpers/keys.js";
import { readJson, UPSTREAM_OHP } from "../../helpers/upstream.js";
import type { JsonObject } from "../../../src/json/types.js";
import { codeOf } from "./helpers.js";

const LOG_ID = "rekor.openhandoffprotocol.org";
const logSeed = new Uint8Array(32).fill(0x42);
const vkey = verifierKeyOf(LOG_ID, logSeed);
const example = readJson(join(UPSTREAM_OHP, "examples", "envelopes", "04-regulated-healthcare.json")) as JsonObject;

let server: RunningTlogServer;
let client: TlogClient;

beforeAll(async () => {
  const log = new TransparencyLog(new MemoryLogStore(), { origin: LOG_ID, signers: [ed25519NoteSigner(LOG_ID, logSeed)] });
  // Some unrelated entries first, so the proof is not trivial.
  for (let i = 0; i < 13; i++) log.append(new Uint8Array(32).fill(i));
  server = await startTlogServer({ log });
  client = new TlogClient(server.url, { verifiers: [vkey], origin: LOG_ID });
});
afterAll(async () => server.close());

describe("OHP §6.5 transparency anchoring of a Regulated envelope", () => {
  it("OHP §6.5 + RFC 9162 §2.1.3: sign 04-regulated-healthcare (EdDSA + ML-DSA-65), submit its leafHash, verify inclusion offline", async () => {
    const { ed, mldsa } = testKeys();
    const signed = signEnvelope(example, { keys: [ed, mldsa] });
    expect(signed.envelope["conformance"]).toBe("regulated");
    expect((signed.envelope["signatures"] as unknown[]).length).toBe(2);
    expect((signed.envelope["transparency"] as JsonObject)["leafHash"]).toBe(signed.leafHash);

    const receipt = await anchorEnvelope(client, signed);
    expect(receipt.logId).toBe(LOG_ID);
    expect(receipt.index).toBe(13);
    expect(receipt.leafHash).toBe(signed.leafHash);

    // Offline: the envelope as received, the checkpoint text, the proof JSON and the log key.
    const received = JSON.parse(JSON.stringify(signed.envelope)) as JsonObject;
    const result = verifyAnchoring(received, { checkpoint: receipt.checkpoint, proof: receipt.proof, verifierKey: vkey });
    expect(result.leafHash).toBe(signed.leafHash);
    expect(result.checkpoint.size).toBe(14);
    // The signatures still verify: anchoring does not touch the signed bytes.
    const sigs = verifyEnvelopeSignatures(received, { keys: [ed.publicJwk, mldsa.publicJwk] });
    expect(sigs).toHaveLength(2);
  });

  it("OHP §6.5 anchoring rejects a tampered envelope, a forged proof, a wrong log and an untrusted key", async () => {
    const { ed, mldsa } = testKeys();
    const signed = signEnvelope(example, { keys: [ed, mldsa] });
    const receipt = await anchorEnvelope(client, signed.envelope);
    const opts = { checkpoint: receipt.checkpoint, proof: receipt.proof, verifierKey: vkey };

    // Content changed after anchoring: leafHash no longer matches the surface.
    const tampered = structuredClone(signed.envelope) as JsonObject;
    (tampered["intent"] as JsonObject)["summary"] = "changed";
    expect(codeOf(() => verifyAnchoring(tampered, opts))).toBe("ERR_TLOG_ANCHOR_LEAF_MISMATCH");

    // Content and leafHash both changed consistently: not in the log.
    const resigned = signEnvelope(tampered, { keys: [ed, mldsa] });
    expect(codeOf(() => verifyAnchoring(resigned.envelope, opts))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");

    const forged = { ...receipt.proof, hashes: receipt.proof.hashes.map((h, i) => (i === 0 ? Buffer.alloc(32).toString("base64") : h)) };
    expect(codeOf(() => verifyAnchoring(signed.envelope, { ...opts, proof: forged }))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
    expect(codeOf(() => verifyAnchoring(signed.envelope, { ...opts, proof: { ...receipt.proof, index: 0 } }))).toBe("ERR_TLOG_PROOF_MALFORMED");
    expect(codeOf(() => verifyAnchoring(signed.envelope, { ...opts, proof: { ...receipt.proof, size: 99 } }))).toBe("ERR_TLOG_PROOF_SIZE_MISMATCH");

    const otherLog = structuredClone(example);
    (otherLog["transparency"] as JsonObject)["logId"] = "other.example/log";
    const otherSigned = signEnvelope(otherLog, { keys: [ed, mldsa] });
    expect(codeOf(() => verifyAnchoring(otherSigned.envelope, opts))).toBe("ERR_TLOG_ANCHOR_LOG_MISMATCH");

    expect(codeOf(() => verifyAnchoring(signed.envelope, { ...opts, verifierKey: verifierKeyOf(LOG_ID, new Uint8Array(32)) }))).toBe("ERR_NOTE_UNVERIFIED");

    const noTransparency = structuredClone(signed.envelope) as JsonObject;
    delete noTransparency["transparency"];
    expect(codeOf(() => verifyAnchoring(noTransparency, opts))).toBe("ERR_TLOG_ANCHOR_NO_TRANSPARENCY");
  });
});
