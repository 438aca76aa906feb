import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65, ALG_MLDSA65_ED25519, type Jwks, type PublicJwk } from "../../src/crypto/jwk.js";
import {
  DEFAULT_ALLOWED_ALGS,
  JwsError,
  MAX_HEADER_LENGTH,
  REGULATED_REQUIRED_ALGS,
  hasDuplicateMemberNames,
  parseProtectedHeader,
  signDetached,
  signHybrid,
  tryVerifyDetached,
  tryVerifyHybrid,
  verifyDetached,
  verifyHybrid,
  verifyHybridAsync,
  type SignatureEntry,
} from "../../src/crypto/jws.js";
import { keyPairFromSeed, parseJwks, publicJwks, publicKeyFor, type PrivateKeyRecord } from "../../src/crypto/keys.js";
import { b64u, expectCode, seed, text, unb64u } from "./helpers.js";

const ed = keyPairFromSeed(ALG_EDDSA, seed(1));
const ml = keyPairFromSeed(ALG_MLDSA65, seed(2));
const comp = keyPairFromSeed(ALG_MLDSA65_ED25519, seed(3, 64));
const x = keyPairFromSeed(ALG_HPKE_X25519, seed(4));
const JWKS = publicJwks([ed, ml, comp, x]);
const PAYLOAD = text('{"ohp":"1.0","id":"handoff"}');
const COMPOSITE_ONLY = { allowAlgs: [ALG_MLDSA65_ED25519] };

/** A detached JWS with an arbitrary protected header text, signed by `key` over RFC 7515 §5.1 input. */
function forge(headerJson: string, key: PrivateKeyRecord, payload: Uint8Array = PAYLOAD): string {
  const h = b64u(headerJson);
  return `${h}..${b64u(key.sign(text(`${h}.${b64u(payload)}`)))}`;
}

function jwsErr(fn: () => unknown, code: string): JwsError {
  return expectCode(fn, code, JwsError);
}

/** Replaces the signature part of a JWS. */
function withSignature(jws: string, sig: Uint8Array | string): string {
  const [h] = jws.split(".");
  return `${h}..${typeof sig === "string" ? sig : b64u(sig)}`;
}

describe("RFC 7515 Appendix F detached compact JWS (OHP §5.2)", () => {
  it.each([
    [ALG_EDDSA, ed, {}],
    [ALG_MLDSA65, ml, {}],
    [ALG_MLDSA65_ED25519, comp, COMPOSITE_ONLY],
  ] as const)("%s: sign → BASE64URL(header)..BASE64URL(sig), verify", (alg, key, opts) => {
    const jws = signDetached(PAYLOAD, key, opts);
    const parts = jws.split(".");
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe("");
    // RFC 7515 §4: the protected header is exactly {"alg","kid"}.
    expect(Buffer.from(parts[0]!, "base64url").toString("utf8")).toBe(JSON.stringify({ alg, kid: key.kid }));
    const v = verifyDetached(jws, PAYLOAD, JWKS, opts);
    expect(v).toMatchObject({ alg, kid: key.kid, header: { alg, kid: key.kid } });
    expect(v.key).toEqual(key.publicJwk);
    // A resolver works like a JWKS.
    expect(verifyDetached(jws, PAYLOAD, (kid) => JWKS.keys.find((k) => k.kid === kid), opts).kid).toBe(key.kid);
  });

  it("RFC 7515 §5.1: the signing input is ASCII(BASE64URL(header) '.' BASE64URL(payload)) — checked with node:crypto directly", () => {
    const jws = signDetached(PAYLOAD, ed);
    const [h, , s] = jws.split(".") as [string, string, string];
    const input = Buffer.from(`${h}.${b64u(PAYLOAD)}`, "ascii");
    expect(nodeVerify(null, input, createPublicKey(ed.keyObject!), unb64u(s))).toBe(true);
  });

  it("RFC 8032 §5.1.6: EdDSA detached JWS is deterministic", () => {
    expect(signDetached(PAYLOAD, ed)).toBe(signDetached(PAYLOAD, ed));
  });

  it("an empty payload signs and verifies", () => {
    const jws = signDetached(new Uint8Array(0), ed);
    expect(verifyDetached(jws, new Uint8Array(0), JWKS).kid).toBe(ed.kid);
  });

  it("RFC 8725 §3.1: the composite is opt-in: not in DEFAULT_ALLOWED_ALGS; sign and verify refuse it unless allowed", () => {
    expect([...DEFAULT_ALLOWED_ALGS]).toEqual([ALG_EDDSA, ALG_MLDSA65]);
    jwsErr(() => signDetached(PAYLOAD, comp), "ERR_JWS_ALG_UNSUPPORTED");
    const jws = signDetached(PAYLOAD, comp, COMPOSITE_ONLY);
    jwsErr(() => verifyDetached(jws, PAYLOAD, JWKS), "ERR_JWS_ALG_UNSUPPORTED");
    expect(verifyDetached(jws, PAYLOAD, JWKS, { allowAlgs: [ALG_EDDSA, ALG_MLDSA65_ED25519] }).alg).toBe(ALG_MLDSA65_ED25519);
    // An allow-list without EdDSA rejects EdDSA.
    jwsErr(() => verifyDetached(signDetached(PAYLOAD, ed), PAYLOAD, JWKS, COMPOSITE_ONLY), "ERR_JWS_ALG_UNSUPPORTED");
  });
});

describe("RFC 7515 / RFC 8725 detached JWS rejections with stable JwsError codes", () => {
  const good = signDetached(PAYLOAD, ed);

  it("RFC 8725 §3.1: alg none (any case) is ERR_JWS_ALG_NONE", () => {
    for (const alg of ["none", "NONE", "None"]) {
      jwsErr(() => verifyDetached(`${b64u(JSON.stringify({ alg, kid: ed.kid }))}..`, PAYLOAD, JWKS), "ERR_JWS_ALG_NONE");
      jwsErr(() => verifyDetached(forge(JSON.stringify({ alg, kid: ed.kid }), ed), PAYLOAD, JWKS), "ERR_JWS_ALG_NONE");
    }
  });

  it("RFC 7515 §4.1.1: unknown or unsupported alg is ERR_JWS_ALG_UNSUPPORTED", () => {
    for (const alg of ["HS256", "ES256", "RS256", "Ed25519", "ML-DSA-44", "eddsa", ALG_HPKE_X25519]) {
      jwsErr(() => verifyDetached(forge(JSON.stringify({ alg, kid: ed.kid }), ed), PAYLOAD, JWKS), "ERR_JWS_ALG_UNSUPPORTED");
    }
  });

  it("OHP §5.2: any header member besides alg and kid is ERR_JWS_HEADER_INVALID (typ, crit, b64, jwk, x5u)", () => {
    for (const extra of [{ typ: "JOSE" }, { crit: ["b64"], b64: false }, { b64: false }, { jwk: ed.publicJwk }, { x5u: "https://x" }]) {
      const e = jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA, kid: ed.kid, ...extra }), ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
      expect(e.detail?.["members"]).toEqual(["alg", "kid", ...Object.keys(extra)]);
    }
    jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA }), ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
    jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA, kid: 7 }), ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
    jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA, kid: "" }), ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
    jwsErr(() => verifyDetached(forge(`{"alg":"EdDSA","kid":"${ed.kid}","__proto__":{}}`, ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
  });

  it("RFC 7515 §4 / RFC 8259 §4: duplicate header member names are ERR_JWS_HEADER_INVALID (also via escapes)", () => {
    jwsErr(() => verifyDetached(forge(`{"alg":"EdDSA","kid":"${ed.kid}","kid":"${ed.kid}"}`, ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
    jwsErr(() => verifyDetached(forge(`{"alg":"ML-DSA-65","alg":"EdDSA","kid":"${ed.kid}"}`, ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
    jwsErr(() => verifyDetached(forge(`{"alg":"EdDSA","\\u006bid":"x","kid":"${ed.kid}"}`, ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
    expect(hasDuplicateMemberNames('{"a":{"b":1},"b":{"a":[{"a":1}]}}')).toBe(false);
    expect(hasDuplicateMemberNames('{"a":1,"b":{"c":1,"c":2}}')).toBe(true);
    expect(hasDuplicateMemberNames('{"a":"\\"b\\"","\\"b\\"":1}')).toBe(false);
  });

  it("header that is not a JSON object, or carries a BOM, is ERR_JWS_HEADER_INVALID", () => {
    for (const h of ["[]", '"alg"', "{", `\ufeff{"alg":"EdDSA","kid":"${ed.kid}"}`, "null"]) {
      jwsErr(() => verifyDetached(forge(h, ed), PAYLOAD, JWKS), "ERR_JWS_HEADER_INVALID");
    }
  });

  it("OHP §5.9: a kid absent from the trusted JWKS is ERR_JWS_KID_UNKNOWN", () => {
    const other = keyPairFromSeed(ALG_EDDSA, seed(99));
    jwsErr(() => verifyDetached(signDetached(PAYLOAD, other), PAYLOAD, JWKS), "ERR_JWS_KID_UNKNOWN");
    jwsErr(() => verifyDetached(good, PAYLOAD, () => undefined), "ERR_JWS_KID_UNKNOWN");
    jwsErr(() => verifyDetached(good, PAYLOAD, publicJwks([ml])), "ERR_JWS_KID_UNKNOWN");
  });

  it("RFC 8725 §3.1: header alg differing from the JWK's alg is ERR_JWS_KID_MISMATCH", () => {
    // Header says ML-DSA-65 but names the Ed25519 key (signed with the ML-DSA key).
    jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_MLDSA65, kid: ed.kid }), ml), PAYLOAD, JWKS), "ERR_JWS_KID_MISMATCH");
    // Header says EdDSA but names the ML-DSA key (signed with the Ed25519 key).
    jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA, kid: ml.kid }), ed), PAYLOAD, JWKS), "ERR_JWS_KID_MISMATCH");
    // Header says EdDSA, names the composite key.
    jwsErr(
      () => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA, kid: comp.kid }), ed), PAYLOAD, JWKS, { allowAlgs: [ALG_EDDSA, ALG_MLDSA65_ED25519] }),
      "ERR_JWS_KID_MISMATCH",
    );
    // Resolver that hands back a key with another kid.
    jwsErr(() => verifyDetached(good, PAYLOAD, () => ml.publicJwk), "ERR_JWS_KID_MISMATCH");
  });

  it("RFC 7517 §4.2: a kid naming an X25519 (use enc) key is the wrong key type: ERR_JWS_KID_MISMATCH", () => {
    jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA, kid: x.kid }), ed), PAYLOAD, JWKS), "ERR_JWS_KID_MISMATCH");
    jwsErr(() => signDetached(PAYLOAD, x), "ERR_JWS_ALG_UNSUPPORTED");
  });

  it("a malformed trusted JWK behind a resolver is ERR_JWS_KEY_INVALID", () => {
    const broken = { ...ed.publicJwk, x: "AAAA" } as PublicJwk;
    jwsErr(() => verifyDetached(good, PAYLOAD, () => broken), "ERR_JWS_KEY_INVALID");
  });

  it("RFC 7515 Appendix F: an attached (non-empty) payload segment is ERR_JWS_MALFORMED", () => {
    const [h, , s] = good.split(".");
    jwsErr(() => verifyDetached(`${h}.${b64u(PAYLOAD)}.${s}`, PAYLOAD, JWKS), "ERR_JWS_MALFORMED");
    jwsErr(() => verifyDetached(`${h}.A.${s}`, PAYLOAD, JWKS), "ERR_JWS_MALFORMED");
  });

  it("RFC 7515 §7.1 / RFC 4648 §5: malformed compact form or base64url is ERR_JWS_MALFORMED", () => {
    const [h, , s] = good.split(".") as [string, string, string];
    const bad = [
      `${h}.${s}`,
      `${h}...${s}`,
      `${h}..`,
      `..${s}`,
      `${h}=..${s}`,
      `${h}..${s}=`,
      `${h}..${s.slice(0, -2)}+/`,
      `${h}..${s.slice(0, -1)}!`,
      `${h.slice(0, -1)}*..${s}`,
      `${h} ..${s}`,
      "",
      `${"A".repeat(MAX_HEADER_LENGTH + 1)}..${s}`,
      `${h}..${"A".repeat(7000)}`,
    ];
    for (const jws of bad) jwsErr(() => verifyDetached(jws, PAYLOAD, JWKS), "ERR_JWS_MALFORMED");
    // Non-canonical trailing bits in the 86-char Ed25519 signature (last char must encode 4 zero bits).
    const last = s.charAt(s.length - 1);
    const alt = "AQgw".includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : last;
    expect(alt).not.toBe(last);
    jwsErr(() => verifyDetached(`${h}..${s.slice(0, -1)}${alt}`, PAYLOAD, JWKS), "ERR_JWS_MALFORMED");
    jwsErr(() => verifyDetached(42 as unknown as string, PAYLOAD, JWKS), "ERR_JWS_MALFORMED");
  });

  it("tampered payload is ERR_JWS_SIGNATURE_INVALID for every algorithm", () => {
    for (const [key, opts] of [[ed, {}], [ml, {}], [comp, COMPOSITE_ONLY]] as const) {
      const jws = signDetached(PAYLOAD, key, opts);
      jwsErr(() => verifyDetached(jws, text('{"ohp":"1.0","id":"handofF"}'), JWKS, opts), "ERR_JWS_SIGNATURE_INVALID");
      jwsErr(() => verifyDetached(jws, new Uint8Array(0), JWKS, opts), "ERR_JWS_SIGNATURE_INVALID");
    }
  });

  it("tampered or wrong-length signature is ERR_JWS_SIGNATURE_INVALID for every algorithm", () => {
    for (const [key, opts] of [[ed, {}], [ml, {}], [comp, COMPOSITE_ONLY]] as const) {
      const jws = signDetached(PAYLOAD, key, opts);
      const sig = unb64u(jws.split(".")[2]!);
      const flipped = Uint8Array.from(sig);
      flipped[10] = (flipped[10] ?? 0) ^ 1;
      jwsErr(() => verifyDetached(withSignature(jws, flipped), PAYLOAD, JWKS, opts), "ERR_JWS_SIGNATURE_INVALID");
      jwsErr(() => verifyDetached(withSignature(jws, sig.subarray(0, sig.length - 1)), PAYLOAD, JWKS, opts), "ERR_JWS_SIGNATURE_INVALID");
      jwsErr(() => verifyDetached(withSignature(jws, new Uint8Array([...sig, 0])), PAYLOAD, JWKS, opts), "ERR_JWS_SIGNATURE_INVALID");
      jwsErr(() => verifyDetached(withSignature(jws, new Uint8Array(64)), PAYLOAD, JWKS, opts), "ERR_JWS_SIGNATURE_INVALID");
      jwsErr(() => verifyDetached(withSignature(jws, "A".repeat(4000)), PAYLOAD, JWKS, opts), "ERR_JWS_SIGNATURE_INVALID");
    }
  });

  it("a signature by another key under the right kid is ERR_JWS_SIGNATURE_INVALID", () => {
    const imposter = keyPairFromSeed(ALG_EDDSA, seed(66));
    jwsErr(() => verifyDetached(forge(JSON.stringify({ alg: ALG_EDDSA, kid: ed.kid }), imposter), PAYLOAD, JWKS), "ERR_JWS_SIGNATURE_INVALID");
  });

  it("expectedKid / expectedAlg pin the header", () => {
    jwsErr(() => verifyDetached(good, PAYLOAD, JWKS, { expectedKid: ml.kid }), "ERR_JWS_KID_MISMATCH");
    jwsErr(() => verifyDetached(good, PAYLOAD, JWKS, { expectedAlg: ALG_MLDSA65 }), "ERR_JWS_HEADER_INVALID");
    expect(verifyDetached(good, PAYLOAD, JWKS, { expectedKid: ed.kid, expectedAlg: ALG_EDDSA }).kid).toBe(ed.kid);
  });

  it("OHP §5.9 key lifecycle: revoked or out-of-validity keys are ERR_JWS_KID_REVOKED", () => {
    const limited = keyPairFromSeed(ALG_EDDSA, seed(7), { validFrom: "2026-01-01T00:00:00Z", validUntil: "2026-02-01T00:00:00Z" });
    const jwks = publicJwks([limited]);
    const jws = signDetached(PAYLOAD, limited);
    expect(verifyDetached(jws, PAYLOAD, jwks, { now: new Date("2026-01-15T00:00:00Z") }).kid).toBe(limited.kid);
    jwsErr(() => verifyDetached(jws, PAYLOAD, jwks, { now: new Date("2025-12-31T00:00:00Z") }), "ERR_JWS_KID_REVOKED");
    jwsErr(() => verifyDetached(jws, PAYLOAD, jwks, { now: new Date("2026-02-01T00:00:00Z") }), "ERR_JWS_KID_REVOKED");
    const revoked = keyPairFromSeed(ALG_EDDSA, seed(8), { revoked: true });
    jwsErr(() => verifyDetached(signDetached(PAYLOAD, revoked), PAYLOAD, publicJwks([revoked])), "ERR_JWS_KID_REVOKED");
  });

  it("OHP §5.9: revoking a key in a plain (unfrozen) JWKS object takes effect after the key was cached", () => {
    const set = JSON.parse(JSON.stringify(publicJwks([ed]))) as { keys: Record<string, unknown>[] };
    expect(verifyDetached(good, PAYLOAD, set as unknown as Jwks).kid).toBe(ed.kid);
    set.keys[0]!["revoked"] = true;
    jwsErr(() => verifyDetached(good, PAYLOAD, set as unknown as Jwks), "ERR_JWS_KID_REVOKED");
  });

  it("parseProtectedHeader accepts exactly {alg, kid} in either member order", () => {
    expect(parseProtectedHeader(b64u(`{"kid":"k","alg":"EdDSA"}`))).toEqual({ alg: "EdDSA", kid: "k" });
    expectCode(() => parseProtectedHeader(""), "ERR_JWS_MALFORMED", JwsError);
  });

  it("tryVerifyDetached reports instead of throwing", () => {
    expect(tryVerifyDetached(good, PAYLOAD, JWKS)).toMatchObject({ ok: true, value: { kid: ed.kid } });
    const r = tryVerifyDetached(good, text("x"), JWKS);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("ERR_JWS_SIGNATURE_INVALID");
  });
});

describe("OHP §5.1 Regulated hybrid: EdDSA AND ML-DSA-65", () => {
  const entries = signHybrid(PAYLOAD, [ed, ml]);
  const byAlg = (alg: string) => entries.find((e) => e.alg === alg)!;

  it("signHybrid emits one {kid, alg, jws} entry per key; verifyHybrid verifies both", () => {
    expect(REGULATED_REQUIRED_ALGS).toEqual([ALG_EDDSA, ALG_MLDSA65]);
    expect(entries.map((e) => [e.alg, e.kid])).toEqual([
      [ALG_EDDSA, ed.kid],
      [ALG_MLDSA65, ml.kid],
    ]);
    const v = verifyHybrid(PAYLOAD, entries, JWKS);
    expect(v.map((r) => r.alg)).toEqual([ALG_EDDSA, ALG_MLDSA65]);
    // Order does not matter; a JSON round trip (as in an envelope) still verifies.
    expect(verifyHybrid(PAYLOAD, JSON.parse(JSON.stringify([...entries].reverse())) as SignatureEntry[], JWKS)).toHaveLength(2);
    // Each entry is an ordinary detached JWS.
    for (const e of entries) expect(verifyDetached(e.jws, PAYLOAD, JWKS).kid).toBe(e.kid);
  });

  it("stripping either half is ERR_JWS_HYBRID_INCOMPLETE", () => {
    jwsErr(() => verifyHybrid(PAYLOAD, [byAlg(ALG_EDDSA)], JWKS), "ERR_JWS_HYBRID_INCOMPLETE");
    jwsErr(() => verifyHybrid(PAYLOAD, [byAlg(ALG_MLDSA65)], JWKS), "ERR_JWS_HYBRID_INCOMPLETE");
    jwsErr(() => verifyHybrid(PAYLOAD, [], JWKS), "ERR_JWS_MALFORMED");
    jwsErr(() => signHybrid(PAYLOAD, [ed]), "ERR_JWS_HYBRID_INCOMPLETE");
  });

  it("swapping the signatures between entries fails", () => {
    const e = byAlg(ALG_EDDSA);
    const m = byAlg(ALG_MLDSA65);
    // JWS swapped under the entry labels: the entry alg no longer matches its JWS header.
    jwsErr(() => verifyHybrid(PAYLOAD, [{ ...e, jws: m.jws }, { ...m, jws: e.jws }], JWKS), "ERR_JWS_HEADER_INVALID");
    // Signature segments swapped between the two JWS headers: wrong length for the alg.
    const [eh, , es] = e.jws.split(".");
    const [mh, , ms] = m.jws.split(".");
    jwsErr(
      () => verifyHybrid(PAYLOAD, [{ ...e, jws: `${eh}..${ms}` }, { ...m, jws: `${mh}..${es}` }], JWKS),
      "ERR_JWS_SIGNATURE_INVALID",
    );
    // Swapped kids on the entries.
    jwsErr(() => verifyHybrid(PAYLOAD, [{ ...e, kid: m.kid }, { ...m, kid: e.kid }], JWKS), "ERR_JWS_KID_MISMATCH");
  });

  it("one tampered half fails the whole set, naming the entry index", () => {
    const m = byAlg(ALG_MLDSA65);
    const sig = unb64u(m.jws.split(".")[2]!);
    sig[0] = (sig[0] ?? 0) ^ 1;
    const err = jwsErr(() => verifyHybrid(PAYLOAD, [byAlg(ALG_EDDSA), { ...m, jws: withSignature(m.jws, sig) }], JWKS), "ERR_JWS_SIGNATURE_INVALID");
    expect(err.detail).toMatchObject({ index: 1, alg: ALG_MLDSA65 });
    jwsErr(() => verifyHybrid(text("other payload"), entries, JWKS), "ERR_JWS_SIGNATURE_INVALID");
    expect(tryVerifyHybrid(text("other payload"), entries, JWKS).ok).toBe(false);
    expect(tryVerifyHybrid(PAYLOAD, entries, JWKS).ok).toBe(true);
  });

  it("duplicate alg entries are ERR_JWS_HYBRID_DUPLICATE (same entry twice, or two keys of one alg)", () => {
    const ed2 = keyPairFromSeed(ALG_EDDSA, seed(11));
    const jwks = publicJwks([ed, ed2, ml]);
    jwsErr(() => verifyHybrid(PAYLOAD, [...entries, byAlg(ALG_EDDSA)], JWKS), "ERR_JWS_HYBRID_DUPLICATE");
    const extra = { kid: ed2.kid, alg: ALG_EDDSA, jws: signDetached(PAYLOAD, ed2) };
    jwsErr(() => verifyHybrid(PAYLOAD, [...entries, extra], jwks), "ERR_JWS_HYBRID_DUPLICATE");
    jwsErr(() => signHybrid(PAYLOAD, [ed, ed2, ml]), "ERR_JWS_HYBRID_DUPLICATE");
    jwsErr(() => signHybrid(PAYLOAD, [ed, ml], { requiredAlgs: [ALG_EDDSA, ALG_EDDSA] }), "ERR_JWS_HYBRID_DUPLICATE");
  });

  it("entry shape is strict: exactly the string members kid, alg, jws", () => {
    const e = byAlg(ALG_EDDSA);
    jwsErr(() => verifyHybrid(PAYLOAD, [{ ...e, extra: 1 } as SignatureEntry, byAlg(ALG_MLDSA65)], JWKS), "ERR_JWS_MALFORMED");
    jwsErr(() => verifyHybrid(PAYLOAD, [{ kid: e.kid, alg: e.alg } as SignatureEntry, byAlg(ALG_MLDSA65)], JWKS), "ERR_JWS_MALFORMED");
    jwsErr(() => verifyHybrid(PAYLOAD, "x" as unknown as SignatureEntry[], JWKS), "ERR_JWS_MALFORMED");
    jwsErr(() => verifyHybrid(PAYLOAD, Array.from({ length: 9 }, () => e), JWKS), "ERR_JWS_MALFORMED");
  });

  it("an entry whose alg is none or unknown fails", () => {
    const none = { kid: "n", alg: "none", jws: `${b64u(JSON.stringify({ alg: "none", kid: "n" }))}..` };
    expect(jwsErr(() => verifyHybrid(PAYLOAD, [...entries, none], JWKS), "ERR_JWS_ALG_NONE").detail).toMatchObject({ index: 2 });
    const hs = { kid: "h", alg: "HS256", jws: forge(JSON.stringify({ alg: "HS256", kid: "h" }), ed) };
    jwsErr(() => verifyHybrid(PAYLOAD, [...entries, hs], JWKS), "ERR_JWS_ALG_UNSUPPORTED");
  });

  it("composite opt-in: a composite entry only verifies when allowed", () => {
    const withComposite = signHybrid(PAYLOAD, [ed, ml, comp], { allowAlgs: [ALG_MLDSA65_ED25519] });
    expect(withComposite.map((e) => e.alg)).toEqual([ALG_EDDSA, ALG_MLDSA65, ALG_MLDSA65_ED25519]);
    jwsErr(() => verifyHybrid(PAYLOAD, withComposite, JWKS), "ERR_JWS_ALG_UNSUPPORTED");
    jwsErr(() => signHybrid(PAYLOAD, [ed, ml, comp]), "ERR_JWS_ALG_UNSUPPORTED");
    expect(verifyHybrid(PAYLOAD, withComposite, JWKS, { allowAlgs: [ALG_MLDSA65_ED25519] })).toHaveLength(3);
    // Composite alone satisfies a policy that requires only the composite.
    const only = signHybrid(PAYLOAD, [comp], { requiredAlgs: [ALG_MLDSA65_ED25519] });
    expect(verifyHybrid(PAYLOAD, only, JWKS, { requiredAlgs: [ALG_MLDSA65_ED25519] })).toHaveLength(1);
    // But it does not stand in for the Regulated pair.
    jwsErr(() => verifyHybrid(PAYLOAD, only, JWKS, { allowAlgs: [ALG_MLDSA65_ED25519] }), "ERR_JWS_HYBRID_INCOMPLETE");
  });

  it("a JWKS reparsed from text verifies the hybrid set", () => {
    expect(verifyHybrid(PAYLOAD, entries, parseJwks(JSON.stringify(JWKS)))).toHaveLength(2);
  });
});

describe("OHP §5.1 Regulated hybrid verified in parallel (verifyHybridAsync) agrees with verifyHybrid", () => {
  const entries = signHybrid(PAYLOAD, [ed, ml]);
  const [e, m] = entries as [SignatureEntry, SignatureEntry];
  const flip = (entry: SignatureEntry): SignatureEntry => {
    const sig = unb64u(entry.jws.split(".")[2]!);
    sig[5] = (sig[5] ?? 0) ^ 0x80;
    return { ...entry, jws: withSignature(entry.jws, sig) };
  };
  const cases: [string, readonly SignatureEntry[], Uint8Array][] = [
    ["valid", entries, PAYLOAD],
    ["reversed order", [m, e], PAYLOAD],
    ["tampered EdDSA half", [flip(e), m], PAYLOAD],
    ["tampered ML-DSA half", [e, flip(m)], PAYLOAD],
    ["both tampered (index 0 reported)", [flip(e), flip(m)], PAYLOAD],
    ["bad signature at 0, unknown kid at 1", [flip(e), { ...m, kid: "nope" }], PAYLOAD],
    ["unknown kid at 0, bad signature at 1", [{ ...e, kid: "nope" }, flip(m)], PAYLOAD],
    ["stripped half", [e], PAYLOAD],
    ["other payload", entries, text("other")],
  ];
  for (const [name, list, payload] of cases) {
    it(name, async () => {
      let sync: unknown;
      let syncError: JwsError | undefined;
      try {
        sync = verifyHybrid(payload, list, JWKS);
      } catch (error) {
        syncError = error as JwsError;
      }
      if (syncError === undefined) {
        await expect(verifyHybridAsync(payload, list, JWKS)).resolves.toEqual(sync);
      } else {
        const asyncError = await verifyHybridAsync(payload, list, JWKS).then(
          () => undefined,
          (error: unknown) => error as JwsError,
        );
        expect(asyncError).toBeInstanceOf(JwsError);
        expect([asyncError?.code, asyncError?.detail?.["index"]]).toEqual([syncError.code, syncError.detail?.["index"]]);
      }
    });
  }

  it("PublicKeyRecord.verifyAsync matches verify for every signing algorithm and rejects wrong lengths", async () => {
    const records = parseJwks(JWKS);
    for (const key of [ed, ml, comp]) {
      const pub = records.keys.find((k) => k.kid === key.kid)!;
      const record = publicKeyFor(pub);
      const sig = key.sign(PAYLOAD);
      expect(await record.verifyAsync(PAYLOAD, sig)).toBe(true);
      expect(await record.verifyAsync(text("x"), sig)).toBe(false);
      expect(await record.verifyAsync(PAYLOAD, sig.subarray(1))).toBe(false);
    }
  });
});
