/** Where a CLI command reads and writes; tests pass in-memory streams. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads a file path, or standard input for "-". */
  readFile: (path: string) => Promise<string>;
  /**
   * Writes a file (creating parent directories). `exclusive` fails when the file exists;
   * `mode` sets permissions (private key files are written 0600).
   */
  writeFile: (path: string, text: string, options?: { readonly mode?: number; readonly exclusive?: boolean }) => Promise<void>;
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

/** A failure that ends a command with a given exit code and a one-line message (no usage text). */
export class CliExit extends Error {
  override name = "CliExit";

  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Reads a file, turning I/O failures into exit code 2. */
export async function readInput(io: CliIo, path: string, what = "file"): Promise<string> {
  try {
    return await io.readFile(path);
  } catch (e) {
    throw new CliExit(`cannot read ${what} ${path}: ${(e as Error).message}`, EXIT_USAGE);
  }
}
