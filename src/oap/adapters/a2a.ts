/**
 * A2A ⇄ OAP mapping (OAP-CORE-1.0 §38.2): import an A2A Agent Card as an L0 OAP manifest (one
 * action per skill) and publish an OAP manifest as an Agent Card. Pure functions over the A2A
 * AgentCard shape (`name`, `description`, `url`, `version`, `provider`, `capabilities`,
 * `defaultInputModes`, `defaultOutputModes`, `skills[] {id, name, description, tags, examples,
 * inputModes, outputModes}`).
 *
 * A skill takes and gives A2A messages, not JSON with a schema, so an imported action's input
 * is `{text?, data?}` (a TextPart and/or a DataPart; at least one) and its output
 * `{text?, data?, artifacts?}`. Skills are assumed to act on the world (`side_effects:
 * "external"`, not idempotent) — an Agent Card does not say otherwise. The skill's example
 * prompts become example inputs. The Tool DID defaults to did:web of the card URL's host.
 *
 * @module
 */
import type { OapAction } from "../../../gen/types/oap/oap-action.js";
import type { OapManifest } from "../../../gen/types/oap/oap-manifest.js";
import type { JsonObject } from "../../json/types.js";
import { OapError } from "../errors.js";
import { actionIdFor, l0Manifest, toolIdFor, type L0ManifestInput } from "./l0.js";

/** An A2A skill. */
export interface A2aSkill {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly tags?: readonly string[];
  readonly examples?: readonly string[];
  readonly inputModes?: readonly string[];
  readonly outputModes?: readonly string[];
}

/** An A2A Agent Card (the members this mapping reads or writes). */
export interface A2aAgentCard {
  readonly name: string;
  readonly description: string;
  readonly url: string;
  readonly version: string;
  readonly protocolVersion?: string;
  readonly provider?: { readonly organization: string; readonly url?: string };
  readonly capabilities?: { readonly streaming?: boolean; readonly pushNotifications?: boolean; readonly stateTransitionHistory?: boolean };
  readonly defaultInputModes?: readonly string[];
  readonly defaultOutputModes?: readonly string[];
  readonly skills: readonly A2aSkill[];
  readonly documentationUrl?: string;
  readonly iconUrl?: string;
}

/** The input schema of an imported skill. */
export const A2A_SKILL_INPUT_SCHEMA: JsonObject = Object.freeze({
  type: "object",
  properties: { text: { type: "string", minLength: 1 }, data: { type: "object" } },
  minProperties: 1,
  additionalProperties: false,
}) as JsonObject;

/** The output schema of an imported skill. */
export const A2A_SKILL_OUTPUT_SCHEMA: JsonObject = Object.freeze({
  type: "object",
  properties: { text: { type: "string" }, data: { type: "object" }, artifacts: { type: "array", items: { type: "object" } } },
  additionalProperties: false,
}) as JsonObject;

/** did:web of a URL's host (port encoded as %3A). */
export function didWebOf(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OapError("ERR_OAP_INPUT_INVALID", `not a URL: ${url}`);
  }
  return `did:web:${u.host.replace(":", "%3A")}`;
}

function semver(v: string): string {
  return /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/u.test(v) ? v : /^\d+\.\d+$/u.test(v) ? `${v}.0` : /^\d+$/u.test(v) ? `${v}.0.0` : "0.0.0";
}

/** One skill as an OAP action. */
export function a2aSkillToOapAction(skill: A2aSkill, version: string, taken: ReadonlySet<string> = new Set()): OapAction {
  const examples = (skill.examples ?? []).filter((e) => e.trim().length > 0).slice(0, 5);
  const summary = (skill.name.trim() || skill.id).slice(0, 240);
  const description = (skill.description.trim() || summary).slice(0, 4000);
  return {
    id: actionIdFor(skill.id, taken),
    version: semver(version),
    summary,
    description_for_agents: description,
    input_schema: structuredClone(A2A_SKILL_INPUT_SCHEMA),
    output_schema: structuredClone(A2A_SKILL_OUTPUT_SCHEMA),
    side_effects: "external",
    idempotent: false,
    cost: { type: "free" },
    requires_consent: false,
    rate_limit: { rpm: 60, concurrent: 1 },
    data_classes_in: [],
    data_classes_out: [],
    examples: (examples.length > 0 ? examples : [summary]).map((text) => ({ input: { text }, output: {}, description: "Example prompt from the A2A Agent Card; the output is not known." })),
  } as unknown as OapAction;
}

/** Publisher facts the card lacks (the rest of {@link L0ManifestInput} defaults from the card). */
export type A2aImportInput = Omit<L0ManifestInput, "tool"> & {
  readonly tool?: Partial<OapManifest["tool"]>;
  readonly publisher?: OapManifest["tool"]["publisher"];
};

/** An A2A Agent Card as an L0 OAP manifest. */
export function a2aAgentCardToOapManifest(card: A2aAgentCard, input: A2aImportInput): OapManifest {
  if (card.skills.length === 0) throw new OapError("ERR_OAP_INPUT_INVALID", "the Agent Card has no skills");
  const did = input.tool?.did ?? didWebOf(card.url);
  const taken = new Set<string>();
  const actions = card.skills.map((s) => {
    const a = a2aSkillToOapAction(s, card.version, taken);
    taken.add(a.id);
    return a;
  });
  const tags = [...new Set(card.skills.flatMap((s) => s.tags ?? []))];
  const tool: OapManifest["tool"] = {
    id: input.tool?.id ?? toolIdFor(card.name),
    did,
    name: input.tool?.name ?? card.name.slice(0, 128),
    version: input.tool?.version ?? semver(card.version),
    publisher: input.publisher ?? input.tool?.publisher ?? { did, legal_name: card.provider?.organization ?? card.name, verified: false },
    categories: input.tool?.categories ?? ((tags.length > 0 ? tags.slice(0, 10) : ["agent"]) as OapManifest["tool"]["categories"]),
    description_for_humans: input.tool?.description_for_humans ?? (card.description.trim() || card.name).slice(0, 4000),
    description_for_agents: input.tool?.description_for_agents ?? (card.description.trim() || card.name).slice(0, 4000),
    ...(card.iconUrl === undefined ? {} : { icon: card.iconUrl }),
  };
  return l0Manifest({ ...input, tool }, actions);
}

/** An OAP manifest as an A2A Agent Card served at `url` (skills = non-deprecated actions). */
export function oapManifestToA2aAgentCard(manifest: OapManifest, url: string): A2aAgentCard {
  return {
    name: manifest.tool.name,
    description: manifest.tool.description_for_agents,
    url,
    version: manifest.tool.version,
    protocolVersion: "0.3.0",
    provider: { organization: manifest.tool.publisher.legal_name },
    capabilities: { streaming: manifest.sla.supports_streaming === true, pushNotifications: manifest.endpoints.subscribe !== undefined },
    defaultInputModes: ["application/json", "text/plain"],
    defaultOutputModes: ["application/json"],
    skills: manifest.actions
      .filter((a) => a.deprecated !== true)
      .map((a) => ({
        id: a.id,
        name: a.summary,
        description: a.description_for_agents,
        tags: [...manifest.tool.categories, a.side_effects],
        examples: a.examples.flatMap((e) => (e.description === undefined ? [] : [e.description])).slice(0, 5),
        inputModes: ["application/json"],
        outputModes: ["application/json"],
      })),
    ...(manifest.tool.icon === undefined ? {} : { iconUrl: manifest.tool.icon }),
  };
}
