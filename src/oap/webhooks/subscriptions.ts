/**
 * §9.3 webhook subscriptions: who asked for which task events at which callback URL, and the
 * event payload delivered to them.
 *
 * @module
 */
import type { JsonObject } from "../../json/types.js";
import type { MaybePromise, TaskJson } from "../tasks/store.js";

/** Events a subscription can name: `task.<status>` or `task.*`. */
export type WebhookEventName = `task.${string}`;

/** A stored webhook subscription. */
export interface WebhookSubscription {
  /** `whs_<ULID>`. */
  readonly id: string;
  /** The DID (or API-key Principal) that created it: only it may delete it. */
  readonly owner: string;
  /** Deliver events of this Principal's tasks… */
  readonly principal_did?: string;
  /** …or of this agent's tasks. */
  readonly agent_did?: string;
  /** Only this task (absent: every task of the principal / agent). */
  readonly task_id?: string;
  readonly callback_url: string;
  /** Only changes of this shared-state resource (`state.changed` subscriptions; absent: every resource). */
  readonly resource?: string;
  /** Event names (`task.completed`, `task.*`, `state.changed` (§15.2), …). */
  readonly events: readonly string[];
  readonly created_at: string;
}

/** Webhook subscription storage. */
export interface WebhookSubscriptionStore {
  add(subscription: WebhookSubscription): MaybePromise<void>;
  get(id: string): MaybePromise<WebhookSubscription | undefined>;
  remove(id: string): MaybePromise<boolean>;
  /** Every subscription (the dispatcher filters with {@link subscriptionMatches}). */
  all(): MaybePromise<WebhookSubscription[]>;
  deleteByPrincipal(principalDid: string): MaybePromise<number>;
}

/** In-memory {@link WebhookSubscriptionStore}. */
export class MemoryWebhookSubscriptionStore implements WebhookSubscriptionStore {
  readonly #subs = new Map<string, WebhookSubscription>();
  add(s: WebhookSubscription): void {
    this.#subs.set(s.id, structuredClone(s));
  }
  get(id: string): WebhookSubscription | undefined {
    const s = this.#subs.get(id);
    return s === undefined ? undefined : structuredClone(s);
  }
  remove(id: string): boolean {
    return this.#subs.delete(id);
  }
  all(): WebhookSubscription[] {
    return [...this.#subs.values()].map((s) => structuredClone(s));
  }
  deleteByPrincipal(principalDid: string): number {
    let n = 0;
    for (const [id, s] of this.#subs) {
      if (s.principal_did === principalDid || s.owner === principalDid) {
        this.#subs.delete(id);
        n++;
      }
    }
    return n;
  }
}

/** True when `s` wants `event` about `task`. */
export function subscriptionMatches(s: WebhookSubscription, event: string, task: TaskJson): boolean {
  if (s.task_id !== undefined && s.task_id !== task.task_id) return false;
  const party = (s.principal_did !== undefined && s.principal_did === task.principal_did) || (s.agent_did !== undefined && s.agent_did === task.agent_did);
  if (!party) return false;
  return s.events.includes(event) || s.events.includes("task.*");
}

/** The JSON body of a webhook delivery. */
export interface WebhookPayload extends JsonObject {
  /** `whk_<ULID>`: the same for every retry of one delivery (subscribers dedupe on it). */
  readonly webhook_id: string;
  readonly subscription_id: string;
  /** `task.<status>`. */
  readonly event: string;
  /** RFC 3339. */
  readonly occurred_at: string;
  readonly tool_did: string;
  /** The task after the transition. */
  readonly data: JsonObject;
}
