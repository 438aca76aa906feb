/** Where a CLI command reads and writes; tests pass in-memory streams. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads a file path, or standard input for "-". */
  readFile: (path: string) => Promise<string>;
  /** Working directory for relative paths. */
  cwd: string;
}

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** A usage mistake (unknown flag, missing argument): exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A CLI command. */
export interface Command {
  name: string;
  /** One line for `agentwire --help`. */
  summary: string;
  /** Full usage text for `agentwire CMD --help`. */
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}
