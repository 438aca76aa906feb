/**
 * The `agentwire` command line. Each command lives in its own module and registers here.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { CliExit, EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, type CliIo, type Command } from "./io.js";
import { conformanceCommand } from "./conformance.js";
import { demoCommand } from "./demo.js";
import { didCommand } from "./did.js";
import { federationCommand, sdjwtCommand } from "./federation.js";
import { keygenCommand } from "./keygen.js";
import { oapCommand } from "./oap.js";
import { ofpCommand } from "./ofp.js";
import { ohpCommand } from "./ohp.js";
import { serveCommand } from "./serve.js";
import { tlogCommand } from "./tlog.js";
import { validateCommand } from "./validate.js";

/** All commands, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  serveCommand,
  validateCommand,
  keygenCommand,
  ohpCommand,
  ofpCommand,
  oapCommand,
  didCommand,
  sdjwtCommand,
  federationCommand,
  tlogCommand,
  conformanceCommand,
  demoCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `agentwire: reference stack for OHP (Open Handoff Protocol), OFP (Open Floor Protocol) and OAP (Open Agent Protocol)

usage: agentwire COMMAND [ARGS...]
       agentwire COMMAND --help

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Exit status: 0 success, 1 the input failed (invalid, rejected), 2 usage or I/O error.
`;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(help());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "--version") {
    io.stdout("agentwire 0.1.0\n");
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`agentwire: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return EXIT_USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(command.usage + "\n");
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof CliExit) {
      io.stderr(`agentwire ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`agentwire ${name}: ${(e as Error).message}\n\n${command.usage}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`agentwire ${name}: ${(e as Error).message}\n`);
    return EXIT_FAIL;
  }
}

/** The process-backed I/O. */
export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    readFile: async (path) => (path === "-" ? readStdin() : readFile(resolve(process.cwd(), path), "utf8")),
    writeFile: async (path, text, options = {}) => {
      const target = resolve(process.cwd(), path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, text, { encoding: "utf8", mode: options.mode ?? 0o644, flag: options.exclusive ? "wx" : "w" });
    },
    cwd: process.cwd(),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
