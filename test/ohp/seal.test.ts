import { describe, expect, it } from "vitest";
import { CborTag, decodeCanonical } from "../../src/cbor/index.js";
import type { JsonObject } from "../../src/json/types.js";
import { openEnvelope, sealedAad, sealEnvelope } from "../../src/ohp/seal.js";
import { signEnvelope } from "../../src/ohp/sign.js";
import { verifyEnvelope } from "../../src/ohp/verify.js";
import { testJwks, testKeys } from "../helpers/keys.js";
import { upstreamEnvelopes } from "../helpers/upstream.js";

const alice = testKeys(1);
const bob = testKeys(2);
const carol = testKeys(3);

/** The upstream Sealed example without its placeholder sealed block. */
function unsealed(): JsonObject {
  const env = structuredClone(upstreamEnvelopes().find((e) => e.name.includes("03-sealed-payment"))!.json) as JsonObject;
  delete env["sealed"];
  delete env["signatures"];
  return env;
}

const FIELDS = { "payment.disputeDetail": { amount: 42.5, reason: "not received", items: [1, 2, 3] }, "caller.vulnerable": false };

describe("OHP §5.3 sealed fields", () => {
  it("§5.3: one recipient gives exactly the spec's shape and opens to the sealed map", async () => {
    const env = await sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], fields: FIELDS });
    const sealed = env["sealed"] as JsonObject;
    expect(Object.keys(sealed).sort()).toEqual(["alg", "ciphertext", "fields", "recipients"]);
    expect(sealed["alg"]).toBe("HPKE/X25519-SHA256-CHACHA20POLY1305");
    expect(sealed["recipients"]).toEqual([{ kid: bob.x25519.kid, enc: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) }]);
    expect(sealed["fields"]).toEqual(["caller.vulnerable", "payment.disputeDetail"]);
    expect((env["audience"] as JsonObject)["recipientKeys"]).toEqual([{ kid: bob.x25519.kid, alg: "HPKE/X25519-SHA256-CHACHA20POLY1305" }]);
    const opened = await openEnvelope(env, bob.all);
    expect(opened).toEqual({ kid: bob.x25519.kid, mode: "single", fields: FIELDS });
  });

  it("§5.3: --move takes members out of the clear part and seals them", async () => {
    const env = await sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], move: ["caller.identity"] });
    expect((env["caller"] as JsonObject)["identity"]).toBeUndefined();
    const original = (unsealed()["caller"] as JsonObject)["identity"];
    expect((await openEnvelope(env, bob.all)).fields).toEqual({ "caller.identity": original });
    // The input envelope is not mutated.
    expect((unsealed()["caller"] as JsonObject)["identity"]).toBeDefined();
  });

  it("§5.3: the AAD is canonical CBOR of {id, issuedAt(tag 0), audience.did, session.callId}", () => {
    const env = unsealed();
    const aad = decodeCanonical(sealedAad(env)) as Record<string, unknown>;
    expect(Object.keys(aad)).toEqual(["id", "issuedAt", "audience.did", "session.callId"]);
    expect(aad["issuedAt"]).toEqual(new CborTag(0, env["issuedAt"] as string));
    expect(aad["audience.did"]).toBe((env["audience"] as JsonObject)["did"]);
  });

  it("§5.3: the AAD binds the sealed block to its envelope (changing id or callId makes it unopenable)", async () => {
    const env = await sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], fields: FIELDS });
    const moved = structuredClone(env);
    moved["id"] = "cse_01HZX0R5N9V8W1QYK0XQM3R3KZ";
    await expect(openEnvelope(moved, bob.all)).rejects.toMatchObject({ code: "ERR_HPKE_OPEN_FAILED" });
    const otherCall = structuredClone(env);
    (otherCall["session"] as JsonObject)["callId"] = "other-call";
    await expect(openEnvelope(otherCall, bob.all)).rejects.toMatchObject({ code: "ERR_HPKE_OPEN_FAILED" });
  });

  it("D09 step 13: a receiver whose keys match no slot cannot open (ERR_HPKE_NO_RECIPIENT)", async () => {
    const env = await sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], fields: FIELDS });
    await expect(openEnvelope(env, carol.all)).rejects.toMatchObject({ code: "ERR_HPKE_NO_RECIPIENT" });
  });

  it("§5.3 multi-recipient extension: every recipient opens; a third party cannot; slots are not interchangeable", async () => {
    const env = await sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk, carol.x25519.publicJwk], fields: FIELDS });
    expect((await openEnvelope(env, bob.all)).fields).toEqual(FIELDS);
    expect((await openEnvelope(env, carol.all)).fields).toEqual(FIELDS);
    expect((await openEnvelope(env, carol.all)).mode).toBe("multi");
    await expect(openEnvelope(env, alice.all)).rejects.toMatchObject({ code: "ERR_HPKE_NO_RECIPIENT" });
    // Bob relabels Carol's slot with his kid: his key cannot open a slot sealed to Carol.
    const swapped = structuredClone(env);
    const recipients = (swapped["sealed"] as JsonObject)["recipients"] as JsonObject[];
    const carolSlot = recipients.find((r) => r["kid"] === carol.x25519.kid)!;
    const bobSlot = recipients.find((r) => r["kid"] === bob.x25519.kid)!;
    (swapped["sealed"] as JsonObject)["recipients"] = [{ ...carolSlot, kid: bob.x25519.kid }, { ...bobSlot, kid: carol.x25519.kid }];
    await expect(openEnvelope(swapped, bob.all)).rejects.toMatchObject({ code: "ERR_HPKE_OPEN_FAILED" });
  });

  it("§5.3: sealing errors are typed (no recipients, bad names, missing members, already sealed)", async () => {
    await expect(sealEnvelope(unsealed(), { recipients: [], fields: FIELDS })).rejects.toMatchObject({ code: "ERR_OHP_SEAL_RECIPIENT" });
    await expect(sealEnvelope(unsealed(), { recipients: [bob.ed.publicJwk], fields: FIELDS })).rejects.toMatchObject({ code: "ERR_OHP_SEAL_RECIPIENT" });
    await expect(sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], fields: { "bad..name": 1 } })).rejects.toMatchObject({ code: "ERR_OHP_SEAL_FIELD" });
    await expect(sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], move: ["caller.nothing"] })).rejects.toMatchObject({ code: "ERR_OHP_SEAL_FIELD" });
    await expect(sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk] })).rejects.toMatchObject({ code: "ERR_OHP_SEAL_FIELD" });
    const once = await sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], fields: FIELDS });
    await expect(sealEnvelope(once, { recipients: [bob.x25519.publicJwk], fields: FIELDS })).rejects.toMatchObject({ code: "ERR_OHP_SEAL_FIELD" });
  });

  it("seal then sign then verify: D09 step 13 opens the slot addressed to the receiver", async () => {
    const sealed = await sealEnvelope(unsealed(), { recipients: [bob.x25519.publicJwk], fields: FIELDS });
    const env = signEnvelope(sealed, { keys: alice.all }).envelope;
    const now = new Date(env["issuedAt"] as string);
    const r = await verifyEnvelope(env, { jwks: testJwks(1), now, keys: bob.all });
    expect(r).toMatchObject({ outcome: "accept", sealed: { kid: bob.x25519.kid, fields: FIELDS } });
    // Without a matching key the envelope is still accepted, sealed content unprocessed (§10 step 13, S).
    const other = await verifyEnvelope(env, { jwks: testJwks(1), now, keys: carol.all });
    expect(other.outcome).toBe("accept");
    expect(other.sealed).toBeUndefined();
    expect(other.steps.find((s) => s.step === 13)?.note).toMatch(/no slot/);
    // Tampering with the ciphertext is caught by the signature before decryption (encrypt-then-sign).
    const tampered = structuredClone(env);
    const sealedBlock = tampered["sealed"] as JsonObject;
    sealedBlock["ciphertext"] = (sealedBlock["ciphertext"] as string).replace(/^./, (c) => (c === "A" ? "B" : "A"));
    expect(await verifyEnvelope(tampered, { jwks: testJwks(1), now, keys: bob.all })).toMatchObject({
      rejectReason: "signature-invalid",
      firstFailingStep: 2,
    });
  });
});
