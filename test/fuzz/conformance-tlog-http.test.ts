/**
 * Fuzzing the conformance vector context (src/conformance/context.ts contextOptions) and the
 * transparency log's HTTP API bodies and queries (src/trust/tlog/server.ts).
 *
 * A mutated context.json must give pipeline options or a typed error; options that parse are
 * then used to verify the vector's own envelope, so hooks built from hostile contexts (consent
 * receipts, IdP caps, declarations, anchors) run inside verifyEnvelope, which must still resolve
 * to accept/reject with no masked internal error.
 */
import fc from "fast-check";
import { describe, expect } from "vitest";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { keyPairFromSeed } from "../../src/crypto/keys.js";
import { contextOptions } from "../../src/conformance/context.js";
import { parseJsonStrict } from "../../src/json/parse.js";
import { isRejectReason } from "../../src/ohp/reasons.js";
import { verifyEnvelope } from "../../src/ohp/verify.js";
import { createTlogHandler, ed25519NoteSigner, MemoryLogStore, TransparencyLog } from "../../src/trust/tlog/index.js";
import { cachedReader, ohpVectors, type OhpVector } from "./corpus.js";
import { chunked, invoke } from "./http-mock.js";
import { FuzzFinding, fuzzAsync, neverThrowsAsync, tally, typedOrValueAsync } from "./harness.js";
import { applyByteOps, applyJsonOps, applyTextOps, byteOpsArb, mixedJsonOpsArb, OBJECT_MAX_DEPTH, sometimes, stringify, textOpsArb } from "./mutate.js";

const FILE = import.meta.url;
const withContext = ohpVectors().filter((v) => v.context !== undefined);

describe("fuzz: conformance vector context (src/conformance/context.ts)", () => {
  fuzzAsync(FILE, "contextOptions: mutated context.json gives options or a typed error; the options then drive verifyEnvelope without masked errors", fc.record({ i: fc.nat(), ops: mixedJsonOpsArb({ maxDepth: OBJECT_MAX_DEPTH }) }), async ({ i, ops }) => {
    const v = withContext[i % withContext.length] as OhpVector;
    // contextOptions takes a JsonValue (the runner reads context.json with parseJsonStrict): JSON values only.
    const context = applyJsonOps(v.context, ops);
    const r = await typedOrValueAsync("contextOptions", () => contextOptions(context as never, cachedReader(v.dir)));
    if (!r.ok) return tally(r.error.code);
    const result = await neverThrowsAsync("verifyEnvelope(context)", () => verifyEnvelope(v.envelope, { ...r.value, ...(v.now ? { now: v.now } : {}) }));
    tally(result.outcome === "accept" ? "accept" : `reject:${String(result.check)}`);
    if (result.outcome === "reject") {
      if (!isRejectReason(result.rejectReason)) throw new FuzzFinding(`reason ${String(result.rejectReason)}`);
      if (result.detail?.code === "ERR_OHP_INTERNAL") throw new FuzzFinding(`masked internal error at ${String(result.check)}: ${String(result.detail.message)}`);
    }
  });
});

// -----------------------------------------------------------------------------------------------

const logKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x72), { kid: "log" });
const log = new TransparencyLog(new MemoryLogStore(), { origin: "fuzz.agentwire.dev/http-log", signers: [ed25519NoteSigner("fuzz.agentwire.dev/http-log", logKey)] });
for (let i = 0; i < 20; i++) log.submit(new Uint8Array(32).fill(i));
const handler = createTlogHandler({ log });
const HEX = "ab".repeat(32);
const TLOG_STATUSES = new Set([200, 201, 400, 404, 405, 413]);

const requestArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("post" as const),
      jops: sometimes(mixedJsonOpsArb({ maxOps: 2 }), 0.6),
      tops: sometimes(textOpsArb(2), 0.3),
      bops: sometimes(byteOpsArb(2), 0.1),
      declared: sometimes(fc.constantFrom("0", "-5", "x", "100000"), 0.15),
      method: fc.constantFrom("POST", "POST", "GET", "DELETE"),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("get" as const),
      path: fc.constantFrom("/v1/entries/0", "/v1/entries/19", "/v1/entries/20", "/v1/entries/00", "/v1/checkpoint", "/v1/proof/inclusion?index=3", `/v1/proof/inclusion?hash=sha256:${HEX}`, "/v1/proof/inclusion?index=3&size=20", "/v1/proof/consistency?from=3&to=20", "/v1/proof/consistency?from=0", "/nope", "//", "///v1/checkpoint", "//x/v1/checkpoint", "*", "", "http://other.example/v1/checkpoint", "/v1/entries/%zz", "/v1/proof/inclusion?index=%zz", "/v1/%2e%2e/checkpoint"),
      tops: sometimes(textOpsArb(2), 0.7),
      method: fc.constantFrom("GET", "GET", "POST"),
    }),
  },
);

describe("fuzz: transparency log HTTP API (src/trust/tlog/server.ts)", () => {
  fuzzAsync(FILE, "createTlogHandler: mutated entry bodies and query strings get 2xx/4xx JSON answers, never a 500", requestArb, async (c) => {
    let url: string;
    let body: Uint8Array = new Uint8Array(0);
    let headers: Record<string, string | undefined> = {};
    if (c.kind === "post") {
      const doc = c.jops === undefined ? { hash: `sha256:${HEX}` } : applyJsonOps({ hash: `sha256:${HEX}` }, c.jops);
      let text = stringify(doc);
      if (c.tops !== undefined) text = applyTextOps(text, c.tops);
      body = Buffer.from(text, "utf8");
      if (c.bops !== undefined) body = applyByteOps(body, c.bops);
      url = "/v1/entries";
      headers = { "content-type": "application/json", "content-length": c.declared };
    } else {
      url = c.tops === undefined ? c.path : applyTextOps(c.path, c.tops);
    }
    const method = c.method;
    const { response } = await invoke(handler, { method, url, headers, chunks: chunked(body, c.kind === "post" ? c.pick : 0) });
    tally(String(response.status));
    if (response.status === undefined || !TLOG_STATUSES.has(response.status)) throw new FuzzFinding(`tlog answered ${String(response.status)} to ${method} ${url.slice(0, 100)}: ${response.body.slice(0, 200)}`);
    if (response.status >= 400) expect(() => parseJsonStrict(response.body)).not.toThrow();
  }, { weight: 0.5 });
});
