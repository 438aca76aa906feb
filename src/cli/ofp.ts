import { parseArgs } from "node:util";
import { isAgentwireError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import type { JsonValue } from "../json/types.js";
import { isSchemaName, schemaNames } from "../schema/validate.js";
import { translateEnvelope, type TranslateEnvelopeOptions } from "../ofp/translate/index.js";
import { validateOfp } from "../ofp/validate.js";
import { runOfpDemo } from "../ofp/demo.js";
import { CliExit, EXIT_FAIL, EXIT_OK, EXIT_USAGE, readInput, UsageError, type CliIo, type Command } from "./io.js";

const USAGE = `usage: agentwire ofp SUBCOMMAND ...

  ofp translate FILE --to openfloor|ovon [--version V] [--no-carry] [--drop-unsupported]
                [--whisper-to URL] [--lenient]
      Translates an OVON 0.9.x envelope to Open Floor 1.x (default 1.1.0) or an Open Floor
      envelope to OVON 0.9.x (default 0.9.3), or re-labels the version within one family, and
      prints the document. What the target cannot express is listed on stderr and, unless
      --no-carry, carried in the output ("x-ovon" / "x-openFloor") so translating back restores
      the source exactly (docs/ofp-translation.md).
        --whisper-to URL    recipient (serviceUrl) for OVON whispers that name none
        --drop-unsupported  drop Open Floor events OVON cannot express instead of failing
  ofp validate FILE [--lenient] [--schema NAME] [--json]
      Validates an Open Floor / OVON envelope, dialog event or assistant manifest against the
      schema of its (declared) version and the rules of the specification.
        --lenient  accept peers that omit identification.organization / synopsis (the
                   reference Python library does); they are reported as warnings

  ofp demo [--json]
      A multi-party Open Floor conversation over HTTP on loopback: a user proxy, a floor
      manager with a convener, and two agents (travel, weather) passing the floor (invite,
      acceptInvite, yieldFloor, requestFloor, grantFloor, revokeFloor, bye). Prints a readable
      trace and the checks; exit 0 when every expected event happened (docs/ofp-runtime.md).
        --json  print the result (checks, what the user heard, the floor's event log) as JSON

FILE "-" reads standard input.
Exit status: 0 success/valid, 1 invalid or not translatable, 2 usage or I/O error.`;

function one(positionals: string[], sub: string): string {
  if (positionals.length !== 1) throw new UsageError(`ofp ${sub} takes exactly one FILE`);
  return positionals[0] as string;
}

async function readDocument(io: CliIo, file: string): Promise<JsonValue> {
  const text = await readInput(io, file);
  try {
    return parseJsonStrict(text);
  } catch (e) {
    throw new CliExit(`${file}: ${(e as Error).message}`, EXIT_FAIL);
  }
}

async function translate(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: "string" },
      version: { type: "string" },
      "no-carry": { type: "boolean", default: false },
      "drop-unsupported": { type: "boolean", default: false },
      "whisper-to": { type: "string" },
      lenient: { type: "boolean", default: false },
    },
  });
  const file = one(positionals, "translate");
  const to = values.to?.toLowerCase();
  if (to !== "openfloor" && to !== "ovon") throw new UsageError("ofp translate needs --to openfloor or --to ovon");
  const doc = await readDocument(io, file);
  const options: TranslateEnvelopeOptions = {
    to: to === "ovon" ? "ovon" : "openFloor",
    carry: !values["no-carry"],
    dropUnsupported: values["drop-unsupported"],
    lenient: values.lenient,
    ...(values.version === undefined ? {} : { version: values.version }),
    ...(values["whisper-to"] === undefined ? {} : { whisperTo: { serviceUrl: values["whisper-to"] } }),
  };
  try {
    const result = translateEnvelope(doc, options);
    io.stdout(JSON.stringify(result.document, null, 2) + "\n");
    for (const loss of result.losses) io.stderr(`agentwire ofp translate: ${loss.pointer || "/"}: ${loss.message}\n`);
  } catch (e) {
    if (!isAgentwireError(e)) throw e;
    const errors = e.detail?.["errors"];
    const extra = Array.isArray(errors) ? errors.slice(1).map((i) => `\n  ${(i as { pointer: string }).pointer}: ${(i as { message: string }).message}`).join("") : "";
    throw new CliExit(`${file}: ${e.message} [${e.code}]${extra}`, EXIT_FAIL);
  }
  return EXIT_OK;
}

async function validate(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { lenient: { type: "boolean", default: false }, schema: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const file = one(positionals, "validate");
  if (values.schema !== undefined && !isSchemaName(values.schema)) {
    throw new UsageError(`unknown schema ${JSON.stringify(values.schema)} (known: ${schemaNames().join(", ")})`);
  }
  const doc = await readDocument(io, file);
  const result = validateOfp(doc, { lenient: values.lenient, ...(values.schema !== undefined && isSchemaName(values.schema) ? { schema: values.schema } : {}) });
  if (result.schema === undefined) throw new CliExit(`${file} is not an Open Floor or OVON document (no openFloor / ovon member, dialog event or manifest)`, EXIT_USAGE);
  if (values.json) {
    io.stdout(JSON.stringify({ file, ...result }) + "\n");
  } else {
    const version = result.declaredVersion === undefined ? "" : `, declares ${result.kind} ${result.declaredVersion}`;
    io.stdout(`${file}: ${result.valid ? "valid" : "invalid"} (${result.schema}${version}${values.lenient ? ", lenient" : ""})\n`);
    for (const e of result.errors) io.stdout(`  error   ${e.pointer || "/"}: ${e.message} [${e.rule}]\n`);
    for (const w of result.warnings) io.stdout(`  warning ${w.pointer || "/"}: ${w.message} [${w.rule}]\n`);
  }
  return result.valid ? EXIT_OK : EXIT_FAIL;
}

async function demo(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean", default: false } } });
  if (positionals.length > 0) throw new UsageError("ofp demo takes no arguments");
  const result = await runOfpDemo(values.json ? {} : { print: (line) => io.stdout(`${line}\n`) });
  if (values.json) io.stdout(`${JSON.stringify(result)}\n`);
  else io.stdout(result.ok ? "demo ok\n" : "demo FAILED\n");
  return result.ok ? EXIT_OK : EXIT_FAIL;
}

const SUBCOMMANDS: Readonly<Record<string, (args: string[], io: CliIo) => Promise<number>>> = { translate, validate, demo };

/**
 * The Open Floor demo as a command of its own (`agentwire ofp demo`; the CLI may also offer it
 * as `agentwire demo ofp`).
 */
export const ofpDemo: Command = {
  name: "demo",
  summary: "Open Floor demo: user proxy, floor manager + convener, travel and weather agents passing the floor over HTTP on loopback",
  usage: `usage: agentwire ofp demo [--json]

A user proxy, a floor manager with a convener and two agents (travel, weather), each on its own
HTTP server on 127.0.0.1, hold a multi-party Open Floor conversation: the user invites travel
(approved by the convener), travel invites weather with the user's question as dialog history
and yields the floor; asked to book, travel requests the floor, the convener grants it and
revokes weather's; the user says bye and the floor closes the conversation.

Exit status: 0 when every expected event happened, 1 otherwise.`,
  run: demo,
};

export const ofpCommand: Command = {
  name: "ofp",
  summary: "Open Floor / OVON envelopes: translate (OVON 0.9 <-> OFP 1.x), validate; demo (agents, floor manager, convener)",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (handler === undefined) throw new UsageError(sub === undefined ? "ofp needs a subcommand" : `unknown subcommand ${JSON.stringify(sub)}`);
    return handler(rest, io);
  },
};
