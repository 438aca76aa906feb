/**
 * The throwaway PostgreSQL of the store and scale-out tests: src/store/local-postgres.ts under the
 * names the tests use. Tests call {@link HAVE_POSTGRES} and skip only when the binaries are absent.
 */
import { haveLocalPostgres, startLocalPostgres, type LocalPostgres } from "../../src/store/local-postgres.js";

export { postgresBinDir } from "../../src/store/local-postgres.js";

/** True when a test PostgreSQL can be started here. */
export const HAVE_POSTGRES = haveLocalPostgres();

/** A running test server. */
export type TestPostgres = LocalPostgres;

/** Starts a throwaway server (about 1 s on a small machine). */
export const startTestPostgres: (options?: { readonly settings?: Readonly<Record<string, string>> }) => Promise<TestPostgres> = startLocalPostgres;
