import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/types.js";
import { signEnvelope } from "../../src/ohp/sign.js";
import { leafHashOf, signingSurface } from "../../src/ohp/surface.js";
import { testJwks, testKeys } from "../helpers/keys.js";
import { TEST_DIR, upstreamEnvelopes } from "../helpers/upstream.js";

// Debian python3-cbor2 + python3-cryptography (installed by .ci/run): an implementation of the
// signing surface and of Ed25519 that shares no code with agentwire.
const SCRIPT = join(TEST_DIR, "polyglot", "ohp_surface_verify.py");
const dir = mkdtempSync(join(tmpdir(), "agentwire-py-"));
writeFileSync(join(dir, "jwks.json"), JSON.stringify(testJwks()));

function python(env: JsonObject): { surface: string; leafHash: string; eddsa: { kid: string; valid: boolean }[] } {
  const path = join(dir, "env.json");
  writeFileSync(path, JSON.stringify(env));
  const r = spawnSync("/usr/bin/python3", [SCRIPT, path, join(dir, "jwks.json")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe("OHP §5.2 surface and Ed25519 signatures checked by independent code (Python cbor2 + cryptography)", () => {
  for (const { name, json } of upstreamEnvelopes()) {
    it(`${name}: Python builds the same canonical CBOR surface byte for byte`, () => {
      const ours = Buffer.from(signingSurface(json)).toString("hex");
      expect(python(json as JsonObject).surface).toBe(ours);
    });
  }

  for (const prefix of ["02-signed", "03-sealed", "04-regulated"]) {
    it(`${prefix}: Python verifies our EdDSA detached JWS and leafHash, and rejects a tampered copy`, () => {
      const env = structuredClone(upstreamEnvelopes().find((e) => e.name.includes(prefix))!.json) as JsonObject;
      const { envelope, surface } = signEnvelope(env, { keys: testKeys().all });
      const py = python(envelope);
      expect(py.surface).toBe(Buffer.from(surface).toString("hex"));
      expect(py.leafHash).toBe(leafHashOf(surface));
      expect(py.eddsa).toEqual([{ kid: testKeys().ed.kid, valid: true }]);
      const tampered = structuredClone(envelope);
      (tampered["intent"] as JsonObject)["current"] = "tampered";
      expect(python(tampered).eddsa).toEqual([{ kid: testKeys().ed.kid, valid: false }]);
    });
  }
});
