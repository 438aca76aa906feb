/**
 * The HTTP operations of the governance (§20, §22) and commerce (§11, §12) planes that were
 * libraries only: the wallet (§11.2), consent (§11/§12), refunds and disputes
 * (`billing/refund`), the kill switch (§22.3), incident publication through an
 * `IncidentRegistry` (§22.2) and the policy hot-reload (§20.1). Each is served only when the
 * matching option is configured (planes.ts); transport-independent, the HTTPS binding (http.ts)
 * routes to it.
 *
 * Callers are authenticated like audit (caller-auth.ts: an RFC 9421 `oap-request` signature by
 * the Principal's DID key, or a bearer credential bound to the Principal): no credential → 401,
 * another Principal's wallet / consent / dispute → 403 `policy_block`. Operator operations
 * (incident publication, policy reload) take `Authorization: Bearer <governance.operatorKey>`.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import type { OapIncident } from "../../../gen/types/oap/oap-incident.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../json/types.js";
import type { ConsentRegistry } from "../commerce/consent.js";
import { RefundDesk, type DisputeStore } from "../commerce/disputes.js";
import type { Money } from "../commerce/money.js";
import type { SubscriptionManager } from "../commerce/subscriptions.js";
import type { LimitRule, Wallet } from "../commerce/wallet.js";
import { OapError } from "../errors.js";
import type { IncidentInput } from "../governance/incidents.js";
import { KillSwitch, type Revoker } from "../governance/kill-switch.js";
import type { ReceiptLedger } from "../receipts.js";
import type { ReceiptStore } from "../receipts.js";
import type { WebhookSubscriptionStore } from "../webhooks/subscriptions.js";
import { ConflictRegistry, declaredConcurrencyMode, LockManager, VersionedStore } from "../governance/coordination.js";
import { SessionRelay, type SessionClockKind } from "../governance/sessions.js";
import { jcsDigest } from "../util.js";
import type { OapKeyResolver } from "../sign.js";
import type { OapClock } from "../util.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import { callerActsFor, requireCaller, type CallerIdentity } from "./caller-auth.js";
import type { GovernancePlane, ToolCommerceOptions, ToolGovernanceOptions } from "./planes.js";

/** Paths of the plane operations (relative to the Tool's base path). */
export const OAP_PLANE_PATHS = Object.freeze({
  wallet: "/oap/wallet",
  consent: "/oap/consent",
  billingRefund: "/oap/billing/refund",
  killSwitch: "/oap/kill-switch",
  policyReload: "/oap/admin/policy",
  timeLock: "/oap/time-lock",
  timeLockCancel: "/oap/time-lock/cancel",
  conflicts: "/oap/conflicts",
  conflictsPropose: "/oap/conflicts/propose",
  conflictsResolve: "/oap/conflicts/resolve",
  lock: "/oap/lock",
  unlock: "/oap/unlock",
  state: "/oap/state",
  session: "/oap/session",
  sessionJoin: "/oap/session/join",
  sessionMessage: "/oap/session/message",
  sessionClose: "/oap/session/close",
});

/** What the plane operations need from the server. */
export interface PlaneEndpointsContext {
  readonly toolDid: string;
  readonly ledger: ReceiptLedger;
  readonly receipts: ReceiptStore;
  readonly webhooks: WebhookSubscriptionStore;
  readonly commerce: ToolCommerceOptions | undefined;
  readonly governanceOptions: ToolGovernanceOptions | undefined;
  readonly governance: GovernancePlane | undefined;
  readonly subscriptions: () => SubscriptionManager | undefined;
  /** The resolved consent registry (commerce `consents`, `true` built by the server). */
  readonly consents?: () => ConsentRegistry | undefined;
  /** Durable dispute records of the server's store (the desk built with `refunds: true` uses them). */
  readonly disputes?: DisputeStore;
  readonly audit: (principalDid: string, kind: "consent" | "dispute" | "kill_switch", data: JsonObject) => Promise<void>;
  /** The server's DID key resolver (default for wallet imports). */
  readonly keys?: OapKeyResolver;
  readonly clock?: OapClock;
  /** §15.2 change broadcast: called after each accepted `PUT state` (the server delivers `state.changed` webhooks). */
  readonly onStateChange?: (change: JsonObject) => void;
  /** The manifest's `collaboration` (the §15.1 declared mode of the built coordination). */
  readonly collaboration?: OapManifest["collaboration"];
}

/** The §15 coordination objects served by the plane endpoints. */
interface Coordination {
  readonly conflicts: ConflictRegistry | undefined;
  readonly locks: LockManager | undefined;
  readonly state: VersionedStore | undefined;
}

function str(body: JsonObject, key: string): string | undefined {
  const v = body[key];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

function need(body: unknown, what: string): JsonObject {
  if (!isJsonObject(body)) throw new OapError("ERR_OAP_INPUT_INVALID", `${what} needs a JSON object body`);
  return body;
}

function moneyOf(v: JsonValue | undefined, what: string): Money | undefined {
  if (v === undefined) return undefined;
  if (!isJsonObject(v) || typeof v["amount"] !== "string" || typeof v["currency"] !== "string") throw new OapError("ERR_OAP_INPUT_INVALID", `${what} must be {amount, currency}`);
  return { amount: v["amount"], currency: v["currency"] };
}

function forbid(message: string): OapError {
  return new OapError("ERR_OAP_POLICY_BLOCK", message);
}

/** The plane operations of one Tool server. */
export class PlaneEndpoints {
  readonly #c: PlaneEndpointsContext;
  #refunds: RefundDesk | undefined;
  #kill: KillSwitch | undefined;
  #coordination: Coordination | undefined;
  #sessions: SessionRelay | undefined;

  constructor(context: PlaneEndpointsContext) {
    this.#c = context;
  }

  get wallet(): Wallet | undefined {
    return this.#c.commerce?.wallet;
  }

  get consents(): ConsentRegistry | undefined {
    if (this.#c.consents !== undefined) return this.#c.consents();
    const c = this.#c.commerce?.consents;
    return c === true ? undefined : c;
  }

  /** The dispute desk (commerce `refunds`). */
  get refunds(): RefundDesk | undefined {
    const r = this.#c.commerce?.refunds;
    if (r === undefined || r === false) return undefined;
    if (r instanceof RefundDesk) return r;
    const wallet = this.wallet;
    this.#refunds ??= new RefundDesk({
      toolDid: this.#c.toolDid,
      receipts: this.#c.receipts,
      ...(this.#c.disputes === undefined ? {} : { store: this.#c.disputes }),
      ...(wallet === undefined
        ? {}
        : {
            refunds: {
              refund: async (input) => {
                const w = await this.#walletOfPrincipal(input.principal_did);
                const entry = await wallet.refund(w, { amount: input.amount.amount, receipt_id: input.receipt_id, dispute_id: input.dispute_id, reason: "dispute" });
                return { reference: entry.entry_id };
              },
            },
          }),
    });
    return this.#refunds;
  }

  /** The kill switch (governance `killSwitch`): subscription tokens and webhook subscriptions of the Principal. */
  get killSwitch(): KillSwitch | undefined {
    const k = this.#c.governanceOptions?.killSwitch;
    if (k === undefined || k === false) return undefined;
    if (k instanceof KillSwitch) return k;
    if (this.#kill === undefined) {
      const revokers: Revoker[] = [];
      const subs = this.#c.subscriptions();
      if (subs !== undefined) revokers.push(subs.revoker());
      revokers.push({ name: `webhooks:${this.#c.toolDid}`, kind: "webhooks", revokeAll: async (principal) => this.#c.webhooks.deleteByPrincipal(principal) });
      this.#kill = new KillSwitch({ ledger: this.#c.ledger, revokers });
    }
    return this.#kill;
  }

  // ------------------------------------------------------------------------------------------
  // wallet (§11.2)
  // ------------------------------------------------------------------------------------------

  #requireWallet(): Wallet {
    const w = this.wallet;
    if (w === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool operates no wallet");
    return w;
  }

  async #walletOfPrincipal(principalDid: string): Promise<string> {
    const wallet = this.#requireWallet();
    const w = this.#c.commerce?.walletOf !== undefined ? await this.#c.commerce.walletOf(principalDid) : await wallet.walletOf(principalDid);
    if (w === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `no wallet of ${principalDid}`);
    return w;
  }

  /** The wallet named by `wallet_did` or `principal_did`, checked to belong to a Principal the caller acts for. */
  async #ownedWallet(ref: { readonly wallet_did?: string | undefined; readonly principal_did?: string | undefined }, caller: CallerIdentity | undefined): Promise<string> {
    const c = requireCaller(caller);
    const wallet = this.#requireWallet();
    let walletDid = ref.wallet_did;
    if (walletDid === undefined) {
      if (ref.principal_did === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "name the wallet: wallet_did or principal_did");
      if (!callerActsFor(c, ref.principal_did)) throw forbid("a wallet is operated by its Principal only");
      walletDid = await this.#walletOfPrincipal(ref.principal_did);
    }
    const owner = (await wallet.balance(walletDid)).principal_did;
    if (!callerActsFor(c, owner)) throw forbid("a wallet is operated by its Principal only");
    return walletDid;
  }

  /** `GET wallet/balance?wallet_did= | principal_did=`. */
  async walletBalance(ref: { wallet_did?: string; principal_did?: string }, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const w = await this.#ownedWallet(ref, caller);
    return (await this.#requireWallet().balance(w)) as unknown as JsonObject;
  }

  /** `POST wallet/authorize {wallet_did | principal_did, amount, currency, tool_did?, agent_did?, expires_in_seconds?}` → hold. */
  async walletAuthorize(raw: unknown, caller: CallerIdentity | undefined, idempotencyKey: string | undefined): Promise<JsonObject> {
    const body = need(raw, "wallet authorize");
    const w = await this.#ownedWallet({ wallet_did: str(body, "wallet_did"), principal_did: str(body, "principal_did") }, caller);
    const amount = str(body, "amount");
    const currency = str(body, "currency");
    if (amount === undefined || currency === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "authorize needs {amount, currency}");
    const exp = body["expires_in_seconds"];
    const hold = await this.#requireWallet().authorize(w, {
      amount,
      currency,
      tool_did: str(body, "tool_did") ?? this.#c.toolDid,
      ...(str(body, "agent_did") === undefined ? {} : { agent_did: str(body, "agent_did") as string }),
      ...(typeof exp === "number" ? { expires_in_seconds: exp } : {}),
      ...(idempotencyKey === undefined ? {} : { idempotency_key: idempotencyKey }),
    });
    return hold as unknown as JsonObject;
  }

  async #ownedHold(holdId: string | undefined, caller: CallerIdentity | undefined): Promise<string> {
    const c = requireCaller(caller);
    if (holdId === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "name the hold: hold_id");
    const wallet = this.#requireWallet();
    const hold = await wallet.hold(holdId);
    await this.#ownedWallet({ wallet_did: hold.wallet_did }, c);
    return holdId;
  }

  /** `POST wallet/capture {hold_id, amount, receipt_id, final?}`. */
  async walletCapture(raw: unknown, caller: CallerIdentity | undefined, idempotencyKey: string | undefined): Promise<JsonObject> {
    const body = need(raw, "wallet capture");
    const hold = await this.#ownedHold(str(body, "hold_id"), caller);
    const amount = str(body, "amount");
    const receipt = str(body, "receipt_id");
    if (amount === undefined || receipt === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "capture needs {hold_id, amount, receipt_id}");
    const r = await this.#requireWallet().capture(hold, {
      amount,
      receipt_id: receipt,
      ...(typeof body["final"] === "boolean" ? { final: body["final"] } : {}),
      ...(idempotencyKey === undefined ? {} : { idempotency_key: idempotencyKey }),
    });
    return r as unknown as JsonObject;
  }

  /** `POST wallet/release {hold_id}`. */
  async walletRelease(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const body = need(raw, "wallet release");
    const hold = await this.#ownedHold(str(body, "hold_id"), caller);
    return (await this.#requireWallet().release(hold)) as unknown as JsonObject;
  }

  /** `POST wallet/refund {wallet_did | principal_did, entry_id | receipt_id, amount, reason?}`. */
  async walletRefund(raw: unknown, caller: CallerIdentity | undefined, idempotencyKey: string | undefined): Promise<JsonObject> {
    const body = need(raw, "wallet refund");
    const w = await this.#ownedWallet({ wallet_did: str(body, "wallet_did"), principal_did: str(body, "principal_did") }, caller);
    const amount = str(body, "amount");
    if (amount === undefined || (str(body, "entry_id") === undefined && str(body, "receipt_id") === undefined)) throw new OapError("ERR_OAP_INPUT_INVALID", "refund needs {amount, entry_id | receipt_id}");
    const entry = await this.#requireWallet().refund(w, {
      amount,
      ...(str(body, "entry_id") === undefined ? {} : { entry_id: str(body, "entry_id") as string }),
      ...(str(body, "receipt_id") === undefined ? {} : { receipt_id: str(body, "receipt_id") as string }),
      ...(str(body, "reason") === undefined ? {} : { reason: str(body, "reason") as string }),
      ...(idempotencyKey === undefined ? {} : { idempotency_key: idempotencyKey }),
    });
    return entry as unknown as JsonObject;
  }

  /** `GET wallet/statement?wallet_did= | principal_did=&currency=&from=&to=` → the signed statement. */
  async walletStatement(q: { wallet_did?: string; principal_did?: string; currency?: string; from?: string; to?: string }, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const w = await this.#ownedWallet(q, caller);
    if (q.currency === undefined || q.from === undefined || q.to === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "statement needs currency, from and to");
    return (await this.#requireWallet().statement(w, { currency: q.currency, from: q.from, to: q.to })) as unknown as JsonObject;
  }

  /** `GET wallet/limits` / `PUT wallet/limits {wallet_did | principal_did, rules}`. */
  async walletLimits(ref: { wallet_did?: string; principal_did?: string }, rules: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const w = await this.#ownedWallet(ref, caller);
    const wallet = this.#requireWallet();
    if (rules === undefined) return { wallet_did: w, rules: (await wallet.limits(w)) as unknown as JsonObject[] };
    if (!Array.isArray(rules)) throw new OapError("ERR_OAP_INPUT_INVALID", "limits needs {rules: [...]}");
    return { wallet_did: w, rules: (await wallet.setLimits(w, rules as unknown as LimitRule[])) as unknown as JsonObject[] };
  }

  // ------------------------------------------------------------------------------------------
  // consent, refunds
  // ------------------------------------------------------------------------------------------

  /** `POST consent {principal_did, agent_did, purpose, max_amount?, expires_at?, tier?, price_hash?}` (grant) or `{consent_id, revoke: true}`. */
  async consent(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const consents = this.consents;
    if (consents === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool records no consents");
    const c = requireCaller(caller);
    const body = need(raw, "consent");
    if (body["revoke"] === true) {
      const id = str(body, "consent_id");
      if (id === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "revoke needs {consent_id}");
      const principal = str(body, "principal_did") ?? c.principal_did ?? c.did;
      if (principal === undefined || !callerActsFor(c, principal)) throw forbid("only the Principal may revoke its consent");
      const revoked = await consents.revoke(id, principal);
      await this.#c.audit(principal, "consent", { action: "revoked", consent_id: id });
      return revoked as unknown as JsonObject;
    }
    const principal = str(body, "principal_did");
    const agentDid = str(body, "agent_did");
    const purpose = str(body, "purpose");
    if (principal === undefined || agentDid === undefined || purpose === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "consent needs {principal_did, agent_did, purpose}");
    if (!callerActsFor(c, principal)) throw forbid("a consent is given by its Principal only");
    const max = moneyOf(body["max_amount"], "max_amount");
    const { consent, receipt } = await consents.grant({
      principal_did: principal,
      agent_did: agentDid,
      tool_did: this.#c.toolDid,
      purpose,
      channel: "explicit",
      ...(max === undefined ? {} : { max_amount: max }),
      ...(str(body, "expires_at") === undefined ? {} : { expires_at: str(body, "expires_at") as string }),
      ...(str(body, "tier") === undefined ? {} : { tier: str(body, "tier") as string }),
      ...(str(body, "price_hash") === undefined ? {} : { price_hash: str(body, "price_hash") as string }),
    });
    await this.#c.audit(principal, "consent", { action: "granted", consent_id: consent.consent_id, purpose, agent_did: agentDid });
    return { consent_receipt: consent.consent_id, consent: consent as unknown as JsonObject, ...(receipt === undefined ? {} : { receipt }) };
  }

  /** `POST billing/refund {principal_did, agent_did?, receipt_ids, reason, amount?}` → 201 dispute. */
  async fileRefund(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const desk = this.refunds;
    if (desk === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool takes no refund requests here");
    const c = requireCaller(caller);
    const body = need(raw, "billing/refund");
    const principal = str(body, "principal_did");
    const reason = str(body, "reason");
    const ids = body["receipt_ids"];
    if (principal === undefined || reason === undefined || !Array.isArray(ids) || !ids.every((i) => typeof i === "string")) throw new OapError("ERR_OAP_INPUT_INVALID", "billing/refund needs {principal_did, receipt_ids, reason, amount?}");
    if (!callerActsFor(c, principal)) throw forbid("a refund is requested by its Principal only");
    const amount = moneyOf(body["amount"], "amount");
    const d = await desk.file({ principal_did: principal, receipt_ids: ids as string[], reason, ...(str(body, "agent_did") === undefined ? {} : { agent_did: str(body, "agent_did") as string }), ...(amount === undefined ? {} : { amount }) });
    await this.#c.audit(principal, "dispute", { action: "filed", dispute_id: d.dispute_id, receipt_ids: [...d.receipt_ids] });
    return d as unknown as JsonObject;
  }

  /** `GET billing/refund?principal_did=` → the Principal's disputes. */
  async listRefunds(principal: string | undefined, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const desk = this.refunds;
    if (desk === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool takes no refund requests here");
    const c = requireCaller(caller);
    if (principal === undefined || !callerActsFor(c, principal)) throw forbid("disputes are readable by their Principal only");
    return { principal_did: principal, disputes: (await desk.list(principal)) as unknown as JsonObject[] };
  }

  // ------------------------------------------------------------------------------------------
  // kill switch, incidents, policy reload
  // ------------------------------------------------------------------------------------------

  /** `POST kill-switch {principal_did, via?}`: revokes the Principal's subscription tokens and webhook subscriptions; answers the `kill_switch` receipt. */
  async invokeKillSwitch(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const kill = this.killSwitch;
    if (kill === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool has no kill switch endpoint");
    const c = requireCaller(caller);
    const body = need(raw, "kill-switch");
    const principal = str(body, "principal_did");
    if (principal === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "kill-switch needs {principal_did}");
    if (!callerActsFor(c, principal)) throw forbid("only the Principal may pull its kill switch");
    const r = await kill.invoke({ principal_did: principal, via: str(body, "via") ?? "tool_endpoint", ...(c.did === undefined || c.did === principal ? {} : { agent_did: c.did }) });
    await this.#c.audit(principal, "kill_switch", { receipt_id: String(r.receipt["receipt_id"]), complete: r.complete, results: r.results as unknown as JsonObject[] });
    return r as unknown as JsonObject;
  }

  /** True when `authorization` is `Bearer <governance.operatorKey>`. */
  isOperator(authorization: string | undefined): boolean {
    const key = this.#c.governanceOptions?.operatorKey;
    if (key === undefined || authorization === undefined) return false;
    const m = /^Bearer\s+(\S+)$/iu.exec(authorization.trim());
    if (m === null) return false;
    const a = Buffer.from(m[1] as string);
    const b = Buffer.from(key);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  #requireOperator(authorization: string | undefined): void {
    if (this.#c.governanceOptions?.operatorKey === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool has no operator endpoints");
    if (authorization === undefined) throw new OapError("ERR_OAP_AUTH_REQUIRED", "this endpoint needs the operator key");
    if (!this.isOperator(authorization)) throw new OapError("ERR_OAP_AUTH_INVALID", "wrong operator key");
  }

  /** True when incidents are published through a registry. */
  get hasIncidentRegistry(): boolean {
    return this.#c.governanceOptions?.incidents !== undefined;
  }

  /** `GET incident` from the registry (`?since=`, `?status=`). */
  async listIncidents(filter: { since?: string; status?: string }): Promise<JsonObject> {
    const reg = this.#c.governanceOptions?.incidents;
    if (reg === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "no incident registry");
    return (await reg.list({ ...(filter.since === undefined ? {} : { since: filter.since }), ...(filter.status === undefined ? {} : { status: filter.status as OapIncident["status"] }) })) as unknown as JsonObject;
  }

  /** `POST incident` by the operator: publishes an oap-incident through the registry (201). */
  async publishIncident(raw: unknown, authorization: string | undefined): Promise<JsonObject> {
    const reg = this.#c.governanceOptions?.incidents;
    if (reg === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "no incident registry");
    this.#requireOperator(authorization);
    const body = need(raw, "incident");
    try {
      return (await reg.report(body as unknown as IncidentInput)) as unknown as JsonObject;
    } catch (e) {
      if (e instanceof OapError) throw e;
      throw new OapError("ERR_OAP_INPUT_INVALID", `invalid incident: ${(e as Error).message}`);
    }
  }

  /** `POST admin/policy {rules}` (operator key): `engine.reload(rules)`. */
  reloadPolicy(raw: unknown, authorization: string | undefined): JsonObject {
    this.#requireOperator(authorization);
    const engine = this.#c.governance?.engine;
    if (engine === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool has no policy engine");
    const body = need(raw, "policy reload");
    const rules = body["rules"] ?? body;
    try {
      return engine.reload(rules) as unknown as JsonObject;
    } catch (e) {
      if (e instanceof OapError) throw e;
      throw new OapError("ERR_OAP_INPUT_INVALID", `invalid rule set: ${(e as Error).message}`);
    }
  }

  // ------------------------------------------------------------------------------------------
  // time locks (§22.4)
  // ------------------------------------------------------------------------------------------

  #timeLocks(): NonNullable<ToolGovernanceOptions["timeLocks"]> {
    const q = this.#c.governanceOptions?.timeLocks;
    if (q === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool has no time locks");
    return q;
  }

  /** `GET time-lock?lock_id=`: the lock, for its Principal or the agent that sent the locked call. */
  timeLock(lockId: string | undefined, caller: CallerIdentity | undefined): JsonObject {
    const c = requireCaller(caller);
    if (lockId === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "name the lock: lock_id");
    const lock = this.#timeLocks().get(lockId);
    const payload = lock !== undefined && isJsonObject(lock.payload) ? lock.payload : {};
    if (lock === undefined || !(callerActsFor(c, lock.principal_did) || (c.did !== undefined && c.did === payload["agent_did"]))) throw new OapError("ERR_OAP_NOT_FOUND", `unknown time lock ${lockId}`);
    return lock as unknown as JsonObject;
  }

  /** `POST time-lock/cancel {lock_id}`: the Principal cancels a locked call before its release (no cost). */
  cancelTimeLock(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    const c = requireCaller(caller);
    const body = need(raw, "time-lock cancel");
    const id = str(body, "lock_id");
    if (id === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "cancel needs {lock_id}");
    const q = this.#timeLocks();
    const lock = q.get(id);
    if (lock === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown time lock ${id}`);
    if (!callerActsFor(c, lock.principal_did)) throw forbid("only the Principal may cancel a time-locked action");
    return q.cancel(id, lock.principal_did) as unknown as JsonObject;
  }

  // ------------------------------------------------------------------------------------------
  // coordination (§15)
  // ------------------------------------------------------------------------------------------

  #coord(): Coordination {
    const o = this.#c.governanceOptions?.coordination;
    if (o === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool serves no coordination endpoints");
    if (this.#coordination !== undefined) return this.#coordination;
    const clock = this.#c.clock;
    if (o === true) {
      const conflicts = new ConflictRegistry({ ledger: this.#c.ledger, toolDid: this.#c.toolDid, ...(clock === undefined ? {} : { clock }) });
      const locks = new LockManager(clock === undefined ? {} : { clock });
      const pessimistic = declaredConcurrencyMode({ ...(this.#c.collaboration === undefined ? {} : { collaboration: this.#c.collaboration }) }) === "pessimistic";
      const state = new VersionedStore({ conflicts, ...(pessimistic ? { locks } : {}), ...(clock === undefined ? {} : { clock }) });
      this.#coordination = { conflicts, locks, state };
    } else {
      this.#coordination = { conflicts: o.conflicts ?? o.state?.conflicts, locks: o.locks, state: o.state };
    }
    return this.#coordination;
  }

  #conflictRegistry(): ConflictRegistry {
    const r = this.#coord().conflicts;
    if (r === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool has no conflicts resource");
    return r;
  }

  #lockManager(): LockManager {
    const l = this.#coord().locks;
    if (l === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool has no lock manager");
    return l;
  }

  #stateStore(): VersionedStore {
    const v = this.#coord().state;
    if (v === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool shares no state");
    return v;
  }

  /** The party of a conflict: its Principal, or the agent whose write lost. */
  #conflictParty(c: CallerIdentity, conflict: { readonly principal_did: string; readonly agent_did: string }): boolean {
    return callerActsFor(c, conflict.principal_did) || (c.did !== undefined && c.did === conflict.agent_did);
  }

  /** `GET conflicts?resource=&status=open|resolved`: the caller's conflicts (as Principal or losing agent). */
  listConflicts(filter: { resource?: string; status?: string }, caller: CallerIdentity | undefined): JsonObject {
    const c = requireCaller(caller);
    if (filter.status !== undefined && filter.status !== "open" && filter.status !== "resolved") throw new OapError("ERR_OAP_INPUT_INVALID", "status is open or resolved");
    const all = this.#conflictRegistry().list({ ...(filter.resource === undefined ? {} : { resource: filter.resource }), ...(filter.status === undefined ? {} : { status: filter.status as "open" | "resolved" }) });
    return { conflicts: all.filter((x) => this.#conflictParty(c, x)) as unknown as JsonObject[] };
  }

  #partyConflict(id: string | undefined, c: CallerIdentity): string {
    if (id === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "name the conflict: conflict_id");
    const conflict = this.#conflictRegistry().get(id);
    if (conflict === undefined || !this.#conflictParty(c, conflict)) throw new OapError("ERR_OAP_NOT_FOUND", `unknown conflict ${id}`);
    return id;
  }

  /** `POST conflicts/propose {conflict_id, value, rationale?}` → 201 proposal. */
  proposeResolution(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    const c = requireCaller(caller);
    const body = need(raw, "conflict proposal");
    const id = this.#partyConflict(str(body, "conflict_id"), c);
    if (body["value"] === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "a proposal needs {conflict_id, value}");
    const agentDid = c.did ?? c.principal_did ?? c.credential;
    return this.#conflictRegistry().propose(id, { agent_did: agentDid, value: body["value"], ...(str(body, "rationale") === undefined ? {} : { rationale: str(body, "rationale") as string }) }) as unknown as JsonObject;
  }

  /** `POST conflicts/resolve {conflict_id, proposal_id | value}` by the Principal → the resolved conflict and its Receipt. */
  async resolveConflict(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const c = requireCaller(caller);
    const body = need(raw, "conflict resolution");
    const id = this.#partyConflict(str(body, "conflict_id"), c);
    const conflict = this.#conflictRegistry().get(id);
    if (conflict === undefined || !callerActsFor(c, conflict.principal_did)) throw forbid("a conflict is resolved by its Principal");
    const out = await this.#conflictRegistry().resolve(id, {
      resolved_by: c.did ?? c.principal_did ?? c.credential,
      ...(str(body, "proposal_id") === undefined ? {} : { proposal_id: str(body, "proposal_id") as string }),
      ...(body["value"] === undefined ? {} : { value: body["value"] }),
    });
    return out as unknown as JsonObject;
  }

  /** The holder of the caller's locks and writes. */
  #holder(c: CallerIdentity): string {
    const h = c.did ?? c.principal_did;
    if (h === undefined) throw new OapError("ERR_OAP_AUTH_REQUIRED", "a lock holder needs a DID");
    return h;
  }

  /** `POST lock {resource, ttl_seconds?}` → 201 lock; 409 when another holder has it. */
  lock(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    const c = requireCaller(caller);
    const body = need(raw, "lock");
    const resource = str(body, "resource");
    if (resource === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "lock needs {resource}");
    const ttl = body["ttl_seconds"];
    if (ttl !== undefined && typeof ttl !== "number") throw new OapError("ERR_OAP_INPUT_INVALID", "ttl_seconds must be a number");
    return this.#lockManager().lock(resource, this.#holder(c), ttl ?? 30) as unknown as JsonObject;
  }

  /** `POST unlock {resource, lock_token}`; 409 with another holder's token. */
  unlock(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    requireCaller(caller);
    const body = need(raw, "unlock");
    const resource = str(body, "resource");
    const token = str(body, "lock_token");
    if (resource === undefined || token === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "unlock needs {resource, lock_token}");
    this.#lockManager().unlock(resource, token);
    return { resource, unlocked: true };
  }

  /** `GET state?resource=` → {resource, value, version, ...}. */
  readState(resource: string | undefined, caller: CallerIdentity | undefined): JsonObject {
    requireCaller(caller);
    if (resource === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "name the resource");
    return { resource, ...(this.#stateStore().get(resource) as unknown as JsonObject) };
  }

  /** `PUT state {resource, value, expected_version?, lock_token?}`: 409 `conflict` on a stale version (registered in `conflicts`) or a missing lock. */
  writeState(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    const c = requireCaller(caller);
    const body = need(raw, "state write");
    const resource = str(body, "resource");
    if (resource === undefined || body["value"] === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "a write needs {resource, value}");
    const ev = body["expected_version"];
    if (ev !== undefined && (typeof ev !== "number" || !Number.isSafeInteger(ev) || ev < 0)) throw new OapError("ERR_OAP_INPUT_INVALID", "expected_version must be a non-negative integer");
    const holder = this.#holder(c);
    const written = this.#stateStore().put(resource, body["value"], {
      agent_did: holder,
      principal_did: c.principal_did ?? holder,
      ...(ev === undefined ? {} : { expected_version: ev }),
      ...(str(body, "lock_token") === undefined ? {} : { lock_token: str(body, "lock_token") as string }),
    });
    this.#c.onStateChange?.({ resource, version: written.version, agent_did: holder, value_hash: jcsDigest(body["value"]), changed_at: String(written.updated_at ?? "") });
    return { resource, ...(written as unknown as JsonObject) };
  }

  // ------------------------------------------------------------------------------------------
  // coordination sessions (§15.4)
  // ------------------------------------------------------------------------------------------

  #relay(): SessionRelay {
    const o = this.#c.governanceOptions?.sessions;
    if (o === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool hosts no coordination sessions");
    if (o !== true) return o;
    if (this.#c.keys === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool cannot verify session messages");
    this.#sessions ??= new SessionRelay({ keys: this.#c.keys, ...(this.#c.clock === undefined ? {} : { clock: this.#c.clock }) });
    return this.#sessions;
  }

  /** The participant identity of a caller: its DID (signature) or its Principal (bearer). */
  #participant(caller: CallerIdentity | undefined): string {
    const c = requireCaller(caller);
    return this.#holder(c);
  }

  /** `POST session {participants, clock?, task?}` → 201 the session (the caller, a participant, is its creator). */
  createSession(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    const relay = this.#relay();
    const who = this.#participant(caller);
    const body = need(raw, "session");
    const participants = body["participants"];
    if (!Array.isArray(participants) || !participants.every((p) => typeof p === "string" && p.startsWith("did:"))) throw new OapError("ERR_OAP_INPUT_INVALID", "a session needs {participants: [DID, …]}");
    const clock = str(body, "clock");
    return relay.create(who, { participants: participants as string[], ...(clock === undefined ? {} : { clock: clock as SessionClockKind }), ...(str(body, "task") === undefined ? {} : { task: str(body, "task") as string }) }) as unknown as JsonObject;
  }

  /** `POST session/join {session_did}`. */
  joinSession(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    const relay = this.#relay();
    const who = this.#participant(caller);
    const id = str(need(raw, "session join"), "session_did");
    if (id === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "join needs {session_did}");
    return relay.join(id, who) as unknown as JsonObject;
  }

  /** `POST session/message {message}` (a SessionMessage signed by the caller) → 201 {message, position}. */
  async appendSessionMessage(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const relay = this.#relay();
    const who = this.#participant(caller);
    const body = need(raw, "session message");
    return (await relay.append(who, body["message"])) as unknown as JsonObject;
  }

  /** `GET session?session_did=&after=` → the session with its messages in total order. */
  readSession(sessionDid: string | undefined, after: string | undefined, caller: CallerIdentity | undefined): JsonObject {
    const relay = this.#relay();
    const who = this.#participant(caller);
    if (sessionDid === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "name the session: session_did");
    const a = after === undefined ? -1 : Number(after);
    if (!Number.isSafeInteger(a) || a < -1) throw new OapError("ERR_OAP_INPUT_INVALID", "after is a message position");
    return relay.read(sessionDid, who, a) as unknown as JsonObject;
  }

  /** `POST session/close {session_did}` by its creator. */
  closeSession(raw: unknown, caller: CallerIdentity | undefined): JsonObject {
    const relay = this.#relay();
    const who = this.#participant(caller);
    const id = str(need(raw, "session close"), "session_did");
    if (id === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "close needs {session_did}");
    return relay.close(id, who) as unknown as JsonObject;
  }

  // ------------------------------------------------------------------------------------------
  // wallet portability (§11.2)
  // ------------------------------------------------------------------------------------------

  /** `POST wallet/export {wallet_did | principal_did, transfer?}` → the signed ledger export. */
  async walletExport(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const body = need(raw, "wallet export");
    const w = await this.#ownedWallet({ wallet_did: str(body, "wallet_did"), principal_did: str(body, "principal_did") }, caller);
    return (await this.#requireWallet().exportLedger(w, { transfer: body["transfer"] === true })) as unknown as JsonObject;
  }

  /** `POST wallet/import {export, wallet_did}` by the export's Principal → 201 the new wallet's balance. */
  async walletImport(raw: unknown, caller: CallerIdentity | undefined): Promise<JsonObject> {
    const c = requireCaller(caller);
    const body = need(raw, "wallet import");
    const doc = body["export"];
    const walletDid = str(body, "wallet_did");
    if (!isJsonObject(doc) || walletDid === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "import needs {export, wallet_did}");
    const wallet = this.#requireWallet();
    if (typeof doc["principal_did"] !== "string" || !callerActsFor(c, doc["principal_did"])) throw forbid("a wallet export is imported by its Principal only");
    const keys = this.#c.commerce?.walletImportKeys ?? this.#c.keys;
    if (keys === undefined) throw new OapError("ERR_OAP_NOT_FOUND", "this Tool cannot verify wallet exports");
    return (await wallet.importLedger(doc, walletDid, keys)) as unknown as JsonObject;
  }
}
