/**
 * Fuzzing the trust layer: SD-JWT VC identities (src/trust/sdjwt), DPoP proofs
 * (src/trust/dpop), the transparency log's notes, checkpoints, proofs and anchoring
 * (src/trust/tlog), DID documents and identifiers (src/trust/did), federation entity statements
 * and trust chains (src/trust/federation).
 *
 * Signed inputs are mutated twice over: as text (the signature then fails, so the parser in front
 * of it is what is exercised) and as JSON claims re-signed with the right key (so the mutation
 * reaches the checks behind the signature: disclosure digests and placement, `cnf`, `sd_hash`,
 * DPoP `htu`/`ath`/`jkt`, metadata-policy merging). SD-JWT disclosures are mutated with their
 * digest fixed up in the issuer payload, so hostile disclosure content is actually applied.
 */
import fc from "fast-check";
import { describe, expect } from "vitest";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { canonicalizeJson } from "../../src/jcs/index.js";
import { appendRecord, assertChain, verifyChain } from "../../src/trust/chain/index.js";
import { keyPairFromSeed, publicJwks, type PrivateKeyRecord } from "../../src/crypto/keys.js";
import { createDpopProof, InMemoryDpopReplayCache, verifyDpopProof } from "../../src/trust/dpop/index.js";
import { base58btcDecode, cacheTtlSeconds, decodeMultibaseKey, didDocumentKeys, didKeyDocument, didKeyFromPublicKey, parseDidKey, parseDidWeb, rotationPolicyOf, validateDidDocument } from "../../src/trust/did/index.js";
import { decodeEntityStatement, mergeMetadataPolicies, applyMetadataPolicy, parseOhpIssuerMetadata, verifyTrustChain } from "../../src/trust/federation/index.js";
import { createKeyBindingJwt, sdDigest, verifyAssuranceProof, verifyOhpIdentity, verifySdJwtVc, signAssuranceProof, type OhpIdentity } from "../../src/trust/sdjwt/index.js";
import {
  ed25519NoteSigner,
  ed25519NoteVerifier,
  encodeHashes,
  MemoryLogStore,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseConsistencyProofJson,
  parseInclusionProofJson,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  TransparencyLog,
  verifierKeyOf,
  verifyAnchoring,
  verifyConsistency,
  verifyInclusion,
} from "../../src/trust/tlog/index.js";
import { signEnvelope } from "../../src/ohp/sign.js";
import { buildFederation, NOW as FED_NOW, trustAnchors, taKey, intKey, leafKey } from "../trust/federation/helpers.js";
import { credential, holderKey, idpJwks, idpKey, ISS, NOW, VCT } from "../trust/sdjwt/helpers.js";
import { testKeys } from "../helpers/keys.js";
import { ohpVectors } from "./corpus.js";
import { FuzzFinding, fuzz, fuzzAsync, neverThrows, tally, typedOrValue, typedOrValueAsync } from "./harness.js";
import { applyJsonOps, applyTextOps, b64u, clone, jsonOpsArb, mixedJsonOpsArb, sometimes, stringify, textOpsArb, unb64u, type JsonOp, type TextOp } from "./mutate.js";

const FILE = import.meta.url;

// -----------------------------------------------------------------------------------------------
// JWT helpers

interface JwtMutation {
  readonly header?: readonly JsonOp[];
  readonly payload?: readonly JsonOp[];
  /** Re-sign with the proper key after mutating (else the old signature stays). */
  readonly resign: boolean;
  readonly text?: readonly TextOp[];
}

const jwtMutationArb: fc.Arbitrary<JwtMutation> = fc.record({
  header: sometimes(mixedJsonOpsArb({ maxOps: 2 }), 0.3),
  payload: sometimes(mixedJsonOpsArb({ maxOps: 3 }), 0.8),
  resign: fc.boolean(),
  text: sometimes(textOpsArb(2), 0.15),
});

function jsonPart(part: string): unknown {
  try {
    return JSON.parse(unb64u(part).toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Mutates a compact EdDSA JWT; `payloadHook` may rewrite the payload before re-signing. */
function mutateJwt(jwt: string, m: JwtMutation, key: PrivateKeyRecord, payloadHook?: (p: unknown) => unknown): string {
  const [h = "", p = "", s = ""] = jwt.split(".");
  let header = h;
  let payload = p;
  if (m.header !== undefined) header = b64u(stringify(applyJsonOps(jsonPart(h), m.header)));
  if (m.payload !== undefined || payloadHook !== undefined) {
    let value = jsonPart(p);
    if (m.payload !== undefined) value = applyJsonOps(value, m.payload);
    if (payloadHook !== undefined) value = payloadHook(value);
    payload = b64u(stringify(value));
  }
  let out = `${header}.${payload}.${s}`;
  if (m.resign) out = `${header}.${payload}.${b64u(key.sign(Buffer.from(`${header}.${payload}`, "latin1")))}`;
  return m.text === undefined ? out : applyTextOps(out, m.text);
}

// -----------------------------------------------------------------------------------------------
// SD-JWT VC

const compact = await credential();
const [issuerJwt = "", ...rest] = compact.split("~");
const baseDisclosures = rest.filter((d) => d.length > 0);
const identity: OhpIdentity = { sdJwtVc: issuerJwt, disclosures: baseDisclosures, claimsRevealed: ["given_name", "family_name"] };

/** Replaces every occurrence of digest `from` (in `_sd` arrays and `{"...": d}` items) by `to` (iterative: payloads may be deep). */
function replaceDigest(v: unknown, from: string, to: string): unknown {
  if (v === from) return to;
  const root = clone(v);
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== "object" || x === null) continue;
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (o[k] === from) o[k] = to;
      else stack.push(o[k]);
    }
  }
  return root;
}

const sdCase = fc.record({
  jwt: jwtMutationArb,
  disclosure: sometimes(fc.record({ index: fc.nat(), ops: mixedJsonOpsArb({ maxOps: 2 }), fixDigest: fc.boolean() }), 0.6),
  identityOps: sometimes(jsonOpsArb({ jsOnly: true, maxOps: 2 }), 0.2),
  kb: sometimes(fc.record({ header: sometimes(mixedJsonOpsArb({ maxOps: 2 }), 0.3), payload: sometimes(mixedJsonOpsArb({ maxOps: 2 }), 0.7), resign: fc.boolean() }), 0.3),
});

describe("fuzz: SD-JWT VC identities (src/trust/sdjwt)", () => {
  fuzz(FILE, "verifyOhpIdentity: mutated (and re-signed) credentials, disclosures and KB-JWTs give a verified identity or a typed SdJwtError", sdCase, (c) => {
    const disclosures = [...baseDisclosures];
    let hook: ((p: unknown) => unknown) | undefined;
    if (c.disclosure !== undefined && disclosures.length > 0) {
      const i = c.disclosure.index % disclosures.length;
      const old = disclosures[i] as string;
      const decoded = jsonPart(old);
      const mutated = b64u(stringify(applyJsonOps(decoded, c.disclosure.ops)));
      disclosures[i] = mutated;
      if (c.disclosure.fixDigest) hook = (p) => replaceDigest(p, sdDigest(old), sdDigest(mutated));
    }
    const jwt = mutateJwt(issuerJwt, c.disclosure?.fixDigest === true ? { ...c.jwt, resign: true } : c.jwt, idpKey, hook);
    let id: unknown = { ...identity, sdJwtVc: jwt, disclosures };
    if (c.identityOps !== undefined) id = applyJsonOps(id, c.identityOps);
    let kbJwt: string | undefined;
    if (c.kb !== undefined) {
      const made = typedOrValue("createKeyBindingJwt", () => createKeyBindingJwt({ sdJwtVc: jwt, disclosures }, { holderKey, aud: "did:web:receiver.example", nonce: "n-1", iat: NOW }));
      if (made.ok) kbJwt = mutateJwt(made.value, c.kb as JwtMutation, holderKey);
    }
    const r = typedOrValue("verifyOhpIdentity", () =>
      verifyOhpIdentity(id, { issuerKeys: idpJwks, now: NOW, expectedVct: VCT, expectedIssuer: ISS, ...(kbJwt === undefined ? {} : { kbJwt, audience: "did:web:receiver.example", nonce: "n-1" }) }),
    );
    tally(r.ok ? "verified" : r.error.code);
    if (r.ok && !c.jwt.resign && c.jwt.header === undefined && c.jwt.payload === undefined && c.jwt.text === undefined && c.disclosure === undefined && c.identityOps === undefined) {
      expect(r.value.vct).toBe(VCT);
    }
  }, { weight: 1 });

  fuzz(FILE, "verifySdJwtVc: mutated compact SD-JWT(+KB) text gives a verified identity or a typed SdJwtError", fc.tuple(textOpsArb(4), fc.boolean()), ([ops, withKb]) => {
    const kb = withKb ? createKeyBindingJwt(identity, { holderKey, aud: "aud", nonce: "n", iat: NOW }) : "";
    const text = applyTextOps(`${compact}${kb}`, ops);
    const r = typedOrValue("verifySdJwtVc", () => verifySdJwtVc(text, { issuerKeys: idpJwks, now: NOW, audience: "aud", nonce: "n" }));
    tally(r.ok ? "verified" : r.error.code);
  }, { weight: 0.5 });

  const assurance = signAssuranceProof({ ial: "IAL2", aal: "AAL2", fal: "FAL2", method: "otp", lastStepUpAt: "2026-05-28T13:40:00Z", idp: "did:web:idp.example" } as never, idpKey) as unknown;
  fuzz(FILE, "verifyAssuranceProof: mutated caller.assurance gives a verified proof or a typed error", fc.tuple(mixedJsonOpsArb({ jsOnly: true }), textOpsArb(2), fc.boolean()), ([ops, tops, textOnly]) => {
    let a = applyJsonOps(assurance, ops) as Record<string, unknown>;
    if (textOnly && typeof a === "object" && a !== null && typeof a["proofJws"] === "string") a = { ...a, proofJws: applyTextOps(a["proofJws"] as string, tops) };
    const r = typedOrValue("verifyAssuranceProof", () => verifyAssuranceProof(a, idpJwks, { now: NOW }));
    tally(r.ok ? "verified" : r.error.code);
  }, { weight: 0.5 });
});

// -----------------------------------------------------------------------------------------------
// DPoP

const dpopKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x61), { kid: "dpop-1" });
const HTU = "https://receiver.example/ohp/v1/transfer";
const TOKEN = "access-token-1";
const DPOP_NOW = new Date("2026-05-28T13:42:13Z");
const proof = await createDpopProof({ key: dpopKey, htm: "POST", htu: HTU, accessToken: TOKEN, iat: DPOP_NOW, jti: "jti-1", nonce: "srv-nonce" });

describe("fuzz: DPoP proofs (src/trust/dpop)", () => {
  fuzzAsync(FILE, "verifyDpopProof: mutated (and re-signed) proofs, headers and request facts give a verified proof or a typed DpopError", fc.record({
    jwt: jwtMutationArb,
    shape: fc.constantFrom("one", "one", "one", "array", "array2", "comma", "empty"),
    htu: fc.constantFrom(HTU, `${HTU}?q=1`, `${HTU}#f`, "HTTPS://RECEIVER.EXAMPLE:443/ohp/v1/transfer", "https://receiver.example/ohp/v1/transfer/", "not a uri", "https://user:pw@receiver.example/ohp/v1/transfer", "https://receiver.example/%2e%2e/x"),
    htm: fc.constantFrom("POST", "post", "GET", ""),
    jkt: fc.boolean(),
    issuerJwks: fc.boolean(),
  }), async (c) => {
    const p = mutateJwt(proof, c.jwt, dpopKey);
    const presented = c.shape === "array" ? [p] : c.shape === "array2" ? [p, p] : c.shape === "comma" ? `${p}, ${p}` : c.shape === "empty" ? "" : p;
    const r = await typedOrValueAsync("verifyDpopProof", async () =>
      verifyDpopProof(presented as never, {
        htm: c.htm,
        htu: c.htu,
        accessToken: TOKEN,
        nonce: "srv-nonce",
        now: DPOP_NOW,
        replayCache: new InMemoryDpopReplayCache(),
        ...(c.jkt ? { expectedJkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } : {}),
        ...(c.issuerJwks ? { issuerJwks: publicJwks([dpopKey]) } : {}),
      }),
    );
    tally(r.ok ? "verified" : r.error.code);
  });
});

// -----------------------------------------------------------------------------------------------
// Transparency log

const logKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x71), { kid: "log" });
const ORIGIN = "fuzz.agentwire.dev/log";
const signer = ed25519NoteSigner(ORIGIN, logKey);
const verifier = ed25519NoteVerifier(ORIGIN, logKey.publicJwk);
const vkey = verifierKeyOf(ORIGIN, logKey);
const log = new TransparencyLog(new MemoryLogStore(), { origin: ORIGIN, signers: [signer] });
for (let i = 0; i < 37; i++) log.submit(new Uint8Array(32).fill(i));
const signedCheckpoint = log.signedCheckpoint();
const inclusion = { index: 5, size: 37, hashes: encodeHashes(log.inclusionProof(5, 37)) };
const consistency = { from: 13, to: 37, hashes: encodeHashes(log.consistencyProof(13, 37)) };

// An anchored Signed envelope for verifyAnchoring.
const ohpKeys = testKeys(1);
const anchoredBase = (() => {
  const v = ohpVectors().find((x) => x.name.startsWith("signed/01"));
  const env = { ...(v?.envelope as Record<string, unknown>), transparency: { logId: ORIGIN, leafHash: "sha256:" + "0".repeat(64) } };
  return signEnvelope(env, { keys: ohpKeys.all });
})();
const anchorLog = new TransparencyLog(new MemoryLogStore(), { origin: ORIGIN, signers: [signer] });
for (let i = 0; i < 5; i++) anchorLog.submit(new Uint8Array(32).fill(0x80 + i));
const anchorIndex = anchorLog.submit(new Uint8Array(Buffer.from(anchoredBase.leafHash.slice(7), "hex"))).index;
const anchorCheckpoint = anchorLog.signedCheckpoint();
const anchorProof = { index: anchorIndex, size: anchorLog.size, hashes: encodeHashes(anchorLog.inclusionProof(anchorIndex, anchorLog.size)) };

describe("fuzz: transparency log (src/trust/tlog)", () => {
  fuzz(FILE, "parseNote / openNote / parseCheckpoint / openCheckpoint: mutated signed notes give a note or a typed NoteError", fc.tuple(textOpsArb(3), fc.boolean()), ([ops, asBytes]) => {
    const text = applyTextOps(signedCheckpoint, ops);
    const input = asBytes ? Buffer.from(text, "utf8") : text;
    typedOrValue("parseNote", () => parseNote(input));
    const opened = typedOrValue("openNote", () => openNote(input, [verifier]));
    typedOrValue("parseCheckpoint", () => parseCheckpoint(text.split("\n\n")[0] + "\n"));
    const cp = typedOrValue("openCheckpoint", () => openCheckpoint(input, [verifier]));
    tally(cp.ok ? "opened" : cp.error.code);
    if (cp.ok && !opened.ok) throw new FuzzFinding("openCheckpoint accepted a note openNote rejects");
    if (cp.ok && text !== signedCheckpoint) {
      // Only changes outside the signed text (extra signature lines from unknown keys) may pass.
      if (!text.startsWith(signedCheckpoint.split("\n\n")[0] as string)) throw new FuzzFinding("a mutated checkpoint body opened");
    }
  });

  fuzz(FILE, "parseVerifierKey / parseSignerKey: mutated key strings give a key or a typed NoteError", fc.tuple(textOpsArb(3), fc.boolean()), ([ops, signerKey]) => {
    const base = signerKey ? `PRIVATE+KEY+${vkey.slice(0, vkey.indexOf("+"))}+${vkey.split("+")[1] as string}+${Buffer.concat([Buffer.from([1]), Buffer.alloc(32, 0x71)]).toString("base64")}` : vkey;
    const text = applyTextOps(base, ops);
    typedOrValue(signerKey ? "parseSignerKey" : "parseVerifierKey", () => (signerKey ? parseSignerKey(text) : parseVerifierKey(text)));
  }, { weight: 0.5 });

  fuzz(FILE, "inclusion / consistency proofs: mutated proof JSON and tree sizes verify only when unchanged, else a typed TlogError", fc.tuple(fc.boolean(), jsonOpsArb({ jsOnly: true, maxOps: 3 })), ([incl, ops]) => {
    const mutated = applyJsonOps(incl ? inclusion : consistency, ops);
    const parsed = typedOrValue("parse proof JSON", () => (incl ? parseInclusionProofJson(mutated) : parseConsistencyProofJson(mutated)));
    if (!parsed.ok) return;
    const r = typedOrValue("verify proof", () => {
      if (incl) {
        const p = parsed.value as { index: number; size: number; hashes: Uint8Array[] };
        verifyInclusion(p.index, p.size, log.leafHash(5), p.hashes, log.root(37));
      } else {
        const p = parsed.value as { from: number; to: number; hashes: Uint8Array[] };
        verifyConsistency(p.from, p.to, p.hashes, log.root(13), log.root(37));
      }
    });
    tally(r.ok ? "verified" : r.error.code);
    if (r.ok && stringify(mutated) !== stringify(incl ? inclusion : consistency)) {
      const same = stringify(parsed.value) === stringify(incl ? { index: 5, size: 37, hashes: log.inclusionProof(5, 37) } : { from: 13, to: 37, hashes: log.consistencyProof(13, 37) });
      if (!same) throw new FuzzFinding(`a mutated proof verified: ${stringify(mutated).slice(0, 300)}`);
    }
  });

  fuzz(FILE, "verifyInclusion / verifyConsistency: hostile indices and sizes never loop or crash", fc.tuple(fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, 0.5, Number.NaN, Infinity)), fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, 0.5, Number.NaN, Infinity)), fc.nat({ max: 70 })), ([a, b, n]) => {
    const hashes = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i));
    typedOrValue("verifyInclusion", () => verifyInclusion(a, b, new Uint8Array(32), hashes, new Uint8Array(32)));
    typedOrValue("verifyConsistency", () => verifyConsistency(a, b, hashes, new Uint8Array(32), new Uint8Array(32)));
  }, { weight: 0.5 });

  fuzz(FILE, "verifyAnchoring: mutated envelopes, proofs and checkpoints give a result or a typed TlogError/NoteError", fc.record({
    env: sometimes(mixedJsonOpsArb({ jsOnly: true, maxOps: 2 }), 0.4),
    proof: sometimes(jsonOpsArb({ jsOnly: true, maxOps: 2 }), 0.3),
    checkpoint: sometimes(textOpsArb(2), 0.3),
    key: fc.constantFrom<"ok" | "text" | "other">("ok", "ok", "text", "other"),
  }), (c) => {
    const env = c.env === undefined ? anchoredBase.envelope : applyJsonOps(anchoredBase.envelope, c.env);
    const p = c.proof === undefined ? anchorProof : applyJsonOps(anchorProof, c.proof);
    const cp = c.checkpoint === undefined ? anchorCheckpoint : applyTextOps(anchorCheckpoint, c.checkpoint);
    const key = c.key === "ok" ? vkey : c.key === "text" ? applyTextOps(vkey, [{ kind: "flip", at: 7, len: 0, pick: 3 }]) : verifierKeyOf("other", keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(9)));
    const r = typedOrValue("verifyAnchoring", () => verifyAnchoring(env, { checkpoint: cp, proof: p as never, verifierKey: key }));
    tally(r.ok ? "anchored" : r.error.code);
  }, { weight: 0.5 });
});

// -----------------------------------------------------------------------------------------------
// DID

const didKey = didKeyFromPublicKey(ohpKeys.ed.publicJwk);
const didKeyDoc = didKeyDocument(didKey) as unknown;
const DID_WEB = "did:web:issuer.example.com:agents:a1";
const didWebDoc = {
  "@context": ["https://www.w3.org/ns/did/v1"],
  id: DID_WEB,
  verificationMethod: [
    { id: `${DID_WEB}#ed`, type: "JsonWebKey2020", controller: DID_WEB, publicKeyJwk: { ...ohpKeys.ed.publicJwk } },
    { id: "#ml", type: "JsonWebKey2020", controller: DID_WEB, publicKeyJwk: { ...ohpKeys.mldsa.publicJwk } },
    { id: "#x", type: "Multikey", controller: DID_WEB, publicKeyMultibase: didKey.slice("did:key:".length) },
  ],
  assertionMethod: [`${DID_WEB}#ed`, "#ml"],
  keyAgreement: [{ id: "#ka", type: "JsonWebKey2020", controller: DID_WEB, publicKeyJwk: { ...ohpKeys.x25519.publicJwk } }],
};

describe("fuzz: DID documents and identifiers (src/trust/did)", () => {
  fuzz(FILE, "validateDidDocument + didDocumentKeys: mutated documents give keys or a typed DidError/KeyError", fc.tuple(fc.boolean(), mixedJsonOpsArb({ jsOnly: true })), ([web, ops]) => {
    const doc = applyJsonOps(web ? didWebDoc : didKeyDoc, ops);
    const v = typedOrValue("validateDidDocument", () => validateDidDocument(doc, web ? DID_WEB : didKey));
    if (!v.ok) return tally(v.error.code);
    const k = typedOrValue("didDocumentKeys", () => didDocumentKeys(v.value));
    tally(k.ok ? `keys:${k.value.keys.length}` : k.error.code);
  });

  fuzz(FILE, "parseDidWeb / parseDidKey / decodeMultibaseKey / didKeyDocument / base58btcDecode: mutated identifiers", fc.tuple(fc.constantFrom(DID_WEB, "did:web:localhost%3A8443", didKey, "did:web:example.com:user:alice"), textOpsArb(3)), ([base, ops]) => {
    const did = applyTextOps(base, ops);
    typedOrValue("parseDidWeb", () => parseDidWeb(did));
    typedOrValue("parseDidKey", () => parseDidKey(did));
    typedOrValue("didKeyDocument", () => didKeyDocument(did));
    typedOrValue("decodeMultibaseKey", () => decodeMultibaseKey(did.replace(/^did:key:/, "")));
    const b = base58btcDecode(did.replace(/^did:key:z/, ""));
    expect(b === undefined || b instanceof Uint8Array).toBe(true);
  });

  fuzz(FILE, "rotationPolicyOf / cacheTtlSeconds: mutated JWKS rotation members and Cache-Control values", fc.tuple(jsonOpsArb({ jsOnly: true }), textOpsArb(2)), ([ops, tops]) => {
    const jwks = applyJsonOps({ keys: [{ ...ohpKeys.ed.publicJwk, validFrom: "2026-01-01T00:00:00Z", validUntil: "2027-01-01T00:00:00Z" }], rotation: { maxKeyAgeDays: 365, overlapDays: 14 } }, ops);
    typedOrValue("rotationPolicyOf", () => rotationPolicyOf(jwks));
    const ttl = typedOrValue("cacheTtlSeconds", () => cacheTtlSeconds(applyTextOps("public, max-age=300, s-maxage=60", tops)));
    if (ttl.ok && !(Number.isFinite(ttl.value) && ttl.value >= 0)) throw new FuzzFinding(`cacheTtlSeconds gave ${ttl.value}`);
  }, { weight: 0.5 });
});

// -----------------------------------------------------------------------------------------------
// Hash chains

const chain = [{ n: 0, event: "a" }, { n: 1, event: "b", nested: { x: [1, 2] } }, { n: 2, event: "c" }].reduce<Record<string, unknown>[]>((acc, body) => [...acc, appendRecord(acc, body)], []);

describe("fuzz: hash chains (src/trust/chain)", () => {
  fuzz(FILE, "verifyChain / assertChain: a mutated chain is reported broken (never throws) unless only its last record changed (visible in the head); assertChain throws a typed HashChainError", fc.tuple(mixedJsonOpsArb({ jsOnly: true })), ([ops]) => {
    const mutated = applyJsonOps(chain, ops);
    const r = neverThrows("verifyChain", () => verifyChain(mutated as never));
    tally(r.ok ? "ok" : r.code);
    if (r.ok) {
      // A chain that still verifies keeps every record but the last (a truncation, or a change of
      // the last record, shows only in the head digest), modulo what JCS cannot see (member order).
      const jcs = (list: unknown[]): string[] => list.map((x) => canonicalizeJson(x));
      const orig = jcs(chain);
      const got = typedOrValue("canonicalizeJson", () => jcs(mutated as unknown[]));
      if (!got.ok || got.value.slice(0, -1).some((x, k) => x !== orig[k])) throw new FuzzFinding(`a mutated chain verified: ${stringify(mutated).slice(0, 300)}`);
      const last = got.value[got.value.length - 1];
      if (last !== undefined && last !== orig[got.value.length - 1] && r.head === assertChain(chain.slice(0, got.value.length))) throw new FuzzFinding("a changed last record kept the head digest");
    }
    typedOrValue("assertChain", () => assertChain(mutated as never));
  }, { weight: 0.5 });
});

// -----------------------------------------------------------------------------------------------
// Federation

const fed = await buildFederation();
const fedKeys = [leafKey, intKey, intKey, taKey];

describe("fuzz: federation entity statements and trust chains (src/trust/federation)", () => {
  fuzzAsync(FILE, "verifyTrustChain: a mutated (re-signed) statement gives a chain or a typed FederationError", fc.record({ at: fc.nat({ max: 3 }), jwt: jwtMutationArb, drop: sometimes(fc.nat({ max: 3 }), 0.1) }), async ({ at, jwt, drop }) => {
    const chain = [...fed.chain];
    chain[at] = mutateJwt(chain[at] as string, jwt, fedKeys[at] as PrivateKeyRecord);
    if (drop !== undefined) chain.splice(drop, 1);
    for (const s of chain) typedOrValue("decodeEntityStatement", () => decodeEntityStatement(s));
    const r = await typedOrValueAsync("verifyTrustChain", () => verifyTrustChain(chain, { trustAnchors, now: FED_NOW }));
    tally(r.ok ? "chain" : r.error.code);
    if (r.ok) typedOrValue("parseOhpIssuerMetadata", () => parseOhpIssuerMetadata((r.value.metadata as Record<string, unknown>)["ohp_issuer"]));
  });

  // Policies and metadata reach these functions only through decodeEntityStatement, whose strict
  // JSON bounds nesting at 64: the direct property stays within that (no deep-nesting ops).
  fuzz(FILE, "mergeMetadataPolicies / applyMetadataPolicy / parseOhpIssuerMetadata: mutated policies and metadata", fc.tuple(mixedJsonOpsArb({ jsOnly: true, heavy: false }), mixedJsonOpsArb({ jsOnly: true, heavy: false }), mixedJsonOpsArb({ jsOnly: true, heavy: false })), ([p1, p2, m]) => {
    const sup = applyJsonOps({ ohp_issuer: { jurisdictions: { subset_of: ["GB", "IE", "DE"] }, max_aal: { one_of: ["AAL1", "AAL2", "AAL3"] } } }, p1);
    const sub = applyJsonOps({ ohp_issuer: { annex_iii_allowed: { subset_of: ["5(b)", "5(d)", "4(a)"] }, max_ial: { value: "IAL2", essential: true } } }, p2);
    const meta = applyJsonOps({ ohp_issuer: { max_ial: "IAL3", max_aal: "AAL3", annex_iii_allowed: ["5(b)"], jurisdictions: ["GB", "FR"] } }, m);
    // decodeEntityStatement guarantees `metadata` / `metadata_policy` are objects.
    const obj = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);
    if (!obj(sup) || !obj(sub) || !obj(meta)) return;
    const merged = typedOrValue("mergeMetadataPolicies", () => mergeMetadataPolicies([sup as never, sub as never]));
    if (merged.ok) {
      const applied = typedOrValue("applyMetadataPolicy", () => applyMetadataPolicy(meta as never, merged.value));
      if (applied.ok) typedOrValue("parseOhpIssuerMetadata", () => parseOhpIssuerMetadata((applied.value as Record<string, unknown>)["ohp_issuer"]));
      tally(applied.ok ? "applied" : applied.error.code);
    } else tally(merged.error.code);
  });
});
