/**
 * RFC 9449 §11.1 on a cluster: the receiving nodes of one identity share a DPoP `jti` cache
 * (`OhpNodeOptions.dpopReplayCache`; `agentwire serve --store postgres://…` passes
 * PostgresDpopReplayCache, test/store/cluster-state.test.ts), so a Sealed PROPOSE's proof accepted
 * by one node is refused when replayed to another node — even one whose handoff store has never
 * seen the envelope. With the default per-node memory cache the other node would accept it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builderInputOf } from "../../../src/conformance/world.js";
import { baseEnvelope } from "../../../src/conformance/templates.js";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65 } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks } from "../../../src/crypto/keys.js";
import type { JsonObject } from "../../../src/json/types.js";
import { discoverPeer, httpsTransport } from "../../../src/ohp/bindings/https.js";
import { OhpNode, type NodeIdentity, type OhpTransport, type PeerRef } from "../../../src/ohp/control/node.js";
import { MemoryHandoffStore } from "../../../src/ohp/control/store.js";
import { startOhpServers, type RunningOhpServers } from "../../../src/node/server.js";
import { InMemoryDpopReplayCache, type DpopReplayCache } from "../../../src/trust/dpop/replay.js";

const seed = (n: number) => new Uint8Array(32).fill(n);
const keysOf = (n: number) => ({ signing: [keyPairFromSeed(ALG_EDDSA, seed(n)), keyPairFromSeed(ALG_MLDSA65, seed(n + 1))], enc: [keyPairFromSeed(ALG_HPKE_X25519, seed(n + 2))] });
const A_ID: NodeIdentity = { vendor: "ai-vendor-a", agentId: "assistant-1", region: "uk-west", did: "did:web:ai-vendor-a.example" };
const B_ID: NodeIdentity = { vendor: "contact-centre-b", agentId: "queue-router", region: "uk-south", did: "did:web:cc-b.example" };
const aKeys = keysOf(30);
const bKeys = keysOf(40);

function node(identity: NodeIdentity, keys: ReturnType<typeof keysOf>, peer: [string, ReturnType<typeof keysOf>], extra: { dpopReplayCache?: DpopReplayCache; transport?: OhpTransport } = {}): OhpNode {
  return new OhpNode({
    identity,
    signingKeys: keys.signing,
    encryptionKeys: keys.enc,
    store: new MemoryHandoffStore(),
    trustedIssuers: new Map([[peer[0], publicJwks([...peer[1].signing, ...peer[1].enc])]]),
    policy: { annexIIIAllowed: ["5(b)", "5(d)"] },
    transports: { "ohp/https": extra.transport ?? httpsTransport() },
    ...(extra.dpopReplayCache ? { dpopReplayCache: extra.dpopReplayCache } : {}),
  });
}

describe("DPoP proofs are single-use across the nodes sharing a jti cache", () => {
  const shared = new InMemoryDpopReplayCache();
  const b1 = node(B_ID, bKeys, [A_ID.did, aKeys], { dpopReplayCache: shared });
  let servers: RunningOhpServers;
  beforeAll(async () => {
    servers = await startOhpServers({ node: b1, grpcPort: false });
  });
  afterAll(async () => servers?.close());

  it("a Sealed PROPOSE accepted by node 1 and replayed with its proof to node 2 is REJECTed there (ERR_DPOP_REPLAY); a node with its own cache would accept it", async () => {
    const sent: { envelope: JsonObject; dpop: string | undefined }[] = [];
    const capturing: OhpTransport = {
      send: async (ref: PeerRef, env: JsonObject, extra: { readonly dpop?: string }) => {
        sent.push({ envelope: env, dpop: extra.dpop });
        return httpsTransport().send(ref, env, extra);
      },
    };
    const sender = node(A_ID, aKeys, [B_ID.did, bKeys], { transport: capturing });
    const p = await discoverPeer(servers.url, "ohp/https");
    const r = await sender.propose(p, builderInputOf(baseEnvelope("sealed")));
    expect(r.verb).toBe("ACCEPT");
    const { envelope, dpop } = sent.at(-1)!;
    expect(dpop).toBeDefined();
    // The same request reaching another node behind the same name (same htu).
    const meta = { binding: "ohp/https" as const, dpop: dpop!, httpMethod: "POST", httpUri: `http://${new URL(servers.url).host}/ohp/v1/transfer` };
    const b2 = node(B_ID, bKeys, [A_ID.did, aKeys], { dpopReplayCache: shared });
    const replayed = (await b2.handle(envelope, meta)) as JsonObject;
    const control = replayed["control"] as JsonObject;
    expect(control["verb"]).toBe("REJECT");
    expect(control["reason"]).toBe("signature-invalid");
    expect(JSON.stringify(replayed)).toContain("ERR_DPOP_REPLAY");
    const perNode = node(B_ID, bKeys, [A_ID.did, aKeys]);
    expect(((await perNode.handle(envelope, meta)) as JsonObject)["control"]).toMatchObject({ verb: "ACCEPT" });
  });
});
