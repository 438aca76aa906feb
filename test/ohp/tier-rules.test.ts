import { describe, expect, it } from "vitest";
import { tierRules_4_2 } from "../../src/ohp/tier-rules.js";
import { getAtPointer, parsePointer } from "../../src/json/pointer.js";
import { upstreamEnvelopes } from "../helpers/upstream.js";

const byName = (part: string): Record<string, any> => structuredClone(upstreamEnvelopes().find((e) => e.name.includes(part))!.json) as Record<string, any>;
const errors = (env: unknown, mode: "emit" | "receive" = "receive") =>
  tierRules_4_2(env, { mode }).filter((i) => i.severity === "error");

function remove(env: Record<string, any>, pointer: string): void {
  const tokens = parsePointer(pointer);
  const last = tokens.pop()!;
  const parent = tokens.reduce((o, k) => o[k], env);
  delete parent[last];
}

const MUSTS: [tier: string, example: string, pointer: string, rule: string][] = [
  ["core", "01-core-ivr", "/transcript/summary", "§4.2 F29"],
  ["signed", "02-signed", "/issuer/did", "§4.2 F10"],
  ["signed", "02-signed", "/audience/did", "§4.2 F14"],
  ["signed", "02-signed", "/transcript/redaction", "§4.2 F31"],
  ["signed", "02-signed", "/policy/retention", "§4.2 F41"],
  ["signed", "02-signed", "/policy/redaction", "§4.2 F42"],
  ["signed", "02-signed", "/policy/dataResidency", "§4.2 F44"],
  ["signed", "02-signed", "/control/reason", "§4.2 F46"],
  ["signed", "02-signed", "/signatures", "§4.2 F51"],
  ["sealed", "03-sealed", "/issuer/federation", "§4.2 F11"],
  ["sealed", "03-sealed", "/audience/recipientKeys", "§4.2 F17"],
  ["sealed", "03-sealed", "/session/media/rtpFingerprint", "§4.2 F21"],
  ["sealed", "03-sealed", "/caller/assurance", "§4.2 F22"],
  ["sealed", "03-sealed", "/caller/identity/sdJwtVc", "§4.2 F23"],
  ["sealed", "03-sealed", "/caller/consent", "§4.2 F24"],
  ["regulated", "04-regulated", "/notBefore", "§4.2 F6"],
  ["regulated", "04-regulated", "/issuer/aiRole", "§4.2 F12"],
  ["regulated", "04-regulated", "/aiSystem", "§4.2 F33"],
  ["regulated", "04-regulated", "/governance/aiia", "§4.2 F34"],
  ["regulated", "04-regulated", "/governance/prohibited", "§4.2 F36"],
  ["regulated", "04-regulated", "/governance/art50Disclosure", "§4.2 F37"],
  ["regulated", "04-regulated", "/governance/art86Explanation", "§4.2 F38 / §6.2"],
  ["regulated", "04-regulated", "/oversight", "§4.2 F39 / §6.3"],
  ["regulated", "04-regulated", "/decisions", "§4.2 F40 / §6.4"],
  ["regulated", "04-regulated", "/transparency/logId", "§4.2 F49"],
  ["regulated", "04-regulated", "/transparency/leafHash", "§4.2 F50"],
];

describe("§4.2 per-tier MUST table", () => {
  for (const [tier, example, pointer, rule] of MUSTS) {
    it(`${rule}: ${pointer} is required at ${tier}`, () => {
      const env = byName(example);
      expect(env["conformance"]).toBe(tier);
      expect(errors(env)).toEqual([]);
      remove(env, pointer);
      expect(errors(env)).toContainEqual(expect.objectContaining({ pointer, rule, severity: "error" }));
    });
  }

  it("§4.2 strict superset: a Regulated envelope missing a Signed MUST (issuer.did) fails", () => {
    const env = byName("04-regulated");
    delete env["issuer"]["did"];
    expect(errors(env).map((e) => e.rule)).toContain("§4.2 F10");
  });

  it("§4.2 F35 / §6.2 fria is required only for a high-risk deployer", () => {
    const env = byName("04-regulated");
    expect(env["issuer"]["aiRole"]).toBe("deployer");
    delete env["governance"]["fria"];
    expect(errors(env).map((e) => e.pointer)).toContain("/governance/fria");
    env["aiSystem"]["riskClass"] = "limited";
    expect(errors(env).map((e) => e.pointer)).not.toContain("/governance/fria");
    expect(errors(env).map((e) => e.pointer)).not.toContain("/oversight");
  });

  it("§4.2 F43 guardrails at Regulated: error on emit, warning on receive (upstream regulated/02 omits it)", () => {
    const env = byName("regulated/02");
    expect(getAtPointer(env, "/policy/guardrails")).toBeUndefined();
    expect(errors(env, "receive")).toEqual([]);
    expect(tierRules_4_2(env, { mode: "receive" })).toContainEqual(expect.objectContaining({ pointer: "/policy/guardrails", severity: "warning" }));
    expect(errors(env, "emit")).toContainEqual(expect.objectContaining({ pointer: "/policy/guardrails", rule: "§4.2 F43" }));
  });

  it("§4.2 F21 decision #31: chat channels need no RTP fingerprint at Sealed", () => {
    const env = byName("03-sealed");
    delete env["session"]["media"];
    env["session"]["channel"] = "chat/web";
    expect(errors(env).map((e) => e.pointer)).not.toContain("/session/media/rtpFingerprint");
  });

  it("§4.2 F51 / §5.1 Regulated needs exactly one EdDSA and one ML-DSA-65 entry", () => {
    const env = byName("04-regulated");
    env["signatures"] = env["signatures"].filter((s: any) => s.alg === "EdDSA");
    expect(errors(env)).toContainEqual(expect.objectContaining({ rule: "§4.2 F51 / §5.1", message: expect.stringContaining("ML-DSA-65") }));
    const signed = byName("02-signed");
    signed["signatures"].push(structuredClone(signed["signatures"][0]));
    expect(errors(signed)).toContainEqual(expect.objectContaining({ rule: "§4.2 F51 / §5.1" }));
  });

  it("§3.1.1 Core carries no sealed block, assurance or decisions", () => {
    const env = byName("01-core");
    env["sealed"] = { alg: "x", recipients: [], ciphertext: "", fields: [] };
    env["caller"] = { assurance: {} };
    env["decisions"] = [];
    expect(errors(env).map((e) => e.pointer).sort()).toEqual(["/caller/assurance", "/decisions", "/sealed"]);
  });

  it("§3.1.2 Signed carries no sealed block", () => {
    const env = byName("02-signed");
    env["sealed"] = {};
    expect(errors(env).map((e) => e.pointer)).toEqual(["/sealed"]);
  });

  it("§4.4 notAfter ≤ issuedAt + PT5M and notBefore ≥ issuedAt", () => {
    const env = byName("01-core");
    env["issuedAt"] = "2026-05-28T12:00:00.000Z";
    env["notAfter"] = "2026-05-28T12:05:00.001Z";
    expect(errors(env)).toContainEqual(expect.objectContaining({ pointer: "/notAfter", rule: "§4.4" }));
    env["notAfter"] = "2026-05-28T12:05:00.000Z";
    env["notBefore"] = "2026-05-28T11:59:59.999Z";
    expect(errors(env)).toEqual([expect.objectContaining({ pointer: "/notBefore", rule: "§4.4" })]);
  });

  it("§6.1 a systemic-risk GPAI model needs a policyUrl", () => {
    const env = byName("04-regulated");
    env["aiSystem"]["gpaiChain"] = [{ provider: "p", model: "m", systemicRisk: true }];
    expect(errors(env)).toContainEqual(expect.objectContaining({ pointer: "/aiSystem/gpaiChain/0/policyUrl", rule: "§6.1" }));
  });

  it("SHOULD rows are warnings, superseded by a MUST at a higher tier", () => {
    const core = byName("core/01");
    expect(tierRules_4_2(core).filter((i) => i.pointer === "/policy/retention")).toEqual([
      expect.objectContaining({ severity: "warning", rule: "§4.2 F41" }),
    ]);
    expect(tierRules_4_2(core, { shoulds: false })).toEqual([]);
  });
});
