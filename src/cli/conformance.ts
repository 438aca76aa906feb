import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeOhpPack } from "../conformance/pack.js";
import { parseTierOption, runOhpConformance } from "../conformance/runner.js";
import { EXIT_FAIL, EXIT_OK, UsageError, type CliIo, type Command } from "./io.js";

const USAGE = `usage: agentwire conformance ohp DIR [--tier TIER] [--results DIR] [--filter TEXT] [--json]
       agentwire conformance pack OUT_DIR [--label LABEL]

ohp    Runs the OHP conformance vectors under DIR (<tier>/<NN-name>/ with envelope.json and
       expected.json; context.json or input.json when present): accept/reject through the
       receiver pipeline at the vector's "now", emit/refuse through the builder,
       structural-only vectors structurally. --tier claims a tier: its vectors and all lower
       tiers' run. Upstream v0.1 placeholder signatures count as "verification deferred" (a
       warning). Prints one line per vector and "N passed, N failed"; --results writes
       results/<tier>/<vector>.json; --json prints the full results.
pack   Regenerates the signed vector pack (real Ed25519 + ML-DSA-65, HPKE, SD-JWT VC) into
       OUT_DIR from deterministic synthetic keys.

Exit status: 0 all passed, 1 a vector failed, 2 usage or I/O error.`;

async function ohp(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { tier: { type: "string" }, results: { type: "string" }, filter: { type: "string" }, json: { type: "boolean", default: false } },
  });
  if (positionals.length !== 1) throw new UsageError("conformance ohp needs exactly one DIR");
  let tier;
  try {
    tier = parseTierOption(values.tier);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const summary = await runOhpConformance(resolve(io.cwd, positionals[0]!), {
    ...(tier ? { tier } : {}),
    ...(values.results ? { resultsDir: resolve(io.cwd, values.results) } : {}),
    ...(values.filter ? { filter: values.filter } : {}),
  });
  if (values.json) {
    io.stdout(JSON.stringify(summary, null, 2) + "\n");
  } else {
    for (const r of summary.results) {
      io.stdout(`${r.pass ? "pass" : "FAIL"}  ${r.tier}/${r.name}  (${r.outcome})${r.problems.length ? `: ${r.problems.join("; ")}` : ""}\n`);
      for (const w of new Set(r.warnings)) io.stdout(`      warning: ${w}\n`);
    }
  }
  io.stdout(`${summary.passed} passed, ${summary.failed} failed\n`);
  if (summary.results.length === 0) {
    io.stderr("agentwire conformance: no vectors found\n");
    return EXIT_FAIL;
  }
  return summary.failed === 0 ? EXIT_OK : EXIT_FAIL;
}

async function pack(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { label: { type: "string" } } });
  if (positionals.length !== 1) throw new UsageError("conformance pack needs exactly one OUT_DIR");
  const n = await writeOhpPack(resolve(io.cwd, positionals[0]!), values.label === undefined ? {} : { label: values.label });
  io.stdout(`wrote ${n} vectors to ${positionals[0]}\n`);
  return EXIT_OK;
}

export const conformanceCommand: Command = {
  name: "conformance",
  summary: "run OHP conformance vectors (upstream layout) or regenerate the signed vector pack",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === "ohp") return ohp(rest, io);
    if (sub === "pack") return pack(rest, io);
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub ?? "")}`);
  },
};
