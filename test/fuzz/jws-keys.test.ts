/**
 * Fuzzing the detached hybrid JWS profile (src/crypto/jws.ts) and the JWK / JWK Set parsers
 * (src/crypto/keys.ts, jwk.ts).
 *
 * Mutated JWS strings come from real EdDSA / ML-DSA-65 / composite signatures: the protected
 * header decoded and mutated as JSON (extra members, `crit`, `alg:none`, duplicate names, wrong
 * types), the signature bytes mutated, the compact text mutated, the payload changed. Besides
 * "value or typed JwsError", any mutated JWS that still verifies must be byte-identical to the
 * original (no malleability), and the async hybrid verifier must agree with the sync one.
 */
import fc from "fast-check";
import { describe, expect } from "vitest";
import { ALG_MLDSA65_ED25519 } from "../../src/crypto/jwk.js";
import { JwsError, parseProtectedHeader, signDetached, signHybrid, verifyDetached, verifyHybrid, verifyHybridAsync, type SignatureEntry } from "../../src/crypto/jws.js";
import { exportPrivateJwk, importPrivateJwk, keyPairFromSeed, parseJwks, parsePrivateJwks, parsePublicJwk, publicJwks } from "../../src/crypto/keys.js";
import { testKeys } from "../helpers/keys.js";
import { FuzzFinding, fuzz, fuzzAsync, typedOrValue, typedOrValueAsync } from "./harness.js";
import { applyByteOps, applyJsonOps, applyTextOps, sometimes, stringify, b64u, byteOpsArb, jsonOpsArb, segmentMutationArb, mutateB64Json, textOpsArb, unb64u, type ByteOp, type JsonOp, type SegmentMutation, type TextOp } from "./mutate.js";

const FILE = import.meta.url;

const keys = testKeys(1);
const other = testKeys(2);
const composite = keyPairFromSeed(ALG_MLDSA65_ED25519, new Uint8Array(64).fill(7), { kid: "composite-1" });
const trusted = publicJwks([keys.ed, keys.mldsa, composite, other.ed]);
const payload = new Uint8Array(Buffer.from("agentwire fuzz payload \u00e9"));
const ALLOW = ["EdDSA", "ML-DSA-65", ALG_MLDSA65_ED25519];
const NOW = new Date("2026-05-28T13:42:13Z");

const originals = [
  signDetached(payload, keys.ed),
  signDetached(payload, keys.mldsa),
  signDetached(payload, composite, { allowAlgs: ALLOW }),
  signDetached(payload, other.ed),
];
const hybrid = signHybrid(payload, [keys.ed, keys.mldsa]).map((e) => ({ ...e }));

type JwsMutation =
  | { readonly where: "header"; readonly m: SegmentMutation }
  | { readonly where: "signature"; readonly ops: readonly ByteOp[] }
  | { readonly where: "text"; readonly ops: readonly TextOp[] }
  | { readonly where: "swap-header"; readonly from: number };

const jwsMutationArb: fc.Arbitrary<JwsMutation> = fc.oneof(
  segmentMutationArb().map((m) => ({ where: "header" as const, m })),
  byteOpsArb(3).map((ops) => ({ where: "signature" as const, ops })),
  textOpsArb(3).map((ops) => ({ where: "text" as const, ops })),
  fc.nat().map((from) => ({ where: "swap-header" as const, from })),
);

function mutateJws(jws: string, mutations: readonly JwsMutation[]): string {
  let out = jws;
  for (const mu of mutations) {
    const [h = "", p = "", s = ""] = out.split(".");
    if (mu.where === "header") out = `${mutateB64Json(h, mu.m)}.${p}.${s}`;
    else if (mu.where === "signature") out = `${h}.${p}.${b64u(applyByteOps(new Uint8Array(unb64u(s)), mu.ops))}`;
    else if (mu.where === "swap-header") out = `${(originals[mu.from % originals.length] as string).split(".")[0]}.${p}.${s}`;
    else out = applyTextOps(out, mu.ops);
  }
  return out;
}

const caseArb = fc.record({
  index: fc.nat(),
  mutations: fc.array(jwsMutationArb, { minLength: 1, maxLength: 3 }),
  payloadOps: sometimes(byteOpsArb(2), 0.15),
  allowAll: fc.boolean(),
});

describe("fuzz: detached JWS (src/crypto/jws.ts)", () => {
  fuzz(FILE, "parseProtectedHeader: mutated and random headers give {alg, kid} or a typed JwsError", fc.oneof(
    fc.tuple(fc.nat(), segmentMutationArb()).map(([i, m]) => mutateB64Json((originals[i % originals.length] as string).split(".")[0] as string, m)),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ maxLength: 3000 }).map((s) => b64u(s)),
  ), (header) => {
    const r = typedOrValue("parseProtectedHeader", () => parseProtectedHeader(header));
    if (r.ok) {
      expect(typeof r.value.alg).toBe("string");
      expect(typeof r.value.kid).toBe("string");
      expect(Object.keys(r.value).sort()).toEqual(["alg", "kid"]);
    } else if (!(r.error instanceof JwsError)) throw new FuzzFinding(`not a JwsError: ${r.error.name} ${r.error.code}`);
  }, { weight: 2 });

  fuzz(FILE, "verifyDetached: a mutated JWS verifies only if unchanged; everything else is a typed JwsError", caseArb, ({ index, mutations, payloadOps, allowAll }) => {
    const original = originals[index % originals.length] as string;
    const jws = mutateJws(original, mutations);
    const p = payloadOps === undefined ? payload : applyByteOps(payload, payloadOps);
    const r = typedOrValue("verifyDetached", () => verifyDetached(jws, p, trusted, { now: NOW, ...(allowAll ? { allowAlgs: ALLOW } : {}) }));
    if (r.ok) {
      const same = Buffer.from(p).equals(Buffer.from(payload)) && originals.includes(jws);
      if (!same) throw new FuzzFinding(`a mutated JWS verified: ${jws.slice(0, 120)}…`);
    } else if (!(r.error instanceof JwsError)) throw new FuzzFinding(`not a JwsError: ${r.error.name} ${r.error.code}`);
  });

  const entriesCase = fc.record({ ops: jsonOpsArb({ jsOnly: true, maxOps: 3 }), jwsMut: sometimes(fc.tuple(fc.nat(), fc.array(jwsMutationArb, { minLength: 1, maxLength: 2 })), 0.5) });
  function mutatedEntries(ops: readonly JsonOp[], jwsMut: [number, JwsMutation[]] | undefined): unknown {
    const base: SignatureEntry[] = hybrid.map((e) => ({ ...e }));
    if (jwsMut !== undefined) {
      const i = jwsMut[0] % base.length;
      const e = base[i] as SignatureEntry;
      base[i] = { ...e, jws: mutateJws(e.jws, jwsMut[1]) };
    }
    return applyJsonOps(base, ops);
  }

  fuzz(FILE, "verifyHybrid: mutated signatures[] entries give verified originals or a typed JwsError", entriesCase, ({ ops, jwsMut }) => {
    const entries = mutatedEntries(ops, jwsMut);
    const r = typedOrValue("verifyHybrid", () => verifyHybrid(payload, entries as SignatureEntry[], trusted, { now: NOW }));
    if (r.ok) {
      const jwsSet = new Set(hybrid.map((e) => e.jws));
      for (const v of r.value) if (!["EdDSA", "ML-DSA-65"].includes(v.alg)) throw new FuzzFinding(`unexpected alg ${v.alg}`);
      const list = entries as SignatureEntry[];
      for (const e of list) if (!jwsSet.has(e.jws)) throw new FuzzFinding(`a mutated hybrid entry verified: ${JSON.stringify(e).slice(0, 200)}`);
    } else if (!(r.error instanceof JwsError)) throw new FuzzFinding(`not a JwsError: ${r.error.name} ${r.error.code}`);
  });

  fuzzAsync(FILE, "verifyHybridAsync agrees with verifyHybrid on mutated entries (same result or same error code)", entriesCase, async ({ ops, jwsMut }) => {
    const entries = mutatedEntries(ops, jwsMut) as SignatureEntry[];
    const sync = typedOrValue("verifyHybrid", () => verifyHybrid(payload, entries, trusted, { now: NOW }));
    const async = await typedOrValueAsync("verifyHybridAsync", () => verifyHybridAsync(payload, entries, trusted, { now: NOW }));
    expect(async.ok).toBe(sync.ok);
    if (!sync.ok && !async.ok) expect(async.error.code).toBe(sync.error.code);
  }, { weight: 0.5 });
});

// -----------------------------------------------------------------------------------------------
// JWK / JWK Set parsing

const privateJwks = [keys.ed, keys.mldsa, keys.x25519, composite].map((k) => exportPrivateJwk(k) as unknown);
const publicJwkList = [keys.ed, keys.mldsa, keys.x25519, composite].map((k) => k.publicJwk as unknown);

describe("fuzz: JWK and JWK Set parsers (src/crypto/keys.ts)", () => {
  fuzz(FILE, "parsePublicJwk / parseJwks: mutated keys and sets give a key or a typed KeyError; a parsed set is usable by verifyDetached", fc.record({ i: fc.nat(), ops: jsonOpsArb({ jsOnly: true }), asText: fc.boolean(), set: fc.boolean() }), ({ i, ops, asText, set }) => {
    const base = set ? { keys: publicJwkList } : publicJwkList[i % publicJwkList.length];
    const mutated = applyJsonOps(base, ops);
    if (set) {
      const input = asText ? stringify(mutated) : mutated;
      const r = typedOrValue("parseJwks", () => parseJwks(input, { skipUnsupported: i % 2 === 0 }));
      if (r.ok) typedOrValue("verifyDetached(parsed jwks)", () => verifyDetached(originals[i % originals.length] as string, payload, r.value, { now: NOW, allowAlgs: ALLOW }));
    } else {
      const r = typedOrValue("parsePublicJwk", () => parsePublicJwk(mutated, { requireKid: i % 2 === 0 }));
      if (r.ok && ("d" in r.value || "priv" in r.value)) throw new FuzzFinding("a parsed public JWK carries private material");
    }
  });

  fuzz(FILE, "importPrivateJwk / parsePrivateJwks: mutated private keys give a record or a typed KeyError", fc.record({ i: fc.nat(), ops: jsonOpsArb({ jsOnly: true }), set: fc.boolean() }), ({ i, ops, set }) => {
    if (set) typedOrValue("parsePrivateJwks", () => parsePrivateJwks(applyJsonOps({ keys: privateJwks }, ops)));
    else typedOrValue("importPrivateJwk", () => importPrivateJwk(applyJsonOps(privateJwks[i % privateJwks.length], ops)));
  }, { weight: 0.5 });
});
