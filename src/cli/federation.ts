/**
 * `agentwire federation` (OpenID Federation 1.0 trust chains, offline) and `agentwire sdjwt`
 * (OHP `caller.identity` SD-JWT VC verification).
 */
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseJwks, type Jwks } from "../crypto/keys.js";
import { isAgentwireError } from "../errors.js";
import {
  InMemoryFederationFetcher,
  OHP_ISSUER_ENTITY_TYPE,
  capsOf,
  parseOhpIssuerMetadata,
  resolveTrustChain,
  toEntityId,
  type FederationJwks,
  type TrustAnchor,
} from "../trust/federation/index.js";
import { verifyOhpIdentity, verifySdJwtVc, type VerifiedIdentity } from "../trust/sdjwt/index.js";
import { CliExit, EXIT_FAIL, EXIT_OK, EXIT_USAGE, readInput, UsageError, type CliIo, type Command } from "./io.js";

function failure(e: unknown): never {
  if (isAgentwireError(e)) throw new CliExit(`${e.message} [${e.code}]`, EXIT_FAIL);
  throw e;
}

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CliExit(`${what} is not JSON: ${(e as Error).message}`, EXIT_USAGE);
  }
}

function parseNow(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--now ${JSON.stringify(value)} is not an RFC 3339 date-time`);
  return d;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function readAnchors(io: CliIo, path: string): Promise<TrustAnchor[]> {
  const value = parseJsonText(await readInput(io, path, "trust anchor file"), path);
  const list = Array.isArray(value) ? value : [value];
  return list.map((a, i) => {
    const entityId = isObject(a) ? (a["entity_id"] ?? a["entityId"]) : undefined;
    const jwks = isObject(a) ? a["jwks"] : undefined;
    if (typeof entityId !== "string" || !isObject(jwks) || !Array.isArray(jwks["keys"])) {
      throw new CliExit(`${path}[${i}]: a trust anchor is {"entity_id": URL or did:web, "jwks": {"keys": [...]}}`, EXIT_USAGE);
    }
    return { entityId, jwks: jwks as unknown as FederationJwks };
  });
}

function jwtsIn(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    const value = parseJsonText(trimmed, "statements file");
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw new CliExit("a statements JSON file must be an array of JWT strings", EXIT_USAGE);
    return value as string[];
  }
  if (trimmed.startsWith("\"")) return [parseJsonText(trimmed, "statements file") as string];
  return trimmed.split(/\s+/).filter((s) => s.length > 0);
}

async function readStatements(io: CliIo, path: string): Promise<string[]> {
  const full = resolve(io.cwd, path);
  let isDir = false;
  try {
    isDir = (await stat(full)).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) return jwtsIn(await readInput(io, path, "statements file"));
  const names = (await readdir(full)).filter((n) => /\.(jwt|txt|json)$/.test(n)).sort();
  const out: string[] = [];
  for (const n of names) out.push(...jwtsIn(await readInput(io, join(full, n), "statement")));
  return out;
}

const FEDERATION_USAGE = `usage: agentwire federation resolve ENTITY_ID --anchor ANCHORS_JSON --statements PATH [--now RFC3339] [--max-path N]

Resolves and verifies an OpenID Federation 1.0 trust chain offline, from the leaf ENTITY_ID
(https entity identifier or did:web, e.g. an OHP issuer.did / assurance.idp) up to a configured
trust anchor, applies the chain's metadata policies and prints the effective OHP metadata
(entity type "${OHP_ISSUER_ENTITY_TYPE}") as JSON.

  --anchor ANCHORS_JSON  {"entity_id": URL|did:web, "jwks": {"keys": [...]}} or an array of them
  --statements PATH      a directory of *.jwt/*.txt/*.json files, or one file: a JSON array of
                         entity statement JWTs or JWTs separated by whitespace (entity
                         configurations and subordinate statements, in any order)
  --now RFC3339          validation time (default: now)
  --max-path N           most intermediates allowed (default 4)

Exit status: 0 resolved, 1 no valid chain / policy failure, 2 usage or I/O error.`;

export const federationCommand: Command = {
  name: "federation",
  summary: "resolve an OpenID Federation trust chain offline and print the effective OHP issuer policy",
  usage: FEDERATION_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub !== "resolve") throw new UsageError(sub === undefined ? "federation needs a SUBCOMMAND" : `unknown subcommand ${JSON.stringify(sub)}`);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        anchor: { type: "string" },
        statements: { type: "string" },
        now: { type: "string" },
        "max-path": { type: "string" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("federation resolve needs exactly one ENTITY_ID");
    if (values.anchor === undefined || values.statements === undefined) throw new UsageError("--anchor and --statements are required");
    const maxPath = values["max-path"] === undefined ? undefined : Number(values["max-path"]);
    if (maxPath !== undefined && (!Number.isInteger(maxPath) || maxPath < 0)) throw new UsageError("--max-path must be a non-negative integer");
    const now = parseNow(values.now);
    const trustAnchors = await readAnchors(io, values.anchor);
    const jwts = await readStatements(io, values.statements);
    try {
      const fetcher = new InMemoryFederationFetcher(jwts);
      const chain = await resolveTrustChain(toEntityId(positionals[0] as string), {
        trustAnchors,
        fetcher,
        now,
        ...(maxPath === undefined ? {} : { maxPathLength: maxPath }),
      });
      const ohp = parseOhpIssuerMetadata(chain.metadata[OHP_ISSUER_ENTITY_TYPE]);
      const out = {
        entityId: chain.entityId,
        trustAnchorId: chain.trustAnchorId,
        expiresAt: chain.expiresAt.toISOString(),
        chain: chain.statements.map((s) => ({ iss: s.payload.iss, sub: s.payload.sub, exp: s.payload.exp })),
        caps: capsOf(ohp),
        [OHP_ISSUER_ENTITY_TYPE]: ohp,
      };
      io.stdout(`${JSON.stringify(out, null, 2)}\n`);
      return EXIT_OK;
    } catch (e) {
      failure(e);
    }
  },
};

const SDJWT_USAGE = `usage: agentwire sdjwt verify IDENTITY --jwks JWKS [--vct VCT] [--iss ISS] [--now RFC3339]
                            [--kb-jwt JWT --aud AUD --nonce NONCE] [--require-kb]

Verifies an OHP caller.identity (RFC 9901 SD-JWT VC, split form): the IdP signature with a key
of JWKS, every disclosure against the _sd digests, exp/nbf/iat, and optionally a Key Binding
JWT. IDENTITY is a JSON file holding either an OHP envelope (caller.identity is used), the
identity object {sdJwtVc, disclosures, claimsRevealed}, or a text file with a compact SD-JWT.
Prints the verified claims as JSON; claimsRevealed mismatches go to stderr as warnings.

Exit status: 0 verified, 1 verification failed, 2 usage or I/O error.`;

export const sdjwtCommand: Command = {
  name: "sdjwt",
  summary: "verify an OHP caller.identity SD-JWT VC against the IdP JWKS",
  usage: SDJWT_USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub !== "verify") throw new UsageError(sub === undefined ? "sdjwt needs a SUBCOMMAND" : `unknown subcommand ${JSON.stringify(sub)}`);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        jwks: { type: "string" },
        vct: { type: "string" },
        iss: { type: "string" },
        now: { type: "string" },
        "kb-jwt": { type: "string" },
        aud: { type: "string" },
        nonce: { type: "string" },
        "require-kb": { type: "boolean", default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError("sdjwt verify needs exactly one IDENTITY file");
    if (values.jwks === undefined) throw new UsageError("--jwks is required");
    let jwks: Jwks;
    try {
      jwks = parseJwks(await readInput(io, values.jwks, "JWKS"), { skipUnsupported: true });
    } catch (e) {
      if (e instanceof CliExit) throw e;
      throw new CliExit(`${values.jwks}: ${(e as Error).message}`, EXIT_USAGE);
    }
    const text = (await readInput(io, positionals[0] as string, "identity")).trim();
    const options = {
      issuerKeys: jwks,
      now: parseNow(values.now),
      requireKeyBinding: values["require-kb"],
      ...(values.vct === undefined ? {} : { expectedVct: values.vct }),
      ...(values.iss === undefined ? {} : { expectedIssuer: values.iss }),
      ...(values["kb-jwt"] === undefined ? {} : { kbJwt: values["kb-jwt"] }),
      ...(values.aud === undefined ? {} : { audience: values.aud }),
      ...(values.nonce === undefined ? {} : { nonce: values.nonce }),
    };
    let verified: VerifiedIdentity;
    try {
      if (text.startsWith("{")) {
        const doc = parseJsonText(text, positionals[0] as string);
        const caller = isObject(doc) ? doc["caller"] : undefined;
        const identity = isObject(caller) && caller["identity"] !== undefined ? caller["identity"] : doc;
        verified = verifyOhpIdentity(identity, options);
      } else {
        verified = verifySdJwtVc(text, options);
      }
    } catch (e) {
      failure(e);
    }
    for (const w of verified.warnings) io.stderr(`warning: ${w}\n`);
    const out = {
      valid: true,
      iss: verified.iss,
      vct: verified.vct,
      kid: verified.issuerKey.kid,
      claims: verified.claims,
      disclosed: verified.disclosed.map((d) => d.pathText),
      ...(verified.keyBinding === undefined ? {} : { keyBinding: verified.keyBinding }),
      warnings: verified.warnings,
    };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return EXIT_OK;
  },
};
