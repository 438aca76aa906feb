/**
 * The spec's example Tool (OAP-CORE-1.0 §6, examples/weather-pro): "Weather Pro", served by
 * `agentwire serve` by default. Its manifest is the upstream example's with the server-written
 * members (endpoints, DIDs) left out, `supports_async: true`, and two actions added next to the
 * spec's `get_forecast`:
 *
 * - `get_forecast` (the spec's action: per call 0.001 EUR, `side_effects: none`, minimal risk so
 *   anonymous calls are allowed, idempotent for 60 s): a deterministic synthetic forecast,
 *   one `oap.progress` event per day when streamed;
 * - `find_location` (free, `side_effects: read`): looks places up in a small built-in gazetteer —
 *   also the free read action the upstream conformance probes call;
 * - `climate_report` (async: answered with a §9.2 task): a multi-year summary; when the place
 *   is ambiguous the task asks which one is meant (`awaiting_input`).
 *
 * The numbers are synthetic (SHA-256 of place and date), not weather data.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import { actionResult, defineTool, type ActionContext, type OapManifestInput, type OapToolDefinition } from "../server/tool.js";

/** A gazetteer entry. */
export interface Place {
  readonly name: string;
  readonly region: string;
  readonly country: string;
  readonly latitude: number;
  readonly longitude: number;
}

/** The built-in gazetteer. */
export const PLACES: readonly Place[] = Object.freeze([
  { name: "Berlin", region: "Berlin", country: "DE", latitude: 52.52, longitude: 13.405 },
  { name: "Hamburg", region: "Hamburg", country: "DE", latitude: 53.551, longitude: 9.994 },
  { name: "Munich", region: "Bavaria", country: "DE", latitude: 48.137, longitude: 11.575 },
  { name: "Frankfurt", region: "Hesse (am Main)", country: "DE", latitude: 50.11, longitude: 8.682 },
  { name: "Frankfurt", region: "Brandenburg (an der Oder)", country: "DE", latitude: 52.347, longitude: 14.55 },
  { name: "Vienna", region: "Vienna", country: "AT", latitude: 48.208, longitude: 16.373 },
  { name: "Zurich", region: "Zurich", country: "CH", latitude: 47.376, longitude: 8.541 },
  { name: "Paris", region: "Île-de-France", country: "FR", latitude: 48.857, longitude: 2.352 },
  { name: "Amsterdam", region: "North Holland", country: "NL", latitude: 52.368, longitude: 4.904 },
  { name: "Madrid", region: "Madrid", country: "ES", latitude: 40.417, longitude: -3.704 },
  { name: "Rome", region: "Lazio", country: "IT", latitude: 41.903, longitude: 12.496 },
  { name: "Warsaw", region: "Masovia", country: "PL", latitude: 52.23, longitude: 21.012 },
  { name: "New York", region: "New York", country: "US", latitude: 40.713, longitude: -74.006 },
]);

const FORECAST_INPUT = {
  type: "object",
  required: ["location", "days"],
  properties: { location: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 14 } },
};
const FORECAST_OUTPUT = {
  type: "object",
  required: ["forecast"],
  properties: {
    forecast: {
      type: "array",
      items: {
        type: "object",
        properties: {
          date: { type: "string", format: "date" },
          temperature_c_min: { type: "number" },
          temperature_c_max: { type: "number" },
          precipitation_mm: { type: "number" },
          summary: { type: "string" },
        },
      },
    },
  },
};
const PLACE_SCHEMA = {
  type: "object",
  required: ["name", "region", "country", "latitude", "longitude"],
  properties: { name: { type: "string" }, region: { type: "string" }, country: { type: "string", pattern: "^[A-Z]{2}$" }, latitude: { type: "number" }, longitude: { type: "number" } },
};

/** The Weather Pro manifest without endpoints and DIDs (the server writes them). */
export const WEATHER_MANIFEST: OapManifestInput = {
  oap_version: "1.0",
  tool: {
    id: "weather-pro",
    name: "Weather Pro",
    version: "2.4.1",
    publisher: { legal_name: "Weather Pro GmbH", registry: { type: "Handelsregister", id: "HRB 123456 B", country: "DE" }, verified: false },
    categories: ["data", "weather", "geospatial"],
    description_for_humans: "Global weather forecasts and historical climate data (agentwire example: synthetic numbers).",
    description_for_agents:
      "Provides numerical weather prediction outputs for any geographic point. Use get_forecast for short term forecasts up to 14 days, find_location to resolve a place name, and climate_report (asynchronous) for multi-year summaries. Values are synthetic and deterministic.",
  },
  auth: [{ method: "anonymous" }, { method: "api_key" }, { method: "oauth2_1" }, { method: "oap_trust_token" }],
  actions: [
    {
      id: "find_location",
      version: "1.0.0",
      summary: "Resolve a place name to coordinates.",
      description_for_agents: "Looks a place name up in the gazetteer and returns matching places with region, ISO 3166 country and coordinates. Without a query it lists known places.",
      input_schema: { type: "object", properties: { query: { type: "string", maxLength: 200 }, max_results: { type: "integer", minimum: 1, maximum: 20 } } },
      output_schema: { type: "object", required: ["locations"], properties: { locations: { type: "array", items: PLACE_SCHEMA } } },
      side_effects: "read",
      idempotent: false,
      cost: { type: "free" },
      latency_p95_ms: 20,
      rate_limit: { rpm: 600, concurrent: 20 },
      requires_consent: false,
      risk_class: "minimal",
      data_classes_in: ["place_name"],
      data_classes_out: ["geolocation_coarse"],
      examples: [
        { input: { query: "Berlin", max_results: 1 }, output: { locations: [{ name: "Berlin", region: "Berlin", country: "DE", latitude: 52.52, longitude: 13.405 }] } },
      ],
    },
    {
      id: "get_forecast",
      version: "2.4.1",
      summary: "Numerical weather forecast for a geographic point.",
      description_for_agents: "Returns a structured forecast for the given location and number of days. Suitable for automated planning, alerts, and routing decisions.",
      input_schema: FORECAST_INPUT,
      output_schema: FORECAST_OUTPUT,
      side_effects: "none",
      idempotent: true,
      idempotency_window_seconds: 60,
      cost: { type: "per_call", amount: "0.001", currency: "EUR" },
      latency_p95_ms: 200,
      rate_limit: { rpm: 60, concurrent: 10 },
      requires_consent: false,
      risk_class: "minimal",
      data_classes_in: ["geolocation_coarse"],
      data_classes_out: ["weather_observation"],
      examples: [
        {
          input: { location: "Berlin, DE", days: 3 },
          output: { forecast: [{ date: "2026-05-03", temperature_c_min: 9, temperature_c_max: 17, precipitation_mm: 0.2, summary: "Partly cloudy" }] },
        },
      ],
    },
    {
      id: "climate_report",
      version: "1.0.0",
      summary: "Multi-year climate summary for a place (asynchronous).",
      description_for_agents:
        "Computes yearly mean temperature and precipitation for a place over a range of years. Runs as an asynchronous task; when the place name is ambiguous the task asks which place is meant.",
      input_schema: {
        type: "object",
        required: ["location", "from_year", "to_year"],
        properties: { location: { type: "string", maxLength: 200 }, from_year: { type: "integer", minimum: 1979, maximum: 2100 }, to_year: { type: "integer", minimum: 1979, maximum: 2100 } },
      },
      output_schema: {
        type: "object",
        required: ["place", "years"],
        properties: {
          place: PLACE_SCHEMA,
          years: { type: "array", items: { type: "object", required: ["year", "mean_temperature_c", "precipitation_mm"], properties: { year: { type: "integer" }, mean_temperature_c: { type: "number" }, precipitation_mm: { type: "number" } } } },
        },
      },
      side_effects: "none",
      idempotent: false,
      cost: { type: "per_call", amount: "0.010", currency: "EUR" },
      latency_p95_ms: 5000,
      rate_limit: { rpm: 30, concurrent: 5 },
      requires_consent: false,
      risk_class: "minimal",
      data_classes_in: ["geolocation_coarse"],
      data_classes_out: ["climate_statistics"],
      examples: [
        {
          input: { location: "Vienna", from_year: 2020, to_year: 2021 },
          output: {
            place: { name: "Vienna", region: "Vienna", country: "AT", latitude: 48.208, longitude: 16.373 },
            years: [
              { year: 2020, mean_temperature_c: 11.2, precipitation_mm: 612.4 },
              { year: 2021, mean_temperature_c: 10.8, precipitation_mm: 588.1 },
            ],
          },
        },
      ],
    },
  ],
  pricing: {
    free_tier: { calls_per_day: 100 },
    models: [
      { type: "per_call", amount: "0.001", currency: "EUR" },
      {
        type: "subscription",
        tiers: [
          { id: "pro", amount: "9.99", currency: "EUR", interval: "month" },
          { id: "enterprise", amount: "99.00", currency: "EUR", interval: "month" },
        ],
      },
    ],
  },
  sla: {
    uptime_target: 0.999,
    latency_p95_ms: 300,
    latency_p99_ms: 800,
    max_call_duration_ms: 30000,
    supports_streaming: true,
    supports_async: true,
    regions: ["eu-central"],
    max_concurrency_per_principal: 10,
    incident_disclosure_within_hours: 72,
    scheduled_maintenance_notice_hours: 168,
  },
  trust: {
    publisher_verified: false,
    data_residency: ["EU"],
    gdpr_compliant: true,
    open_source: null,
    trust_score: null,
    user_reviews: null,
    incidents_last_90d: 0,
  },
  data_policy: {
    stores_principal_data: true,
    retention_days: 30,
    shares_with_third_parties: false,
    third_parties: [],
    training_on_principal_data: "never",
    deletion_endpoint: "/oap/data/delete",
    export_endpoint: "/oap/data/export",
    lawful_bases: ["contract"],
    special_categories_handled: [],
    international_transfers: [],
  },
  risk_class: "minimal",
  jurisdictions: ["DE", "AT", "CH", "FR", "NL", "ES", "IT", "PL", "US"],
  governance: {
    dispute_resolution_url: "https://weatherpro.example/legal/disputes",
    contact_email: "compliance@weatherpro.example",
    revocation_status_url: "https://weatherpro.example/oap/revocation",
  },
} as unknown as OapManifestInput;

/** Deterministic pseudo-random number in [0, 1) for a key. */
function unit(key: string): number {
  return createHash("sha256").update(key).digest().readUInt32BE(0) / 2 ** 32;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function climateOf(place: Place | string): { base: number; key: string } {
  const key = typeof place === "string" ? place.trim().toLowerCase() : `${place.name}/${place.region}`.toLowerCase();
  const lat = typeof place === "string" ? 48 : place.latitude;
  return { base: 27 - 0.35 * lat, key };
}

const SUMMARIES = ["Sunny", "Partly cloudy", "Cloudy", "Light rain", "Showers", "Windy"];

/** Places whose name matches `query` (case-insensitive prefix of name, region or "name, CC"). */
export function findPlaces(query: string | undefined): Place[] {
  if (query === undefined || query.trim() === "") return [...PLACES];
  const q = query.trim().toLowerCase();
  const head = q.split(",")[0]?.trim() ?? q;
  return PLACES.filter((p) => p.name.toLowerCase() === head || p.name.toLowerCase().startsWith(q) || `${p.name}, ${p.country}`.toLowerCase() === q);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Options of {@link weatherTool}. */
export interface WeatherToolOptions {
  /** Simulated work per forecast day / report year, ms (default 0). */
  readonly stepDelayMs?: number;
}

interface ForecastInput {
  readonly location: string;
  readonly days: number;
}
interface FindInput {
  readonly query?: string;
  readonly max_results?: number;
}
interface ReportInput {
  readonly location: string;
  readonly from_year: number;
  readonly to_year: number;
}

/** The Weather Pro tool definition. */
export function weatherTool(options: WeatherToolOptions = {}): OapToolDefinition {
  const step = options.stepDelayMs ?? 0;
  return defineTool({
    manifest: WEATHER_MANIFEST,
    locales: ["en"],
    actions: {
      find_location: (input: FindInput) => ({ locations: findPlaces(input.query).slice(0, input.max_results ?? 5) as unknown as JsonObject[] }),
      get_forecast: async (input: ForecastInput, ctx: ActionContext) => {
        const start = Date.parse(ctx.requestTimestamp);
        const day0 = Number.isNaN(start) ? Date.UTC(2026, 4, 2) : start;
        const { base, key } = climateOf(findPlaces(input.location)[0] ?? input.location);
        const forecast: JsonObject[] = [];
        for (let i = 0; i < input.days; i++) {
          await sleep(step, ctx.signal);
          const date = new Date(day0 + (i + 1) * 86_400_000).toISOString().slice(0, 10);
          const r = unit(`${key}/${date}`);
          const min = round1(base - 4 + 6 * r);
          const day: JsonObject = { date, temperature_c_min: min, temperature_c_max: round1(min + 4 + 6 * unit(`${key}/${date}/max`)), precipitation_mm: round1(r > 0.6 ? 12 * (r - 0.6) : 0), summary: SUMMARIES[Math.floor(r * SUMMARIES.length)] as string };
          forecast.push(day);
          ctx.progress({ day: i + 1, of: input.days, date });
        }
        return actionResult({ forecast }, { modelVersion: "agentwire-synthetic-1" });
      },
      climate_report: {
        mode: "async",
        estimatedSeconds: 5,
        handler: async (input: ReportInput, ctx: ActionContext) => {
          if (input.to_year < input.from_year) throw new OapError("ERR_OAP_INPUT_INVALID", "to_year must not be before from_year");
          if (input.to_year - input.from_year > 50) throw new OapError("ERR_OAP_INPUT_INVALID", "at most 50 years per report");
          let candidates = findPlaces(input.location);
          if (candidates.length === 0) throw new OapError("ERR_OAP_NOT_FOUND", `unknown place ${input.location}`);
          if (candidates.length > 1) {
            const answer = await ctx.requestInput({
              prompt: `"${input.location}" is ambiguous: which one?`,
              schema: { type: "object", required: ["region"], properties: { region: { enum: candidates.map((c) => c.region) } } },
              choices: candidates.map((c) => ({ region: c.region, country: c.country })),
            });
            const region = (answer as { region: string }).region;
            candidates = candidates.filter((c) => c.region === region);
          }
          const place = candidates[0] as Place;
          const { base, key } = climateOf(place);
          const years: JsonObject[] = [];
          for (let y = input.from_year; y <= input.to_year; y++) {
            await sleep(step, ctx.signal);
            years.push({ year: y, mean_temperature_c: round1(base + 4 + 2 * unit(`${key}/${y}`)), precipitation_mm: round1(400 + 500 * unit(`${key}/${y}/p`)) });
          }
          return { place: place as unknown as JsonObject, years };
        },
      },
    },
  });
}
