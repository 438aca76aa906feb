import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALG_EDDSA, ALG_HPKE_X25519 } from "../../../src/crypto/jwk.js";
import { signDetached, signHybrid, verifyDetached, verifyHybrid } from "../../../src/crypto/jws.js";
import { keyPairFromSeed, publicJwks, type PrivateKeyRecord } from "../../../src/crypto/keys.js";
import {
  checkKeyAges,
  checkRetention,
  didKeyFromPublicKey,
  IssuerKeyResolver,
  jwkResolverFor,
  keyStatus,
  OHP_ROTATION_DEFAULTS,
  rotationPolicyOf,
  StaticIssuerKeySource,
  WebIssuerKeySource,
  type RotationWarning,
} from "../../../src/trust/did/index.js";
import { testKeys } from "../../helpers/keys.js";
import { fakeClock, rejectsWith, startServer, throwsWith, type TestServer } from "./helpers.js";

const NOW = new Date("2026-05-01T00:00:00Z");
const seed = (b: number) => new Uint8Array(32).fill(b);
const current = keyPairFromSeed(ALG_EDDSA, seed(0x41), { kid: "sig-current", validFrom: "2026-04-01T00:00:00Z" });
const revoked = keyPairFromSeed(ALG_EDDSA, seed(0x42), { kid: "sig-revoked", validFrom: "2026-03-01T00:00:00Z", revoked: true });
const future = keyPairFromSeed(ALG_EDDSA, seed(0x43), { kid: "sig-future", validFrom: "2026-06-01T00:00:00Z" });
const expired = keyPairFromSeed(ALG_EDDSA, seed(0x44), { kid: "sig-expired", validFrom: "2026-03-01T00:00:00Z", validUntil: "2026-04-15T00:00:00Z" });
const absent = keyPairFromSeed(ALG_EDDSA, seed(0x45), { kid: "sig-absent" });
const keys: PrivateKeyRecord[] = [current, revoked, future, expired];
const jwksDoc = { ...publicJwks(keys), publishedAt: "2026-04-30T00:00:00Z" };
const payload = new TextEncoder().encode("canonical CBOR bytes");

let server: TestServer;
let did: string;
beforeAll(async () => {
  server = await startServer();
  did = server.did("agents", "asst_b3");
  server.routes.set("/agents/asst_b3/did.json", { body: { id: did, service: [] } });
  server.routes.set("/.well-known/ohp-jwks.json", { body: jwksDoc, headers: { "cache-control": "max-age=60" } });
});
afterAll(async () => {
  await server.close();
});

function webResolver(clock = fakeClock(NOW.getTime())) {
  return new IssuerKeyResolver({ source: new WebIssuerKeySource({ allowInsecureLocalhost: true, clock }), clock });
}

describe("OHP §5.9 / B13: issuer DID → OHP JWKS at https://<host>/.well-known/ohp-jwks.json", () => {
  it("path-form did:web: the DID document is resolved and the host-root JWKS is the key set", async () => {
    const set = await webResolver().keySet(did);
    expect(set.source).toBe("ohp-jwks");
    expect(set.jwksUrl).toBe(`http://localhost:${server.port}/.well-known/ohp-jwks.json`);
    expect(set.document?.id).toBe(did);
    expect(set.jwks.keys.map((k) => k.kid)).toEqual(["sig-current", "sig-revoked", "sig-future", "sig-expired"]);
  });

  it("§6.2: a signature by the current key verifies through the resolver (verifyDetached)", async () => {
    const resolve = await webResolver().resolverFor(did, NOW);
    expect(verifyDetached(signDetached(payload, current), payload, resolve, { now: NOW }).kid).toBe("sig-current");
  });

  it("§5.9: a kid absent from the current JWKS is treated as revoked (ERR_JWS_KID_UNKNOWN)", async () => {
    const resolve = await webResolver().resolverFor(did, NOW);
    expect(resolve("sig-absent")).toBeUndefined();
    expect(() => verifyDetached(signDetached(payload, absent), payload, resolve, { now: NOW })).toThrow(
      expect.objectContaining({ code: "ERR_JWS_KID_UNKNOWN" }),
    );
  });

  it.each([
    ["revoked: true", revoked],
    ["before validFrom", future],
    ["at/after validUntil", expired],
  ])("§5.9 lifecycle: a key %s is withheld (ERR_JWS_KID_UNKNOWN)", async (_what, key) => {
    const resolve = await webResolver().resolverFor(did, NOW);
    expect(resolve(key.kid)).toBeUndefined();
    expect(() => verifyDetached(signDetached(payload, key), payload, resolve, { now: NOW })).toThrow(expect.objectContaining({ code: "ERR_JWS_KID_UNKNOWN" }));
  });

  it("unusableKeys: 'expose' lets verifyDetached report ERR_JWS_KID_REVOKED itself", async () => {
    const clock = fakeClock(NOW.getTime());
    const r = new IssuerKeyResolver({ source: new WebIssuerKeySource({ allowInsecureLocalhost: true, clock }), unusableKeys: "expose" });
    const resolve = await r.resolverFor(did, NOW);
    expect(() => verifyDetached(signDetached(payload, revoked), payload, resolve, { now: NOW })).toThrow(expect.objectContaining({ code: "ERR_JWS_KID_REVOKED" }));
  });

  it("validity is judged at the given now: the future key becomes usable on validFrom", async () => {
    const later = new Date("2026-06-01T00:00:00Z");
    const resolve = await webResolver().resolverFor(did, later);
    expect(resolve("sig-future")?.kid).toBe("sig-future");
    expect(keyStatus((await webResolver().keySet(did)).jwks, "sig-future", NOW)).toBe("not-yet-valid");
    expect(keyStatus((await webResolver().keySet(did)).jwks, "sig-expired", NOW)).toBe("expired");
    expect(keyStatus((await webResolver().keySet(did)).jwks, "sig-revoked", NOW)).toBe("revoked");
    expect(keyStatus((await webResolver().keySet(did)).jwks, "nope", NOW)).toBe("unknown");
  });

  it("kid rollover: an unknown kid triggers one rate-limited refetch", async () => {
    const clock = fakeClock(NOW.getTime());
    const r = webResolver(clock);
    const count = () => server.requests.filter((p) => p === "/.well-known/ohp-jwks.json").length;
    await r.keySet(did);
    const before = count();
    const rolled = keyPairFromSeed(ALG_EDDSA, seed(0x46), { kid: "sig-next", validFrom: "2026-04-30T00:00:00Z" });
    server.routes.set("/.well-known/ohp-jwks.json", { body: publicJwks([...keys, rolled]) });
    expect(await r.resolveKey(did, "sig-next", NOW)).toMatchObject({ kid: "sig-next" });
    expect(count()).toBe(before + 1);
    // Another unknown kid within the refresh interval: no further fetch, undefined (revoked).
    expect(await r.resolveKey(did, "sig-unknown", NOW)).toBeUndefined();
    expect(count()).toBe(before + 1);
    server.routes.set("/.well-known/ohp-jwks.json", { body: jwksDoc, headers: { "cache-control": "max-age=60" } });
  });

  it("verifyHybrid over the resolver (EdDSA + ML-DSA-65 from the issuer JWKS)", async () => {
    const { ed, mldsa } = testKeys(3);
    const s = await startServer();
    try {
      const d = s.did();
      s.routes.set("/.well-known/did.json", { body: { id: d } });
      s.routes.set("/.well-known/ohp-jwks.json", { body: publicJwks([ed, mldsa]) });
      const resolve = await webResolver().resolverFor(d, NOW);
      const entries = signHybrid(payload, [ed, mldsa]);
      expect(verifyHybrid(payload, entries, resolve, { now: NOW })).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it("did:key issuers: the key set is the DID's own keys (kid = multibase)", async () => {
    const k = keyPairFromSeed(ALG_EDDSA, seed(0x47));
    const issuer = didKeyFromPublicKey(k.publicJwk);
    const r = new IssuerKeyResolver({ source: new WebIssuerKeySource({ fetcher: () => Promise.reject(new Error("offline")) }) });
    const kid = issuer.slice("did:key:".length);
    const resolve = await r.resolverFor(issuer, NOW);
    expect((resolve(kid) as { x: string } | undefined)?.x).toBe((k.publicJwk as { x: string }).x);
  });

  it("keys: 'did-document' takes did:web keys from the DID document", async () => {
    const s = await startServer();
    try {
      const d = s.did();
      const x = (current.publicJwk as { x: string }).x;
      s.routes.set("/.well-known/did.json", {
        body: { id: d, verificationMethod: [{ id: "#sig-current", type: "JsonWebKey2020", controller: d, publicKeyJwk: { kty: "OKP", crv: "Ed25519", x } }] },
      });
      const r = new IssuerKeyResolver({ source: new WebIssuerKeySource({ allowInsecureLocalhost: true, keys: "did-document" }) });
      const resolve = await r.resolverFor(d, NOW);
      expect(verifyDetached(signDetached(payload, current), payload, resolve, { now: NOW }).kid).toBe("sig-current");
    } finally {
      await s.close();
    }
  });

  it("ERR_DID_JWKS_INVALID when the OHP JWKS is not a valid JWK Set (private key, empty keys)", async () => {
    const s = await startServer();
    try {
      const d = s.did();
      s.routes.set("/.well-known/did.json", { body: { id: d } });
      s.routes.set("/.well-known/ohp-jwks.json", { body: { keys: [current.exportPrivateJwk()] } });
      await rejectsWith(webResolver().keySet(d), "ERR_DID_JWKS_INVALID");
      s.routes.set("/.well-known/ohp-jwks.json", { body: { keys: [] } });
      await rejectsWith(webResolver().keySet(d), "ERR_DID_JWKS_INVALID");
    } finally {
      await s.close();
    }
  });

  it("the DID document is checked too: a document for another DID fails (ERR_DID_DOCUMENT_ID_MISMATCH)", async () => {
    const s = await startServer();
    try {
      s.routes.set("/.well-known/did.json", { body: { id: "did:web:example.com" } });
      s.routes.set("/.well-known/ohp-jwks.json", { body: jwksDoc });
      await rejectsWith(webResolver().keySet(s.did()), "ERR_DID_DOCUMENT_ID_MISMATCH");
    } finally {
      await s.close();
    }
  });

  it("ERR_DID_METHOD_UNSUPPORTED for issuers of other methods", async () => {
    await rejectsWith(webResolver().keySet("did:ion:abc"), "ERR_DID_METHOD_UNSUPPORTED");
  });
});

describe("static key source (JWKS files keyed by DID)", () => {
  it("serves the configured key set and honours lifecycle", async () => {
    const source = new StaticIssuerKeySource({ "did:web:issuer.example.com": JSON.stringify(jwksDoc) });
    const resolve = await new IssuerKeyResolver({ source }).resolverFor("did:web:issuer.example.com", NOW);
    expect(resolve("sig-current")?.kid).toBe("sig-current");
    expect(resolve("sig-revoked")).toBeUndefined();
  });

  it("ERR_DID_NOT_FOUND for an unconfigured DID; ERR_DID_JWKS_INVALID for a bad set", async () => {
    const source = new StaticIssuerKeySource({ "did:web:issuer.example.com": jwksDoc });
    await rejectsWith(source.keySet("did:web:other.example.com"), "ERR_DID_NOT_FOUND");
    throwsWith(() => new StaticIssuerKeySource({ "did:web:a.example.com": "{not json" }), "ERR_DID_JWKS_INVALID");
  });

  it("fromFiles reads JWKS files; a missing file is ERR_DID_FETCH_FAILED", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "aw-did-"));
    writeFileSync(join(dir, "jwks.json"), JSON.stringify(jwksDoc));
    const source = await StaticIssuerKeySource.fromFiles({ "did:web:issuer.example.com": join(dir, "jwks.json") });
    expect((await source.keySet("did:web:issuer.example.com")).jwks.keys).toHaveLength(4);
    await rejectsWith(StaticIssuerKeySource.fromFiles({ "did:web:x.example.com": join(dir, "missing.json") }), "ERR_DID_FETCH_FAILED");
  });
});

describe("OHP §5.9 / B14 rotation policy: warnings, never errors", () => {
  const codes = (ws: readonly RotationWarning[]) => ws.map((w) => `${w.code}${w.kid === undefined ? "" : `:${w.kid}`}`);

  it("defaults: sign ≤ 90 d, enc ≤ 30 d, retention ≥ 1 h + 5 min", () => {
    expect(rotationPolicyOf({ keys: [] }).policy).toEqual(OHP_ROTATION_DEFAULTS);
    expect(OHP_ROTATION_DEFAULTS.revokedKeyRetentionMs).toBe(65 * 60_000);
  });

  it("schema rotationPolicy: declared values above the OHP maxima or below the retention floor warn", () => {
    const { policy, warnings } = rotationPolicyOf({ rotationPolicy: { signKeysMaxAgeDays: 120, encKeysMaxAgeDays: 45, revokedKeyRetentionHours: 1 } });
    expect(codes(warnings)).toEqual(["WARN_ROTATION_POLICY_SIGN_MAX_AGE", "WARN_ROTATION_POLICY_ENC_MAX_AGE", "WARN_ROTATION_POLICY_RETENTION"]);
    expect(policy).toEqual({ signKeysMaxAgeDays: 90, encKeysMaxAgeDays: 30, revokedKeyRetentionMs: 65 * 60_000 });
    expect(rotationPolicyOf({ rotationPolicy: { signKeysMaxAgeDays: 30, revokedKeyRetentionHours: 24 } }).policy).toEqual({
      signKeysMaxAgeDays: 30,
      encKeysMaxAgeDays: 30,
      revokedKeyRetentionMs: 24 * 3_600_000,
    });
    expect(codes(rotationPolicyOf({ rotationPolicy: { signKeysMaxAgeDays: "x" } }).warnings)).toEqual(["WARN_ROTATION_POLICY_INVALID"]);
    expect(codes(rotationPolicyOf({ rotationPolicy: 5 }).warnings)).toEqual(["WARN_ROTATION_POLICY_INVALID"]);
  });

  it("stale signing (> 90 d) and encryption (> 30 d) keys, over-long lifetimes and unknown ages warn", () => {
    const old = keyPairFromSeed(ALG_EDDSA, seed(0x51), { kid: "sig-old", validFrom: "2026-01-01T00:00:00Z" });
    const enc = keyPairFromSeed(ALG_HPKE_X25519, seed(0x52), { kid: "enc-old", validFrom: "2026-03-15T00:00:00Z" });
    const long = keyPairFromSeed(ALG_EDDSA, seed(0x53), { kid: "sig-long", validFrom: "2026-04-01T00:00:00Z", validUntil: "2027-04-01T00:00:00Z" });
    const ageless = keyPairFromSeed(ALG_EDDSA, seed(0x54), { kid: "sig-ageless" });
    const ws = checkKeyAges(publicJwks([old, enc, long, ageless, current, revoked]), OHP_ROTATION_DEFAULTS, NOW);
    expect(codes(ws)).toEqual([
      "WARN_ROTATION_KEY_STALE:sig-old",
      "WARN_ROTATION_KEY_STALE:enc-old",
      "WARN_ROTATION_KEY_LIFETIME:sig-long",
      "WARN_ROTATION_KEY_AGE_UNKNOWN:sig-ageless",
    ]);
  });

  it("retention: a revoked kid dropped before 1 h + 5 min warns; after, it does not; an unrevoked drop warns", () => {
    const policy = OHP_ROTATION_DEFAULTS;
    const t0 = NOW.getTime();
    const first = checkRetention(undefined, publicJwks([current, revoked]), policy, new Date(t0));
    expect(first.warnings).toEqual([]);
    const early = checkRetention(first.history, publicJwks([current]), policy, new Date(t0 + 30 * 60_000));
    expect(codes(early.warnings)).toEqual(["WARN_ROTATION_KEY_DROPPED_EARLY:sig-revoked"]);
    const late = checkRetention(first.history, publicJwks([current]), policy, new Date(t0 + 66 * 60_000));
    expect(late.warnings).toEqual([]);
    const unrevoked = checkRetention(first.history, publicJwks([revoked]), policy, new Date(t0 + 66 * 60_000));
    expect(codes(unrevoked.warnings)).toEqual(["WARN_ROTATION_KEY_DROPPED_UNREVOKED:sig-current"]);
    // Expiry counts from validUntil.
    const exp = checkRetention(undefined, publicJwks([expired]), policy, NOW);
    expect(codes(checkRetention(exp.history, publicJwks([current]), policy, NOW).warnings)).toEqual([]);
  });

  it("the web source reports retention warnings across fetches (fake clock, onWarning)", async () => {
    const s = await startServer();
    try {
      const d = s.did();
      s.routes.set("/.well-known/did.json", { body: { id: d } });
      s.routes.set("/.well-known/ohp-jwks.json", { body: publicJwks([current, revoked]), headers: { "cache-control": "max-age=60" } });
      const clock = fakeClock(NOW.getTime());
      const seen: string[] = [];
      const r = new IssuerKeyResolver({
        source: new WebIssuerKeySource({ allowInsecureLocalhost: true, clock }),
        onWarning: (_issuer, w) => seen.push(`${w.code}:${w.kid ?? ""}`),
      });
      await r.keySet(d);
      s.routes.set("/.well-known/ohp-jwks.json", { body: publicJwks([current]) });
      clock.advance(10 * 60_000);
      const set = await r.keySet(d);
      expect(set.warnings.map((w) => w.code)).toContain("WARN_ROTATION_KEY_DROPPED_EARLY");
      expect(seen).toContain("WARN_ROTATION_KEY_DROPPED_EARLY:sig-revoked");
    } finally {
      await s.close();
    }
  });

  it("jwkResolverFor works on any key set", () => {
    const resolve = jwkResolverFor(publicJwks(keys), NOW);
    expect(resolve("sig-current")?.kid).toBe("sig-current");
    expect(resolve("sig-expired")).toBeUndefined();
    expect(jwkResolverFor(publicJwks(keys), NOW, "expose")("sig-expired")?.kid).toBe("sig-expired");
  });
});
