import { describe, expect, it } from "vitest";
import { runOhpFlows } from "../../../src/demo/ohp-flows.js";

describe("OHP flows A-D (D08) between three local nodes, each over its binding, at every tier", () => {
  it("every flow completes with the D08 verb sequence and end state", async () => {
    const lines: string[] = [];
    const results = await runOhpFlows({ trace: (l) => lines.push(l) });
    expect(results.filter((r) => !r.ok).map((r) => `${r.flow}/${r.tier}: ${r.error ?? r.finalState}`), lines.join("\n")).toEqual([]);
    expect(results).toHaveLength(16);
    const expected = { A: ["PROPOSE", "ACCEPT", "ASSUME"], B: ["PROPOSE", "ACCEPT", "ASSUME", "RETURN"], C: ["PROPOSE", "REJECT", "PROPOSE", "ACCEPT"], D: ["ASSUME", "ACCEPT"] };
    for (const r of results) expect(r.verbs, `${r.flow}/${r.tier}`).toEqual(expected[r.flow]);
    const bindingOf = Object.fromEntries(results.map((r) => [r.flow, r.binding]));
    expect(bindingOf).toEqual({ A: "ohp/sip-info", B: "ohp/ws", C: "ohp/https", D: "ohp/https" });
  }, 120_000);
});
