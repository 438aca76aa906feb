import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CborTag, decodeCanonical } from "../../src/cbor/index.js";
import { b64uDecode, b64uEncode } from "../../src/util/base64url.js";
import { isAgentwireError } from "../../src/errors.js";
import type { JsonObject, JsonValue } from "../../src/json/types.js";
import { signIssuerProofs } from "../../src/ohp/proofs.js";
import { signEnvelope } from "../../src/ohp/sign.js";
import { LEAF_HASH_PLACEHOLDER, RFC3339_TAGGED_FIELDS, signingSurface } from "../../src/ohp/surface.js";
import { verifyEnvelope, verifyEnvelopeSignatures, type VerifyEnvelopeResult } from "../../src/ohp/verify.js";
import { publicJwks } from "../../src/crypto/keys.js";
import { testJwks, testKeys } from "../helpers/keys.js";
import { upstreamEnvelopes } from "../helpers/upstream.js";

const keys = testKeys();
const jwks = testJwks();

function example(prefix: string): JsonObject {
  const found = upstreamEnvelopes().find((e) => e.name.includes(prefix));
  if (!found) throw new Error(`no upstream envelope ${prefix}`);
  return structuredClone(found.json) as JsonObject;
}

/** A receiver that accepts the upstream examples' Annex III clause. */
const RECEIVER_POLICY = { annexIIIAllowed: ["5(b)", "5(d)"] } as const;

const SIGNED = "02-signed-cs-handoff";
const SEALED = "03-sealed-payment";
const REGULATED = "04-regulated-healthcare";

function signed(prefix: string): JsonObject {
  const env = example(prefix);
  // Regulated: the issuer's record proofs (Art 50 disclosure, prohibited attestation) are real too.
  return signEnvelope(env["conformance"] === "regulated" ? signIssuerProofs(env, keys.ed) : env, { keys: keys.all }).envelope;
}

function at(env: JsonObject): Date {
  return new Date(env["issuedAt"] as string);
}

async function verify(env: unknown, now: Date, extra: Partial<Parameters<typeof verifyEnvelope>[1]> = {}): Promise<VerifyEnvelopeResult> {
  return verifyEnvelope(env, { jwks, now, policy: RECEIVER_POLICY, ...extra });
}

/** Every leaf of a JSON value, as a path of members/indices. */
function leaves(value: JsonValue, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [path];
}

function setPath(root: JsonObject, path: (string | number)[], f: (v: JsonValue) => JsonValue): void {
  let node: any = root;
  for (const p of path.slice(0, -1)) node = node[p];
  const last = path[path.length - 1]!;
  node[last] = f(node[last]);
}

/** A different value of the same kind that keeps schema formats (digit→digit, letter→letter). */
function mutate(v: JsonValue): JsonValue {
  if (typeof v === "boolean") return !v;
  if (typeof v === "number") return Number.isInteger(v) ? v + 1 : v * 1.5;
  if (v === null) return "x";
  const s = v as string;
  if (s.length === 0) return "x";
  const i = s.length - 1;
  const c = s[i]!;
  const next = /[0-8]/.test(c) ? String(Number(c) + 1) : c === "9" ? "8" : /[a-y]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 1) : c === "z" ? "y" : /[A-Y]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 1) : c === "Z" ? "Y" : c === "." ? "!" : "a";
  return s.slice(0, i) + next;
}

describe("OHP §5.2 signing surface", () => {
  it("§5.2(4): signatures become [] and transparency.leafHash the zero placeholder; nothing else changes", () => {
    const env = example(REGULATED);
    const model = decodeCanonical(signingSurface(env)) as Record<string, unknown>;
    expect(model["signatures"]).toEqual([]);
    expect((model["transparency"] as Record<string, unknown>)["leafHash"]).toBe(LEAF_HASH_PLACEHOLDER);
    expect(Object.keys(model).sort()).toEqual(Object.keys(env).sort());
  });

  it("§5.2(4): an envelope without signatures gets signatures: [] in its surface", () => {
    const env = example(SIGNED);
    delete env["signatures"];
    expect((decodeCanonical(signingSurface(env)) as Record<string, unknown>)["signatures"]).toEqual([]);
  });

  it("§5.2(1): top-level keys are ordered by their encoded bytes (shorter first, then bytewise)", () => {
    const model = decodeCanonical(signingSurface(example(REGULATED))) as Record<string, unknown>;
    const order = Object.keys(model);
    const sorted = [...order].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    expect(order).toEqual(sorted);
    expect(order.slice(0, 4)).toEqual(["id", "ohp", "caller", "intent"]);
  });

  it("§5.2(3): tag 0 wraps exactly the CDDL rfc3339 fields", () => {
    const model = decodeCanonical(signingSurface(example(REGULATED))) as Record<string, any>;
    expect(model["issuedAt"]).toBeInstanceOf(CborTag);
    expect(model["issuedAt"].tag).toBe(0);
    expect(model["notAfter"]).toBeInstanceOf(CborTag);
    for (const d of model["decisions"]) expect(d.at).toBeInstanceOf(CborTag);
    // Date-only fields and transcript times stay plain text.
    expect(typeof model["governance"]["aiia"]["lastReviewedAt"]).toBe("string");
    expect(RFC3339_TAGGED_FIELDS).toHaveLength(8);
  });

  it("§5.2: surface sizes agree with the independent measurement in the spec notes, plus one byte per extra CDDL tag", () => {
    // ../shared/notes/ohp.md §6.11 measured these tagging only issuedAt/notBefore/notAfter (§5.2(3));
    // the fixed profile also tags the five other CDDL rfc3339 fields (one 0xc0 byte each).
    const measured: [string, number][] = [
      ["core/01-minimal-valid", 539],
      [SIGNED, 1543],
      [SEALED, 2636],
      [REGULATED, 5295],
    ];
    for (const [name, bytes] of measured) {
      const env = upstreamEnvelopes().find((e) => e.name.includes(name))!.json as JsonObject;
      const model = decodeCanonical(signingSurface(env));
      let tags = 0;
      const count = (v: unknown): void => {
        if (v instanceof CborTag) tags++;
        else if (Array.isArray(v)) v.forEach(count);
        else if (v !== null && typeof v === "object") Object.values(v).forEach(count);
      };
      count(model);
      const primary = ["issuedAt", "notBefore", "notAfter"].filter((k) => k in env).length;
      expect(signingSurface(env).length - (tags - primary), name).toBe(bytes);
    }
  });

  it("§5.2: key order and whitespace of the JSON text do not change the surface", () => {
    const env = example(REGULATED);
    const reversed = (v: JsonValue): JsonValue =>
      Array.isArray(v) ? v.map(reversed) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const again = JSON.parse(JSON.stringify(reversed(env), null, 7)) as JsonObject;
    expect(Buffer.from(signingSurface(again)).equals(Buffer.from(signingSurface(env)))).toBe(true);
  });
});

describe("OHP §5.1 signing per tier", () => {
  it("§3.1.1: Core envelopes are not signed (ERR_OHP_SIGN_CORE)", () => {
    expect(() => signEnvelope(example("01-core"), { keys: keys.all })).toThrow(expect.objectContaining({ code: "ERR_OHP_SIGN_CORE" }));
  });

  it("§5.1: Signed and Sealed carry exactly one EdDSA signature", () => {
    for (const p of [SIGNED, SEALED]) {
      const sigs = signed(p)["signatures"] as { alg: string; kid: string; jws: string }[];
      expect(sigs.map((s) => s.alg)).toEqual(["EdDSA"]);
      expect(sigs[0]!.kid).toBe(keys.ed.kid);
      const [header, payload, sig] = sigs[0]!.jws.split(".");
      expect(JSON.parse(Buffer.from(b64uDecode(header!)).toString())).toEqual({ alg: "EdDSA", kid: keys.ed.kid });
      expect(payload).toBe("");
      expect(b64uDecode(sig!)).toHaveLength(64);
    }
  });

  it("§5.1: Regulated carries EdDSA and ML-DSA-65 over the same surface", () => {
    const sigs = signed(REGULATED)["signatures"] as { alg: string; jws: string }[];
    expect(sigs.map((s) => s.alg)).toEqual(["EdDSA", "ML-DSA-65"]);
    expect(b64uDecode(sigs[1]!.jws.split(".")[2]!)).toHaveLength(3309);
  });

  it("§5.7: leafHash = sha256 of the surface, set when transparency is present", () => {
    const result = signEnvelope(example(REGULATED), { keys: keys.all });
    const expected = `sha256:${createHash("sha256").update(result.surface).digest("hex")}`;
    expect(result.leafHash).toBe(expected);
    expect((result.envelope["transparency"] as JsonObject)["leafHash"]).toBe(expected);
    // The surface does not depend on the leafHash it carries.
    expect(Buffer.from(signingSurface(result.envelope)).equals(Buffer.from(result.surface))).toBe(true);
    expect(signed(SIGNED)["transparency"]).toBeUndefined();
  });

  it("§5.1: signing without the tier's key fails with ERR_OHP_SIGN_KEY_MISSING", () => {
    expect(() => signEnvelope(example(REGULATED), { keys: [keys.ed] })).toThrow(expect.objectContaining({ code: "ERR_OHP_SIGN_KEY_MISSING" }));
  });

  it("§4.5: a surface over 8 KiB is refused (ERR_OHP_SURFACE_TOO_LARGE)", () => {
    const env = example(SIGNED);
    (env["transcript"] as JsonObject)["summary"] = "x".repeat(9000);
    expect(() => signEnvelope(env, { keys: keys.all })).toThrow(expect.objectContaining({ code: "ERR_OHP_SURFACE_TOO_LARGE" }));
  });
});

describe("OHP D09 step 2: signatures verify per tier", () => {
  it("accepts freshly signed Signed, Sealed and Regulated upstream examples", async () => {
    for (const p of [SIGNED, SEALED, REGULATED]) {
      const env = signed(p);
      const r = await verify(env, at(env));
      expect(r, p).toMatchObject({ outcome: "accept", rejectReason: null, firstFailingStep: null });
    }
  });

  it("accepts an unsigned Core envelope (steps 1-2 skipped)", async () => {
    const env = example("01-core");
    const r = await verify(env, at(env));
    expect(r.outcome).toBe("accept");
    expect(r.steps.find((s) => s.step === 2)?.status).toBe("skipped");
  });

  it("rejects every single-field change to a signed Regulated envelope as signature-invalid", async () => {
    const env = signed(REGULATED);
    const now = at(env);
    const paths = leaves(env).filter((p) => p[0] !== "signatures");
    expect(paths.length).toBeGreaterThan(80);
    let atStep2 = 0;
    for (const path of paths) {
      const copy = structuredClone(env);
      setPath(copy, path, mutate);
      // The signature step alone always fails ...
      expect(() => verifyEnvelopeSignatures(copy, jwks, { now }), path.join("/")).toThrow();
      // ... and the whole verifier rejects, at step 2 unless the change already broke the structure.
      const r = await verify(copy, now);
      expect(r.outcome, path.join("/")).toBe("reject");
      if (r.firstFailingStep !== 0) {
        expect(r, path.join("/")).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
        atStep2++;
      }
    }
    expect(atStep2).toBeGreaterThan(paths.length / 2);
  });

  it("rejects every single-field change to a signed Signed envelope as signature-invalid", async () => {
    const env = signed(SIGNED);
    const now = at(env);
    for (const path of leaves(env).filter((p) => p[0] !== "signatures")) {
      const copy = structuredClone(env);
      setPath(copy, path, mutate);
      const r = await verify(copy, now);
      expect(r.outcome, path.join("/")).toBe("reject");
      if (r.firstFailingStep !== 0) expect(r.rejectReason, path.join("/")).toBe("signature-invalid");
    }
  });

  it("rejects a Regulated envelope with either half of the hybrid signature stripped", async () => {
    const env = signed(REGULATED);
    for (const keep of [0, 1]) {
      const copy = structuredClone(env);
      copy["signatures"] = [(env["signatures"] as JsonValue[])[keep]!];
      expect(await verify(copy, at(env))).toMatchObject({ outcome: "reject", rejectReason: "signature-invalid", firstFailingStep: 2 });
    }
    const none = structuredClone(env);
    delete none["signatures"];
    expect(await verify(none, at(env))).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
  });

  it("rejects when one half of the hybrid signature is corrupted while the other is valid", async () => {
    const env = signed(REGULATED);
    for (const index of [0, 1]) {
      const copy = structuredClone(env);
      const entry = (copy["signatures"] as { jws: string }[])[index]!;
      const [h, , s] = entry.jws.split(".");
      const sig = b64uDecode(s!);
      sig[7]! ^= 1;
      entry.jws = `${h}..${b64uEncode(sig)}`;
      expect(await verify(copy, at(env))).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
    }
  });

  it("rejects alg:none and unknown algorithms as signature-invalid", async () => {
    const env = signed(SIGNED);
    for (const alg of ["none", "HS256", "ES256", "ML-DSA-65-Ed25519"]) {
      const copy = structuredClone(env);
      const entry = (copy["signatures"] as { alg: string; jws: string; kid: string }[])[0]!;
      const header = b64uEncode(Buffer.from(JSON.stringify({ alg, kid: entry.kid })));
      entry.jws = `${header}..${entry.jws.split(".")[2]}`;
      expect(await verify(copy, at(env)), alg).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
      entry.alg = alg;
      expect(await verify(copy, at(env)), alg).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
    }
  });

  it("rejects an extra protected-header member and a header/entry kid mismatch", async () => {
    const env = signed(SIGNED);
    const entry0 = (env["signatures"] as { jws: string; kid: string }[])[0]!;
    const sig = entry0.jws.split(".")[2];
    const extra = structuredClone(env);
    (extra["signatures"] as { jws: string }[])[0]!.jws = `${b64uEncode(Buffer.from(JSON.stringify({ alg: "EdDSA", kid: entry0.kid, typ: "JOSE" })))}..${sig}`;
    expect(await verify(extra, at(env))).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
    const mismatch = structuredClone(env);
    (mismatch["signatures"] as { kid: string }[])[0]!.kid = "someone-else";
    expect(await verify(mismatch, at(env))).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
  });

  it("rejects a kid missing from the trusted JWKS and a revoked key (§5.9)", async () => {
    const env = signed(SIGNED);
    const other = await verifyEnvelope(env, { jwks: testJwks(2), now: at(env) });
    expect(other).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2, detail: { code: "ERR_JWS_KID_UNKNOWN" } });
    const revoked = publicJwks([{ ...keys.ed.publicJwk, revoked: true }, keys.mldsa.publicJwk]);
    const r = await verifyEnvelope(env, { jwks: revoked, now: at(env) });
    expect(r).toMatchObject({ rejectReason: "signature-invalid", detail: { code: "ERR_JWS_KID_REVOKED" } });
  });

  it("rejects a Signed envelope carrying an extra ML-DSA-65 signature (§5.1: exactly the EdDSA JWS)", async () => {
    const env = example(SIGNED);
    env["conformance"] = "regulated";
    const both = signEnvelope(env, { keys: keys.all }).envelope["signatures"];
    const copy = signed(SIGNED);
    copy["signatures"] = both as JsonValue;
    expect(await verify(copy, at(copy))).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
  });

  it("§5.7: a wrong transparency.leafHash is signature-invalid", async () => {
    const env = signed(REGULATED);
    (env["transparency"] as JsonObject)["leafHash"] = `sha256:${"ab".repeat(32)}`;
    expect(await verify(env, at(env))).toMatchObject({ rejectReason: "signature-invalid", firstFailingStep: 2 });
  });

  it("accepts a signed envelope re-serialised with other key order and whitespace", async () => {
    const env = signed(REGULATED);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(env).reverse()), null, "\t")) as JsonObject;
    expect((await verify(reordered, at(env))).outcome).toBe("accept");
  });

  it("garbage never crashes the verifier: non-objects and broken shapes are typed rejects", async () => {
    for (const input of [null, 42, "x", [], {}, { conformance: "signed" }, { ...signed(SIGNED), signatures: "x" }]) {
      const r = await verify(input, new Date());
      expect(r.outcome).toBe("reject");
      expect(typeof r.rejectReason).toBe("string");
    }
  });
});

describe("OHP D09 step 3: freshness (§4.4)", () => {
  const env = signed(SIGNED);
  const notAfter = new Date(env["notAfter"] as string).getTime();
  const issuedAt = new Date(env["issuedAt"] as string).getTime();

  it("§4.4: accepts up to 5 s after notAfter and rejects beyond (stale)", async () => {
    expect((await verify(env, new Date(notAfter + 5000))).outcome).toBe("accept");
    expect(await verify(env, new Date(notAfter + 5001))).toMatchObject({ rejectReason: "stale", firstFailingStep: 3 });
  });

  it("§4.4: accepts up to 5 s before issuedAt/notBefore and rejects earlier (stale)", async () => {
    expect((await verify(env, new Date(issuedAt - 5000))).outcome).toBe("accept");
    expect(await verify(env, new Date(issuedAt - 5001))).toMatchObject({ rejectReason: "stale", firstFailingStep: 3 });
  });

  it("§4.4: rejects a window longer than PT5M even with valid signatures", async () => {
    const long = example(SIGNED);
    long["notAfter"] = new Date(issuedAt + 5 * 60_000 + 1000).toISOString().replace(".000Z", "Z");
    const s = signEnvelope(long, { keys: keys.all }).envelope;
    expect(await verify(s, new Date(issuedAt))).toMatchObject({ rejectReason: "stale", firstFailingStep: 3 });
  });

  it("upstream core/02-stale-envelope is rejected as stale at step 3", async () => {
    const v = upstreamEnvelopes().find((e) => e.name.includes("02-stale-envelope"))!;
    const r = await verify(v.json, new Date("2026-05-28T13:00:00Z"));
    expect(r).toMatchObject({ outcome: "reject", rejectReason: "stale", firstFailingStep: 3 });
  });
});

describe("OHP D09 step 4: call binding", () => {
  it("rejects a session.callId that is not the live call as not-bound-to-call", async () => {
    const env = signed(SIGNED);
    const callId = (env["session"] as JsonObject)["callId"] as string;
    expect((await verify(env, at(env), { callId })).outcome).toBe("accept");
    expect(await verify(env, at(env), { callId: `${callId}-other` })).toMatchObject({
      rejectReason: "not-bound-to-call",
      firstFailingStep: 4,
    });
  });
});

describe("errors are typed", () => {
  it("sign errors are AgentwireErrors with stable codes", () => {
    try {
      signEnvelope("nope", { keys: keys.all });
      expect.unreachable();
    } catch (e) {
      expect(isAgentwireError(e, "ERR_OHP_ENVELOPE_INVALID")).toBe(true);
    }
  });
});
