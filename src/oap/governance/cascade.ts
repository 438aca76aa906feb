/**
 * The Information Provenance Cascade (OAP-CORE-1.0 §18.5, second section of that number):
 * when a Scope or NDA is terminated, every Tool that received data tagged with the terminating
 * identifier is invoked at its `data_delete` endpoint, and the Deletion Receipts are aggregated
 * into a Cascade Report stored in the Principal's Audit Log.
 *
 * The agent records each outbound sharing ({@link RecipientRegistry.record}); the cascade asks
 * every recipient of the identifier in parallel ({@link DataDeleteClient}), verifies each
 * Deletion Receipt (the recipient's signature, the Principal, and that it covers the
 * identifier), and reports per recipient `deleted`, `failed` or `invalid_receipt`. With a
 * ledger, a `deletion` receipt whose output hash is the report's hash joins the Principal's
 * chain (the Audit Log); with a signer, the report is signed.
 *
 * @module
 */
import type { PrivateKeyRecord } from "../../crypto/keys.js";
import type { JsonObject } from "../../json/types.js";
import type { ReceiptLedger } from "../receipts.js";
import { signDocument, type OapKeyResolver, type OapSigner } from "../sign.js";
import { clockMs, jcsDigest, oapUlid, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";
import { verifyDeletionReceipt, type OapDeletionReceipt } from "./data-rights.js";

/** One outbound sharing. */
export interface ShareRecord {
  readonly principal_did: string;
  readonly tool_did: string;
  /** Provenance tag strings of the shared data (`nda:…`, `scope:…`). */
  readonly provenance_tags: readonly string[];
  readonly shared_at: string;
}

/** Who received what. */
export interface RecipientRegistry {
  record(share: ShareRecord): void | Promise<void>;
  /** Tools that received data of the Principal tagged with `identifier`. */
  recipients(principalDid: string, identifier: string): readonly string[] | Promise<readonly string[]>;
}

/** In-memory {@link RecipientRegistry}. */
export class MemoryRecipientRegistry implements RecipientRegistry {
  readonly #shares: ShareRecord[] = [];
  record(share: ShareRecord): void {
    this.#shares.push({ ...share, provenance_tags: [...share.provenance_tags] });
  }
  recipients(principalDid: string, identifier: string): string[] {
    return [...new Set(this.#shares.filter((s) => s.principal_did === principalDid && s.provenance_tags.includes(identifier)).map((s) => s.tool_did))];
  }
}

/** Calls a Tool's `data_delete` endpoint. */
export interface DataDeleteClient {
  requestDeletion(toolDid: string, request: { readonly principal_did: string; readonly provenance_tags: readonly string[]; readonly scope_id?: string }): Promise<unknown>;
}

/** Per-recipient outcome. */
export interface CascadeRecipientResult {
  readonly tool_did: string;
  readonly status: "deleted" | "failed" | "invalid_receipt";
  readonly deletion_receipt_id?: string;
  readonly error?: string;
}

/** The Cascade Report. */
export interface CascadeReport {
  readonly report_id: string;
  readonly type: "provenance_cascade";
  readonly principal_did: string;
  readonly terminating_identifier: string;
  readonly reason?: string;
  readonly initiated_at: string;
  readonly completed_at: string;
  readonly complete: boolean;
  readonly recipients: readonly CascadeRecipientResult[];
  readonly deletion_receipts: readonly OapDeletionReceipt[];
  readonly signature?: { readonly alg: string; readonly kid: string; readonly value: string };
}

/** Options of {@link ProvenanceCascade}. */
export interface ProvenanceCascadeOptions {
  readonly registry: RecipientRegistry;
  readonly client: DataDeleteClient;
  /** Resolves the recipients' signing keys. */
  readonly keys: OapKeyResolver;
  /** The acting agent (chain receipt `agent_did`). */
  readonly agentDid: string;
  readonly ledger?: ReceiptLedger;
  /** Signs the report (the agent's key). */
  readonly signer?: OapSigner | PrivateKeyRecord;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** Runs Provenance Cascades. */
export class ProvenanceCascade {
  readonly #o: ProvenanceCascadeOptions;
  readonly #clock: OapClock;
  readonly #random: OapRandom;

  constructor(options: ProvenanceCascadeOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  /** Terminates `identifier` (`nda:…` or `scope:…`) for the Principal. */
  async run(input: { readonly principal_did: string; readonly identifier: string; readonly reason?: string; readonly scope_id?: string }): Promise<{ report: CascadeReport; chainReceipt?: JsonObject }> {
    const initiated = rfc3339(this.#clock());
    const recipients = [...(await this.#o.registry.recipients(input.principal_did, input.identifier))];
    const request = { principal_did: input.principal_did, provenance_tags: [input.identifier], ...(input.scope_id === undefined ? {} : { scope_id: input.scope_id }) };
    const settled = await Promise.allSettled(recipients.map((tool) => this.#o.client.requestDeletion(tool, request)));
    const results: CascadeRecipientResult[] = [];
    const receipts: OapDeletionReceipt[] = [];
    for (let i = 0; i < recipients.length; i++) {
      const tool = recipients[i] as string;
      const s = settled[i] as PromiseSettledResult<unknown>;
      if (s.status === "rejected") {
        results.push({ tool_did: tool, status: "failed", error: (s.reason as Error)?.message ?? String(s.reason) });
        continue;
      }
      try {
        const r = await verifyDeletionReceipt(s.value, this.#o.keys, { toolDid: tool, principal_did: input.principal_did, provenance_tags: [input.identifier] });
        receipts.push(r);
        results.push({ tool_did: tool, status: "deleted", deletion_receipt_id: r.receipt_id });
      } catch (e) {
        results.push({ tool_did: tool, status: "invalid_receipt", error: (e as Error).message });
      }
    }
    const body = {
      report_id: `urn:oap:cascade:${oapUlid(clockMs(this.#clock), this.#random)}`,
      type: "provenance_cascade" as const,
      principal_did: input.principal_did,
      terminating_identifier: input.identifier,
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      initiated_at: initiated,
      completed_at: rfc3339(this.#clock()),
      complete: results.every((r) => r.status === "deleted"),
      recipients: results,
      deletion_receipts: receipts,
    };
    const report = (this.#o.signer === undefined ? body : signDocument(body, this.#o.signer)) as CascadeReport;
    if (this.#o.ledger === undefined) return { report };
    const issued = await this.#o.ledger.issue({
      type: "deletion",
      principal_did: input.principal_did,
      agent_did: this.#o.agentDid,
      action_id: "provenance_cascade",
      input_hash: jcsDigest({ identifier: input.identifier, recipients }),
      output_hash: jcsDigest(report),
      provenance_tags_in: [input.identifier],
    });
    return { report, chainReceipt: issued.receipt };
  }
}
