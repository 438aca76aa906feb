import { parseArgs } from "node:util";
import { ALG_HPKE_X25519, type PublicJwk } from "../crypto/jwk.js";
import { parseJwks, parsePrivateJwks, type PrivateKeyRecord } from "../crypto/keys.js";
import { isAgentwireError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../json/types.js";
import { openEnvelope, sealEnvelope } from "../ohp/seal.js";
import { parseReceiverPolicy } from "../ohp/policy.js";
import { signIssuerProofs } from "../ohp/proofs.js";
import { signEnvelope } from "../ohp/sign.js";
import { leafHashOf, signingSurface } from "../ohp/surface.js";
import { verifyEnvelope, verifyResultJson } from "../ohp/verify.js";
import { CliExit, EXIT_FAIL, EXIT_OK, EXIT_USAGE, readInput, UsageError, type CliIo, type Command } from "./io.js";

const USAGE = `usage: agentwire ohp SUBCOMMAND ...

  ohp sign FILE --keys PRIVATE_JWKS
      Adds the tier's signatures (Signed/Sealed: EdDSA; Regulated: EdDSA + ML-DSA-65) over the
      canonical CBOR signing surface, sets transparency.leafHash when transparency is present,
      and prints the envelope. Regulated: first (re)signs the issuer's record proofs
      (governance.art50Disclosure.proofJws, governance.prohibited.attestationJws) with the EdDSA key.
  ohp signing-bytes FILE [--leaf-hash]
      Prints the hex of the canonical CBOR signing surface (OHP §5.2), or with --leaf-hash the
      "sha256:..." leafHash of it.
  ohp seal FILE --to PUBLIC_JWKS [--recipient KID]... [--move DOTTED.PATH]... [--fields JSON_FILE]
      HPKE-seals envelope members (--move) and/or extra values (--fields: an object of dotted
      names to values) for the X25519 keys of PUBLIC_JWKS (or only the --recipient kids), sets
      audience.recipientKeys and prints the envelope. Sign afterwards.
  ohp open FILE --keys PRIVATE_JWKS
      Opens the sealed block with the receiver's X25519 keys and prints {kid, mode, fields}.
  ohp verify FILE --jwks PUBLIC_JWKS [--now RFC3339] [--call-id ID] [--rtp-fingerprint SHA256]
                  [--keys PRIVATE_JWKS] [--policy POLICY_JSON]
      Runs the receiver pipeline (pre-checks, D09 steps 1-14) with PUBLIC_JWKS as the issuer's
      trust anchor and prints {"outcome","rejectReason","firstFailingStep","check",...}.
      --call-id / --rtp-fingerprint are the live leg (step 4), --keys the receiver's HPKE keys
      (step 13), POLICY_JSON the receiver policy: {"maxTier", "annexIIIAllowed", "oversightMinimum",
      "intendedProcessing", "processingJurisdiction", "requiredAssurance", "tierCompleteness",
      "requireHooks", ...} (docs/ohp-pipeline.md). What no flag can supply (consent receipts,
      IdP resolution, declaration and GPAI URLs, log anchoring) is listed under "unverified".

FILE "-" reads standard input.
Exit status: 0 success/accept, 1 the envelope failed (reject, cannot sign/seal/open), 2 usage or I/O error.`;

async function readEnvelope(io: CliIo, path: string): Promise<{ text: string; envelope: JsonObject }> {
  const text = await readInput(io, path, "envelope");
  let value: JsonValue;
  try {
    value = parseJsonStrict(text);
  } catch (e) {
    throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_FAIL);
  }
  if (!isJsonObject(value)) throw new CliExit(`${path} is not a JSON object`, EXIT_FAIL);
  return { text, envelope: value };
}

async function readPrivateKeys(io: CliIo, path: string): Promise<PrivateKeyRecord[]> {
  const text = await readInput(io, path, "private JWKS");
  try {
    return parsePrivateJwks(text);
  } catch (e) {
    throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_USAGE);
  }
}

async function readPublicJwks(io: CliIo, path: string): Promise<ReturnType<typeof parseJwks>> {
  const text = await readInput(io, path, "public JWKS");
  try {
    return parseJwks(text);
  } catch (e) {
    throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_USAGE);
  }
}

function one(positionals: string[], sub: string): string {
  if (positionals.length !== 1) throw new UsageError(`ohp ${sub} takes exactly one FILE`);
  return positionals[0] as string;
}

function failure(e: unknown): never {
  if (isAgentwireError(e)) throw new CliExit(`${e.message} [${e.code}]`, EXIT_FAIL);
  throw e;
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + "\n");
}

async function sign(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { keys: { type: "string" } } });
  const file = one(positionals, "sign");
  if (values.keys === undefined) throw new UsageError("ohp sign needs --keys PRIVATE_JWKS");
  const { envelope } = await readEnvelope(io, file);
  const keys = await readPrivateKeys(io, values.keys);
  try {
    const ed = keys.find((k) => k.alg === "EdDSA");
    const input = envelope["conformance"] === "regulated" && ed !== undefined ? signIssuerProofs(envelope, ed) : envelope;
    printJson(io, signEnvelope(input, { keys }).envelope);
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

async function signingBytes(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { "leaf-hash": { type: "boolean", default: false } } });
  const { envelope } = await readEnvelope(io, one(positionals, "signing-bytes"));
  try {
    const surface = signingSurface(envelope);
    io.stdout((values["leaf-hash"] ? leafHashOf(surface) : Buffer.from(surface).toString("hex")) + "\n");
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

async function seal(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: "string" },
      recipient: { type: "string", multiple: true },
      move: { type: "string", multiple: true },
      fields: { type: "string" },
    },
  });
  const file = one(positionals, "seal");
  if (values.to === undefined) throw new UsageError("ohp seal needs --to PUBLIC_JWKS");
  if (values.move === undefined && values.fields === undefined) throw new UsageError("ohp seal needs --move PATH and/or --fields JSON_FILE");
  const { envelope } = await readEnvelope(io, file);
  const jwks = await readPublicJwks(io, values.to);
  let recipients: PublicJwk[] = jwks.keys.filter((k) => k.alg === ALG_HPKE_X25519);
  if (values.recipient !== undefined) {
    const wanted = values.recipient;
    for (const kid of wanted) {
      if (!recipients.some((k) => k.kid === kid)) throw new CliExit(`${values.to} has no X25519 key with kid ${kid}`, EXIT_USAGE);
    }
    recipients = recipients.filter((k) => wanted.includes(k.kid));
  }
  if (recipients.length === 0) throw new CliExit(`${values.to} has no ${ALG_HPKE_X25519} key`, EXIT_USAGE);
  let fields: Record<string, JsonValue> | undefined;
  if (values.fields !== undefined) {
    const text = await readInput(io, values.fields, "fields file");
    let parsed: JsonValue;
    try {
      parsed = parseJsonStrict(text);
    } catch (e) {
      throw new CliExit(`${values.fields} is not valid JSON: ${(e as Error).message}`, EXIT_USAGE);
    }
    if (!isJsonObject(parsed)) throw new CliExit(`${values.fields} must be a JSON object of dotted names to values`, EXIT_USAGE);
    fields = parsed;
  }
  try {
    printJson(io, await sealEnvelope(envelope, { recipients, ...(fields ? { fields } : {}), ...(values.move ? { move: values.move } : {}) }));
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

async function open(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { keys: { type: "string" } } });
  const file = one(positionals, "open");
  if (values.keys === undefined) throw new UsageError("ohp open needs --keys PRIVATE_JWKS");
  const { envelope } = await readEnvelope(io, file);
  const keys = await readPrivateKeys(io, values.keys);
  try {
    const opened = await openEnvelope(envelope, keys);
    printJson(io, { kid: opened.kid, mode: opened.mode, fields: opened.fields });
  } catch (e) {
    failure(e);
  }
  return EXIT_OK;
}

async function verify(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      jwks: { type: "string" },
      now: { type: "string" },
      "call-id": { type: "string" },
      "rtp-fingerprint": { type: "string" },
      keys: { type: "string" },
      policy: { type: "string" },
    },
  });
  const file = one(positionals, "verify");
  if (values.jwks === undefined) throw new UsageError("ohp verify needs --jwks PUBLIC_JWKS (the issuer's trust anchor)");
  let now: Date | undefined;
  if (values.now !== undefined) {
    now = new Date(values.now);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(values.now) || Number.isNaN(now.getTime())) throw new UsageError(`--now ${values.now} is not an RFC 3339 date-time`);
  }
  const jwks = await readPublicJwks(io, values.jwks);
  const keys = values.keys === undefined ? undefined : await readPrivateKeys(io, values.keys);
  const policy = values.policy === undefined ? undefined : parseReceiverPolicy(parseJsonStrict(await readInput(io, values.policy, "policy")));
  const text = await readInput(io, file, "envelope");
  let envelope: JsonValue;
  try {
    envelope = parseJsonStrict(text);
  } catch (e) {
    const detail = { code: isAgentwireError(e) ? e.code : "ERR_JSON", message: (e as Error).message };
    io.stdout(JSON.stringify({ outcome: "reject", rejectReason: "unknown", firstFailingStep: 0, check: "schema", detail }) + "\n");
    return EXIT_FAIL;
  }
  const result = await verifyEnvelope(envelope, {
    jwks,
    byteLength: Buffer.byteLength(text, "utf8"),
    ...(now ? { now } : {}),
    ...(values["call-id"] === undefined ? {} : { callId: values["call-id"] }),
    ...(values["rtp-fingerprint"] === undefined ? {} : { rtpFingerprint: values["rtp-fingerprint"] }),
    ...(keys ? { keys } : {}),
    ...(policy ? { policy } : {}),
  });
  io.stdout(JSON.stringify(verifyResultJson(result)) + "\n");
  return result.outcome === "accept" ? EXIT_OK : EXIT_FAIL;
}

const SUBCOMMANDS: Readonly<Record<string, (args: string[], io: CliIo) => Promise<number>>> = {
  sign,
  "signing-bytes": signingBytes,
  seal,
  open,
  verify,
};

export const ohpCommand: Command = {
  name: "ohp",
  summary: "OHP envelopes: sign, signing-bytes, seal, open, verify",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (handler === undefined) throw new UsageError(sub === undefined ? "ohp needs a subcommand" : `unknown subcommand ${JSON.stringify(sub)}`);
    return handler(rest, io);
  },
};
