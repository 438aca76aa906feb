import { parseArgs } from "node:util";
import { ALG_EDDSA } from "../crypto/jwk.js";
import { parseJwks, parsePrivateJwks, type PrivateKeyRecord } from "../crypto/keys.js";
import { builtinProbes, CONFORMANCE_LEVELS, issueConformanceReceipt, runConformance, type ConformanceContext, type ConformanceLevel, type Probe } from "../oap/governance/conformance.js";
import { DidResolver } from "../trust/did/resolver.js";
import { isAgentwireError } from "../errors.js";
import { parseJsonStrict } from "../json/parse.js";
import { isJsonObject, type JsonValue } from "../json/types.js";
import { chainKeyResolvers, jwksKeyResolver, mapKeyResolver, type OapKeyResolver } from "../oap/sign.js";
import { verifyReceiptChain } from "../oap/receipts.js";
import { a2aAgentCardToOapManifest, didWebOf, mcpToolsToOapManifest, toolIdFor, type A2aAgentCard, type L0ManifestInput, type McpTool } from "../oap/adapters/index.js";
import { validateOapDocument } from "../oap/documents.js";
import type { OapManifest } from "../../gen/types/oap/oap-manifest.js";
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

  oap conformance URL --key JWKS_FILE [--kid DID_URL] [--level N] [--out FILE] [--days D]
                     [--ccc FILE] [--verifiers N] [--conflicts] [--sessions] [--attestation FILE]
      Runs agentwire's strict conformance probes (OAP-CORE-1.0 §31; docs/oap-governance.md)
      level by level (L0 … --level, default 3) against the live Tool at URL (its manifest URL or
      origin): the manifest probes plus live ones (incident endpoint answers, an unsigned
      invocation is refused with a signed error, billing answers, the signing key is in the
      Tool's DID document). --ccc, --verifiers, --conflicts, --sessions, --attestation state the
      Tool's local configuration the L3-L5 probes need. When a level passes, issues a signed
      Conformance Receipt (schema-valid, --days ≤ 90, default 90) with the Tool's Ed25519 key
      from JWKS_FILE (e.g. the node's DATA/keys/private.jwks.json; kid default <tool DID>#<kid>)
      and writes it to --out (else stdout); serve it at /oap-conformance-receipt.json.
      Prints the report to stderr. Exit 0 when the requested level was reached, 1 otherwise.

  oap import FILE --from mcp|a2a --facts FACTS_FILE [--base-url URL] [--out FILE]
      Converts an MCP tool list (the tools/list result {"tools": [...]}, a JSON-RPC answer
      carrying it, or a bare array) or an A2A Agent Card into an L0 OAP manifest (§38.1, §38.2)
      validated against schemas/oap/oap-manifest. FACTS_FILE states what only the publisher
      knows: {"jurisdictions", "governance", "data_policy", "baseUrl"?, "tool"?, "auth"?,
      "risk_class"?, "sla"?, "trust"?}; --base-url overrides baseUrl (default for A2A: the
      card's url). For MCP, tool members not given default from tool.name (default "MCP
      server") and did:web of the base URL. Writes the manifest to --out (else stdout).
      Exit 1 when the result is not a valid manifest.

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

function livePath(manifest: unknown, name: string): string | undefined {
  const e = isJsonObject(manifest as JsonValue) && isJsonObject((manifest as Record<string, JsonValue>)["endpoints"]) ? ((manifest as Record<string, JsonValue>)["endpoints"] as Record<string, JsonValue>)[name] : undefined;
  return typeof e === "string" ? e : undefined;
}

function liveProbes(manifest: unknown, kid: string, allowInsecure: boolean): Probe<ConformanceContext>[] {
  const fail = (reason: string) => ({ status: "fail" as const, reason });
  const pass = { status: "pass" as const };
  return [
    {
      id: "live.l0.incident",
      level: "L0",
      description: "§22.2: the incident endpoint answers GET with a JSON object.",
      run: async () => {
        const u = livePath(manifest, "incident");
        if (u === undefined) return fail("no incident endpoint");
        const r = await fetch(u);
        return r.status === 200 && isJsonObject((await r.json()) as JsonValue) ? pass : fail(`GET ${u} answered ${r.status}`);
      },
    },
    {
      id: "live.l1.unsigned_refused",
      level: "L1",
      description: "§8.2: an unsigned invocation is refused with a signed error envelope.",
      run: async () => {
        const u = livePath(manifest, "invoke");
        if (u === undefined) return fail("no invoke endpoint");
        const r = await fetch(u, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ oap_version: "1.0", action: "__probe__", input: {} }) });
        const body = (await r.json().catch(() => undefined)) as JsonValue | undefined;
        if (r.status < 400 || r.status >= 500) return fail(`answered ${r.status}`);
        return isJsonObject(body) && body["status"] === "error" && isJsonObject(body["signature"]) ? pass : fail("the refusal is not a signed error envelope");
      },
    },
    {
      id: "live.l2.billing",
      level: "L2",
      description: "§11: the billing endpoint answers with price options.",
      run: async () => {
        const u = livePath(manifest, "billing");
        if (u === undefined) return fail("no billing endpoint");
        const r = await fetch(u);
        const body = (await r.json().catch(() => undefined)) as JsonValue | undefined;
        return r.status === 200 && isJsonObject(body) && Array.isArray(body["price_options"]) ? pass : fail(`GET ${u} answered ${r.status}`);
      },
    },
    {
      id: "live.l3.signing_key",
      level: "L3",
      description: "§5.1: the attesting key is a verification method of the Tool's DID document.",
      run: async () => {
        const did = kid.split("#")[0] as string;
        const resolved = await new DidResolver({ allowInsecureLocalhost: allowInsecure }).resolve(did);
        return resolved.keys.some((k) => k.id === kid) ? pass : fail(`${kid} is not in ${did}'s DID document`);
      },
    },
  ];
}

async function readJson(io: CliIo, path: string, what: string): Promise<JsonValue> {
  try {
    return parseJsonStrict(await readInput(io, path, what));
  } catch (e) {
    if (e instanceof CliExit) throw e;
    throw new CliExit(`${path}: ${(e as Error).message}`, EXIT_USAGE);
  }
}

async function conformance(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      key: { type: "string" },
      kid: { type: "string" },
      level: { type: "string" },
      out: { type: "string" },
      days: { type: "string" },
      ccc: { type: "string" },
      verifiers: { type: "string" },
      conflicts: { type: "boolean", default: false },
      sessions: { type: "boolean", default: false },
      attestation: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("oap conformance takes exactly one URL");
  if (values.key === undefined) throw new UsageError("oap conformance needs --key JWKS_FILE (the Tool's Ed25519 key signs the receipt)");
  const level = Number((values.level ?? "3").replace(/^L/i, ""));
  if (!Number.isSafeInteger(level) || level < 0 || level > 5) throw new UsageError("--level must be 0..5");
  const days = values.days === undefined ? 90 : Number(values.days);
  if (!Number.isSafeInteger(days) || days < 1 || days > 90) throw new UsageError("--days must be 1..90 (§32.6)");
  const verifiers = values.verifiers === undefined ? 0 : Number(values.verifiers);
  if (!Number.isSafeInteger(verifiers) || verifiers < 0) throw new UsageError("--verifiers must be a non-negative integer");
  let url = positionals[0] as string;
  if (!/\.json$/.test(new URL(url).pathname)) url = `${url.replace(/\/$/, "")}/.well-known/oap-tool.json`;
  const keyDoc = await readJson(io, values.key, "key file");
  let key: PrivateKeyRecord | undefined;
  try {
    key = parsePrivateJwks(keyDoc).find((k) => k.alg === ALG_EDDSA);
  } catch (e) {
    throw new CliExit(`${values.key}: ${(e as Error).message}`, EXIT_USAGE);
  }
  if (key === undefined) throw new CliExit(`${values.key}: no Ed25519 key`, EXIT_USAGE);
  const res = await fetch(url).catch((e: unknown) => {
    throw new CliExit(`cannot fetch ${url}: ${(e as Error).message}`, EXIT_FAIL);
  });
  if (res.status !== 200) throw new CliExit(`GET ${url} answered ${res.status}`, EXIT_FAIL);
  const manifest = (await res.json()) as JsonValue;
  const tool = isJsonObject(manifest) && isJsonObject(manifest["tool"]) ? manifest["tool"] : undefined;
  const did = typeof tool?.["did"] === "string" ? tool["did"] : undefined;
  if (tool === undefined || did === undefined) throw new CliExit(`${url}: not an OAP manifest (no tool.did)`, EXIT_FAIL);
  const kid = values.kid ?? `${did}#${key.kid}`;
  const host = new URL(url).hostname;
  const insecure = host === "localhost" || host === "127.0.0.1" || host === "::1";
  const context: ConformanceContext = {
    manifest,
    ...(values.ccc === undefined ? {} : { ccc: await readJson(io, values.ccc, "CCC") }),
    verifierCount: verifiers,
    conflictsResource: values.conflicts === true,
    coordinationSessions: values.sessions === true,
    ...(values.attestation === undefined ? {} : { auditAttestation: await readJson(io, values.attestation, "attestation") }),
  };
  const upTo = CONFORMANCE_LEVELS[level] as ConformanceLevel;
  const report = await runConformance([...builtinProbes(), ...liveProbes(manifest, kid, insecure)], context, { upTo });
  io.stderr(JSON.stringify(report, null, 2) + "\n");
  if (report.claimed_levels.length === 0) throw new CliExit("no conformance level passed: nothing to attest", EXIT_FAIL);
  const receipt = issueConformanceReceipt(report, {
    implementation: { did, name: String(tool["name"] ?? did), version: String(tool["version"] ?? "0"), deployment_uri: url.replace(/\/\.well-known\/oap-tool\.json$/, "/") },
    target: { uri: url, manifest },
    signer: { key, kid },
    validityDays: days,
    fixtures: { url, level: upTo },
  });
  const text = JSON.stringify(receipt, null, 2) + "\n";
  if (values.out === undefined) io.stdout(text);
  else await io.writeFile(values.out, text);
  return report.claimed_levels.includes(upTo) ? EXIT_OK : EXIT_FAIL;
}

async function importManifest(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { from: { type: "string" }, facts: { type: "string" }, "base-url": { type: "string" }, out: { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("oap import takes exactly one FILE");
  if (values.from !== "mcp" && values.from !== "a2a") throw new UsageError("oap import needs --from mcp|a2a");
  if (values.facts === undefined) throw new UsageError("oap import needs --facts FACTS_FILE (jurisdictions, governance, data_policy)");
  const path = positionals[0] as string;
  const source = await readJson(io, path, values.from === "mcp" ? "MCP tool list" : "A2A Agent Card");
  const facts = await readJson(io, values.facts, "facts");
  if (!isJsonObject(facts)) throw new CliExit(`${values.facts}: expected a JSON object`, EXIT_USAGE);
  const f = facts as unknown as Partial<L0ManifestInput> & { readonly tool?: Partial<OapManifest["tool"]> };
  let manifest: OapManifest;
  try {
    if (values.from === "mcp") {
      const list = Array.isArray(source) ? source : isJsonObject(source) && isJsonObject(source["result"]) ? source["result"]["tools"] : isJsonObject(source) ? source["tools"] : undefined;
      if (!Array.isArray(list)) throw new CliExit(`${path}: expected an MCP tool list ({"tools": [...]})`, EXIT_FAIL);
      const baseUrl = values["base-url"] ?? f.baseUrl;
      if (baseUrl === undefined) throw new UsageError("oap import --from mcp needs --base-url URL or baseUrl in the facts");
      const name = f.tool?.name ?? "MCP server";
      const did = f.tool?.did ?? didWebOf(baseUrl);
      const description = f.tool?.description_for_agents ?? `${name} (imported from MCP).`;
      const tool: OapManifest["tool"] = {
        id: toolIdFor(name),
        name,
        version: "1.0.0",
        categories: ["mcp"],
        description_for_humans: f.tool?.description_for_humans ?? description,
        ...f.tool,
        did,
        publisher: f.tool?.publisher ?? { did, legal_name: name, verified: false },
        description_for_agents: description,
      } as OapManifest["tool"];
      manifest = mcpToolsToOapManifest(list as unknown as McpTool[], { ...(f as L0ManifestInput), baseUrl, tool });
    } else {
      if (!isJsonObject(source) || !Array.isArray(source["skills"]) || typeof source["url"] !== "string") throw new CliExit(`${path}: expected an A2A Agent Card (url, skills)`, EXIT_FAIL);
      const card = source as unknown as A2aAgentCard;
      const baseUrl = values["base-url"] ?? f.baseUrl ?? card.url;
      manifest = a2aAgentCardToOapManifest(card, { ...(f as Omit<L0ManifestInput, "tool">), baseUrl, ...(f.tool === undefined ? {} : { tool: f.tool }) });
    }
  } catch (e) {
    if (e instanceof CliExit || e instanceof UsageError) throw e;
    throw new CliExit(`cannot import ${path}: ${(e as Error).message}`, EXIT_FAIL);
  }
  const problems = validateOapDocument("oap-manifest", manifest);
  if (problems.length > 0) throw new CliExit(`the imported manifest is invalid: ${JSON.stringify(problems)}`, EXIT_FAIL);
  const text = JSON.stringify(manifest, null, 2) + "\n";
  if (values.out === undefined) io.stdout(text);
  else await io.writeFile(values.out, text);
  return EXIT_OK;
}

/** `agentwire oap …`: OAP (Open Agent Protocol) tools. */
export const oapCommand: Command = {
  name: "oap",
  summary: "OAP (Open Agent Protocol): verify receipt chains offline, run conformance probes, import MCP/A2A",
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    switch (sub) {
      case "verify-receipts":
        return verifyReceipts(rest, io);
      case "conformance":
        return conformance(rest, io);
      case "import":
        return importManifest(rest, io);
      default:
        throw new UsageError(sub === undefined ? "missing SUBCOMMAND" : `unknown subcommand ${JSON.stringify(sub)}`);
    }
  },
};
