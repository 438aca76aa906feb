/** Options every {@link AgentwireError} takes. */
export interface AgentwireErrorOptions {
  readonly cause?: unknown;
  readonly detail?: Record<string, unknown>;
}

/**
 * Every error agentwire throws on purpose is an {@link AgentwireError}: callers branch on the
 * stable `code`, never on the message. Subsystems extend it with their own code unions:
 * `class JwsError extends AgentwireError<JwsErrorCode> {}` (no constructor needed).
 */
export class AgentwireError<C extends string = string> extends Error {
  /** Stable, machine-readable code such as `ERR_CBOR_NON_CANONICAL`. */
  readonly code: C;
  /** Optional structured detail (JSON-serialisable) for logs and REJECT addenda. */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: C, message: string, options?: AgentwireErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = options?.detail;
  }

  toJSON(): { name: string; code: string; message: string; detail?: Readonly<Record<string, unknown>> } {
    return this.detail === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, detail: this.detail };
  }
}

/** True when `e` is an {@link AgentwireError}, optionally with the given code. */
export function isAgentwireError(e: unknown, code?: string): e is AgentwireError {
  return e instanceof AgentwireError && (code === undefined || e.code === code);
}
