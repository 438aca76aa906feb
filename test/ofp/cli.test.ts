/** `agentwire ofp translate|validate` (ofpCommand, run directly: the lead registers it) and `agentwire validate` detection. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ofpCommand } from "../../src/cli/ofp.js";
import { cli } from "../helpers/cli.js";
import { REPO_DIR } from "../helpers/upstream.js";
import { upstreamOfpEnvelopes, upstreamOvonEnvelopes, upstreamSamples } from "./helpers.js";

async function ofp(args: string[], files: Record<string, string> = {}) {
  let out = "";
  let err = "";
  const io = {
    stdout: (t: string) => void (out += t),
    stderr: (t: string) => void (err += t),
    readFile: async (p: string) => (p in files ? files[p]! : readFileSync(p, "utf8")),
    writeFile: async () => undefined,
    cwd: REPO_DIR,
  };
  let code: number;
  try {
    code = await ofpCommand.run(args, io);
  } catch (e) {
    err += (e as Error).message;
    code = (e as { exitCode?: number }).exitCode ?? ((e as Error).name === "UsageError" ? 2 : -1);
  }
  return { code, out, err };
}

const path = (suffix: string) => upstreamSamples().find((s) => s.name.endsWith(suffix))!.path;

describe("agentwire ofp translate", () => {
  it("OVON → Open Floor → OVON through files restores the source", async () => {
    const src = path("0.9.3/sample-json/example-ovon-proposeAssistant.json");
    const there = await ofp(["translate", src, "--to", "openfloor", "--version", "1.0.0"]);
    expect(there.code).toBe(0);
    const doc = JSON.parse(there.out);
    expect(doc.openFloor.schema.version).toBe("1.0.0");
    expect(there.err).toBe("agentwire ofp translate: /ovon/sender/to: not expressible in the target version (carried in openFloor.x-ovon)\n");
    const back = await ofp(["translate", "of.json", "--to", "ovon"], { "of.json": there.out });
    expect(back.code).toBe(0);
    expect(JSON.parse(back.out)).toStrictEqual(JSON.parse(readFileSync(src, "utf8")));
  });
  it("--whisper-to, --no-carry", async () => {
    const src = path("0.9.3/sample-json/example-ovon-findAssistant.json");
    expect((await ofp(["translate", src, "--to", "openfloor"])).code).toBe(1);
    const r = await ofp(["translate", src, "--to", "openfloor", "--whisper-to", "https://myFavoriteDiscoveryBot.com", "--no-carry"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.openFloor["x-ovon"]).toBeUndefined();
    expect(doc.openFloor.events[1].to).toStrictEqual({ serviceUrl: "https://myFavoriteDiscoveryBot.com", private: true });
  });
  it("floor events: exit 1 naming the event, or dropped with --drop-unsupported", async () => {
    const src = path("1.1.0/sample-json/example-grantFloor.json");
    const refused = await ofp(["translate", src, "--to", "ovon"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('/openFloor/events/0/eventType: OVON 0.9.3 has no equivalent for Open Floor event type "grantFloor"');
    const dropped = await ofp(["translate", src, "--to", "ovon", "--drop-unsupported"]);
    expect(dropped.code).toBe(0);
    expect(JSON.parse(dropped.out).ovon.events.map((e: { eventType: string }) => e.eventType)).toStrictEqual(["whisper"]);
  });
  it("--lenient admits reference-library peers", async () => {
    const src = path("openfloor-python/python/sample_json/envelope2.json");
    expect((await ofp(["translate", src, "--to", "ovon"])).code).toBe(1);
    expect((await ofp(["translate", src, "--to", "ovon", "--lenient"])).code).toBe(0);
  });
  it("usage errors", async () => {
    expect((await ofp(["translate", "x.json"])).code).toBe(2);
    expect((await ofp(["translate"])).code).toBe(2);
    expect((await ofp(["nope"])).code).toBe(2);
    expect((await ofp([])).code).toBe(2);
    expect((await ofp(["translate", "/nonexistent.json", "--to", "ovon"])).code).toBe(2);
    expect((await ofp(["translate", "d.json", "--to", "ovon"], { "d.json": '{"a":1,"a":2}' })).code).toBe(1);
  });
});

describe("agentwire ofp validate", () => {
  it("strict names the missing identification members; --lenient accepts with warnings", async () => {
    const src = path("openfloor-python/python/sample_json/envelope0.json");
    const strict = await ofp(["validate", src]);
    expect(strict.code).toBe(1);
    expect(strict.out).toContain("error   /openFloor/conversation/conversants/0/identification/organization: is required [schema:required]");
    expect(strict.out).toContain("error   /openFloor/conversation/conversants/0/identification/synopsis: is required [schema:required]");
    const lenient = await ofp(["validate", src, "--lenient"]);
    expect(lenient.code).toBe(0);
    expect(lenient.out).toContain("valid (ofp-envelope-1.0.0, declares openFloor 1.0.0, lenient)");
    expect(lenient.out).toContain("warning /openFloor/conversation/conversants/0/identification/organization: is required [lenient]");
  });
  it("--json, --schema, and non-documents", async () => {
    const src = path("1.0.0/sample-json/example-publishManifests.json");
    const detected = JSON.parse((await ofp(["validate", src, "--json"])).out);
    expect(detected).toMatchObject({ schema: "ofp-envelope-0.9.4", declaredVersion: "0.9.2", valid: false });
    expect((await ofp(["validate", src, "--schema", "ofp-envelope-1.0.0"])).code).toBe(0);
    expect((await ofp(["validate", src, "--schema", "nope"])).code).toBe(2);
    expect((await ofp(["validate", "h.json"], { "h.json": '{"hello":1}' })).code).toBe(2);
  });
});

describe("agentwire validate detects Open Floor and OVON documents and their version", () => {
  it("every upstream 1.x/0.9.x envelope doc sample is detected with its declared version's schema", async () => {
    const files = [...upstreamOfpEnvelopes(), ...upstreamOvonEnvelopes()].filter((s) => s.name.startsWith("openfloor-docs/") && !s.name.endsWith("1.0.0/sample-json/example-publishManifests.json"));
    const r = await cli(["validate", "--json", ...files.map((f) => f.path)]);
    expect(r.code).toBe(0);
    const results = r.out.trim().split("\n").map((l) => JSON.parse(l) as { file: string; schema: string; valid: boolean });
    expect(results).toHaveLength(files.length);
    for (const res of results) expect(res.valid).toBe(true);
    expect(results.find((x) => x.file.endsWith("1.1.0/sample-json/example-acceptInvite.json"))?.schema).toBe("ofp-envelope-1.1.0");
    expect(results.find((x) => x.file.endsWith("0.9.1/sample-json/example-ovon-bye-minimal.json"))?.schema).toBe("ovon-envelope-0.9.3");
  });
  it("text output names the schema (and so the version); spec-rule errors show their section", async () => {
    const bad = { openFloor: { schema: { version: "1.0.1" }, conversation: { id: "c" }, sender: { speakerUri: "tag:a,2025:1" }, events: [{ eventType: "utterance" }] } };
    const r = await cli(["validate", "bad.json"], { "bad.json": JSON.stringify(bad) });
    expect(r.code).toBe(1);
    expect(r.out).toBe("bad.json: invalid (ofp-envelope-1.0.1)\n  error   /openFloor/events/0/parameters/dialogEvent: is required [§1.10]\n");
  });
  it("the python samples are invalid under `agentwire validate` (strict)", async () => {
    expect((await cli(["validate", path("openfloor-python/python/sample_json/envelope1.json")])).code).toBe(1);
  });
});
