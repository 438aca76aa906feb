/**
 * The Principal's Emergency Kill Switch (OAP-CORE-1.0 §22.3): one call immediately revokes all
 * active Subscription Tokens, OAuth grants, Trust Tokens and Webhook subscriptions of the
 * Principal, and is recorded as a Receipt (`type: "kill_switch"`).
 *
 * Subsystems register a {@link Revoker} each (the subscription manager, the OAuth grant store,
 * the trust-token issuer, the webhook registry, …). {@link KillSwitch.invoke} first marks the
 * Principal killed (so a credential checked concurrently is already refused through
 * {@link KillSwitch.isRevoked}), then runs every revoker in parallel — a failing revoker does not
 * stop the others — and issues the receipt: `input_hash` covers the request, `output_hash` the
 * per-revoker results, which are also returned.
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import type { ReceiptLedger } from "../receipts.js";
import { jcsDigest, rfc3339, systemClock, type OapClock } from "../util.js";

/** Credential families of §22.3. */
export type RevocableKind = "subscription_tokens" | "oauth_grants" | "trust_tokens" | "webhooks";

/** Revokes one family of credentials for a Principal. */
export interface Revoker {
  readonly name: string;
  readonly kind: RevocableKind | (string & {});
  /** Revokes everything of the Principal issued at or before `at`; returns how many were revoked. */
  revokeAll(principalDid: string, at: Date): number | Promise<number>;
}

/** Per-revoker result. */
export interface RevokerResult {
  readonly name: string;
  readonly kind: string;
  readonly revoked?: number;
  readonly error?: string;
}

/** What {@link KillSwitch.invoke} returns. */
export interface KillSwitchResult {
  readonly principal_did: string;
  readonly invoked_at: string;
  readonly via: string;
  /** All revokers succeeded. */
  readonly complete: boolean;
  readonly results: readonly RevokerResult[];
  /** The `kill_switch` receipt. */
  readonly receipt: JsonObject;
}

/** Options of {@link KillSwitch}. */
export interface KillSwitchOptions {
  readonly ledger: ReceiptLedger;
  readonly revokers?: readonly Revoker[];
  readonly clock?: OapClock;
}

/** §22.3 Kill Switch. */
export class KillSwitch {
  readonly #ledger: ReceiptLedger;
  readonly #revokers: Revoker[];
  readonly #clock: OapClock;
  readonly #killedAt = new Map<string, number>();

  constructor(options: KillSwitchOptions) {
    this.#ledger = options.ledger;
    this.#revokers = [...(options.revokers ?? [])];
    this.#clock = options.clock ?? systemClock;
  }

  /** Adds a revoker (names are unique). */
  register(revoker: Revoker): void {
    if (this.#revokers.some((r) => r.name === revoker.name)) throw new OapError("ERR_OAP_INTERNAL", `a revoker named ${revoker.name} is already registered`);
    this.#revokers.push(revoker);
  }

  /** Registered revoker kinds (check that all four §22.3 families are covered). */
  kinds(): string[] {
    return [...new Set(this.#revokers.map((r) => r.kind))];
  }

  /**
   * Invokes the Kill Switch for `principal_did`. `via`: the interface used ("wallet",
   * "registry", "tool"); `agent_did`: who carried the request (default: the Principal).
   */
  async invoke(input: { readonly principal_did: string; readonly via: string; readonly agent_did?: string }): Promise<KillSwitchResult> {
    const at = this.#clock();
    const ms = at.getTime();
    this.#killedAt.set(input.principal_did, Math.max(ms, this.#killedAt.get(input.principal_did) ?? 0));
    const settled = await Promise.allSettled(this.#revokers.map((r) => Promise.resolve(r.revokeAll(input.principal_did, at))));
    const results: RevokerResult[] = this.#revokers.map((r, i) => {
      const s = settled[i] as PromiseSettledResult<number>;
      return s.status === "fulfilled" ? { name: r.name, kind: r.kind, revoked: s.value } : { name: r.name, kind: r.kind, error: (s.reason as Error)?.message ?? String(s.reason) };
    });
    const invokedAt = rfc3339(at);
    const issued = await this.#ledger.issue({
      type: "kill_switch",
      principal_did: input.principal_did,
      agent_did: input.agent_did ?? input.principal_did,
      action_id: "kill_switch",
      input_hash: jcsDigest({ principal_did: input.principal_did, via: input.via, invoked_at: invokedAt }),
      output_hash: jcsDigest(results as unknown as JsonObject[]),
    });
    return { principal_did: input.principal_did, invoked_at: invokedAt, via: input.via, complete: results.every((r) => r.error === undefined), results, receipt: issued.receipt };
  }

  /** When the Principal last killed everything, if ever. */
  killedAt(principalDid: string): Date | undefined {
    const ms = this.#killedAt.get(principalDid);
    return ms === undefined ? undefined : new Date(ms);
  }

  /** True when a credential of the Principal issued at `issuedAt` is revoked by a kill. */
  isRevoked(principalDid: string, issuedAt: Date | string): boolean {
    const killed = this.#killedAt.get(principalDid);
    const issued = typeof issuedAt === "string" ? Date.parse(issuedAt) : issuedAt.getTime();
    return killed !== undefined && issued <= killed;
  }
}
