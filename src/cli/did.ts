/**
 * `agentwire did`: resolve a DID (did:web, did:key) and print its keys; derive the did:key of
 * each Ed25519 key of a public JWKS.
 */
import { parseArgs } from "node:util";
import { ALG_EDDSA } from "../crypto/jwk.js";
import { parseJwks } from "../crypto/keys.js";
import { isAgentwireError } from "../errors.js";
import { didKeyFromPublicKey } from "../trust/did/did-key.js";
import { DidResolver } from "../trust/did/resolver.js";
import { EXIT_FAIL, EXIT_OK, readInput, UsageError, type CliIo, type Command } from "./io.js";

const USAGE = `usage: agentwire did resolve DID [--json] [--allow-insecure-localhost] [--timeout MS]
       agentwire did key --jwks PUBLIC_JWKS [--json]

resolve  Resolves a did:web (fetches https://host/.well-known/did.json or https://host/path/did.json)
         or a did:key (computed) and prints its verification keys. --json prints the DID document
         and the keys as one JSON object.
key      Prints "kid did:key:z6Mk..." for each Ed25519 key of a public JWK Set.

  --json                      machine-readable output
  --allow-insecure-localhost  permit http:// for did:web:localhost%3APORT (testing only)
  --timeout MS                HTTP timeout (default 5000)

Exit status: 0 success, 1 resolution failed / no Ed25519 key, 2 usage or I/O error.`;

function errorOf(e: unknown): { code: string; message: string } {
  return { code: isAgentwireError(e) ? e.code : "ERR_UNEXPECTED", message: (e as Error).message };
}

async function resolveCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      "allow-insecure-localhost": { type: "boolean", default: false },
      timeout: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("did resolve needs exactly one DID");
  const did = positionals[0] as string;
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw new UsageError("--timeout must be a positive integer");
  const resolver = new DidResolver({
    allowInsecureLocalhost: values["allow-insecure-localhost"],
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  let resolution;
  try {
    resolution = await resolver.resolve(did);
  } catch (e) {
    if (!isAgentwireError(e)) throw e;
    const error = errorOf(e);
    if (values.json) io.stdout(JSON.stringify({ did, resolved: false, error }) + "\n");
    else io.stderr(`agentwire did: cannot resolve ${did}: ${error.message} [${error.code}]\n`);
    return EXIT_FAIL;
  }
  const keys = resolution.keys.map((k) => ({ id: k.id, kid: k.jwk.kid, alg: k.jwk.alg, use: k.jwk.use, relationships: k.relationships, jwk: k.jwk }));
  if (values.json) {
    io.stdout(
      JSON.stringify({
        did,
        resolved: true,
        method: resolution.method,
        ...(resolution.documentUrl === undefined ? {} : { documentUrl: resolution.documentUrl }),
        document: resolution.document,
        keys,
        skipped: resolution.skipped,
      }) + "\n",
    );
    return EXIT_OK;
  }
  io.stdout(`${did}: resolved (did:${resolution.method}${resolution.documentUrl === undefined ? "" : ` from ${resolution.documentUrl}`})\n`);
  for (const k of keys) io.stdout(`  key     ${k.kid}  ${k.alg} ${k.use}  ${k.id}  [${k.relationships.join(", ")}]\n`);
  for (const s of resolution.skipped) io.stdout(`  skipped ${s.id}: ${s.reason}\n`);
  return EXIT_OK;
}

async function keyCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { jwks: { type: "string" }, json: { type: "boolean", default: false } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.jwks === undefined) throw new UsageError("did key needs --jwks PUBLIC_JWKS");
  const text = await readInput(io, values.jwks, "key set");
  let jwks;
  try {
    jwks = parseJwks(text, { skipUnsupported: true });
  } catch (e) {
    if (!isAgentwireError(e)) throw e;
    io.stderr(`agentwire did: ${values.jwks} is not a public JWK Set: ${e.message} [${e.code}]\n`);
    return EXIT_FAIL;
  }
  const out = jwks.keys.filter((k) => k.alg === ALG_EDDSA).map((k) => ({ kid: k.kid, did: didKeyFromPublicKey(k) }));
  if (out.length === 0) {
    io.stderr(`agentwire did: ${values.jwks} has no Ed25519 key\n`);
    return EXIT_FAIL;
  }
  io.stdout(values.json ? JSON.stringify(out) + "\n" : out.map((k) => `${k.kid} ${k.did}\n`).join(""));
  return EXIT_OK;
}

export const didCommand: Command = {
  name: "did",
  summary: "resolve did:web / did:key identifiers; derive the did:key of Ed25519 keys",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === "resolve") return resolveCommand(rest, io);
    if (sub === "key") return keyCommand(rest, io);
    throw new UsageError(sub === undefined ? "did needs a subcommand (resolve, key)" : `unknown did subcommand ${JSON.stringify(sub)}`);
  },
};
