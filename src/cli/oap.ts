import { parseArgs } from "node:util";
import { parseJwks } from "../crypto/keys.js";
import { isAgentwireError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import { isJsonObject, type JsonValue } from "../json/types.js";
import { chainKeyResolvers, jwksKeyResolver, mapKeyResolver, type OapKeyResolver } from "../oap/sign.js";
import { verifyReceiptChain } from "../oap/receipts.js";
import { didDocumentKeys, validateDidDocument } from "../trust/did/document.js";
import { CliExit, EXIT_FAIL, EXIT_OK, EXIT_USAGE, readInput, UsageError, type CliIo, type Command } from "./io.js";

const USAGE = `usage: agentwire oap SUBCOMMAND ...

  oap verify-receipts FILE [--did-document FILE]... [--jwks FILE --did DID]...
                           [--log-key VERIFIER_KEY]... [--min-anchors N]
                           [--start PRINCIPAL_DID=HASH]... [--no-schema]
      Verifies OAP receipts offline (OAP-CORE-1.0 §19): each against schemas/oap/oap-receipt,
      unique receipt_ids, every Principal's hash chain from "genesis" (previous_receipt_hash =
      sha256 of the JCS form of the previous receipt without signatures and anchors),
      non-decreasing timestamps, and — when keys are given — every signature (EdDSA) plus a
      signature by each receipt's tool_did. --did-document / --jwks+--did supply the signers'
      keys (a JWKS's kids are taken relative to --did); --log-key trusts a transparency log
      (C2SP verifier key; its name is the log_id) so anchors in it are verified; --min-anchors
      requires that many verified anchors per receipt; --start continues a chain segment.
      FILE is a JSON array of receipts, an object {"receipts": [...]} (the audit endpoint's
      answer), or JSON Lines. Prints {"ok", "receipts", "principals", "signaturesVerified",
      "anchorsVerified", "anchorsSkipped", "firstBroken"?}.

FILE "-" reads standard input.
Exit status: 0 the receipts verify, 1 a receipt is broken (firstBroken names it), 2 usage or I/O error.`;

function parseReceipts(text: string, path: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let value: JsonValue | undefined;
    try {
      value = parseJsonStrict(trimmed);
    } catch {
      value = undefined;
    }
    if (Array.isArray(value)) return value;
    if (isJsonObject(value) && Array.isArray(value["receipts"])) return value["receipts"];
    if (value !== undefined && !trimmed.includes("\n")) throw new CliExit(`${path}: expected an array of receipts or {"receipts": [...]}`, EXIT_FAIL);
  }
  // JSON Lines.
  const out: unknown[] = [];
  trimmed.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(parseJsonStrict(line));
    } catch (e) {
      throw new CliExit(`${path}: line ${i + 1}: ${(e as Error).message}`, EXIT_FAIL);
    }
  });
  return out;
}

async function keyResolver(io: CliIo, didDocs: readonly string[], jwksFiles: readonly string[], did: string | undefined): Promise<OapKeyResolver | undefined> {
  const resolvers: OapKeyResolver[] = [];
  for (const path of didDocs) {
    const text = await readInput(io, path, "DID document");
    try {
      const raw = parseJsonStrict(text);
      const id = isJsonObject(raw) && typeof raw["id"] === "string" ? raw["id"] : "";
      const { keys } = didDocumentKeys(validateDidDocument(raw, id));
      resolvers.push(mapKeyResolver(Object.fromEntries(keys.map((k) => [k.id, k.jwk]))));
    } catch (e) {
      throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_USAGE);
    }
  }
  if (jwksFiles.length > 0 && did === undefined) throw new UsageError("--jwks needs --did DID (the DID whose keys the JWKS holds)");
  for (const path of jwksFiles) {
    const text = await readInput(io, path, "JWKS");
    try {
      resolvers.push(jwksKeyResolver(parseJwks(text, { skipUnsupported: true }), did as string));
    } catch (e) {
      throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_USAGE);
    }
  }
  return resolvers.length === 0 ? undefined : chainKeyResolvers(...resolvers);
}

async function verifyReceipts(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "did-document": { type: "string", multiple: true },
      jwks: { type: "string", multiple: true },
      did: { type: "string" },
      "log-key": { type: "string", multiple: true },
      "min-anchors": { type: "string" },
      start: { type: "string", multiple: true },
      "no-schema": { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError("oap verify-receipts takes exactly one FILE");
  const file = positionals[0] as string;
  const minAnchors = values["min-anchors"] === undefined ? 0 : Number(values["min-anchors"]);
  if (!Number.isSafeInteger(minAnchors) || minAnchors < 0) throw new UsageError("--min-anchors must be a non-negative integer");
  const startHashes: Record<string, string> = {};
  for (const s of values.start ?? []) {
    const at = s.lastIndexOf("=");
    if (at <= 0) throw new UsageError("--start takes PRINCIPAL_DID=HASH");
    startHashes[s.slice(0, at)] = s.slice(at + 1);
  }
  const receipts = parseReceipts(await readInput(io, file, "receipts file"), file);
  const keys = await keyResolver(io, values["did-document"] ?? [], values.jwks ?? [], values.did);
  let report;
  try {
    report = await verifyReceiptChain(receipts, {
      ...(keys === undefined ? {} : { keys }),
      logKeys: values["log-key"] ?? [],
      minAnchors,
      checkSchema: !values["no-schema"],
      startHashes,
    });
  } catch (e) {
    if (isAgentwireError(e)) throw new CliExit(`${e.message} [${e.code}]`, EXIT_USAGE);
    throw e;
  }
  io.stdout(JSON.stringify(report, null, 2) + "\n");
  return report.ok ? EXIT_OK : EXIT_FAIL;
}

/** `agentwire oap …`: OAP (Open Agent Protocol) tools. */
export const oapCommand: Command = {
  name: "oap",
  summary: "OAP (Open Agent Protocol): verify receipt chains offline",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    switch (sub) {
      case "verify-receipts":
        return verifyReceipts(rest, io);
      default:
        throw new UsageError(sub === undefined ? "missing SUBCOMMAND" : `unknown subcommand ${JSON.stringify(sub)}`);
    }
  },
};
