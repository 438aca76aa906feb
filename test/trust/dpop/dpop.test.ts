import { generateKeyPairSync } from "node:crypto";
import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ALG_EDDSA, ALG_MLDSA65 } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks } from "../../../src/crypto/keys.js";
import { jwkThumbprint } from "../../../src/crypto/thumbprint.js";
import {
  accessTokenHash,
  createDpopProof,
  htuMatches,
  InMemoryDpopReplayCache,
  normalizeHtu,
  verifyDpopProof,
  type VerifyDpopProofOptions,
} from "../../../src/trust/dpop/index.js";
import { b64uEncode } from "../../../src/util/base64url.js";

const key = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x61), { kid: "dpop-1" });
const other = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x62), { kid: "dpop-2" });
const NOW = new Date("2026-05-01T12:00:00Z");
const IAT = Math.floor(NOW.getTime() / 1000);
const HTU = "https://receiver.example.com/ohp/v0/handoff";
const TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

function opts(extra: Partial<VerifyDpopProofOptions> = {}): VerifyDpopProofOptions {
  return { htm: "POST", htu: HTU, now: NOW, replayCache: new InMemoryDpopReplayCache(), ...extra };
}

async function proof(extra: Partial<Parameters<typeof createDpopProof>[0]> = {}): Promise<string> {
  return createDpopProof({ key, htm: "POST", htu: HTU, iat: IAT, ...extra });
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

/** A hand-built proof with arbitrary header/claims, signed by `signer` (Ed25519). */
async function custom(header: Record<string, unknown>, claims: Record<string, unknown>, signer = key): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", ...header } as never).sign(signer.keyObject!);
}

const pubJwk = { kty: "OKP", crv: "Ed25519", x: (key.publicJwk as { x: string }).x };
const baseClaims = { jti: "j-1", htm: "POST", htu: HTU, iat: IAT };

describe("RFC 9449 §4.2 proof creation", () => {
  it("header typ dpop+jwt, alg EdDSA, jwk = the public key only; claims jti/htm/htu/iat", async () => {
    const p = await proof({ jti: "fixed" });
    const [h, c] = p.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(h).toEqual({ typ: "dpop+jwt", alg: "EdDSA", jwk: pubJwk });
    expect(c).toEqual({ jti: "fixed", htm: "POST", htu: HTU, iat: IAT });
  });

  it("ath = base64url(SHA-256(token)) and nonce are included; query/fragment dropped from htu", async () => {
    const p = await proof({ accessToken: TOKEN, nonce: "n-1", htu: `${HTU}?a=1#frag` });
    const c = JSON.parse(Buffer.from(p.split(".")[1]!, "base64url").toString());
    expect(c.ath).toBe(accessTokenHash(TOKEN));
    expect(c.nonce).toBe("n-1");
    expect(c.htu).toBe(HTU);
  });

  it("RFC 9449 §7.1 example: ath of the example access token", () => {
    // RFC 9449 §7.1: token "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU" → ath "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo".
    expect(accessTokenHash(TOKEN)).toBe("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
  });

  it("random jti per proof; non-EdDSA keys and bad arguments are typed errors", async () => {
    expect((await proof()).split(".")[1]).not.toBe((await proof()).split(".")[1]);
    const mldsa = keyPairFromSeed(ALG_MLDSA65, new Uint8Array(32).fill(1));
    await rejects(createDpopProof({ key: mldsa, htm: "POST", htu: HTU }), "ERR_DPOP_ALG_UNSUPPORTED");
    await rejects(proof({ htm: "PO ST" }), "ERR_DPOP_ARGUMENT_INVALID");
    await rejects(proof({ htu: "ftp://x.example.com/" }), "ERR_DPOP_ARGUMENT_INVALID");
    await rejects(proof({ iat: -1 }), "ERR_DPOP_ARGUMENT_INVALID");
  });
});

describe("RFC 9449 §4.3 proof verification", () => {
  it("a valid proof verifies; jkt is the RFC 7638 thumbprint of the proof key (§6.1)", async () => {
    const v = await verifyDpopProof(await proof(), opts());
    expect(v.jkt).toBe(jwkThumbprint(key.publicJwk as unknown as Record<string, unknown>));
    expect(v.claims).toMatchObject({ htm: "POST", htu: HTU, iat: IAT });
    expect(v.alg).toBe("EdDSA");
  });

  it("with an access token: ath checked and cnf.jkt (expectedJkt) matched", async () => {
    const jkt = jwkThumbprint(key.publicJwk as unknown as Record<string, unknown>);
    const v = await verifyDpopProof(await proof({ accessToken: TOKEN }), opts({ accessToken: TOKEN, expectedJkt: jkt }));
    expect(v.jkt).toBe(jkt);
  });

  it("check 1: a missing proof and multiple DPoP headers are rejected", async () => {
    await rejects(verifyDpopProof(undefined, opts()), "ERR_DPOP_MISSING");
    await rejects(verifyDpopProof([], opts()), "ERR_DPOP_MISSING");
    const p = await proof();
    await rejects(verifyDpopProof([p, p], opts()), "ERR_DPOP_MULTIPLE");
    await rejects(verifyDpopProof(`${p}, ${p}`, opts()), "ERR_DPOP_MULTIPLE");
  });

  it("check 2: not a single well-formed JWT", async () => {
    await rejects(verifyDpopProof("abc.def", opts()), "ERR_DPOP_MALFORMED");
    await rejects(verifyDpopProof("a.b.c.d.e", opts()), "ERR_DPOP_MALFORMED");
    await rejects(verifyDpopProof(`${b64uEncode(Buffer.from("[1]"))}.${b64uEncode(Buffer.from("{}"))}.sig`, opts()), "ERR_DPOP_MALFORMED");
    await rejects(verifyDpopProof("x".repeat(9000), opts()), "ERR_DPOP_MALFORMED");
    const dup = `${b64uEncode(Buffer.from('{"typ":"dpop+jwt","typ":"jwt"}'))}.${b64uEncode(Buffer.from("{}"))}.c2ln`;
    await rejects(verifyDpopProof(dup, opts()), "ERR_DPOP_MALFORMED");
  });

  it("check 3: required header members and claims", async () => {
    await rejects(verifyDpopProof(await custom({ typ: "dpop+jwt" }, baseClaims), opts()), "ERR_DPOP_CLAIM_MISSING");
    const { jti: _jti, ...noJti } = baseClaims;
    await rejects(verifyDpopProof(await custom({ typ: "dpop+jwt", jwk: pubJwk }, noJti), opts()), "ERR_DPOP_CLAIM_MISSING");
    await rejects(verifyDpopProof(await custom({ typ: "dpop+jwt", jwk: pubJwk }, { ...baseClaims, iat: "now" }), opts()), "ERR_DPOP_MALFORMED");
  });

  it("check 4: typ must be dpop+jwt", async () => {
    await rejects(verifyDpopProof(await custom({ typ: "JWT", jwk: pubJwk }, baseClaims), opts()), "ERR_DPOP_TYP_INVALID");
  });

  it("check 5: alg none is rejected", async () => {
    const unsecured = new UnsecuredJWT(baseClaims).encode();
    const [, payload] = unsecured.split(".");
    const header = b64uEncode(Buffer.from(JSON.stringify({ typ: "dpop+jwt", alg: "none", jwk: pubJwk })));
    await rejects(verifyDpopProof(`${header}.${payload}.c2ln`, opts()), "ERR_DPOP_ALG_NONE");
  });

  it("check 5: symmetric HS256 is rejected", async () => {
    const secret = new Uint8Array(32).fill(9);
    const hs = await new SignJWT(baseClaims).setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct", k: b64uEncode(secret) } } as never).sign(secret);
    await rejects(verifyDpopProof(hs, opts()), "ERR_DPOP_ALG_UNSUPPORTED");
  });

  it("check 5: an asymmetric alg outside allowedAlgs is rejected (ES256 by default)", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const es = await new SignJWT(baseClaims).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk } as never).sign(privateKey);
    await rejects(verifyDpopProof(es, opts()), "ERR_DPOP_ALG_UNSUPPORTED");
    expect((await verifyDpopProof(es, opts({ allowedAlgs: ["EdDSA", "ES256"] }))).alg).toBe("ES256");
  });

  it("check 7: a private key in the header jwk is rejected", async () => {
    const priv = key.exportPrivateJwk() as unknown as Record<string, unknown>;
    await rejects(verifyDpopProof(await custom({ typ: "dpop+jwt", jwk: { kty: "OKP", crv: "Ed25519", x: priv["x"], d: priv["d"] } }, baseClaims), opts()), "ERR_DPOP_JWK_PRIVATE");
  });

  it("check 6: a tampered signature or payload, or a jwk of another key, fails", async () => {
    const p = await proof();
    const [h, c, s] = p.split(".") as [string, string, string];
    const flipped = `${h}.${c}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
    await rejects(verifyDpopProof(flipped, opts()), "ERR_DPOP_SIGNATURE_INVALID");
    const forged = b64uEncode(Buffer.from(JSON.stringify({ ...baseClaims, htm: "GET" })));
    await rejects(verifyDpopProof(`${h}.${forged}.${s}`, opts({ htm: "GET" })), "ERR_DPOP_SIGNATURE_INVALID");
    const otherJwk = { kty: "OKP", crv: "Ed25519", x: (other.publicJwk as { x: string }).x };
    await rejects(verifyDpopProof(await custom({ typ: "dpop+jwt", jwk: otherJwk }, baseClaims), opts()), "ERR_DPOP_SIGNATURE_INVALID");
    await rejects(verifyDpopProof(await custom({ typ: "dpop+jwt", jwk: { kty: "OKP", crv: "Ed25519", x: "AAAA" } }, baseClaims), opts()), "ERR_DPOP_JWK_INVALID");
  });

  it("check 8: wrong htm", async () => {
    await rejects(verifyDpopProof(await proof(), opts({ htm: "GET" })), "ERR_DPOP_HTM_MISMATCH");
    await rejects(verifyDpopProof(await proof({ htm: "post" }), opts()), "ERR_DPOP_HTM_MISMATCH");
  });

  it("check 9: wrong htu; query and fragment ignored; RFC 3986 §6.2.2/§6.2.3 normalisation", async () => {
    await rejects(verifyDpopProof(await proof(), opts({ htu: "https://receiver.example.com/ohp/v0/other" })), "ERR_DPOP_HTU_MISMATCH");
    await rejects(verifyDpopProof(await proof(), opts({ htu: "http://receiver.example.com/ohp/v0/handoff" })), "ERR_DPOP_HTU_MISMATCH");
    await rejects(verifyDpopProof(await proof(), opts({ htu: "https://evil.example.com/ohp/v0/handoff" })), "ERR_DPOP_HTU_MISMATCH");
    expect((await verifyDpopProof(await proof(), opts({ htu: `${HTU}?x=1#y` }))).jkt).toBeTruthy();
    expect(htuMatches("https://Receiver.EXAMPLE.com:443/ohp/%7Ev0/./handoff", "https://receiver.example.com/ohp/~v0/handoff")).toBe(true);
    expect(htuMatches("https://example.com/a%2fb", "https://example.com/a%2Fb")).toBe(true);
    expect(htuMatches("https://example.com", "https://example.com/")).toBe(true);
    expect(normalizeHtu("https://user:pw@example.com/")).toBeUndefined();
  });

  it("check 10: server-provided nonce required and matched", async () => {
    await rejects(verifyDpopProof(await proof(), opts({ nonce: "n-1" })), "ERR_DPOP_NONCE_INVALID");
    await rejects(verifyDpopProof(await proof({ nonce: "n-0" }), opts({ nonce: "n-1" })), "ERR_DPOP_NONCE_INVALID");
    expect((await verifyDpopProof(await proof({ nonce: "n-1" }), opts({ nonce: ["n-0", "n-1"] }))).claims.nonce).toBe("n-1");
  });

  it("check 11: iat too old (beyond maxAge + skew) or in the future (beyond skew)", async () => {
    await rejects(verifyDpopProof(await proof({ iat: IAT - 306 }), opts()), "ERR_DPOP_IAT_EXPIRED");
    expect((await verifyDpopProof(await proof({ iat: IAT - 305 }), opts())).claims.iat).toBe(IAT - 305);
    await rejects(verifyDpopProof(await proof({ iat: IAT + 6 }), opts()), "ERR_DPOP_IAT_FUTURE");
    expect((await verifyDpopProof(await proof({ iat: IAT + 5 }), opts())).claims.iat).toBe(IAT + 5);
    await rejects(verifyDpopProof(await proof({ iat: IAT - 61 }), opts({ maxAgeSeconds: 60, skewSeconds: 0 })), "ERR_DPOP_IAT_EXPIRED");
  });

  it("check 12: wrong or missing ath with an access token", async () => {
    await rejects(verifyDpopProof(await proof({ accessToken: "other-token" }), opts({ accessToken: TOKEN })), "ERR_DPOP_ATH_MISMATCH");
    await rejects(verifyDpopProof(await proof(), opts({ accessToken: TOKEN })), "ERR_DPOP_CLAIM_MISSING");
  });

  it("check 12 / §6.1: proof key differs from the token's cnf.jkt", async () => {
    const jkt = jwkThumbprint(other.publicJwk as unknown as Record<string, unknown>);
    await rejects(verifyDpopProof(await proof({ accessToken: TOKEN }), opts({ accessToken: TOKEN, expectedJkt: jkt })), "ERR_DPOP_JKT_MISMATCH");
  });

  it("§11.1: a replayed jti is rejected on second use (same cache), accepted with a fresh cache", async () => {
    const cache = new InMemoryDpopReplayCache();
    const p = await proof();
    await verifyDpopProof(p, opts({ replayCache: cache }));
    await rejects(verifyDpopProof(p, opts({ replayCache: cache })), "ERR_DPOP_REPLAY");
    await verifyDpopProof(p, opts());
  });

  it("§11.1: invalid proofs do not consume their jti", async () => {
    const cache = new InMemoryDpopReplayCache();
    const p = await proof();
    await rejects(verifyDpopProof(p, opts({ replayCache: cache, htm: "GET" })), "ERR_DPOP_HTM_MISMATCH");
    expect(cache.size).toBe(0);
    await verifyDpopProof(p, opts({ replayCache: cache }));
  });
});

describe("OHP §5.8: jkt bound to a key in the issuer's JWKS", () => {
  it("match: the proof key is a published issuer key", async () => {
    const v = await verifyDpopProof(await proof(), opts({ issuerJwks: publicJwks([other, key]) }));
    expect(v.issuerKid).toBe("dpop-1");
    expect((await verifyDpopProof(await proof(), opts({ issuerJwks: [key.publicJwk] }))).issuerKid).toBe("dpop-1");
  });

  it("mismatch: the proof key is not in the issuer JWKS", async () => {
    await rejects(verifyDpopProof(await proof(), opts({ issuerJwks: publicJwks([other]) })), "ERR_DPOP_JKT_NOT_IN_JWKS");
  });

  it("a revoked or expired issuer key does not bind", async () => {
    const revoked = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x61), { kid: "dpop-1", revoked: true });
    await rejects(verifyDpopProof(await proof(), opts({ issuerJwks: publicJwks([revoked]) })), "ERR_DPOP_JKT_KEY_REVOKED");
    const expired = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x61), { kid: "dpop-1", validUntil: "2026-05-01T11:00:00Z" });
    await rejects(verifyDpopProof(await proof(), opts({ issuerJwks: publicJwks([expired]) })), "ERR_DPOP_JKT_KEY_REVOKED");
  });
});

describe("replay cache", () => {
  it("entries expire; the bounded cache sweeps expired entries and fails closed when full", () => {
    const cache = new InMemoryDpopReplayCache({ maxEntries: 2 });
    expect(cache.checkAndStore("a", 1000, 0)).toBe(true);
    expect(cache.checkAndStore("a", 1000, 500)).toBe(false);
    expect(cache.checkAndStore("a", 3000, 1000)).toBe(true);
    expect(cache.checkAndStore("b", 3000, 1000)).toBe(true);
    expect(() => cache.checkAndStore("c", 3000, 1000)).toThrow(expect.objectContaining({ code: "ERR_DPOP_REPLAY_CACHE_FULL" }));
    expect(cache.checkAndStore("c", 5000, 3000)).toBe(true);
  });

  it("verifyDpopProof surfaces a full cache as ERR_DPOP_REPLAY_CACHE_FULL", async () => {
    const cache = new InMemoryDpopReplayCache({ maxEntries: 1 });
    await verifyDpopProof(await proof(), opts({ replayCache: cache }));
    await rejects(verifyDpopProof(await proof(), opts({ replayCache: cache })), "ERR_DPOP_REPLAY_CACHE_FULL");
  });
});
