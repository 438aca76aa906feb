/**
 * Incident reports (OAP-CORE-1.0 §22.2): Tools publish material incidents at the `incident`
 * endpoint within the SLA's `incident_disclosure_within_hours`, and in any case within 72 hours
 * for Tools above 10,000 monthly active Principals. Reports include scope, root cause,
 * mitigation, affected Principals and notification timeline (schemas/oap/oap-incident).
 *
 * {@link IncidentRegistry.report} builds and validates the document (`disclosed_at` = now) and
 * tells whether the disclosure met its deadline; `update` moves the status forward only
 * (open → mitigated → resolved → post_mortem_published); `list` answers `GET incident`.
 *
 * @module
 */
import type { OapIncident } from "../../../gen/types/oap/oap-incident.js";
import { assertOapDocument } from "../documents.js";
import { OapError } from "../errors.js";
import { clockMs, oapUlid, parseRfc3339Ms, rfc3339, systemClock, systemRandom, type OapClock, type OapRandom } from "../util.js";

export type { OapIncident } from "../../../gen/types/oap/oap-incident.js";

/** Status order (forward only). */
export const INCIDENT_STATUS_ORDER: readonly OapIncident["status"][] = Object.freeze(["open", "mitigated", "resolved", "post_mortem_published"]);

/** Monthly active Principals above which the 72-hour cap applies. */
export const NIS2_MAP_THRESHOLD = 10_000;

/** §22.2 deadline: the SLA window, capped at 72 h above 10,000 monthly active Principals. */
export function disclosureDeadline(detectedAt: string, slaHours: number, monthlyActivePrincipals = 0): string {
  const detected = parseRfc3339Ms(detectedAt);
  if (detected === undefined) throw new OapError("ERR_OAP_INPUT_INVALID", "detected_at must be an RFC 3339 date-time");
  const hours = monthlyActivePrincipals > NIS2_MAP_THRESHOLD ? Math.min(slaHours, 72) : slaHours;
  return new Date(detected + hours * 3_600_000).toISOString();
}

/** Storage of incidents. */
export interface IncidentRecordStore {
  put(incident: OapIncident): void | Promise<void>;
  get(id: string): OapIncident | undefined | Promise<OapIncident | undefined>;
  list(): OapIncident[] | Promise<OapIncident[]>;
}

/** In-memory {@link IncidentRecordStore}. */
export class MemoryIncidentRecordStore implements IncidentRecordStore {
  readonly #map = new Map<string, OapIncident>();
  put(incident: OapIncident): void {
    this.#map.set(incident.incident_id, structuredClone(incident));
  }
  get(id: string): OapIncident | undefined {
    const i = this.#map.get(id);
    return i === undefined ? undefined : structuredClone(i);
  }
  list(): OapIncident[] {
    return [...this.#map.values()].map((i) => structuredClone(i));
  }
}

/** A new incident (everything but the id and the disclosure time). */
export type IncidentInput = Omit<OapIncident, "incident_id" | "tool_did" | "disclosed_at" | "status"> & { readonly status?: OapIncident["status"] };

/** Options of {@link IncidentRegistry}. */
export interface IncidentRegistryOptions {
  readonly toolDid: string;
  /** The manifest's `sla.incident_disclosure_within_hours`. */
  readonly disclosureWithinHours: number;
  /** Monthly active Principals (the 72-hour cap above 10,000). */
  readonly monthlyActivePrincipals?: number;
  readonly store?: IncidentRecordStore;
  /** Also hands every published or updated incident to this hook (e.g. the server's incident store). */
  readonly onPublish?: (incident: OapIncident) => void | Promise<void>;
  readonly clock?: OapClock;
  readonly random?: OapRandom;
}

/** A published incident and whether it met the deadline. */
export interface PublishedIncident {
  readonly incident: OapIncident;
  readonly deadline: string;
  readonly late: boolean;
}

/** §22.2 incident publication. */
export class IncidentRegistry {
  readonly #o: IncidentRegistryOptions;
  readonly #store: IncidentRecordStore;
  readonly #clock: OapClock;
  readonly #random: OapRandom;

  constructor(options: IncidentRegistryOptions) {
    this.#o = options;
    this.#store = options.store ?? new MemoryIncidentRecordStore();
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
  }

  /** Publishes an incident now. */
  async report(input: IncidentInput): Promise<PublishedIncident> {
    const now = this.#clock();
    const incident = {
      incident_id: `urn:oap:incident:${oapUlid(clockMs(this.#clock), this.#random)}`,
      tool_did: this.#o.toolDid,
      ...structuredClone(input),
      disclosed_at: rfc3339(now),
      status: input.status ?? "open",
    } as OapIncident;
    assertOapDocument("oap-incident", incident);
    const deadline = disclosureDeadline(incident.detected_at, this.#o.disclosureWithinHours, this.#o.monthlyActivePrincipals);
    await this.#store.put(incident);
    await this.#o.onPublish?.(incident);
    return { incident, deadline, late: now.getTime() > Date.parse(deadline) };
  }

  /** Updates an incident; the status may only move forward. */
  async update(id: string, patch: Partial<Omit<OapIncident, "incident_id" | "tool_did" | "detected_at" | "disclosed_at">>): Promise<OapIncident> {
    const current = await this.#store.get(id);
    if (current === undefined) throw new OapError("ERR_OAP_NOT_FOUND", `unknown incident ${id}`);
    const next = { ...current, ...structuredClone(patch) } as OapIncident;
    if (INCIDENT_STATUS_ORDER.indexOf(next.status) < INCIDENT_STATUS_ORDER.indexOf(current.status)) {
      throw new OapError("ERR_OAP_CONFLICT", `incident status cannot go back from ${current.status} to ${next.status}`, { details: { current: current.status, requested: next.status } });
    }
    if ((next.status === "resolved" || next.status === "post_mortem_published") && next.resolved_at === undefined) next.resolved_at = rfc3339(this.#clock());
    assertOapDocument("oap-incident", next);
    await this.#store.put(next);
    await this.#o.onPublish?.(next);
    return next;
  }

  /** Incidents for `GET incident` (newest disclosure first), optionally since a time or by status. */
  async list(filter: { readonly since?: string; readonly status?: OapIncident["status"] } = {}): Promise<{ incidents: OapIncident[] }> {
    const since = filter.since === undefined ? undefined : parseRfc3339Ms(filter.since);
    const all = (await this.#store.list()).filter((i) => (since === undefined || Date.parse(i.disclosed_at) >= since) && (filter.status === undefined || i.status === filter.status));
    all.sort((a, b) => Date.parse(b.disclosed_at) - Date.parse(a.disclosed_at));
    return { incidents: all };
  }
}
