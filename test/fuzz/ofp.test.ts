/**
 * Fuzzing Open Floor / OVON (src/ofp): validateOfp (documented never to throw), the strict
 * parsers, the version translators (with and without residues, including hostile residue JSON
 * patches) and the `ofp/https` listener, all seeded with the upstream samples in
 * test/upstream/openfloor.
 */
import fc from "fast-check";
import { describe, expect } from "vitest";
import { isAgentwireError } from "../../src/errors.js";
import { createOfpHttpListener, OFP_JSON_MEDIA_TYPE } from "../../src/ofp/http.js";
import {
  openFloorToOvon,
  ovonToOpenFloor,
  parseDialogEvent,
  parseManifest,
  parseOfpEnvelope,
  parseOvonEnvelope,
  translateEnvelope,
  validateOfp,
  type OfpDocument,
} from "../../src/ofp/index.js";
import { validateDocument } from "../../src/validate.js";
import { ofpSamples } from "./corpus.js";
import { chunked, invoke } from "./http-mock.js";
import { FuzzFinding, fuzz, fuzzAsync, neverThrows, tally, typedOrValue } from "./harness.js";
import { applyByteOps, applyJsonOps, applyTextOps, byteOpsArb, mixedJsonOpsArb, OBJECT_MAX_DEPTH, sometimes, stringify, textOpsArb } from "./mutate.js";

const FILE = import.meta.url;
const samples = ofpSamples();
const envelopes = samples.filter((s) => typeof s.json === "object" && s.json !== null && ("openFloor" in s.json || "ovon" in s.json));

const docArb = fc.record({ i: fc.nat(), ops: mixedJsonOpsArb({ jsOnly: true }), envelopesOnly: fc.boolean() });
const pickDoc = (i: number, envelopesOnly: boolean): unknown => (envelopesOnly ? envelopes : samples)[i % (envelopesOnly ? envelopes.length : samples.length)]?.json;

const VERSIONS = ["1.0.0", "1.0.1", "1.1.0", "0.9.4", "0.9.0", "0.9.1", "0.9.2", "0.9.3", "2.0.0", ""] as const;
/** Mostly the default target version; sometimes an explicit (possibly wrong-family) one. */
const versionArb = sometimes(fc.constantFrom(...VERSIONS), 0.3);

describe("fuzz: Open Floor validation and parsing (src/ofp)", () => {
  fuzz(FILE, "validateOfp / validateDocument: mutated samples never throw", fc.tuple(docArb, fc.boolean()), ([{ i, ops, envelopesOnly }, lenient]) => {
    const doc = applyJsonOps(pickDoc(i, envelopesOnly), ops);
    const r = neverThrows("validateOfp", () => validateOfp(doc, { lenient }));
    tally(r.valid ? "valid" : `invalid:${r.errors[0]?.rule ?? "?"}`);
    neverThrows("validateDocument", () => validateDocument(doc));
  });

  fuzz(FILE, "parseOfpEnvelope / parseOvonEnvelope / parseDialogEvent / parseManifest: mutated text and values give a parsed document or a typed OfpError", fc.record({
    i: fc.nat(),
    ops: sometimes(mixedJsonOpsArb({ maxDepth: OBJECT_MAX_DEPTH }), 0.7),
    text: sometimes(textOpsArb(3), 0.4),
    asText: fc.boolean(),
    lenient: fc.boolean(),
  }), (c) => {
    const base = samples[c.i % samples.length];
    if (base === undefined) return;
    let input: unknown = c.ops === undefined ? base.json : applyJsonOps(base.json, c.ops);
    if (c.asText || c.text !== undefined) input = applyTextOps(c.ops === undefined ? base.text : stringify(input), c.text ?? []);
    const results = [
      typedOrValue("parseOfpEnvelope", () => parseOfpEnvelope(input, { lenient: c.lenient })),
      typedOrValue("parseOvonEnvelope", () => parseOvonEnvelope(input, { lenient: c.lenient })),
      typedOrValue("parseDialogEvent", () => parseDialogEvent(input)),
      typedOrValue("parseManifest", () => parseManifest(input, { lenient: c.lenient })),
    ];
    for (const r of results) if (!r.ok && !r.error.code.startsWith("ERR_OFP_")) throw new FuzzFinding(`an OFP parser threw a non-OFP code ${r.error.code}`);
    tally(results.map((r) => (r.ok ? "ok" : r.error.code)).join(","));
  }, { weight: 1 });
});

describe("fuzz: Open Floor / OVON translation (src/ofp/translate)", () => {
  fuzz(FILE, "translateEnvelope: mutated envelopes translate to a valid document or fail with a typed OfpError", fc.record({
    i: fc.nat(),
    ops: mixedJsonOpsArb({ jsOnly: true }),
    to: fc.constantFrom<"openFloor" | "ovon">("openFloor", "ovon"),
    version: versionArb,
    lenient: fc.boolean(),
    dropUnsupported: fc.boolean(),
    carry: fc.boolean(),
  }), (c) => {
    const doc = applyJsonOps(envelopes[c.i % envelopes.length]?.json, c.ops);
    const r = typedOrValue("translateEnvelope", () =>
      translateEnvelope(doc, { to: c.to, lenient: c.lenient, dropUnsupported: c.dropUnsupported, carry: c.carry, ...(c.version === undefined ? {} : { version: c.version }) }),
    );
    tally(r.ok ? `ok:${c.to}` : r.error.code);
    if (r.ok) {
      const v = validateOfp(r.value.document, { lenient: c.lenient });
      if (!v.valid) throw new FuzzFinding(`translateEnvelope returned an invalid document: ${JSON.stringify(v.errors[0])}`);
    }
  });

  // Translate once (a residue is carried), mutate the translation — residue patch included —
  // and translate back: restore() applies the (hostile) JSON patch.
  const translated = envelopes.flatMap((s) => {
    const out: { doc: unknown; back: "openFloor" | "ovon" }[] = [];
    for (const to of ["openFloor", "ovon"] as const) {
      try {
        out.push({ doc: translateEnvelope(s.json, { to, lenient: true, dropUnsupported: true }).document, back: to === "ovon" ? "openFloor" : "ovon" });
      } catch (e) {
        if (!isAgentwireError(e)) throw e;
      }
    }
    return out;
  });

  fuzz(FILE, "ovonToOpenFloor / openFloorToOvon: mutated translations with residues (hostile JSON patches) translate back or fail typed", fc.record({ i: fc.nat(), ops: mixedJsonOpsArb({ jsOnly: true }), version: versionArb, lenient: fc.boolean() }), (c) => {
    const t = translated[c.i % translated.length];
    if (t === undefined) return;
    const doc = applyJsonOps(t.doc, c.ops);
    const opts = { lenient: c.lenient, dropUnsupported: true, ...(c.version === undefined ? {} : { version: c.version }) };
    const r = typedOrValue(t.back === "openFloor" ? "ovonToOpenFloor" : "openFloorToOvon", () => (t.back === "openFloor" ? ovonToOpenFloor(doc, opts) : openFloorToOvon(doc, opts)));
    tally(r.ok ? (r.value.restored ? "restored" : "translated") : r.error.code);
  });
});

describe("fuzz: ofp/https bodies (src/ofp/http.ts)", () => {
  fuzzAsync(FILE, "createOfpHttpListener: mutated bodies get 200 or a 4xx problem, never a 500", fc.record({
    i: fc.nat(),
    jops: sometimes(mixedJsonOpsArb(), 0.6),
    tops: sometimes(textOpsArb(3), 0.3),
    bops: sometimes(byteOpsArb(2), 0.1),
    contentType: fc.constantFrom(OFP_JSON_MEDIA_TYPE, `${OFP_JSON_MEDIA_TYPE}; charset=utf-8`, "text/plain", "", "Application/JSON"),
    method: fc.constantFrom("POST", "POST", "POST", "GET"),
    declaredLength: sometimes(fc.constantFrom("0", "-1", "abc", "99999999999"), 0.15),
    pick: fc.nat(),
  }), async (c) => {
    const s = envelopes[c.i % envelopes.length];
    if (s === undefined) return;
    let text = c.jops === undefined ? s.text : stringify(applyJsonOps(s.json, c.jops));
    if (c.tops !== undefined) text = applyTextOps(text, c.tops);
    let body: Uint8Array = Buffer.from(text, "utf8");
    if (c.bops !== undefined) body = applyByteOps(body, c.bops);
    const listener = createOfpHttpListener({
      routes: {
        "/agent": async (envelope) => parseOfpEnvelope(envelope, { lenient: true }).value as OfpDocument,
      },
      maxBytes: 64 * 1024,
    });
    const { response, returned } = await invoke(listener, {
      method: c.method,
      url: (["/agent", "/agent", "/agent?x=1", "//agent", "/agent/", "*"] as const)[c.pick % 6] as string,
      headers: { "content-type": c.contentType, "content-length": c.declaredLength },
      chunks: chunked(body, c.pick),
    });
    if (returned === false) return tally("declined");
    expect(returned).toBe(true);
    tally(String(response.status));
    if (response.status === undefined || response.status === 500 || !response.ended) throw new FuzzFinding(`ofp/https answered ${String(response.status)}: ${response.body.slice(0, 200)}`);
  }, { weight: 0.5 });
});

