/**
 * Conformance (OAP-CORE-1.0 §31, §32.6; schemas/oap/oap-conformance-receipt): a probe runner
 * that evaluates levels L0 … L5 in order, strictly, and issues a signed Conformance Receipt
 * (at most 90 days valid) that peers co-sign as witnesses.
 *
 * Strict means: a level is claimed only when every probe of the level passed — a skipped probe
 * is not a pass (the upstream suite counts "not applicable" as passing) — the level has at least
 * one probe, and every lower level was claimed. Once a level fails, higher levels are not run.
 *
 * Signatures (docs/oap-signatures.md): the implementation signs the JCS form of the receipt
 * without `signatures` and `peer_witnesses` (`signatures[].by` = the key's DID URL); a peer
 * witness signs the JCS form without `peer_witnesses` (so it vouches for the implementation's
 * signature too) and is listed with `witness_did` = its key's DID URL. L4 needs at least one
 * valid witness, L5 three, from distinct DIDs and (when declared) distinct `controller_org`,
 * none of them the implementation itself (§31 table).
 *
 * @module
 */
import type { OapConformanceReceipt } from "../../../gen/types/oap/oap-conformance-receipt.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { PrivateKeyRecord } from "../../crypto/keys.js";
import type { JsonObject } from "../../json/types.js";
import { b64uEncode } from "../../util/base64url.js";
import { actionRuleIssues, compileAction } from "../actions.js";
import { validateOapDocument } from "../documents.js";
import { OapError } from "../errors.js";
import { CONFORMANCE_SIGNATURE_EXCLUDED, signingInput, verifySignatureValue, type OapKeyResolver, type OapSigner } from "../sign.js";
import { clockMs, didOf, jcsDigest, oapUlid, parseRfc3339Ms, rfc3339, sha256Digest, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";

export type { OapConformanceReceipt } from "../../../gen/types/oap/oap-conformance-receipt.js";

/** §31 levels. */
export type ConformanceLevel = "L0" | "L1" | "L2" | "L3" | "L4" | "L5";
/** In order. */
export const CONFORMANCE_LEVELS: readonly ConformanceLevel[] = Object.freeze(["L0", "L1", "L2", "L3", "L4", "L5"]);
/** §32.6: maximum validity of a Conformance Receipt. */
export const MAX_CONFORMANCE_VALIDITY_DAYS = 90;
/** Minimum number of independent peer witnesses per level (§31 table). */
export const WITNESSES_REQUIRED: Readonly<Record<ConformanceLevel, number>> = Object.freeze({ L0: 0, L1: 0, L2: 0, L3: 0, L4: 1, L5: 3 });

/** A probe's verdict. */
export type ProbeOutcome = { readonly status: "pass" } | { readonly status: "fail"; readonly reason: string } | { readonly status: "skip"; readonly reason: string };

/** One probe. */
export interface Probe<C = ConformanceContext> {
  readonly id: string;
  readonly level: ConformanceLevel;
  readonly description?: string;
  run(context: C): ProbeOutcome | Promise<ProbeOutcome>;
}

/** One probe result. */
export interface ProbeResult {
  readonly id: string;
  readonly level: ConformanceLevel;
  readonly status: "pass" | "fail" | "skip" | "not_run";
  readonly reason?: string;
}

/** The runner's report. */
export interface ConformanceReport {
  readonly results: readonly ProbeResult[];
  readonly levels: Readonly<Record<ConformanceLevel, "passed" | "failed" | "not_run">>;
  readonly claimed_levels: readonly ConformanceLevel[];
  readonly summary: { readonly total: number; readonly passed: number; readonly failed: number; readonly skipped: number };
}

/** Runs probes level by level (strict; see the module comment). A probe that throws fails. */
export async function runConformance<C>(probes: readonly Probe<C>[], context: C, options: { readonly upTo?: ConformanceLevel } = {}): Promise<ConformanceReport> {
  const ids = new Set<string>();
  for (const p of probes) {
    if (ids.has(p.id)) throw new OapError("ERR_OAP_INPUT_INVALID", `duplicate probe id ${p.id}`);
    ids.add(p.id);
  }
  const results: ProbeResult[] = [];
  const levels = Object.fromEntries(CONFORMANCE_LEVELS.map((l) => [l, "not_run"])) as Record<ConformanceLevel, "passed" | "failed" | "not_run">;
  const claimed: ConformanceLevel[] = [];
  let stopped = false;
  const last = CONFORMANCE_LEVELS.indexOf(options.upTo ?? "L5");
  for (const level of CONFORMANCE_LEVELS.slice(0, last + 1)) {
    const mine = probes.filter((p) => p.level === level);
    if (stopped) {
      for (const p of mine) results.push({ id: p.id, level, status: "not_run", reason: "a lower level failed" });
      continue;
    }
    let ok = mine.length > 0;
    for (const p of mine) {
      let outcome: ProbeOutcome;
      try {
        outcome = await p.run(context);
      } catch (e) {
        outcome = { status: "fail", reason: `the probe threw: ${(e as Error).message}` };
      }
      if (outcome.status !== "pass") ok = false;
      results.push(outcome.status === "pass" ? { id: p.id, level, status: "pass" } : { id: p.id, level, status: outcome.status, reason: outcome.reason });
    }
    levels[level] = ok ? "passed" : "failed";
    if (ok) claimed.push(level);
    else stopped = true;
  }
  for (const p of probes) if (CONFORMANCE_LEVELS.indexOf(p.level) > last) results.push({ id: p.id, level: p.level, status: "not_run", reason: `above ${options.upTo}` });
  const count = (s: ProbeResult["status"]): number => results.filter((r) => r.status === s).length;
  return { results, levels, claimed_levels: claimed, summary: { total: results.length, passed: count("pass"), failed: count("fail"), skipped: count("skip") + count("not_run") } };
}

// ---------------------------------------------------------------------------------------------
// built-in probes over a manifest and local configuration
// ---------------------------------------------------------------------------------------------

/** What the built-in probes look at. Live (HTTP) probes are added by the caller. */
export interface ConformanceContext {
  readonly manifest: unknown;
  /** The Scope's CCC document (L3). */
  readonly ccc?: unknown;
  /** Independent verifier agents configured for high-risk actions (§20.5, L3). */
  readonly verifierCount?: number;
  /** The `conflicts` resource is served (§15.3, L4). */
  readonly conflictsResource?: boolean;
  /** Coordination sessions are supported (§15.4, L4). */
  readonly coordinationSessions?: boolean;
  /** A machine-readable third-party audit attestation (oap-attestation, type external_audit) (L5). */
  readonly auditAttestation?: unknown;
}

const pass: ProbeOutcome = { status: "pass" };
const fail = (reason: string): ProbeOutcome => ({ status: "fail", reason });

function manifestOf(ctx: ConformanceContext): OapManifest | undefined {
  return validateOapDocument("oap-manifest", ctx.manifest).length === 0 ? (ctx.manifest as OapManifest) : undefined;
}

function needManifest(ctx: ConformanceContext, check: (m: OapManifest) => ProbeOutcome): ProbeOutcome {
  const m = manifestOf(ctx);
  return m === undefined ? fail("the manifest is not a valid oap-manifest") : check(m);
}

/** The built-in probes (manifest shape and local configuration, per level). */
export function builtinProbes(): Probe<ConformanceContext>[] {
  return [
    {
      id: "l0.manifest.schema",
      level: "L0",
      description: "§6.2: the manifest validates against oap-manifest (oap_version 1.0, required fields).",
      run: (ctx) => {
        const issues = validateOapDocument("oap-manifest", ctx.manifest);
        return issues.length === 0 ? pass : fail(issues.slice(0, 3).map((i) => `${i.pointer || "/"} ${i.message}`).join("; "));
      },
    },
    {
      id: "l0.endpoints.mandatory",
      level: "L0",
      description: "§6.4: invoke, audit, data_delete and incident are declared.",
      run: (ctx) => needManifest(ctx, (m) => (["invoke", "audit", "data_delete", "incident"].every((k) => typeof (m.endpoints as Record<string, unknown>)[k] === "string") ? pass : fail("a mandatory endpoint is missing"))),
    },
    {
      id: "l1.actions.complete",
      level: "L1",
      description: "§7: every action declares the prose-required fields, compiles, and its examples validate.",
      run: (ctx) =>
        needManifest(ctx, (m) => {
          const problems: string[] = [];
          for (const a of m.actions) {
            try {
              compileAction(a);
            } catch (e) {
              problems.push(`${a.id}: ${(e as Error).message}`);
              continue;
            }
            for (const i of actionRuleIssues(a)) problems.push(`${a.id}${i.pointer} ${i.message}`);
          }
          return problems.length === 0 ? pass : fail(problems.slice(0, 5).join("; "));
        }),
    },
    {
      id: "l1.tool.described",
      level: "L1",
      description: "§6.3: categories and both descriptions are present.",
      run: (ctx) => needManifest(ctx, (m) => (m.tool.categories.length > 0 && m.tool.description_for_agents.length > 0 && m.tool.description_for_humans.length > 0 ? pass : fail("tool description incomplete"))),
    },
    {
      id: "l2.pricing",
      level: "L2",
      description: "§11.1: pricing declared with decimal-string amounts; billing and subscribe endpoints.",
      run: (ctx) =>
        needManifest(ctx, (m) => {
          if (m.pricing === undefined) return fail("no pricing block");
          if (m.endpoints.billing === undefined || m.endpoints.subscribe === undefined) return fail("billing and subscribe endpoints are required at L2");
          return pass;
        }),
    },
    {
      id: "l2.auth",
      level: "L2",
      description: "§10.1: at least one authenticated method.",
      run: (ctx) => needManifest(ctx, (m) => (m.auth.some((a) => a.method !== "anonymous") ? pass : fail("only anonymous access is declared"))),
    },
    {
      id: "l2.deprecation",
      level: "L2",
      description: "§27.3: deprecated actions carry a sunset.",
      run: (ctx) => needManifest(ctx, (m) => (m.actions.every((a) => a.deprecated !== true || a.sunset !== undefined) ? pass : fail("a deprecated action has no sunset"))),
    },
    {
      id: "l3.data_policy",
      level: "L3",
      description: "§17.1: data policy with deletion endpoint and lawful bases; export endpoint declared.",
      run: (ctx) => needManifest(ctx, (m) => (m.data_policy.lawful_bases.length > 0 && m.data_policy.deletion_endpoint.length > 0 && m.endpoints.data_export !== undefined ? pass : fail("data policy incomplete"))),
    },
    {
      id: "l3.ccc",
      level: "L3",
      description: "§18.1: a schema-valid CCC is configured.",
      run: (ctx) => (ctx.ccc === undefined ? fail("no CCC configured") : validateOapDocument("oap-ccc", ctx.ccc).length === 0 ? pass : fail("the CCC is not a valid oap-ccc")),
    },
    {
      id: "l3.publisher.verified",
      level: "L3",
      description: "§31 L3: verified publisher.",
      run: (ctx) => needManifest(ctx, (m) => (m.tool.publisher.verified && m.trust.publisher_verified ? pass : fail("the publisher is not verified"))),
    },
    {
      id: "l3.multi_party_review",
      level: "L3",
      description: "§20.5: high-risk or irreversible actions have an independent verifier configured.",
      run: (ctx) =>
        needManifest(ctx, (m) => {
          const risky = m.actions.filter((a) => (a.risk_class ?? m.risk_class) === "high" || a.side_effects === "irreversible" || a.irreversibility_class !== undefined);
          return risky.length === 0 || (ctx.verifierCount ?? 0) > 0 ? pass : fail(`${risky.map((a) => a.id).join(", ")} need an independent verifier`);
        }),
    },
    {
      id: "l4.collaboration",
      level: "L4",
      description: "§15.1: concurrency mode declared; §15.3 conflicts resource; §15.4 sessions.",
      run: (ctx) =>
        needManifest(ctx, (m) => {
          const c = m.collaboration;
          if (c?.supports_concurrent_agents !== true || c.locking_strategy === undefined) return fail("collaboration.supports_concurrent_agents and locking_strategy are required");
          if (ctx.conflictsResource !== true) return fail("the conflicts resource is not served");
          if (ctx.coordinationSessions !== true) return fail("coordination sessions are not supported");
          return pass;
        }),
    },
    {
      id: "l5.external_audit",
      level: "L5",
      description: "§31 L5: SOC 2 Type II / ISO 27001 declared and a machine-readable external audit attestation.",
      run: (ctx) =>
        needManifest(ctx, (m) => {
          if (m.trust.soc2_type_ii !== true && m.trust.iso_27001 !== true) return fail("neither SOC 2 Type II nor ISO 27001 is declared");
          const a = ctx.auditAttestation;
          if (a === undefined || validateOapDocument("oap-attestation", a).length > 0 || (a as { type?: string }).type !== "external_audit") return fail("no valid external_audit attestation");
          return pass;
        }),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// receipts
// ---------------------------------------------------------------------------------------------

function signerParts(signer: OapSigner | PrivateKeyRecord): { key: PrivateKeyRecord; kid: string } {
  const s = signer instanceof PrivateKeyRecord ? { key: signer } : signer;
  if (s.key.alg !== "EdDSA") throw new OapError("ERR_OAP_SIGNING", "conformance receipts are signed with Ed25519 keys");
  return { key: s.key, kid: s.kid ?? s.key.kid };
}

/** What {@link issueConformanceReceipt} needs besides the report. */
export interface IssueConformanceOptions {
  readonly implementation: { readonly did: string; readonly name: string; readonly version: string; readonly build_hash?: string; readonly deployment_uri?: string };
  readonly target: { readonly uri: string; readonly manifest?: unknown };
  /** The implementation's key (a key of `implementation.did`). */
  readonly signer: OapSigner | PrivateKeyRecord;
  readonly suiteVersion?: string;
  readonly suiteRepo?: string;
  /** Validity in days (default and maximum 90). */
  readonly validityDays?: number;
  /** The previous Conformance Receipt of the implementation (chain), else "genesis". */
  readonly previous?: OapConformanceReceipt;
  /** Fixtures the probes used (hashed into `fixtures_hash`). */
  readonly fixtures?: unknown;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** The hash a next receipt cites: JCS without signatures and witnesses. */
export function conformanceReceiptHash(receipt: OapConformanceReceipt): string {
  return sha256Digest(signingInput(receipt as unknown as JsonObject, CONFORMANCE_SIGNATURE_EXCLUDED));
}

/** Issues the signed, schema-valid Conformance Receipt of a report (400 when no level passed). */
export function issueConformanceReceipt(report: ConformanceReport, options: IssueConformanceOptions): OapConformanceReceipt {
  if (report.claimed_levels.length === 0) throw new OapError("ERR_OAP_INPUT_INVALID", "no conformance level passed: nothing to attest", { details: { levels: { ...report.levels } } });
  const days = options.validityDays ?? MAX_CONFORMANCE_VALIDITY_DAYS;
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_CONFORMANCE_VALIDITY_DAYS) throw new OapError("ERR_OAP_INPUT_INVALID", `validity must be 1..${MAX_CONFORMANCE_VALIDITY_DAYS} days (§32.6)`);
  const clock = options.clock ?? systemClock;
  const { key, kid } = signerParts(options.signer);
  if (didOf(kid) !== options.implementation.did) throw new OapError("ERR_OAP_SIGNER_MISMATCH", `the signing key ${kid} is not a key of ${options.implementation.did}`);
  const now = clock();
  const impl: Record<string, string> = { did: options.implementation.did, name: options.implementation.name, version: options.implementation.version };
  if (options.implementation.build_hash !== undefined) impl["build_hash"] = options.implementation.build_hash;
  if (options.implementation.deployment_uri !== undefined) impl["deployment_uri"] = options.implementation.deployment_uri;
  const core: Record<string, unknown> = {
    receipt_id: `urn:oap:conformance:${oapUlid(clockMs(clock), options.random ?? systemRandom)}`,
    type: "conformance",
    timestamp: rfc3339(now),
    implementation: impl,
    suite: { name: "oap-conformance-test-suite", version: options.suiteVersion ?? "1.0.0", spec_version: "1.0", ...(options.suiteRepo === undefined ? {} : { suite_repo: options.suiteRepo }) },
    target: { uri: options.target.uri, ...(options.target.manifest === undefined ? {} : { manifest_hash: jcsDigest(options.target.manifest) }) },
    claimed_levels: [...report.claimed_levels],
    profile: "standard",
    results_summary: { ...report.summary },
    fixtures_hash: jcsDigest({ probes: report.results.map((r) => ({ id: r.id, level: r.level })), fixtures: options.fixtures ?? null }),
    results_hash: jcsDigest(report.results as unknown as JsonObject[]),
    attestor: { did: options.implementation.did, method: "self" },
    validity: { not_before: rfc3339(now), not_after: rfc3339(new Date(now.getTime() + days * 86_400_000)) },
    previous_receipt_hash: options.previous === undefined ? "genesis" : conformanceReceiptHash(options.previous),
  };
  const value = b64uEncode(key.sign(signingInput(core as JsonObject, CONFORMANCE_SIGNATURE_EXCLUDED)));
  const receipt = { ...core, signatures: [{ by: kid, alg: "EdDSA", value }] } as unknown as OapConformanceReceipt;
  const issues = validateOapDocument("oap-conformance-receipt", receipt);
  if (issues.length > 0) throw new OapError("ERR_OAP_INTERNAL", `issued an invalid conformance receipt: ${issues.map((i) => `${i.pointer} ${i.message}`).join("; ")}`);
  return receipt;
}

/** Adds a peer-witness co-signature (the witness signs the receipt without `peer_witnesses`). */
export function addPeerWitness(
  receipt: OapConformanceReceipt,
  witness: { readonly signer: OapSigner | PrivateKeyRecord; readonly witness_receipt_uri: string; readonly controller_org?: string; readonly clock?: OapClock },
): OapConformanceReceipt {
  const { key, kid } = signerParts(witness.signer);
  if (didOf(kid) === receipt.implementation.did) throw new OapError("ERR_OAP_SIGNER_MISMATCH", "an implementation cannot witness its own receipt");
  const signature = b64uEncode(key.sign(signingInput(receipt as unknown as JsonObject, ["peer_witnesses"])));
  const others = (receipt.peer_witnesses ?? []).filter((w) => w.witness_did !== kid);
  const entry = {
    witness_did: kid,
    witness_receipt_uri: witness.witness_receipt_uri,
    alg: "EdDSA" as const,
    signature,
    witnessed_at: rfc3339((witness.clock ?? systemClock)()),
    ...(witness.controller_org === undefined ? {} : { controller_org: witness.controller_org }),
  };
  return { ...receipt, peer_witnesses: [...others, entry] };
}

/** Result of {@link verifyConformanceReceipt}. */
export interface ConformanceVerification {
  readonly valid: boolean;
  /** Claimed levels the receipt actually evidences (witness counts included). */
  readonly levels: readonly ConformanceLevel[];
  /** Witness DIDs whose signature verified (and, with the hook, whose own receipt holds L4+). */
  readonly witnesses: readonly string[];
  readonly problems: readonly string[];
}

/** Options of {@link verifyConformanceReceipt}. */
export interface VerifyConformanceOptions {
  readonly now?: OapClock;
  /** Checks that a witness currently holds a valid L4+ receipt (RFC 0019 §7.1). */
  readonly witnessHoldsL4?: (witnessReceiptUri: string, witnessDid: string) => boolean | Promise<boolean>;
}

/**
 * Verifies schema, the implementation's signature, the validity window (≤ 90 days, now inside),
 * and the witnesses; returns the levels evidenced: a claimed level counts only with all lower
 * claimed levels and enough independent valid witnesses.
 */
export async function verifyConformanceReceipt(receipt: unknown, keys: OapKeyResolver, options: VerifyConformanceOptions = {}): Promise<ConformanceVerification> {
  const problems: string[] = [];
  const issues = validateOapDocument("oap-conformance-receipt", receipt);
  if (issues.length > 0) return { valid: false, levels: [], witnesses: [], problems: issues.map((i) => `${i.pointer || "/"} ${i.message}`) };
  const r = receipt as OapConformanceReceipt;
  const now = (options.now ?? systemClock)().getTime();
  const bytes = signingInput(r as unknown as JsonObject, CONFORMANCE_SIGNATURE_EXCLUDED);
  let signed = false;
  for (const s of r.signatures) {
    try {
      await verifySignatureValue(s, bytes, keys, { expectedSigner: r.implementation.did });
      signed = true;
    } catch (e) {
      problems.push(`signature ${s.by}: ${(e as Error).message}`);
    }
  }
  if (!signed) problems.push(`no valid signature by ${r.implementation.did}`);
  const nb = parseRfc3339Ms(r.validity?.not_before ?? r.timestamp);
  const na = parseRfc3339Ms(r.validity?.not_after);
  if (nb === undefined || na === undefined) problems.push("the receipt declares no validity window");
  else {
    if (na - nb > MAX_CONFORMANCE_VALIDITY_DAYS * 86_400_000) problems.push("validity exceeds 90 days (§32.6)");
    if (now < nb || now > na) problems.push("the receipt is outside its validity window");
  }
  const witnessBytes = signingInput(r as unknown as JsonObject, ["peer_witnesses"]);
  const witnesses: string[] = [];
  const orgs = new Set<string>();
  const dids = new Set<string>();
  for (const w of r.peer_witnesses ?? []) {
    const did = didOf(w.witness_did);
    if (did === r.implementation.did) {
      problems.push(`witness ${w.witness_did} is the implementation itself`);
      continue;
    }
    if (dids.has(did) || (w.controller_org !== undefined && orgs.has(w.controller_org))) {
      problems.push(`witness ${w.witness_did} is not independent of another witness`);
      continue;
    }
    try {
      await verifySignatureValue({ alg: w.alg, kid: w.witness_did, value: w.signature }, witnessBytes, keys);
    } catch (e) {
      problems.push(`witness ${w.witness_did}: ${(e as Error).message}`);
      continue;
    }
    if (options.witnessHoldsL4 !== undefined && !(await options.witnessHoldsL4(w.witness_receipt_uri, did))) {
      problems.push(`witness ${w.witness_did} holds no valid L4+ receipt`);
      continue;
    }
    dids.add(did);
    if (w.controller_org !== undefined) orgs.add(w.controller_org);
    witnesses.push(w.witness_did);
  }
  const levels: ConformanceLevel[] = [];
  if (signed && !problems.some((p) => p.includes("validity"))) {
    for (const l of CONFORMANCE_LEVELS) {
      if (!r.claimed_levels.includes(l)) break;
      if (witnesses.length < WITNESSES_REQUIRED[l]) {
        problems.push(`${l} needs ${WITNESSES_REQUIRED[l]} independent peer witness(es), has ${witnesses.length}`);
        break;
      }
      levels.push(l);
    }
  }
  return { valid: signed && levels.length > 0 && levels.length === r.claimed_levels.filter((l) => (CONFORMANCE_LEVELS as readonly string[]).includes(l)).length && problems.length === 0, levels, witnesses, problems };
}
