import { createHash } from "node:crypto";
import { format, inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  ALG_EDDSA,
  ALG_HPKE_X25519,
  ALG_MLDSA65,
  ALG_MLDSA65_ED25519,
  KEY_PROFILES,
  KeyError,
  type KeyAlg,
  type PublicJwk,
} from "../../src/crypto/jwk.js";
import {
  MAX_JWKS_BYTES,
  MAX_JWKS_KEYS,
  REDACTED,
  exportPrivateJwk,
  exportPublicJwk,
  findKey,
  generateKeyPair,
  importPrivateJwk,
  isKeyUsableAt,
  keyPairFromSeed,
  parseJwks,
  parsePrivateJwks,
  parsePublicJwk,
  privateJwks,
  publicJwks,
  publicKeyFor,
  PrivateKeyRecord,
} from "../../src/crypto/keys.js";
import { jwkThumbprint, thumbprintInput } from "../../src/crypto/thumbprint.js";
import { compositeExample, expectCode, seed, text, toHex, unb64u } from "./helpers.js";

const ALGS: KeyAlg[] = [ALG_EDDSA, ALG_MLDSA65, ALG_MLDSA65_ED25519, ALG_HPKE_X25519];
const SIGNING: KeyAlg[] = [ALG_EDDSA, ALG_MLDSA65, ALG_MLDSA65_ED25519];

function independentThumbprint(members: Record<string, string>): string {
  const json = `{${Object.keys(members)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(members[k])}`)
    .join(",")}}`;
  return createHash("sha256").update(json).digest("base64url");
}

describe("RFC 7638 JWK thumbprints", () => {
  it("RFC 7638 §3.1: the published RSA example", () => {
    const jwk = {
      kty: "RSA",
      n:
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs" +
        "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5" +
        "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      e: "AQAB",
      alg: "RS256",
      kid: "2011-04-29",
    };
    expect(thumbprintInput(jwk)).toBe(`{"e":"AQAB","kty":"RSA","n":"${jwk.n}"}`);
    expect(jwkThumbprint(jwk)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it("RFC 8037 Appendix A.3: the published Ed25519 (OKP) thumbprint", () => {
    const jwk = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
    expect(jwkThumbprint(jwk)).toBe("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    expect(jwkThumbprint({ ...jwk, d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", alg: "EdDSA", kid: "x" })).toBe(
      "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    );
  });

  it("RFC 7638 §3.2 + RFC 9964: OKP and AKP thumbprints of generated keys match an independent computation", () => {
    for (const alg of ALGS) {
      const k = keyPairFromSeed(alg, seed(3, KEY_PROFILES[alg].privateLength));
      const j = k.publicJwk as unknown as Record<string, string>;
      const members: Record<string, string> =
        KEY_PROFILES[alg].kty === "OKP" ? { crv: j["crv"]!, kty: "OKP", x: j["x"]! } : { alg: j["alg"]!, kty: "AKP", pub: j["pub"]! };
      expect(k.kid).toBe(independentThumbprint(members));
    }
  });

  it("RFC 7638 §3.2: EC required members are crv, kty, x, y; unknown kty is ERR_KEY_UNSUPPORTED", () => {
    expect(thumbprintInput({ kty: "EC", crv: "P-256", x: "a", y: "b", d: "secret" })).toBe('{"crv":"P-256","kty":"EC","x":"a","y":"b"}');
    expectCode(() => jwkThumbprint({ kty: "oct", k: "AAAA" }), "ERR_KEY_UNSUPPORTED", KeyError);
    expectCode(() => jwkThumbprint({ kty: "OKP", crv: "Ed25519" }), "ERR_KEY_INVALID", KeyError);
  });
});

describe("OHP §5.9 key generation, import and export", () => {
  it.each(ALGS)("%s: generate → public JWK profile, kid = RFC 7638 thumbprint", (alg) => {
    const k = generateKeyPair(alg);
    const p = KEY_PROFILES[alg];
    expect(k).toBeInstanceOf(PrivateKeyRecord);
    expect(k.alg).toBe(alg);
    expect(k.use).toBe(p.use);
    const jwk = exportPublicJwk(k) as unknown as Record<string, unknown>;
    expect(jwk["kty"]).toBe(p.kty);
    expect(jwk["alg"]).toBe(alg);
    expect(jwk["use"]).toBe(p.use);
    if (p.crv !== undefined) expect(jwk["crv"]).toBe(p.crv);
    expect(unb64u(jwk[p.publicMember] as string).length).toBe(p.publicLength);
    expect(jwk[p.privateMember]).toBeUndefined();
    expect(k.kid).toBe(jwkThumbprint(jwk));
    expect(Object.isFrozen(jwk)).toBe(true);
  });

  it.each(ALGS)("%s: export private JWK → import → identical public JWK and secret", (alg) => {
    const k = generateKeyPair(alg);
    const priv = exportPrivateJwk(k) as unknown as Record<string, string>;
    const member = KEY_PROFILES[alg].privateMember;
    expect(unb64u(priv[member]!).length).toBe(KEY_PROFILES[alg].privateLength);
    const back = importPrivateJwk(JSON.parse(JSON.stringify(priv)));
    expect(back.publicJwk).toEqual(k.publicJwk);
    expect((exportPrivateJwk(back) as unknown as Record<string, string>)[member]).toBe(priv[member]);
  });

  it.each(SIGNING)("%s: sign with the private record, verify with publicKeyFor(public JWK)", (alg) => {
    const k = generateKeyPair(alg);
    const msg = text("OHP §5.9 round trip");
    const sig = k.sign(msg);
    const pub = publicKeyFor(JSON.parse(JSON.stringify(k.publicJwk)) as PublicJwk);
    expect(pub.verify(msg, sig)).toBe(true);
    expect(pub.verify(text("other"), sig)).toBe(false);
    expect(pub.kid).toBe(k.kid);
  });

  it("X25519 (HPKE enc) keys refuse to sign or verify", () => {
    const k = generateKeyPair(ALG_HPKE_X25519);
    expectCode(() => k.sign(text("m")), "ERR_KEY_UNSUPPORTED", KeyError);
    expectCode(() => publicKeyFor(k.publicJwk).verify(text("m"), new Uint8Array(64)), "ERR_KEY_UNSUPPORTED", KeyError);
    expect(k.keyObject?.asymmetricKeyType).toBe("x25519");
  });

  it("keyPairFromSeed is deterministic (RFC 8032 seed, RFC 9964 ML-DSA seed, composite seed pair)", () => {
    for (const alg of ALGS) {
      const n = KEY_PROFILES[alg].privateLength;
      expect(keyPairFromSeed(alg, seed(5, n)).publicJwk).toEqual(keyPairFromSeed(alg, seed(5, n)).publicJwk);
    }
    // RFC 8032 §7.1 TEST 1.
    const ed = keyPairFromSeed(ALG_EDDSA, Uint8Array.from(Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex")));
    expect(toHex(unb64u((ed.publicJwk as { x: string }).x))).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  });

  it("wrong seed lengths and unknown algorithms are typed errors", () => {
    expectCode(() => keyPairFromSeed(ALG_EDDSA, new Uint8Array(31)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => keyPairFromSeed(ALG_MLDSA65, new Uint8Array(64)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => keyPairFromSeed(ALG_MLDSA65_ED25519, new Uint8Array(32)), "ERR_KEY_INVALID", KeyError);
    expectCode(() => generateKeyPair("ES256" as KeyAlg), "ERR_KEY_UNSUPPORTED", KeyError);
  });

  it("custom kid and lifecycle members are carried and validated", () => {
    const k = generateKeyPair(ALG_EDDSA, { kid: "ed-2026", validFrom: new Date("2026-01-01T00:00:00Z"), validUntil: "2027-01-01T00:00:00Z" });
    expect(k.publicJwk).toMatchObject({ kid: "ed-2026", validFrom: "2026-01-01T00:00:00.000Z", validUntil: "2027-01-01T00:00:00Z" });
    expect(isKeyUsableAt(k.publicJwk, new Date("2026-06-01T00:00:00Z"))).toBe(true);
    expect(isKeyUsableAt(k.publicJwk, new Date("2025-12-31T23:59:59Z"))).toBe(false);
    expect(isKeyUsableAt(k.publicJwk, new Date("2027-01-01T00:00:00Z"))).toBe(false);
    expect(isKeyUsableAt({ revoked: true }, new Date())).toBe(false);
    expectCode(() => generateKeyPair(ALG_EDDSA, { validFrom: "2027-01-01T00:00:00Z", validUntil: "2026-01-01T00:00:00Z" }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => generateKeyPair(ALG_EDDSA, { validFrom: "yesterday" }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => generateKeyPair(ALG_EDDSA, { kid: "" }), "ERR_KEY_INVALID", KeyError);
  });

  it("RFC 9964 'Mismatched AKP parameters': a private JWK whose public half does not match is rejected", () => {
    const a = exportPrivateJwk(keyPairFromSeed(ALG_MLDSA65, seed(1))) as unknown as Record<string, string>;
    const b = exportPrivateJwk(keyPairFromSeed(ALG_MLDSA65, seed(2))) as unknown as Record<string, string>;
    expectCode(() => importPrivateJwk({ ...a, pub: b["pub"] }), "ERR_KEY_INVALID", KeyError);
    const e1 = exportPrivateJwk(keyPairFromSeed(ALG_EDDSA, seed(1))) as unknown as Record<string, string>;
    const e2 = exportPrivateJwk(keyPairFromSeed(ALG_EDDSA, seed(2))) as unknown as Record<string, string>;
    expectCode(() => importPrivateJwk({ ...e1, x: e2["x"] }), "ERR_KEY_INVALID", KeyError);
  });

  it("import without kid defaults to the thumbprint; RFC 8037 key without alg is EdDSA", () => {
    const rfc8037 = {
      kty: "OKP",
      crv: "Ed25519",
      d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
      x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    };
    const k = importPrivateJwk(rfc8037);
    expect(k.kid).toBe("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    expect(k.alg).toBe(ALG_EDDSA);
  });

  it("RFC 9964: AKP keys require alg; priv of the published composite example imports", () => {
    expectCode(() => parsePublicJwk({ kty: "AKP", pub: "AAAA" }), "ERR_KEY_INVALID", KeyError);
    const ex = compositeExample();
    expect(importPrivateJwk(ex.jwk).kid).toBe(ex.jwk.kid);
  });

  it("records are frozen: kid/alg cannot be rewritten after construction", () => {
    const k = generateKeyPair(ALG_EDDSA);
    expect(Object.isFrozen(k)).toBe(true);
    expect(() => {
      (k as unknown as { kid: string }).kid = "evil";
    }).toThrow(TypeError);
  });
});

describe("OHP §5.9 JWK Sets: public and private", () => {
  const ed = keyPairFromSeed(ALG_EDDSA, seed(1));
  const ml = keyPairFromSeed(ALG_MLDSA65, seed(2));
  const x = keyPairFromSeed(ALG_HPKE_X25519, seed(3));
  const publicSet = () => JSON.parse(JSON.stringify(publicJwks([ed, ml, x]))) as { keys: Record<string, unknown>[] };

  it("public JWKS round trip: text, bytes and object inputs", () => {
    const json = JSON.stringify(publicJwks([ed, ml, x]));
    expect(json).not.toMatch(/"(d|priv)"/);
    for (const input of [json, new TextEncoder().encode(json), JSON.parse(json) as unknown]) {
      const set = parseJwks(input);
      expect(set.keys.map((k) => k.kid)).toEqual([ed.kid, ml.kid, x.kid]);
      expect(findKey(set, ml.kid)).toEqual(ml.publicJwk);
      expect(findKey(set, "nope")).toBeUndefined();
    }
  });

  it("private JWKS round trip restores working keys", () => {
    const json = JSON.stringify(privateJwks([ed, ml, x]));
    const back = parsePrivateJwks(json);
    expect(back.map((k) => k.kid)).toEqual([ed.kid, ml.kid, x.kid]);
    const msg = text("m");
    expect(publicKeyFor(ml.publicJwk).verify(msg, back[1]!.sign(msg))).toBe(true);
  });

  it("RFC 7517 §5: duplicate kid is ERR_JWKS_DUPLICATE_KID (parse, build, private)", () => {
    const set = publicSet();
    set.keys[1] = { ...set.keys[1], kid: ed.kid };
    expectCode(() => parseJwks(set), "ERR_JWKS_DUPLICATE_KID", KeyError);
    expectCode(() => publicJwks([ed, ed]), "ERR_JWKS_DUPLICATE_KID", KeyError);
    expectCode(() => privateJwks([ml, ml]), "ERR_JWKS_DUPLICATE_KID", KeyError);
    const priv = JSON.parse(JSON.stringify(privateJwks([ed]))) as { keys: unknown[] };
    expectCode(() => parsePrivateJwks({ keys: [priv.keys[0], priv.keys[0]] }), "ERR_JWKS_DUPLICATE_KID", KeyError);
  });

  it("unknown kty or alg is ERR_KEY_UNSUPPORTED with the index, unless skipUnsupported", () => {
    const set = publicSet();
    const rsa = { kty: "RSA", kid: "rsa", n: "AQAB", e: "AQAB" };
    const e = expectCode(() => parseJwks({ keys: [...set.keys, rsa] }), "ERR_KEY_UNSUPPORTED", KeyError);
    expect(e.detail).toMatchObject({ index: 3 });
    expectCode(() => parseJwks({ keys: [{ ...set.keys[1], kid: "m44", alg: "ML-DSA-44" }] }), "ERR_KEY_UNSUPPORTED", KeyError);
    expectCode(() => parseJwks({ keys: [{ kty: "OKP", crv: "Ed448", kid: "e", x: "AA" }] }), "ERR_KEY_UNSUPPORTED", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...set.keys[0], alg: "ES256" }] }), "ERR_KEY_UNSUPPORTED", KeyError);
    expect(parseJwks({ keys: [...set.keys, rsa] }, { skipUnsupported: true }).keys.length).toBe(3);
    expectCode(() => parseJwks({ keys: [rsa] }, { skipUnsupported: true }), "ERR_JWKS_INVALID", KeyError);
  });

  it("RFC 7517 §5 / OHP §5.9: private members in a public JWKS are rejected (d, priv, even on foreign or mismatched key types)", () => {
    const set = publicSet();
    const edPriv = exportPrivateJwk(ed) as unknown as Record<string, unknown>;
    const mlPriv = exportPrivateJwk(ml) as unknown as Record<string, unknown>;
    expectCode(() => parseJwks({ keys: [edPriv] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [mlPriv] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...set.keys[1], d: "AAAA" }] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...set.keys[0], priv: "AAAA" }] }), "ERR_KEY_INVALID", KeyError);
    const rsaPriv = { kty: "RSA", kid: "rsa", n: "AQAB", e: "AQAB", d: "AQAB" };
    expectCode(() => parseJwks({ keys: [...set.keys, rsaPriv] }, { skipUnsupported: true }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ kty: "oct", kid: "h", k: "AAAA" }] }, { skipUnsupported: true }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => publicJwks([edPriv as unknown as PublicJwk]), "ERR_KEY_INVALID", KeyError);
  });

  it(`oversize: more than MAX_JWKS_KEYS (${MAX_JWKS_KEYS}) keys or more than MAX_JWKS_BYTES of text is ERR_JWKS_INVALID`, () => {
    const one = publicSet().keys[0]!;
    const many = Array.from({ length: MAX_JWKS_KEYS + 1 }, (_, i) => ({ ...one, kid: `k${i}` }));
    expectCode(() => parseJwks({ keys: many }), "ERR_JWKS_INVALID", KeyError);
    expect(parseJwks({ keys: many.slice(0, MAX_JWKS_KEYS) }).keys.length).toBe(MAX_JWKS_KEYS);
    const padded = JSON.stringify({ keys: [one], pad: "x".repeat(MAX_JWKS_BYTES) });
    expectCode(() => parseJwks(padded), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks(new TextEncoder().encode(padded)), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parsePrivateJwks(padded), "ERR_JWKS_INVALID", KeyError);
  });

  it("malformed sets and keys are typed errors", () => {
    const set = publicSet();
    const k0 = set.keys[0]!;
    expectCode(() => parseJwks("{not json"), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks("\ufeff" + JSON.stringify(set)), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks(Uint8Array.of(0xef, 0xbb, 0xbf, ...new TextEncoder().encode(JSON.stringify(set)))), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks(Uint8Array.of(0xff, 0xfe)), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks([]), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [] }), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: {} }), "ERR_JWKS_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [42] }), "ERR_KEY_INVALID", KeyError);
    const { kid: _kid, ...noKid } = k0;
    expectCode(() => parseJwks({ keys: [noKid] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...k0, x: (k0["x"] as string).slice(1) }] }), "ERR_KEY_INVALID", KeyError);
    // Non-canonical trailing bits (43 chars, last char must encode 4 zero bits).
    const x = k0["x"] as string;
    const last = x.charAt(42);
    const alt = "AEIMQUYcgkosw048".includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : last;
    if (alt !== last) expectCode(() => parseJwks({ keys: [{ ...k0, x: x.slice(0, 42) + alt }] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...k0, x: x.slice(0, 42) + "=" }] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...k0, use: "enc" }] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...k0, revoked: "yes" }] }), "ERR_KEY_INVALID", KeyError);
    expectCode(() => parseJwks({ keys: [{ ...k0, kid: "k".repeat(513) }] }), "ERR_KEY_INVALID", KeyError);
  });
});

describe("OHP §5.9 private keys are never printed", () => {
  const cases = ALGS.map((alg) => {
    const k = generateKeyPair(alg);
    const member = KEY_PROFILES[alg].privateMember;
    const secretB64 = (exportPrivateJwk(k) as unknown as Record<string, string>)[member]!;
    return [alg, k, member, secretB64] as const;
  });

  it.each(cases)("%s: String(), template literal, toString", (_alg, k, _member, secret) => {
    for (const s of [String(k), `${k}`, k.toString(), "" + k]) {
      expect(s).not.toContain(secret);
      expect(s).toContain(k.kid);
    }
  });

  it.each(cases)("%s: util.inspect / console.log formatting (incl. showHidden, customInspect:false)", (_alg, k, member, secret) => {
    const secretHex = Buffer.from(secret, "base64url").toString("hex");
    const outputs = [
      inspect(k),
      inspect(k, { depth: Infinity, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity }),
      inspect(k, { customInspect: false, depth: Infinity, showHidden: true, maxArrayLength: Infinity }),
      inspect({ wrapped: [k] }, { depth: Infinity }),
      format("%o %O %s %j", k, k, k, k),
    ];
    for (const out of outputs) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(secretHex);
    }
    expect(inspect(k)).toContain(REDACTED);
    expect(inspect(k)).toContain(`${member}: '${REDACTED}'`);
  });

  it.each(cases)("%s: JSON.stringify (direct, nested, in a JWKS of records)", (_alg, k, member, secret) => {
    for (const s of [JSON.stringify(k), JSON.stringify({ key: k }), JSON.stringify([k]), JSON.stringify(k, null, 2)]) {
      expect(s).not.toContain(secret);
    }
    expect(JSON.parse(JSON.stringify(k))).toMatchObject({ kid: k.kid, [member]: REDACTED });
    expect(JSON.stringify(publicJwks([k]))).not.toContain(secret);
    expect(Object.values(k).map(String).join()).not.toContain(secret);
  });

  it.each(cases)("%s: errors about the key do not echo the secret", (_alg, k, _member, secret) => {
    const priv = exportPrivateJwk(k) as unknown as Record<string, unknown>;
    try {
      parseJwks({ keys: [priv] });
      expect.unreachable();
    } catch (e) {
      expect(JSON.stringify(e)).not.toContain(secret);
      expect(String(e)).not.toContain(secret);
      expect(inspect(e)).not.toContain(secret);
    }
  });

  it("the only way out is exportPrivateJwk / privateJwks", () => {
    const [, k, member, secret] = cases[0]!;
    expect((exportPrivateJwk(k) as unknown as Record<string, string>)[member]).toBe(secret);
    expect(JSON.stringify(privateJwks([k]))).toContain(secret);
  });
});

describe("publicKeyFor caching", () => {
  it("a cached record is re-validated when a plain JWK object is mutated (revocation takes effect)", () => {
    const k = keyPairFromSeed(ALG_EDDSA, seed(9));
    const jwk = JSON.parse(JSON.stringify(k.publicJwk)) as Record<string, unknown>;
    const first = publicKeyFor(jwk as unknown as PublicJwk);
    expect(publicKeyFor(jwk as unknown as PublicJwk)).toBe(first);
    jwk["revoked"] = true;
    const second = publicKeyFor(jwk as unknown as PublicJwk);
    expect(second).not.toBe(first);
    expect(second.jwk.revoked).toBe(true);
    jwk["d"] = "AAAA";
    expectCode(() => publicKeyFor(jwk as unknown as PublicJwk), "ERR_KEY_INVALID", KeyError);
  });

  it("a frozen JWK (from parseJwks) is served from the cache", () => {
    const set = parseJwks(JSON.stringify(publicJwks([keyPairFromSeed(ALG_MLDSA65, seed(9))])));
    const jwk = set.keys[0]!;
    expect(publicKeyFor(jwk)).toBe(publicKeyFor(jwk));
  });
});
