/**
 * A synthetic OHP world: an issuer (Ed25519 + ML-DSA-65), an IdP (Ed25519), a receiver (X25519),
 * a consent store, a transparency log and a receiver policy, wired so that the envelopes it
 * makes pass every step of the receiver pipeline with every hook supplied. The demo, the signed
 * vector pack and the pipeline tests all start from it; each negative vector is one change to
 * an envelope or to the receiver context.
 *
 * Keys derive from a label (SHA-256 of `label/role`), so a world is reproducible; synthetic keys
 * are never for production (OHP conformance rule CR).
 */
import { createHash, randomBytes } from "node:crypto";
import { ALG_EDDSA, ALG_HPKE_X25519, ALG_MLDSA65, type Jwks, type PublicJwk } from "../crypto/jwk.js";
import { keyPairFromSeed, publicJwks, type PrivateKeyRecord } from "../crypto/keys.js";
import type { JsonObject } from "../json/types.js";
import type { EnvelopeInput } from "../ohp/builder.js";
import type { ConsentReceipt, ReceiverHooks, ReceiverPolicy } from "../ohp/policy.js";
import { signIssuerProofs } from "../ohp/proofs.js";
import { sealEnvelope } from "../ohp/seal.js";
import { signEnvelope } from "../ohp/sign.js";
import type { Tier } from "../ohp/tiers.js";
import type { VerifyEnvelopeOptions } from "../ohp/verify.js";
import { signAssuranceProof, type OhpAssurance } from "../trust/sdjwt/assurance.js";
import { toOhpIdentity } from "../trust/sdjwt/identity.js";
import { issueSdJwtVc } from "../trust/sdjwt/issue.js";
import { MemoryLogStore } from "../trust/tlog/store.js";
import { TransparencyLog } from "../trust/tlog/log.js";
import { baseEnvelope } from "./templates.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function seedFor(label: string, role: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`${label}/${role}`).digest());
}

/** A ULID (Crockford base32, 48-bit ms time + 80 random bits) from `time` and `random`. */
export function ulidFrom(timeMs: number, random: Uint8Array): string {
  let out = "";
  let t = timeMs;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  // 80 bits → 16 characters, 5 bits each.
  let bits = 0;
  let acc = 0;
  let tail = "";
  for (const byte of random.subarray(0, 10)) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      tail += CROCKFORD[(acc >> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  return out + tail;
}

/** The keys of a world. */
export interface WorldKeys {
  readonly issuerEd: PrivateKeyRecord;
  readonly issuerMl: PrivateKeyRecord;
  readonly idp: PrivateKeyRecord;
  readonly receiver: PrivateKeyRecord;
}

/** Options of {@link createWorld}. */
export interface WorldOptions {
  /** Key derivation label; `"random"` draws fresh keys. Default `agentwire-synthetic-v1`. */
  readonly label?: string;
  /** The world's clock (envelopes are issued at it). Default 2026-05-28T13:42:11.000Z. */
  readonly now?: Date;
}

/** What {@link World.envelope} may vary. */
export interface EnvelopeOptions {
  /** Applied to the unsigned, unsealed envelope (after proofs are filled, before sealing/signing). */
  readonly edit?: (envelope: JsonObject) => void;
  /** Applied after the issuer's record proofs are signed, before sealing and signing. */
  readonly afterProofs?: (envelope: JsonObject) => void;
  /** Applied after signing (to make tampered copies). */
  readonly after?: (envelope: JsonObject) => void;
  /** Seconds after the world's `now` at which the envelope is issued. Default 0. */
  readonly issuedOffsetSeconds?: number;
}

/** The synthetic world. */
export interface World {
  readonly label: string;
  readonly now: Date;
  readonly keys: WorldKeys;
  readonly issuerJwks: Jwks<PublicJwk>;
  readonly idpJwks: Jwks<PublicJwk>;
  readonly receiverJwks: Jwks<PublicJwk>;
  readonly consentStore: ReadonlyMap<string, ConsentReceipt>;
  readonly log: TransparencyLog;
  /** A complete, valid envelope of `tier`, issued at `now`, passing every pipeline step. */
  envelope(tier: Tier, options?: EnvelopeOptions): Promise<JsonObject>;
  /** Receiver options (policy + every hook) that accept the world's envelopes at `now`. */
  receiverOptions(envelope: JsonObject, overrides?: { readonly policy?: ReceiverPolicy; readonly hooks?: ReceiverHooks }): VerifyEnvelopeOptions;
}

/**
 * The builder input ({@link EnvelopeInput}) that describes `envelope`: its content without the
 * members the builder generates (id, times, nonce, decision ids, recipient keys, signatures,
 * sealed block, leafHash).
 */
export function builderInputOf(envelope: JsonObject): EnvelopeInput {
  const e = structuredClone(envelope);
  const audience = { ...(e["audience"] as JsonObject) };
  delete audience["recipientKeys"];
  const control = { ...(e["control"] as JsonObject) };
  delete control["nonce"];
  const input: Record<string, unknown> = {
    tier: e["conformance"],
    verb: control["verb"],
    issuer: e["issuer"],
    audience,
    session: e["session"],
    intent: e["intent"],
    transcript: e["transcript"],
  };
  delete control["verb"];
  input["control"] = control;
  for (const k of ["caller", "memory", "policy", "aiSystem", "governance", "oversight"]) if (e[k] !== undefined) input[k] = e[k];
  const decisions = e["decisions"] as JsonObject[] | undefined;
  if (decisions !== undefined) {
    input["decisions"] = decisions.map((d) => {
      const { id: _id, at: _at, ...rest } = d;
      return rest;
    });
  }
  const transparency = e["transparency"] as JsonObject | undefined;
  if (transparency !== undefined) input["transparency"] = { logId: transparency["logId"] };
  return input as unknown as EnvelopeInput;
}

/** The receiver policy of the synthetic world. */
export const WORLD_POLICY: ReceiverPolicy = Object.freeze({
  maxTier: "regulated",
  annexIIIAllowed: Object.freeze(["5(b)", "5(d)"]),
  oversightMinimum: "human-on-the-loop",
  intendedProcessing: Object.freeze(["transcript.summary"]),
  processingJurisdiction: "GB",
  requireHooks: true,
}) as ReceiverPolicy;

/** The IdP identifier of the synthetic world. */
export const WORLD_IDP = "did:web:idp.synthetic.agentwire.dev";

/** Creates a synthetic world. */
export function createWorld(options: WorldOptions = {}): World {
  const label = options.label ?? "agentwire-synthetic-v1";
  const now = options.now ?? new Date("2026-05-28T13:42:11.000Z");
  const seed = (role: string, n = 32): Uint8Array => (label === "random" ? new Uint8Array(randomBytes(n)) : seedFor(label, role).subarray(0, n));
  const keys: WorldKeys = {
    issuerEd: keyPairFromSeed(ALG_EDDSA, seed("issuer-sign-ed25519")),
    issuerMl: keyPairFromSeed(ALG_MLDSA65, seed("issuer-sign-mldsa65")),
    idp: keyPairFromSeed(ALG_EDDSA, seed("idp-sign-ed25519")),
    receiver: keyPairFromSeed(ALG_HPKE_X25519, seed("receiver-enc-x25519")),
  };
  const issuerJwks = publicJwks([keys.issuerEd, keys.issuerMl]);
  const idpJwks = publicJwks([keys.idp]);
  const receiverJwks = publicJwks([keys.receiver]);
  const consentStore = new Map<string, ConsentReceipt>();
  const log = new TransparencyLog(new MemoryLogStore(), { origin: "rekor.openhandoffprotocol.org" });
  let counter = 0;
  const random = (n: number): Uint8Array => {
    counter += 1;
    return label === "random" ? new Uint8Array(randomBytes(n)) : seedFor(label, `random-${counter}`).subarray(0, n);
  };
  const hex = (n: number): string => Buffer.from(random(n)).toString("hex");

  async function envelope(tier: Tier, o: EnvelopeOptions = {}): Promise<JsonObject> {
    const env = baseEnvelope(tier);
    const issued = new Date(now.getTime() + (o.issuedOffsetSeconds ?? 0) * 1000);
    env["id"] = `cse_${ulidFrom(issued.getTime(), random(10))}`;
    env["issuedAt"] = issued.toISOString();
    if (env["notBefore"] !== undefined || tier === "regulated") env["notBefore"] = issued.toISOString();
    env["notAfter"] = new Date(issued.getTime() + 4 * 60_000).toISOString();
    const control = env["control"] as JsonObject;
    control["nonce"] = hex(16);
    const caller = env["caller"] as JsonObject | undefined;
    for (const c of (caller?.["consent"] as JsonObject[] | undefined) ?? []) {
      const receiptId = `iso27560:rcpt_${hex(6)}`;
      c["receiptId"] = receiptId;
      consentStore.set(receiptId, {
        receiptId,
        purpose: c["purpose"] as string,
        scope: [...(c["scope"] as string[])],
        jurisdiction: c["jurisdiction"] as string,
        lawfulBasis: c["lawfulBasis"] as string,
      });
    }
    if (caller !== undefined && (tier === "sealed" || tier === "regulated")) {
      const assurance = caller["assurance"] as unknown as OhpAssurance;
      const { proofJws: _old, ...rest } = assurance;
      caller["assurance"] = signAssuranceProof({ ...rest, idp: WORLD_IDP, lastStepUpAt: issued.toISOString() }, keys.idp) as unknown as JsonObject;
      const compact = await issueSdJwtVc({
        issuerKey: keys.idp,
        vct: "https://credentials.agentwire.dev/caller",
        iss: WORLD_IDP,
        claims: { given_name: "Alex", family_name: "Doe", account_ref: "acc_7781" },
        disclosable: ["given_name", "family_name", "account_ref"],
        iat: new Date(issued.getTime() - 60_000),
        exp: new Date(issued.getTime() + 3600_000),
        saltGenerator: () => Buffer.from(random(16)).toString("base64url"),
      });
      caller["identity"] = toOhpIdentity(compact, { purposeClaims: ["given_name"] }) as unknown as JsonObject;
    }
    for (const d of (env["decisions"] as JsonObject[] | undefined) ?? []) {
      d["id"] = `dec_${ulidFrom(issued.getTime() - 1000, random(10))}`;
      d["at"] = new Date(issued.getTime() - 1000).toISOString();
    }
    const gov = env["governance"] as JsonObject | undefined;
    if (gov !== undefined) {
      const art50 = gov["art50Disclosure"] as JsonObject | undefined;
      if (art50 !== undefined) art50["at"] = new Date(issued.getTime() - 240_000).toISOString();
      const aiia = gov["aiia"] as JsonObject | undefined;
      if (aiia !== undefined) aiia["lastReviewedAt"] = new Date(issued.getTime() - 30 * 86400_000).toISOString().slice(0, 10);
    }
    o.edit?.(env);
    let out = tier === "regulated" ? signIssuerProofs(env, keys.issuerEd) : env;
    o.afterProofs?.(out);
    if (tier === "sealed" || tier === "regulated") {
      const fields: Record<string, JsonObject[keyof JsonObject]> =
        tier === "sealed"
          ? { "payment.disputeDetail": { merchant: "Example Ltd", amountMinor: 4999, currency: "GBP" }, "caller.vulnerable": true }
          : { "healthcare.fhirRef": "Patient/synthetic-001", "caller.vulnerable": false };
      out = await sealEnvelope(out, { recipients: [keys.receiver.publicJwk], fields });
    }
    if (tier !== "core") out = signEnvelope(out, { keys: tier === "regulated" ? [keys.issuerEd, keys.issuerMl] : [keys.issuerEd] }).envelope;
    o.after?.(out);
    return out;
  }

  function receiverOptions(env: JsonObject, overrides: { readonly policy?: ReceiverPolicy; readonly hooks?: ReceiverHooks } = {}): VerifyEnvelopeOptions {
    const session = env["session"] as JsonObject | undefined;
    const media = session?.["media"] as JsonObject | undefined;
    const hooks: ReceiverHooks = {
      resolveIssuer: () => ({ keys: issuerJwks, federation: { annexIIIAllowed: ["5(b)", "5(d)"], jurisdictions: ["GB"] } }),
      liveCall: () => ({
        ...(typeof session?.["callId"] === "string" ? { callId: session["callId"] } : {}),
        ...(typeof media?.["rtpFingerprint"] === "string" ? { rtpFingerprint: media["rtpFingerprint"] } : {}),
      }),
      consentReceipt: (id) => consentStore.get(id),
      resolveIdp: (idp) => (idp === WORLD_IDP ? { keys: idpJwks, caps: { ial: "IAL3", aal: "AAL3", fal: "FAL3" } } : undefined),
      fetchDeclaration: async (_url, ai) => ({ ok: true, modelCardSha256: ai["modelCardSha256"] as string }),
      checkGpaiPolicy: (url) => url.startsWith("https://"),
      anchor: async (_env, leafHash) => {
        const digest = Buffer.from(leafHash.slice("sha256:".length), "hex");
        return { logId: "rekor.openhandoffprotocol.org", ...log.submit(new Uint8Array(digest)) };
      },
      ...overrides.hooks,
    };
    return {
      now: new Date(new Date(env["issuedAt"] as string).getTime() + 2_000),
      keys: [keys.receiver],
      policy: { ...WORLD_POLICY, ...overrides.policy },
      hooks,
    };
  }

  return { label, now, keys, issuerJwks, idpJwks, receiverJwks, consentStore, log, envelope, receiverOptions };
}
