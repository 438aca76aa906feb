import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALG_EDDSA } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed } from "../../../src/crypto/keys.js";
import {
  cacheTtlSeconds,
  checkDocumentUrl,
  DidResolver,
  didKeyFromPublicKey,
  fetchJson,
  InMemoryDidCache,
  validateDidDocument,
  type DidFetcher,
} from "../../../src/trust/did/index.js";
import { closedPort, fakeClock, rejectsWith, startServer, throwsWith, type TestServer } from "./helpers.js";

const ed = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(1), { kid: "sig-1" });
const ed2 = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(2));
const multibase = didKeyFromPublicKey(ed2.publicJwk).slice("did:key:".length);

function docFor(did: string, extra: Record<string, unknown> = {}) {
  return {
    "@context": ["https://www.w3.org/ns/did/v1"],
    id: did,
    verificationMethod: [
      { id: `${did}#sig-1`, type: "JsonWebKey2020", controller: did, publicKeyJwk: { kty: "OKP", crv: "Ed25519", x: (ed.publicJwk as { x: string }).x } },
      { id: "#mk", type: "Multikey", controller: did, publicKeyMultibase: multibase },
      { id: `${did}#k256`, type: "JsonWebKey2020", controller: did, publicKeyJwk: { kty: "EC", crv: "secp256k1", x: "AA", y: "AA" } },
    ],
    assertionMethod: [`${did}#sig-1`, "#mk"],
    ...extra,
  };
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

function resolver(options: ConstructorParameters<typeof DidResolver>[0] = {}) {
  return new DidResolver({ allowInsecureLocalhost: true, ...options });
}

describe("did:web §2.5.2 resolution over HTTP (local node:http server)", () => {
  it("resolves the host form (/.well-known/did.json) with publicKeyJwk and publicKeyMultibase keys", async () => {
    const did = server.did();
    server.routes.set("/.well-known/did.json", { body: docFor(did) });
    const r = await resolver().resolve(did);
    expect(r.method).toBe("web");
    expect(r.documentUrl).toBe(`http://localhost:${server.port}/.well-known/did.json`);
    expect(r.keys.map((k) => k.jwk.kid)).toEqual(["sig-1", "mk"]);
    expect(r.keys[0]!.jwk).toMatchObject({ alg: "EdDSA", x: (ed.publicJwk as { x: string }).x });
    expect(r.keys[1]!.id).toBe(`${did}#mk`);
    expect(r.keys[1]!.relationships).toEqual(["assertionMethod"]);
    expect(r.skipped.map((s) => s.id)).toEqual([`${did}#k256`]);
  });

  it("resolves the path form (/user/alice/did.json) over plain http with allowInsecureLocalhost", async () => {
    const did = server.did("user", "alice");
    server.routes.set("/user/alice/did.json", { body: docFor(did) });
    const r = await resolver().resolve(did);
    expect(r.documentUrl).toBe(`http://localhost:${server.port}/user/alice/did.json`);
    expect(r.keys).toHaveLength(2);
  });

  it("without allowInsecureLocalhost a did:web:localhost is fetched over https only", async () => {
    const seen: string[] = [];
    const r = new DidResolver({ fetcher: async (url) => (seen.push(url), { status: 404, headers: new Headers(), text: async () => "" }) });
    await rejectsWith(r.resolve(server.did()), "ERR_DID_HTTP_STATUS");
    expect(seen).toEqual([`https://localhost:${server.port}/.well-known/did.json`]);
  });

  it("the default fetcher refuses http even for localhost unless allowed (ERR_DID_URL_INSECURE)", () => {
    throwsWith(() => checkDocumentUrl("http://localhost:1/x"), "ERR_DID_URL_INSECURE");
    throwsWith(() => checkDocumentUrl("http://example.com/x", true), "ERR_DID_URL_INSECURE");
    expect(checkDocumentUrl("http://localhost:1/x", true).hostname).toBe("localhost");
  });

  it("fetchJson over the real server with the default fetcher (http allowed for localhost)", async () => {
    server.routes.set("/plain.json", { body: { ok: true } });
    const loaded = await fetchJson(`http://localhost:${server.port}/plain.json`, "application/json", { allowInsecureLocalhost: true });
    expect(loaded.value).toEqual({ ok: true });
  });
});

describe("did:web resolution cache (Cache-Control max-age within bounds, injectable clock)", () => {
  it("serves from cache until max-age expires, then refetches", async () => {
    const did = server.did("cached");
    server.routes.set("/cached/did.json", { body: docFor(did), headers: { "cache-control": "public, max-age=120" } });
    const clock = fakeClock();
    const r = resolver({ clock });
    const count = () => server.requests.filter((p) => p === "/cached/did.json").length;
    const first = await r.resolve(did);
    expect(first.expiresAtMs! - first.fetchedAtMs!).toBe(120_000);
    clock.advance(119_000);
    await r.resolve(did);
    expect(count()).toBe(1);
    clock.advance(1_000);
    await r.resolve(did);
    expect(count()).toBe(2);
    await r.resolve(did, { refresh: true });
    expect(count()).toBe(3);
  });

  it("concurrent resolutions of one DID share one fetch", async () => {
    const did = server.did("concurrent");
    server.routes.set("/concurrent/did.json", { body: docFor(did) });
    const r = resolver({ clock: fakeClock() });
    await Promise.all([r.resolve(did), r.resolve(did), r.resolve(did)]);
    expect(server.requests.filter((p) => p === "/concurrent/did.json")).toHaveLength(1);
  });

  it("RFC 9111 §5.2.2.1 max-age is clamped to [min, max]; no-store → min; absent → default", () => {
    expect(cacheTtlSeconds("max-age=600")).toBe(600);
    expect(cacheTtlSeconds("max-age=999999")).toBe(3600);
    expect(cacheTtlSeconds("max-age=1")).toBe(30);
    expect(cacheTtlSeconds("no-store")).toBe(30);
    expect(cacheTtlSeconds("no-cache, max-age=600")).toBe(30);
    expect(cacheTtlSeconds(null)).toBe(300);
    expect(cacheTtlSeconds("max-age=10", { minTtlSeconds: 0, maxTtlSeconds: 60 })).toBe(10);
    expect(cacheTtlSeconds("max-age=abc", { defaultTtlSeconds: 42 })).toBe(42);
  });

  it("InMemoryDidCache expires entries and stays bounded", () => {
    const cache = new InMemoryDidCache<number>({ maxEntries: 2 });
    cache.set("a", 1, 100);
    cache.set("b", 2, 100);
    cache.set("c", 3, 100);
    expect(cache.size).toBe(2);
    expect(cache.get("a", 0)).toBeUndefined();
    expect(cache.get("c", 99)).toBe(3);
    expect(cache.get("c", 100)).toBeUndefined();
  });
});

describe("did:web resolution errors: one typed code per failure", () => {
  it("ERR_DID_INVALID for a malformed DID", async () => {
    await rejectsWith(resolver().resolve("did:web:192.168.1.1"), "ERR_DID_INVALID");
  });

  it("ERR_DID_METHOD_UNSUPPORTED for did:ion / a disabled method", async () => {
    await rejectsWith(resolver().resolve("did:ion:EiClkZMDxPKqC9c-umQfTkR8vvZ9JPhl_xLDI9Nfk38w5w"), "ERR_DID_METHOD_UNSUPPORTED");
    await rejectsWith(resolver({ methods: ["web"] }).resolve("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"), "ERR_DID_METHOD_UNSUPPORTED");
  });

  it("ERR_DID_URL_INSECURE: a plain-http URL is refused before any request without allowInsecureLocalhost", async () => {
    const before = server.requests.length;
    await rejectsWith(fetchJson(`http://localhost:${server.port}/plain.json`, "application/json"), "ERR_DID_URL_INSECURE");
    expect(server.requests.length).toBe(before);
  });

  it("ERR_DID_FETCH_FAILED when nothing listens", async () => {
    const port = await closedPort();
    await rejectsWith(resolver().resolve(`did:web:localhost%3A${port}`), "ERR_DID_FETCH_FAILED");
  });

  it("ERR_DID_FETCH_FAILED when the default fetcher meets a redirect", async () => {
    server.routes.set("/redirect.json", (_req, res) => void res.writeHead(302, { location: "/plain.json" }).end());
    await rejectsWith(fetchJson(`http://localhost:${server.port}/redirect.json`, "application/json", { allowInsecureLocalhost: true }), "ERR_DID_FETCH_FAILED");
  });

  it("ERR_DID_FETCH_TIMEOUT when the server never answers", async () => {
    const did = server.did("slow");
    server.routes.set("/slow/did.json", () => undefined);
    await rejectsWith(resolver({ timeoutMs: 150 }).resolve(did), "ERR_DID_FETCH_TIMEOUT");
  });

  it("ERR_DID_FETCH_TIMEOUT also for a fetcher that ignores the abort signal", async () => {
    const hanging: DidFetcher = () => new Promise(() => undefined);
    await rejectsWith(new DidResolver({ fetcher: hanging, timeoutMs: 50 }).resolve("did:web:example.com"), "ERR_DID_FETCH_TIMEOUT");
  });

  it("ERR_DID_HTTP_STATUS for 404 and 500", async () => {
    await rejectsWith(resolver().resolve(server.did("missing")), "ERR_DID_HTTP_STATUS");
    server.routes.set("/boom/did.json", { status: 500, body: "{}" });
    await rejectsWith(resolver().resolve(server.did("boom")), "ERR_DID_HTTP_STATUS");
  });

  it("ERR_DID_RESPONSE_TOO_LARGE by Content-Length and by streamed size", async () => {
    const did = server.did("big");
    server.routes.set("/big/did.json", { body: docFor(did, { padding: "x".repeat(5000) }) });
    await rejectsWith(resolver({ maxBytes: 1000 }).resolve(did), "ERR_DID_RESPONSE_TOO_LARGE");
    const chunked = server.did("chunked");
    server.routes.set("/chunked/did.json", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"id":"${chunked}","padding":"`);
      res.end(`${"y".repeat(5000)}"}`);
    });
    await rejectsWith(resolver({ maxBytes: 1000 }).resolve(chunked), "ERR_DID_RESPONSE_TOO_LARGE");
  });

  it("ERR_DID_NOT_JSON for HTML, duplicate members and invalid UTF-8", async () => {
    server.routes.set("/html/did.json", { body: "<html></html>" });
    await rejectsWith(resolver().resolve(server.did("html")), "ERR_DID_NOT_JSON");
    const dup = server.did("dup");
    server.routes.set("/dup/did.json", { body: `{"id":"${dup}","id":"${dup}"}` });
    await rejectsWith(resolver().resolve(dup), "ERR_DID_NOT_JSON");
    server.routes.set("/utf8/did.json", (_req, res) => void res.writeHead(200).end(Buffer.from([0x7b, 0xff, 0x7d])));
    await rejectsWith(resolver().resolve(server.did("utf8")), "ERR_DID_NOT_JSON");
  });

  it("ERR_DID_DOCUMENT_ID_MISMATCH (did:web §2.5.2 step 7)", async () => {
    const did = server.did("other");
    server.routes.set("/other/did.json", { body: docFor("did:web:evil.example.com") });
    await rejectsWith(resolver().resolve(did), "ERR_DID_DOCUMENT_ID_MISMATCH");
  });

  it("ERR_DID_DOCUMENT_INVALID for a non-object, a missing id, a bad verificationMethod, a private key", async () => {
    server.routes.set("/arr/did.json", { body: [] });
    await rejectsWith(resolver().resolve(server.did("arr")), "ERR_DID_DOCUMENT_INVALID");
    throwsWith(() => validateDidDocument({ verificationMethod: [] }, "did:web:example.com"), "ERR_DID_DOCUMENT_INVALID");
    throwsWith(() => validateDidDocument({ id: "did:web:example.com", verificationMethod: {} }, "did:web:example.com"), "ERR_DID_DOCUMENT_INVALID");
    const did = server.did("priv");
    const priv = docFor(did);
    (priv.verificationMethod[0]!.publicKeyJwk as Record<string, unknown>)["d"] = "AAAA";
    server.routes.set("/priv/did.json", { body: priv });
    await rejectsWith(resolver().resolve(did), "ERR_DID_DOCUMENT_INVALID");
    const dupId = server.did("dupid");
    const dupDoc = docFor(dupId);
    dupDoc.verificationMethod.push({ ...dupDoc.verificationMethod[0]! });
    server.routes.set("/dupid/did.json", { body: dupDoc });
    await rejectsWith(resolver().resolve(dupId), "ERR_DID_DOCUMENT_INVALID");
  });

  it("ERR_DID_NO_KEYS when no verification method is supported", async () => {
    const did = server.did("nokeys");
    server.routes.set("/nokeys/did.json", { body: { id: did, verificationMethod: [docFor(did).verificationMethod[2]] } });
    await rejectsWith(resolver().resolve(did), "ERR_DID_NO_KEYS");
    const r = await resolver().resolve(did, { requireKeys: false });
    expect(r.keys).toHaveLength(0);
  });

  it("ERR_DID_KEY_CODEC_UNSUPPORTED for a did:key of another curve", async () => {
    await rejectsWith(resolver().resolve("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"), "ERR_DID_KEY_CODEC_UNSUPPORTED");
  });

  it("failures are not cached", async () => {
    const did = server.did("flaky");
    const r = resolver({ clock: fakeClock() });
    await rejectsWith(r.resolve(did), "ERR_DID_HTTP_STATUS");
    server.routes.set("/flaky/did.json", { body: docFor(did) });
    expect((await r.resolve(did)).keys).toHaveLength(2);
  });
});
