import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MemoryLogStore,
  TlogClient,
  TransparencyLog,
  ed25519NoteSigner,
  formatSha256Digest,
  openCheckpoint,
  parseVerifierKey,
  startTlogServer,
  verifierKeyOf,
  verifyDigestInclusion,
  type RunningTlogServer,
} from "../../../src/trust/tlog/index.js";
import { codeOf, codeOfAsync } from "./helpers.js";

const ORIGIN = "tlog.test/http";
const seed = new Uint8Array(32).fill(3);
const vkey = verifierKeyOf(ORIGIN, seed);
const digest = (s: string) => formatSha256Digest(new Uint8Array(createHash("sha256").update(s).digest()));

let server: RunningTlogServer;
let client: TlogClient;

beforeAll(async () => {
  const log = new TransparencyLog(new MemoryLogStore(), { origin: ORIGIN, signers: [ed25519NoteSigner(ORIGIN, seed)] });
  server = await startTlogServer({ log, port: 0, maxBodyBytes: 256 });
  client = new TlogClient(server.url, { verifiers: [vkey], origin: ORIGIN });
});
afterAll(async () => server.close());

async function call(path: string, init?: RequestInit): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

const post = (body: string) => call("/v1/entries", { method: "POST", headers: { "content-type": "application/json" }, body });

describe("HTTP API end to end (ephemeral port)", () => {
  it("RFC 9162 §2.1.3 submit, fetch the proof, verify offline against the signed checkpoint", async () => {
    const empty = await client.checkpoint();
    expect(empty.size).toBe(0);
    const receipts = [];
    for (let i = 0; i < 21; i++) receipts.push(await client.submit(digest(`envelope ${i}`)));
    expect(receipts.map((r) => r.index)).toEqual([...Array(21).keys()]);
    const last = receipts[20]!;
    expect(last.checkpoint.size).toBe(21);
    // Offline: only the checkpoint text, the proof JSON and the verifier key.
    const cp = openCheckpoint(last.checkpoint.note, [parseVerifierKey(vkey)], { origin: ORIGIN });
    verifyDigestInclusion(digest("envelope 20"), last.proof, cp);
    // An early entry against the latest checkpoint.
    const proof3 = await client.verifyInclusion(digest("envelope 3"), 3, cp);
    expect(proof3.size).toBe(21);
    // RFC 9162 §2.1.4: every older checkpoint is consistent with the latest.
    for (const r of [receipts[0]!, receipts[7]!, receipts[15]!, last]) await client.verifyConsistency(r.checkpoint, cp);
    await client.verifyConsistency(empty, cp);
  });

  it("resubmitting a logged hash returns its original index (200, nothing appended)", async () => {
    const before = (await client.checkpoint()).size;
    const again = await post(JSON.stringify({ hash: digest("envelope 4") }));
    expect(again.status).toBe(200);
    expect((again.body as { index: number }).index).toBe(4);
    expect((await client.checkpoint()).size).toBe(before);
    const fresh = await post(JSON.stringify({ hash: digest("fresh") }));
    expect(fresh.status).toBe(201);
  });

  it("GET /v1/entries/N, /v1/checkpoint and proofs by hash", async () => {
    const e = await call("/v1/entries/2");
    expect(e.body).toEqual({ index: 2, hash: digest("envelope 2") });
    const cp = await call("/v1/checkpoint");
    expect(cp.status).toBe(200);
    expect(cp.text.startsWith(`${ORIGIN}\n`)).toBe(true);
    const byHash = await call(`/v1/proof/inclusion?hash=${digest("envelope 2")}&size=10`);
    expect((byHash.body as { index: number; size: number }).index).toBe(2);
    expect((byHash.body as { size: number }).size).toBe(10);
  });

  it("RFC 9162 §2.1.3.2 a forged inclusion proof is rejected: ERR_TLOG_PROOF_ROOT_MISMATCH", async () => {
    const cp = await client.checkpoint();
    const proof = await client.inclusionProof(5, cp.size);
    const forged = { ...proof, hashes: proof.hashes.map((h, i) => (i === 1 ? Buffer.alloc(32, 1).toString("base64") : h)) };
    expect(codeOf(() => verifyDigestInclusion(digest("envelope 5"), forged, cp))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
    expect(codeOf(() => verifyDigestInclusion(digest("not logged"), proof, cp))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
    expect(codeOf(() => verifyDigestInclusion(digest("envelope 5"), { ...proof, size: cp.size - 1 }, cp))).toBe("ERR_TLOG_PROOF_SIZE_MISMATCH");
    expect(codeOf(() => verifyDigestInclusion(digest("envelope 5"), { ...proof, hashes: ["AAAA"] }, cp))).toBe("ERR_TLOG_PROOF_MALFORMED");
  });

  it("C2SP signed-note a client with another trusted key or origin rejects the log's checkpoints", async () => {
    const stranger = new TlogClient(server.url, { verifiers: [verifierKeyOf(ORIGIN, new Uint8Array(32).fill(4))] });
    expect(await codeOfAsync(() => stranger.checkpoint())).toBe("ERR_NOTE_UNVERIFIED");
    const wrongOrigin = new TlogClient(server.url, { verifiers: [vkey], origin: "other.example/log" });
    expect(await codeOfAsync(() => wrongOrigin.submit(digest("x")))).toBe("ERR_CHECKPOINT_ORIGIN_MISMATCH");
  });

  it("RFC 9162 §2.1.4.2 a forged consistency proof is rejected", async () => {
    const forgedFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.includes("/v1/proof/consistency")) {
        const real = (await (await fetch(input, init)).json()) as { from: number; to: number; hashes: string[] };
        real.hashes[0] = Buffer.alloc(32, 7).toString("base64");
        return new Response(JSON.stringify(real), { status: 200 });
      }
      return fetch(input, init);
    };
    const evil = new TlogClient(server.url, { verifiers: [vkey], fetch: forgedFetch });
    const old = (await client.submit(digest("pre"))).checkpoint;
    await client.submit(digest("post 1"));
    const newer = await client.checkpoint();
    expect(await codeOfAsync(() => evil.verifyConsistency(old, newer))).toBe("ERR_TLOG_PROOF_ROOT_MISMATCH");
    expect(await codeOfAsync(() => client.verifyConsistency(newer, old))).toBe("ERR_TLOG_SIZE_OUT_OF_RANGE");
  });

  it("typed JSON errors: 400 malformed, 404 unknown or beyond the tree, 405 method, 413 too large", async () => {
    const cases: [Promise<{ status: number; body: unknown }>, number, string][] = [
      [post("not json"), 400, "ERR_TLOG_HTTP_BAD_REQUEST"],
      [post(JSON.stringify({ hash: "sha256:XYZ" })), 400, "ERR_TLOG_HASH_INVALID"],
      [post(JSON.stringify({ hash: 5 })), 400, "ERR_TLOG_HTTP_BAD_REQUEST"],
      [post(JSON.stringify([1])), 400, "ERR_TLOG_HTTP_BAD_REQUEST"],
      [post(JSON.stringify({ hash: digest("a"), pad: "x".repeat(300) })), 413, "ERR_TLOG_HTTP_TOO_LARGE"],
      [call("/v1/proof/inclusion?index=abc"), 400, "ERR_TLOG_HTTP_BAD_REQUEST"],
      [call("/v1/proof/inclusion"), 400, "ERR_TLOG_HTTP_BAD_REQUEST"],
      [call("/v1/proof/inclusion?index=5&size=3"), 400, "ERR_TLOG_INDEX_OUT_OF_RANGE"],
      [call("/v1/proof/inclusion?index=0&size=100000"), 404, "ERR_TLOG_SIZE_OUT_OF_RANGE"],
      [call(`/v1/proof/inclusion?hash=${digest("never")}`), 404, "ERR_TLOG_HTTP_NOT_FOUND"],
      [call("/v1/proof/consistency?from=0&to=3"), 400, "ERR_TLOG_HTTP_BAD_REQUEST"],
      [call("/v1/proof/consistency?from=4&to=3"), 400, "ERR_TLOG_HTTP_BAD_REQUEST"],
      [call("/v1/proof/consistency?from=1&to=99999"), 404, "ERR_TLOG_HTTP_NOT_FOUND"],
      [call("/v1/entries/999999"), 404, "ERR_TLOG_HTTP_NOT_FOUND"],
      [call("/v2/nothing"), 404, "ERR_TLOG_HTTP_NOT_FOUND"],
      [call("/v1/checkpoint", { method: "POST" }), 405, "ERR_TLOG_HTTP_METHOD"],
      [call("/v1/entries"), 405, "ERR_TLOG_HTTP_METHOD"],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, code).toBe(status);
      expect((res.body as { error: { code: string } }).error.code).toBe(code);
    }
  });

  it("a streamed body over the limit without content-length is answered 413", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(100).fill(0x20));
        controller.close();
      },
    });
    const res = await fetch(server.url + "/v1/entries", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ERR_TLOG_HTTP_TOO_LARGE");
  });

  it("the client maps error statuses to ERR_TLOG_HTTP_RESPONSE with the server code", async () => {
    const e = await client.inclusionProof(0, 10 ** 9).catch((x: unknown) => x);
    expect((e as { code: string }).code).toBe("ERR_TLOG_HTTP_RESPONSE");
    expect((e as { detail: { status: number; serverCode: string } }).detail).toEqual({ status: 404, serverCode: "ERR_TLOG_SIZE_OUT_OF_RANGE" });
    const down = new TlogClient("http://127.0.0.1:1", { verifiers: [vkey] });
    expect(await codeOfAsync(() => down.checkpoint())).toBe("ERR_TLOG_HTTP_RESPONSE");
    expect(await codeOfAsync(() => client.submit("sha256:nothex"))).toBe("ERR_TLOG_HASH_INVALID");
  });
});
