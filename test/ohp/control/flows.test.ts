import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderInputOf } from "../../../src/conformance/world.js";
import { baseEnvelope } from "../../../src/conformance/templates.js";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks } from "../../../src/crypto/keys.js";
import { buildEnvelope, type EnvelopeInput } from "../../../src/ohp/builder.js";
import { grpcTransport } from "../../../src/ohp/bindings/grpc.js";
import { discoverPeer, httpsTransport } from "../../../src/ohp/bindings/https.js";
import { ControlError, nextReceiverState, nextSenderState } from "../../../src/ohp/control/machine.js";
import { OhpNode, type NodeIdentity, type PeerRef } from "../../../src/ohp/control/node.js";
import { MemoryHandoffStore, SqliteHandoffStore, type HandoffStore } from "../../../src/ohp/control/store.js";
import type { Tier } from "../../../src/ohp/tiers.js";
import { startOhpServers, type RunningOhpServers } from "../../../src/node/server.js";

const dir = mkdtempSync(join(tmpdir(), "agentwire-flows-"));
const seed = (n: number) => new Uint8Array(32).fill(n);

function keysOf(n: number) {
  return {
    signing: [keyPairFromSeed(ALG_EDDSA, seed(n)), keyPairFromSeed(ALG_MLDSA65, seed(n + 1))],
    enc: [keyPairFromSeed(ALG_HPKE_X25519, seed(n + 2))],
  };
}

const A_ID: NodeIdentity = { vendor: "ai-vendor-a", agentId: "assistant-1", region: "uk-west", did: "did:web:ai-vendor-a.example" };
const B_ID: NodeIdentity = { vendor: "contact-centre-b", agentId: "queue-router", region: "uk-south", did: "did:web:cc-b.example" };
const aKeys = keysOf(10);
const bKeys = keysOf(20);

function makeNode(identity: NodeIdentity, keys: ReturnType<typeof keysOf>, store: HandoffStore, trust: [string, ReturnType<typeof keysOf>][], extra: Partial<ConstructorParameters<typeof OhpNode>[0]> = {}): OhpNode {
  return new OhpNode({
    identity,
    signingKeys: keys.signing,
    encryptionKeys: keys.enc,
    store,
    trustedIssuers: new Map(trust.map(([did, k]) => [did, publicJwks([...k.signing, ...k.enc])])),
    policy: { annexIIIAllowed: ["5(b)", "5(d)"] },
    transports: { "ohp/https": httpsTransport(), "ohp/grpc": grpcTransport() },
    ...extra,
  });
}

function input(tier: Tier): EnvelopeInput {
  return builderInputOf(baseEnvelope(tier));
}

let bStore: SqliteHandoffStore;
let a: OhpNode;
let b: OhpNode;
let bServers: RunningOhpServers;
let aServers: RunningOhpServers;
const rejectPurposes = new Set<string>();

beforeAll(async () => {
  bStore = new SqliteHandoffStore(join(dir, "b.sqlite"));
  b = makeNode(B_ID, bKeys, bStore, [[A_ID.did, aKeys]], {
    decide: (env) => {
      const purpose = String((env["audience"] as Record<string, unknown>)["purpose"]);
      return rejectPurposes.has(purpose) ? { verdict: "reject", reason: "unknown", note: "queue full" } : { verdict: "accept" };
    },
  });
  a = makeNode(A_ID, aKeys, new MemoryHandoffStore(), [[B_ID.did, bKeys]]);
  bServers = await startOhpServers({ node: b });
  aServers = await startOhpServers({ node: a });
});
afterAll(async () => {
  await bServers.close();
  await aServers.close();
  bStore.close();
  rmSync(dir, { recursive: true, force: true });
});

async function peer(servers: RunningOhpServers, binding: PeerRef["binding"]): Promise<PeerRef> {
  const p = await discoverPeer(servers.url, binding);
  return p;
}

describe("OHP §8 / D08 state machine", () => {
  it("allows exactly the D08 transitions", () => {
    expect(nextSenderState("READY", "propose-sent")).toBe("PROPOSING");
    expect(nextSenderState("PROPOSING", "not-after-passed")).toBe("REJECTED");
    expect(nextSenderState("ACCEPTED", "assume-sent")).toBe("HANDED_OFF");
    expect(nextSenderState("HANDED_OFF", "return-received")).toBe("RESUMED");
    expect(nextReceiverState("ACCEPTED", "assume-window-passed")).toBe("RELEASED");
    expect(() => nextSenderState("READY", "assume-sent")).toThrow(ControlError);
    expect(() => nextReceiverState("REJECTED", "assume-received")).toThrow(ControlError);
  });
});

describe("OHP flows over ohp/https and ohp/grpc at every tier", () => {
  for (const binding of ["ohp/https", "ohp/grpc"] as const) {
    for (const tier of ["core", "signed", "sealed", "regulated"] as const) {
      it(`${binding} ${tier}: PROPOSE → ACCEPT → ASSUME; the receiver holds it (HANDED_OFF)`, async () => {
        const p = await peer(bServers, binding);
        const r = await a.propose(p, input(tier));
        expect(r.verb, JSON.stringify(r.answer?.["transcript"])).toBe("ACCEPT");
        expect(r.state).toBe("ACCEPTED");
        const assumed = await a.assume(p, r.handoffId);
        expect(assumed.state).toBe("HANDED_OFF");
        expect(bStore.get(r.handoffId, "receiver")?.state).toBe("HANDED_OFF");
      });
    }
  }

  it("Flow B: RETURN from the holder resumes the original sender (RESUMED)", async () => {
    const p = await peer(bServers, "ohp/https");
    const r = await a.propose(p, input("signed"));
    await a.assume(p, r.handoffId);
    const back = await peer(aServers, "ohp/https");
    const ret = await b.returnHandoff(back, r.handoffId, { fraud_case_opened: true });
    expect(ret.state).toBe("RETURNED");
    expect((await a.handoffs("sender")).find((h) => h.id === r.handoffId)?.state).toBe("RESUMED");
  });

  it("Flow C: REJECT, then a fallback re-PROPOSE to another purpose is ACCEPTED", async () => {
    rejectPurposes.add("queue-routing");
    const p = await peer(bServers, "ohp/https");
    const base = input("signed");
    const r = await a.propose(p, { ...base, audience: { ...base.audience, purpose: "queue-routing" } }, {
      fallback: { onReasons: ["unknown"], edit: (i) => ({ ...i, audience: { ...i.audience, purpose: "human-takeover" } }) },
    });
    rejectPurposes.delete("queue-routing");
    expect(r.attempts).toHaveLength(2);
    expect(r.verb).toBe("ACCEPT");
    expect(bStore.get(r.attempts[0]!, "receiver")?.state).toBe("REJECTED");
  });

  it("Flow D: an unsolicited ASSUME referencing an earlier envelope is verified and ACCEPTed", async () => {
    const p = await peer(bServers, "ohp/https");
    const r = await a.resume(p, input("signed"), "cse_01HZX0R5N9V8W1QYK0XQM3R3K9");
    expect(r.verb).toBe("ACCEPT");
    expect(bStore.get(r.handoffId, "receiver")?.state).toBe("HANDED_OFF");
  });

  it("§8.3: an untrusted issuer is answered with a signed REJECT signature-invalid, refs.proposedId set", async () => {
    const stranger = makeNode({ ...A_ID, did: "did:web:stranger.example", vendor: "stranger" }, keysOf(40), new MemoryHandoffStore(), [[B_ID.did, bKeys]]);
    const p = await peer(bServers, "ohp/https");
    const r = await stranger.propose(p, input("signed"));
    expect(r.verb).toBe("REJECT");
    expect(r.reason).toBe("signature-invalid");
    expect((r.answer?.["control"] as Record<string, any>)["refs"].proposedId).toBe(r.handoffId);
  });

  it("§7.3 idempotency: the same envelope POSTed twice gets the same answer", async () => {
    const p = await peer(bServers, "ohp/https");
    const r = await a.propose(p, input("signed"));
    const propose = (await a.handoffs("sender")).find((h) => h.id === r.handoffId)!.envelopes["PROPOSE"]!;
    const again = await httpsTransport().send(p, propose, {});
    expect(again).toEqual(r.answer);
  });

  it("§8.3 replay: only an exact retransmission gets the recorded answer; a re-signed envelope reusing (id, nonce), or an unsigned copy naming the id, is REJECTed and does not touch the cache", async () => {
    const p = await peer(bServers, "ohp/https");
    const grpcPeer = await peer(bServers, "ohp/grpc");
    const now = new Date();
    // The same random stream twice: the same envelope id and nonce on different content.
    const stream = () => {
      let n = 0;
      return (k: number) => Uint8Array.from({ length: k }, (_, i) => (n++ * 31 + i * 7) & 0xff);
    };
    const build = async (summary: string) =>
      (await buildEnvelope({ ...input("signed"), issuer: { ...input("signed").issuer, ...A_ID }, transcript: { ...input("signed").transcript, summary } as EnvelopeInput["transcript"] }, { keys: aKeys.signing, anchor: false, random: stream(), now: () => now }))
        .envelope;
    const original = await build("Caller wants to move a delivery.");
    const twin = await build("Caller wants a refund.");
    expect([twin["id"], (twin["control"] as Record<string, unknown>)["nonce"]]).toEqual([original["id"], (original["control"] as Record<string, unknown>)["nonce"]]);
    const verb = (e: Record<string, unknown> | undefined) => (e?.["control"] as Record<string, unknown> | undefined)?.["verb"];
    const first = await httpsTransport().send(p, original, {});
    expect(verb(first)).toBe("ACCEPT");
    const replayed = await httpsTransport().send(p, twin, {});
    expect(verb(replayed)).toBe("REJECT");
    expect(String((replayed?.["transcript"] as Record<string, unknown>)["summary"])).toMatch(/already received/);
    const forged = { ...original, signatures: [] };
    const forgedAnswer = await httpsTransport().send(p, forged, {});
    expect(verb(forgedAnswer)).toBe("REJECT");
    expect(forgedAnswer).not.toEqual(first);
    // The cache still answers the exact retransmission with the original ACCEPT, over either binding.
    expect(await httpsTransport().send(p, original, {})).toEqual(first);
    expect(await grpcTransport().send(grpcPeer, original, {})).toEqual(first);
  });

  it("§8.4: no ASSUME within PT10S releases the handoff; a late ASSUME is REJECTed stale", async () => {
    let clock = Date.now();
    const now = () => new Date(clock);
    const store = new MemoryHandoffStore();
    const late = makeNode(B_ID, bKeys, store, [[A_ID.did, aKeys]], { now });
    const sender = makeNode(A_ID, aKeys, new MemoryHandoffStore(), [[B_ID.did, bKeys]], { now });
    const servers = await startOhpServers({ node: late, grpcPort: false });
    try {
      const p = await peer(servers, "ohp/https");
      const r = await sender.propose(p, input("signed"));
      clock += 11_000;
      const assumed = await sender.assume(p, r.handoffId);
      expect(assumed.state).toBe("REJECTED");
      expect(store.get(r.handoffId, "receiver")?.state).toBe("RELEASED");
    } finally {
      await servers.close();
    }
  });

  it("§7.3 Sealed+ over HTTPS without DPoP is REJECTed (signature-invalid)", async () => {
    const p = await peer(bServers, "ohp/https");
    const noDpop = { send: (peerRef: PeerRef, env: Record<string, any>) => httpsTransport().send(peerRef, env as never, {}) };
    const n = makeNode(A_ID, aKeys, new MemoryHandoffStore(), [[B_ID.did, bKeys]], { transports: { "ohp/https": noDpop } });
    const r = await n.propose(p, input("sealed"));
    expect(r.verb).toBe("REJECT");
    expect(r.reason).toBe("signature-invalid");
  });

  it("§7.3 HTTP statuses for malformed requests", async () => {
    const url = `${bServers.url}/ohp/v1/transfer`;
    const post = (body: string, headers: Record<string, string>) => fetch(url, { method: "POST", body, headers });
    expect((await post("{}", { "content-type": "text/plain" })).status).toBe(415);
    expect((await post("{not json", { "content-type": "application/ohp+json", "idempotency-key": "x" })).status).toBe(400);
    expect((await post('{"id":"a"}', { "content-type": "application/ohp+json" })).status).toBe(400);
    expect((await post('{"id":"a"}', { "content-type": "application/ohp+json", "idempotency-key": "b" })).status).toBe(400);
    expect((await post("x".repeat(40_000), { "content-type": "application/ohp+json", "idempotency-key": "a" })).status).toBe(413);
    expect((await fetch(url)).status).toBe(405);
    const garbage = await post('{"id":"a"}', { "content-type": "application/ohp+json", "idempotency-key": "a" });
    expect(garbage.status).toBe(200);
    expect(garbage.headers.get("ohp-verb")).toBe("REJECT");
  });

  it("§11: the sender caches the receiver's capabilities and refuses a tier above its advertised maxTier", async () => {
    const store = new MemoryHandoffStore();
    const low = makeNode(B_ID, bKeys, store, [[A_ID.did, aKeys]], { policy: { maxTier: "signed" } });
    const servers = await startOhpServers({ node: low, grpcPort: false });
    try {
      const p = await peer(servers, "ohp/https");
      expect(p.capabilities?.["maxTier"]).toBe("signed");
      expect(await peer(servers, "ohp/https")).toBe(p); // cached
      await expect(a.propose(p, input("sealed"))).rejects.toMatchObject({ code: "ERR_OHP_CONTROL_PEER" });
      expect(store.list()).toEqual([]);
    } finally {
      await servers.close();
    }
  });

  it("§5.1 INCIDENT (Regulated, Art 73) is verified, recorded and ACCEPTed; the sender refuses it below Regulated", async () => {
    for (const binding of ["ohp/https", "ohp/grpc"] as const) {
      const p = await peer(bServers, binding);
      const r = await a.incident(p, input("regulated"), "art73.serious-incident");
      expect(r.verb).toBe("ACCEPT");
    }
    await expect(a.incident(await peer(bServers, "ohp/https"), input("signed"), "x")).rejects.toMatchObject({ code: "ERR_OHP_CONTROL_TRANSITION" });
  });

  it("§11 well-known documents: capabilities (schema-valid) and JWKS", async () => {
    const caps = (await (await fetch(`${bServers.url}/.well-known/ohp-capabilities.json`)).json()) as Record<string, unknown>;
    const { validateDocument } = await import("../../../src/validate.js");
    expect(validateDocument(caps, { schema: "ohp-capabilities" }).errors).toEqual([]);
    expect(caps.bindings).toEqual(expect.arrayContaining(["ohp/https", "ohp/grpc"]));
    const jwks = await (await fetch(`${bServers.url}/.well-known/ohp-jwks.json`)).json();
    expect(validateDocument(jwks, { schema: "ohp-jwks" }).errors).toEqual([]);
  });

  it("crash between the state write and the answer cache: a retransmitted ASSUME gets the recorded ACCEPT, not a replay REJECT", async () => {
    const store = new MemoryHandoffStore();
    let failNext = false;
    const flaky: HandoffStore = {
      get: (id, role) => store.get(id, role),
      put: (record) => store.put(record),
      pending: () => store.pending(),
      list: (role) => store.list(role),
      getAnswer: (id) => store.getAnswer(id),
      putAnswer: (id, answer, exp) => {
        if (failNext) {
          failNext = false;
          throw new Error("killed before the answer cache write");
        }
        store.putAnswer(id, answer, exp);
      },
      replay: store.replay,
      close: () => store.close(),
    };
    const receiver = makeNode(B_ID, bKeys, flaky, [[A_ID.did, aKeys]]);
    const servers = await startOhpServers({ node: receiver, grpcPort: false });
    try {
      const p = await peer(servers, "ohp/https");
      const sent: Record<string, any>[] = [];
      const capturing = {
        send: async (ref: PeerRef, env: Record<string, any>, extra: { dpop?: string }) => {
          sent.push(env);
          return httpsTransport().send(ref, env as never, extra);
        },
      };
      const sender = makeNode(A_ID, aKeys, new MemoryHandoffStore(), [[B_ID.did, bKeys]], { transports: { "ohp/https": capturing } });
      const r = await sender.propose(p, input("signed"));
      failNext = true;
      const first = await sender.assume(p, r.handoffId);
      expect(first.state).toBe("REJECTED"); // what the sender saw from the node that "died"
      expect(store.get(r.handoffId, "receiver")?.state).toBe("HANDED_OFF");
      const assume = sent.at(-1)!;
      const again = (await httpsTransport().send(p, assume as never, {}))!;
      expect((again["control"] as Record<string, any>)["verb"]).toBe("ACCEPT");
      expect((again["control"] as Record<string, any>)["refs"].proposedId).toBe(assume["id"]);
    } finally {
      await servers.close();
    }
  });

  it("state survives a restart: a new node on the same SQLite file still holds every acknowledged handoff", async () => {
    const p = await peer(bServers, "ohp/https");
    const r = await a.propose(p, input("signed"));
    const reopened = new SqliteHandoffStore(join(dir, "b.sqlite"));
    try {
      expect(reopened.get(r.handoffId, "receiver")?.state).toBe("ACCEPTED");
      expect(reopened.getAnswer(r.handoffId)).toEqual(r.answer);
    } finally {
      reopened.close();
    }
  });
});
