/**
 * `--oap-compat`: what the strict server relaxes so that the upstream OAP conformance suite
 * (openagentprotocol-OAP/oap-spec test-suite, runner.js) passes against it. Strict is the
 * default; compat is an explicit switch and relaxes exactly these points, each needed by a
 * named probe (docs/oap-server.md, "Compat mode"):
 *
 * 1. `unverified-signature` — lifecycle/invoke/audit probes sign with `{kid: "probe", value:
 *    "probe"}`: for probe-eligible actions (cost free, side_effects none or read, effective risk
 *    minimal) an envelope signature that does not verify is accepted; the schema, the ±5 min
 *    timestamp window and the request_id nonce are still enforced, and the receipt cites the
 *    rule `oap.compat.unverified_signature`.
 * 2. `anonymous-read` — the same probes call a `side_effects: "read"` action without a
 *    credential; §10.1 limits anonymous calls to `none`. Allowed for probe-eligible actions
 *    (rule `oap.compat.anonymous_read`).
 * 3. `receipt-id-member` — audit.test reads a top-level `receipt_id` from the invoke response,
 *    which the response-envelope schema forbids: added (so the response is signed but not
 *    schema-valid).
 * 4. `open-audit` — audit.test reads `GET audit?principal_did=…` without credentials, and
 *    receipt-chain-integrity reads `GET audit?limit=20`: the audit endpoint answers without
 *    authentication (an empty list when no principal_did is named).
 * 5. `optional-headers` — no probe sends the §8.4 headers: OAP-Version, OAP-Request-Id and
 *    OAP-Signature are not required (still checked when present).
 * 6. `relative-endpoints` — receipt-chain-integrity fetches `${target}${endpoints.audit}`, which
 *    only works with a path: manifest endpoints are written as paths (the schema wants URIs).
 * 7. `accountability-member` — receipt-chain-integrity requires
 *    `accountability.recovery.export_endpoint`, a top-level member the manifest schema forbids:
 *    added, pointing at data_export.
 * 8. `conformance-receipt` — non-commercial-pricing fails when no Conformance Receipt is
 *    served: `/oap-conformance-receipt.json` serves a self-attested, Tool-signed receipt
 *    claiming L0 only (results_summary all zero: it records no run). Claiming L1 would switch on
 *    the adversarial probes, which need `endpoints.receipt_verify` and
 *    `sybil_resistance.fresh_identity_influence_cap` — members the manifest schema forbids.
 * 9. `free-actions` — non-commercial-pricing checks that every action is free before it looks at
 *    the claimed profile, so any priced action fails it: every action is declared and served
 *    with `cost: {type: "free"}` (no cost in responses and receipts).
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import type { OapToolDefinition } from "./tool.js";
import { CONFORMANCE_SIGNATURE_EXCLUDED, signingInput, type OapSigner } from "../sign.js";
import { jcsDigest, rfc3339, sha256Digest } from "../util.js";
import { b64uEncode } from "../../util/base64url.js";

/** The relaxations of compat mode, by name (see the module comment). */
export const OAP_COMPAT_RELAXATIONS: readonly string[] = Object.freeze([
  "unverified-signature",
  "anonymous-read",
  "receipt-id-member",
  "open-audit",
  "optional-headers",
  "relative-endpoints",
  "accountability-member",
  "conformance-receipt",
  "free-actions",
]);

/** Upstream suite pinned by the compat test (test/upstream/oap/README.md). */
export const OAP_UPSTREAM_SUITE_COMMIT = "b554a8b0c0a9c2dc036fd85c10098320702eb171";

/** Path of the served Conformance Receipt (the probes' first candidate). */
export const OAP_CONFORMANCE_RECEIPT_PATH = "/oap-conformance-receipt.json";

/**
 * The self-attested Conformance Receipt of compat mode: valid against oap-conformance-receipt,
 * signed by the Tool (signatures over JCS without `signatures` / `peer_witnesses`, as attest.js
 * does), claiming L0 with an all-zero results summary (it attests no recorded run).
 */
export function selfAttestedConformanceReceipt(options: {
  readonly toolDid: string;
  readonly name: string;
  readonly version: string;
  readonly targetUri: string;
  readonly receiptUlid: string;
  readonly now: Date;
  readonly signer: OapSigner;
}): JsonObject {
  const core: JsonObject = {
    receipt_id: `urn:oap:conformance:${options.receiptUlid}`,
    type: "conformance",
    timestamp: rfc3339(options.now),
    implementation: { did: options.toolDid, name: options.name, version: options.version },
    suite: { name: "oap-conformance-test-suite", version: "1.3.0", spec_version: "1.0", suite_repo: "https://github.com/openagentprotocol-OAP/oap-spec", suite_commit: OAP_UPSTREAM_SUITE_COMMIT },
    target: { uri: options.targetUri },
    claimed_levels: ["L0"],
    profile: "standard",
    results_summary: { total: 0, passed: 0, failed: 0 },
    fixtures_hash: sha256Digest(new Uint8Array()),
    results_hash: jcsDigest({}),
    attestor: { did: options.toolDid, method: "self" },
  };
  const value = b64uEncode(options.signer.key.sign(signingInput(core, CONFORMANCE_SIGNATURE_EXCLUDED)));
  return { ...core, signatures: [{ by: options.signer.kid ?? options.signer.key.kid, alg: "EdDSA", value }] };
}

/** The tool as compat mode serves it: every action free (relaxation `free-actions`). */
export function compatTool(tool: OapToolDefinition): OapToolDefinition {
  const actions = tool.manifest.actions.map((a) => ({ ...a, cost: { type: "free" as const } }));
  return { ...tool, manifest: { ...tool.manifest, actions: actions as unknown as typeof tool.manifest.actions } };
}
