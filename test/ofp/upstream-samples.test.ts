/**
 * Every upstream sample, enumerated: what agentwire detects it as, whether it validates, and
 * where upstream's samples disagree with upstream's schemas (docs/ofp.md, "Upstream samples").
 */
import { describe, expect, it } from "vitest";
import type { SchemaName } from "../../gen/schemas.js";
import { detectSchema } from "../../src/schema/validate.js";
import { validateOfp } from "../../src/ofp/index.js";
import { upstreamSamples } from "./helpers.js";

interface Expected {
  /** Detected schema, or null when the file is no Open Floor / OVON document. */
  schema: SchemaName | null;
  valid?: boolean;
  /** JSON pointers the errors must include. */
  errorsAt?: string[];
  /** Valid with `lenient: true`. */
  lenient?: boolean;
}

const EXPECTED: Record<string, Expected> = {
  "lib-interop/javascript/sample-json/utterance0.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "lib-interop/python/sample-json/example-ovon-bye-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "lib-interop/python/sample-json/example-ovon-response-and-delegate-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "lib-interop/python/sample-json/example-ovon-response-and-delegate-verbose.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "lib-interop/python/sample-json/example-ovon-system-response-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "lib-interop/python/sample-json/example-ovon-system-response-verbose.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "lib-interop/python/sample-json/example-ovon-user-input-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "lib-interop/python/sample-json/example-ovon-user-input-verbose.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "lib-interop/python/sample-json/figure2.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "lib-interop/python/sample-json/figure3.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "lib-interop/python/sample-json/figure4.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "lib-interop/python/sample-json/history1.json": { schema: null },
  "lib-interop/python/sample-json/utterance0.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "lib-interop/python/sample-json/utterance4a.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "lib-interop/python/sample-json/utterance5.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "openfloor-docs/schemas/assistant-manifest/0.9.0/sample-json/example-manifest1.json": { schema: "ovon-assistant-manifest-0.9.0", valid: true },
  "openfloor-docs/schemas/assistant-manifest/0.9.1/sample-json/example-manifest1.json": { schema: "ovon-assistant-manifest-0.9.1", valid: true },
  "openfloor-docs/schemas/assistant-manifest/0.9.2/sample-json/example-manifest1.json": { schema: "ofp-assistant-manifest-1.0.1", valid: true },
  "openfloor-docs/schemas/assistant-manifest/1.0.0/sample-json/example-manifest1.json": { schema: "ofp-assistant-manifest-1.0.1", valid: true },
  "openfloor-docs/schemas/assistant-manifest/1.0.1/sample-json/example-manifest1.json": { schema: "ofp-assistant-manifest-1.0.1", valid: true },
  "openfloor-docs/schemas/assistant-manifest/1.0.1/sample-json/example-manifest2.json": { schema: "ofp-assistant-manifest-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.1/sample-json/example-ovon-bye-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.1/sample-json/example-ovon-response-and-delegate-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.1/sample-json/example-ovon-response-and-delegate-verbose.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.1/sample-json/example-ovon-system-response-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.1/sample-json/example-ovon-system-response-verbose.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.1/sample-json/example-ovon-user-input-minimal.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.1/sample-json/example-ovon-user-input-verbose.json": { schema: "ovon-envelope-0.9.3", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-bye-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-findAssistant.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-proposeAssistant.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-publishManifest.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-requestManifest.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-response-and-delegate-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-response-and-delegate-verbose.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-system-response-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-system-response-verbose.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-user-input-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.2/sample-json/example-ovon-user-input-verbose.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-bye-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-findAssistant.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-proposeAssistant.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-publishManifest.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-requestManifest.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-response-and-delegate-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-response-and-delegate-verbose.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-system-response-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-system-response-verbose.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-user-input-minimal.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.3/sample-json/example-ovon-user-input-verbose.json": { schema: "ovon-envelope-0.9.2", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-bye.json": { schema: "ofp-envelope-0.9.4", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-context.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-declineInvite.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-envelope.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-getManifests1.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-getManifests2.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-getManifests3.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-grantFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-invite.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-publishManifests.json": { schema: "ofp-envelope-0.9.4", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-requestFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-revokeFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-uninvite.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-utterance.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/0.9.4/sample-json/example-yieldFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-bye.json": { schema: "ofp-envelope-0.9.4", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-context.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-declineInvite.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-envelope.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-getManifests1.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-getManifests2.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-getManifests3.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-grantFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-invite.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-publishManifests.json": { schema: "ofp-envelope-0.9.4", valid: false, errorsAt: ["/openFloor/events/0/eventType"] },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-requestFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-revokeFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-uninvite.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-utterance.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-yieldFloor.json": { schema: "ofp-envelope-1.0.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-acceptInvite.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-bye.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-declineInvite.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-envelope.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-getManifests1.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-getManifests2.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-getManifests3.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-grantFloor.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-invite-with-dialogHistory.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-invite.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-multiparty-conversation.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-publishManifests.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-requestFloor.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-revokeFloor.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-uninvite.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-utterance.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.0.1/sample-json/example-yieldFloor.json": { schema: "ofp-envelope-1.0.1", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-acceptInvite.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-bye.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-declineInvite.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-envelope.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-getManifests1.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-getManifests2.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-getManifests3.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-grantFloor.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-invite-with-dialogHistory.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-invite.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-multiparty-conversation.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-publishManifests.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-requestFloor.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-revokeFloor.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-uninvite.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-utterance.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-yieldFloor.json": { schema: "ofp-envelope-1.1.0", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.1/sample-json/figure2.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.1/sample-json/figure3.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.1/sample-json/figure4.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.1/sample-json/utterance0.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.1/sample-json/utterance4a.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.1/sample-json/utterance5.json": { schema: "ovon-dialog-event-1.0.1", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.2/sample-json/figure2.json": { schema: "ofp-dialog-event-1.0.2", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.2/sample-json/figure3.json": { schema: "ofp-dialog-event-1.0.2", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.2/sample-json/figure4.json": { schema: "ofp-dialog-event-1.0.2", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.2/sample-json/utterance0.json": { schema: "ofp-dialog-event-1.0.2", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.2/sample-json/utterance4a.json": { schema: "ofp-dialog-event-1.0.2", valid: true },
  "openfloor-docs/schemas/dialog-event/1.0.2/sample-json/utterance5.json": { schema: "ofp-dialog-event-1.0.2", valid: true },
  "openfloor-python/python/sample_json/dialog_event1.json": { schema: "ofp-dialog-event-1.0.2", valid: true },
  "openfloor-python/python/sample_json/envelope0.json": { schema: "ofp-envelope-1.0.0", valid: false, errorsAt: ["/openFloor/conversation/conversants/0/identification/organization","/openFloor/conversation/conversants/0/identification/synopsis"], lenient: true },
  "openfloor-python/python/sample_json/envelope1.json": { schema: "ofp-envelope-1.0.0", valid: false, errorsAt: ["/openFloor/conversation/conversants/0/identification/organization","/openFloor/conversation/conversants/0/identification/synopsis"], lenient: true },
  "openfloor-python/python/sample_json/envelope2.json": { schema: "ofp-envelope-1.0.0", valid: false, errorsAt: ["/openFloor/conversation/conversants/0/identification/organization","/openFloor/conversation/conversants/0/identification/synopsis"], lenient: true },
  "openfloor-python/python/sample_json/manifest1.json": { schema: "ofp-assistant-manifest-1.0.1", valid: true },
  "openfloor-python/python/sample_json/out_envelope0.json": { schema: "ofp-envelope-1.0.0", valid: false, errorsAt: ["/openFloor/conversation/conversants/0/identification/organization","/openFloor/conversation/conversants/0/identification/synopsis"], lenient: true },
  "openfloor-python/python/sample_json/out_envelope1.json": { schema: "ofp-envelope-1.0.0", valid: false, errorsAt: ["/openFloor/conversation/conversants/0/identification/organization","/openFloor/conversation/conversants/0/identification/synopsis"], lenient: true },
  "openfloor-python/python/src/envelope1.json": { schema: null },
};

describe("every upstream sample is classified", () => {
  const samples = upstreamSamples();
  it("there are 134 upstream samples, all listed here", () => {
    expect(samples).toHaveLength(134);
    expect(samples.map((s) => s.name)).toStrictEqual(Object.keys(EXPECTED).sort());
  });
  for (const { name, json } of samples) {
    const want = EXPECTED[name]!;
    it(`${name}: ${want.schema === null ? "not a document" : `${want.schema}, ${want.valid ? "valid" : "invalid"}`}`, () => {
      expect(detectSchema(json) ?? null).toBe(want.schema);
      if (want.schema === null) return;
      const r = validateOfp(json);
      expect(r.schema).toBe(want.schema);
      if (want.valid) expect(r.errors).toStrictEqual([]);
      expect(r.valid).toBe(want.valid);
      if (want.errorsAt) expect([...new Set(r.errors.map((e) => e.pointer))]).toStrictEqual(want.errorsAt);
      expect(validateOfp(json, { lenient: true }).valid).toBe(want.valid === true || want.lenient === true);
    });
  }
});

/** The schema an openfloor-docs sample belongs to, from its directory. */
function schemaOfDirectory(name: string): SchemaName | undefined {
  const m = name.match(/^openfloor-docs\/schemas\/(conversation-envelope|dialog-event|assistant-manifest)\/([0-9.]+)\//);
  if (!m) return undefined;
  const [, kind, v] = m as unknown as [string, string, string];
  const ovon = v.startsWith("0.9.") && v !== "0.9.4";
  if (kind === "conversation-envelope") return (ovon ? `ovon-envelope-${v}` : `ofp-envelope-${v}`) as SchemaName;
  if (kind === "dialog-event") return v === "1.0.1" ? "ovon-dialog-event-1.0.1" : "ofp-dialog-event-1.0.2";
  return (ovon ? `ovon-assistant-manifest-${v}` : `ofp-assistant-manifest-${v}`) as SchemaName;
}

describe("every openfloor-docs sample validates against the schema of its own directory", () => {
  const docs = upstreamSamples().filter((s) => schemaOfDirectory(s.name) !== undefined);
  it("there are 111 of them", () => expect(docs).toHaveLength(111));
  for (const { name, json } of docs) {
    const schema = schemaOfDirectory(name)!;
    it(`${name} against ${schema}`, () => expect(validateOfp(json, { schema }).errors).toStrictEqual([]));
  }
});

describe("known disagreements between upstream samples and schemas", () => {
  const byName = (n: string) => upstreamSamples().find((s) => s.name === n)!.json;

  it("1.0.0 example-publishManifests declares version 0.9.2: detected as the 0.9.4 draft, which spells the event publishManifest", () => {
    const json = byName("openfloor-docs/schemas/conversation-envelope/1.0.0/sample-json/example-publishManifests.json");
    const r = validateOfp(json);
    expect(r.declaredVersion).toBe("0.9.2");
    expect(r.warnings).toContainEqual(expect.objectContaining({ pointer: "/openFloor/schema/version", rule: "§1.5" }));
    expect(validateOfp(json, { schema: "ofp-envelope-1.0.0" }).valid).toBe(true);
  });

  it("the reference Python library's envelopes omit identification.organization and synopsis: strict names them, lenient accepts", () => {
    for (const n of ["envelope0", "envelope1", "envelope2", "out_envelope0", "out_envelope1"]) {
      const json = byName(`openfloor-python/python/sample_json/${n}.json`);
      for (const schema of ["ofp-envelope-1.0.0", "ofp-envelope-1.0.1", "ofp-envelope-1.1.0"] as const) {
        const strict = validateOfp(json, { schema });
        expect(strict.errors.map((e) => [e.pointer, e.message])).toStrictEqual([
          ["/openFloor/conversation/conversants/0/identification/organization", "is required"],
          ["/openFloor/conversation/conversants/0/identification/synopsis", "is required"],
        ]);
        const lenient = validateOfp(json, { schema, lenient: true });
        expect(lenient.valid).toBe(true);
        expect(lenient.warnings.filter((w) => w.rule === "lenient").map((w) => w.pointer)).toStrictEqual(strict.errors.map((e) => e.pointer));
      }
    }
  });

  it("openfloor-python src/envelope1.json is the bare openFloor object (no wrapper); wrapped, it is a lenient-valid 1.0.0 context envelope", () => {
    const json = byName("openfloor-python/python/src/envelope1.json");
    const wrapped = { openFloor: json };
    expect(validateOfp(wrapped).valid).toBe(false);
    expect(validateOfp(wrapped, { lenient: true })).toMatchObject({ schema: "ofp-envelope-1.0.0", valid: true });
  });

  it("lib-interop history1.json holds Python reprs of dialog events as strings, not JSON", () => {
    const json = byName("lib-interop/python/sample-json/history1.json") as { history: unknown[] };
    expect(json.history.every((h) => typeof h === "string" && h.startsWith("{'id'"))).toBe(true);
  });

  it("lib-interop OVON samples validate against 0.9.0-0.9.3 but not 0.9.4 (which is an openFloor envelope)", () => {
    for (const s of upstreamSamples().filter((x) => x.name.startsWith("lib-interop/python/sample-json/example-ovon-"))) {
      for (const v of ["0.9.0", "0.9.1", "0.9.2", "0.9.3"]) expect(validateOfp(s.json, { schema: `ovon-envelope-${v}` as SchemaName }).valid).toBe(true);
      expect(validateOfp(s.json, { schema: "ofp-envelope-0.9.4" }).valid).toBe(false);
    }
  });

  it("OVON samples declare versions that do not exist (\"1.0\") or are older than their directory (0.9.3 samples say 0.9.2)", () => {
    const declared = new Map(upstreamSamples().flatMap((s) => { const r = validateOfp(s.json); return r.kind === "ovon" ? [[s.name, r.declaredVersion]] : []; }));
    expect(new Set(declared.values())).toStrictEqual(new Set(["1.0", "0.9.2"]));
  });

  it("nested dialog events in every envelope sample lack the id the dialog event schema requires (warning)", () => {
    const r = validateOfp(byName("openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-invite-with-dialogHistory.json"));
    expect(r.valid).toBe(true);
    expect(r.warnings.map((w) => w.pointer)).toStrictEqual([
      "/openFloor/events/0/parameters/dialogEvent/id",
      "/openFloor/events/1/parameters/dialogHistory/0/id",
      "/openFloor/events/1/parameters/dialogHistory/1/id",
      "/openFloor/events/1/parameters/dialogHistory/2/id",
    ]);
  });

  it("1.0.x/1.1.0 publishManifests samples publish OVON-era manifests (serviceName, list-valued supportedLayers): warnings", () => {
    const r = validateOfp(byName("openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-publishManifests.json"));
    expect(r.valid).toBe(true);
    expect(r.warnings.map((w) => w.pointer)).toStrictEqual([
      "/openFloor/events/0/parameters/discoveryManifests/0/capabilities/0/supportedLayers",
      "/openFloor/events/0/parameters/discoveryManifests/0/identification/conversationalName",
      "/openFloor/events/0/parameters/discoveryManifests/0/identification/organization",
      "/openFloor/events/0/parameters/servicingManifests/0/capabilities/0/supportedLayers",
    ]);
  });

  it("1.0.1/1.1.0 grantFloor samples have assignedFloorRoles and floorGranted but no conversants (§1.6.1 warning)", () => {
    const r = validateOfp(byName("openfloor-docs/schemas/conversation-envelope/1.1.0/sample-json/example-grantFloor.json"));
    expect(r.warnings).toContainEqual(expect.objectContaining({ pointer: "/openFloor/conversation/conversants", rule: "§1.6.1" }));
  });
});
