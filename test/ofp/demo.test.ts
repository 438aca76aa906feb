/** `agentwire ofp demo` (ofpDemo / ofpCommand, run directly: the lead wires `agentwire demo ofp`). */
import { describe, expect, it } from "vitest";
import { ofpCommand, ofpDemo } from "../../src/cli/ofp.js";
import { runOfpDemo } from "../../src/ofp/demo.js";
import { REPO_DIR } from "../helpers/upstream.js";
import { ids, now } from "./runtime-helpers.js";

async function run(command: typeof ofpDemo, args: string[]) {
  let out = "";
  let err = "";
  const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t), readFile: async () => "", writeFile: async () => undefined, cwd: REPO_DIR };
  let code: number;
  try {
    code = await command.run(args, io);
  } catch (e) {
    err += (e as Error).message;
    code = (e as Error).name === "UsageError" ? 2 : -1;
  }
  return { code, out, err };
}

describe("agentwire ofp demo", () => {
  it("holds the multi-party conversation with floor passing and exits 0", async () => {
    const r = await run(ofpCommand, ["demo"]);
    expect(r.code, r.out + r.err).toBe(0);
    const lines = r.out.split("\n");
    expect(lines.at(-2)).toBe("demo ok");
    expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(lines.filter((l) => l.startsWith("ok  "))).toHaveLength(11);
    // a readable trace: who said what to whom
    expect(r.out).toContain('user     → floor     invite(travel), utterance "I\'d like a weekend in Paris. What will the weather be like?"');
    expect(r.out).toContain("floor    → convener  delegates requestFloor(has an answer) from travel");
    expect(r.out).toContain("convener → floor     decides: grantFloor(travel), revokeFloor(weather @override)");
    expect(r.out).toContain("   weather: Paris this weekend: sunny, 21°C on Saturday.");
  });

  it("ofpDemo is the same command on its own; --json prints the result", async () => {
    const r = await run(ofpDemo, ["--json"]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { ok: boolean; heard: string[]; log: { kind: string }[] };
    expect(result.ok).toBe(true);
    expect(result.heard).toEqual([
      "travel: Hello, I'm travel. How can I help?",
      "travel: I can book you a hotel in Paris. For the forecast I'm bringing in the weather agent.",
      "weather: Hello, I'm weather. How can I help?",
      "weather: Paris this weekend: sunny, 21°C on Saturday.",
      "travel: Done: Hotel Lutetia is booked for Saturday night.",
      "travel: Enjoy Paris!",
    ]);
    expect(result.log.at(-1)!.kind).toBe("closed");
  });

  it("is reproducible with an injected clock and ids", async () => {
    const a = await runOfpDemo({ now, newId: ids("x") });
    const b = await runOfpDemo({ now, newId: ids("x") });
    expect(a.conversationId).toBe("demo-x-1");
    // Only the loopback ports differ between runs.
    const strip = (r: typeof a) => JSON.stringify(r.log).replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT");
    expect(strip(a)).toEqual(strip(b));
  });

  it("usage errors exit 2", async () => {
    expect((await run(ofpCommand, ["demo", "extra"])).code).toBe(2);
  });
});
