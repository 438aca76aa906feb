#!/usr/bin/env node
// The `agentwire` executable (package.json "bin").
import { EXIT_FAIL } from "./io.js";
import { processIo, runCli } from "./main.js";

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`agentwire: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT_FAIL;
  },
);
