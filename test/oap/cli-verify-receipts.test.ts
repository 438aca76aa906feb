/**
 * `agentwire oap verify-receipts FILE` (§19.2 offline verification from the command line).
 * The command is exported as `oapCommand` (src/cli/oap.ts); it is run in-process here.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../src/cli/io.js";
import { oapCommand } from "../../src/cli/oap.js";
import { publicJwks } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import { ReceiptLedger, invocationReceiptBody } from "../../src/oap/receipts.js";
import { oapIds } from "../../src/oap/util.js";
import { MemoryLogStore, TransparencyLog, ed25519NoteSigner, verifierKeyOf } from "../../src/trust/tlog/index.js";
import { PRINCIPAL_DID, TOOL_DID, TestClock, counterRandom, keys, toolSigner, unsignedRequest } from "./helpers.js";

async function run(args: string[], files: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    readFile: async (p) => {
      if (p in files) return files[p] as string;
      return readFileSync(p, "utf8");
    },
    writeFile: async () => undefined,
    cwd: "/",
  };
  try {
    return { code: await oapCommand.run(args, io), out, err };
  } catch (e) {
    return { code: (e as { exitCode?: number }).exitCode ?? 2, out, err: err + (e as Error).message };
  }
}

const LOG = "log.agentwire.example";
const logSeed = new Uint8Array(32).fill(0x77);
let receipts: JsonObject[];
let files: Record<string, string>;

beforeAll(async () => {
  const clock = new TestClock();
  const log = new TransparencyLog(new MemoryLogStore(), { origin: LOG, signers: [ed25519NoteSigner(LOG, logSeed)] });
  const ledger = new ReceiptLedger({ signer: toolSigner, clock: clock.now, ids: oapIds(clock.now, counterRandom()), logs: [log] });
  receipts = [];
  for (let i = 0; i < 25; i++) {
    clock.advance(1000);
    const principal = i % 3 === 0 ? "did:plc:second" : PRINCIPAL_DID;
    receipts.push((await ledger.issueAndAnchor(invocationReceiptBody({ request: unsignedRequest(clock, { principal_did: principal }) as never, response: { output: { i } }, toolDid: TOOL_DID }))).receipt);
  }
  const { kid: _k, alg: _a, use: _u, ...bareJwk } = keys.tool.publicJwk;
  const didDoc = { id: TOOL_DID, verificationMethod: [{ id: `${TOOL_DID}#key-1`, type: "JsonWebKey2020", controller: TOOL_DID, publicKeyJwk: bareJwk }] };
  const tampered = structuredClone(receipts);
  tampered[13] = { ...(tampered[13] as JsonObject), action_id: "transfer_funds" };
  files = {
    "receipts.json": JSON.stringify(receipts),
    "audit.json": JSON.stringify({ receipts, total: receipts.length }),
    "receipts.jsonl": receipts.map((r) => JSON.stringify(r)).join("\n") + "\n",
    "tampered.json": JSON.stringify(tampered),
    "did.json": JSON.stringify(didDoc),
    "tool.jwks": JSON.stringify(publicJwks([keys.tool])),
    "other.jwks": JSON.stringify(publicJwks([keys.agent])),
  };
});

describe("agentwire oap verify-receipts", () => {
  it("verifies a JSON array, an audit answer {receipts} and JSON Lines; exit 0", async () => {
    for (const f of ["receipts.json", "audit.json", "receipts.jsonl"]) {
      const r = await run(["verify-receipts", f], files);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.out) as { ok: boolean; receipts: number; principals: unknown[]; signaturesVerified: boolean; anchorsSkipped: number };
      expect(report).toMatchObject({ ok: true, receipts: 25, signaturesVerified: false, anchorsSkipped: 25 });
      expect(report.principals).toHaveLength(2);
    }
  });

  it("with the Tool's DID document (or JWKS + --did) and the log key: signatures and anchors verified", async () => {
    const a = await run(["verify-receipts", "receipts.json", "--did-document", "did.json", "--log-key", verifierKeyOf(LOG, logSeed), "--min-anchors", "1"], files);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out)).toMatchObject({ ok: true, signaturesVerified: true, anchorsVerified: 25, anchorsSkipped: 0 });
    const b = await run(["verify-receipts", "receipts.json", "--jwks", "tool.jwks", "--did", TOOL_DID], files);
    expect(JSON.parse(b.out)).toMatchObject({ ok: true, signaturesVerified: true });
  });

  it("a tampered receipt: exit 1 and firstBroken names it", async () => {
    const r = await run(["verify-receipts", "tampered.json", "--did-document", "did.json"], files);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).firstBroken).toMatchObject({ index: 13, code: "ERR_OAP_RECEIPT_SIGNATURE", receipt_id: receipts[13]!["receipt_id"] });
    const wrongKeys = await run(["verify-receipts", "receipts.json", "--jwks", "other.jwks", "--did", TOOL_DID], files);
    expect(wrongKeys.code).toBe(1);
    expect(JSON.parse(wrongKeys.out).firstBroken).toMatchObject({ index: 0, code: "ERR_OAP_RECEIPT_SIGNATURE" });
  });

  it("usage errors exit 2", async () => {
    expect((await run(["verify-receipts"], files)).code).toBe(2);
    expect((await run(["verify-receipts", "receipts.json", "--jwks", "tool.jwks"], files)).code).toBe(2);
    expect((await run(["verify-receipts", "receipts.json", "--min-anchors", "-1"], files)).code).toBe(2);
    expect((await run(["frobnicate"], files)).code).toBe(2);
    expect((await run(["verify-receipts", "missing.json"], files)).code).toBe(2);
    expect(oapCommand.name).toBe("oap");
    expect(oapCommand.usage).toContain("verify-receipts");
  });
});
