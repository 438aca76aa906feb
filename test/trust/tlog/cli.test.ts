import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tlogCommand } from "../../../src/cli/tlog.js";
import { UsageError, type CliIo } from "../../../src/cli/io.js";
import { privateJwks } from "../../../src/crypto/keys.js";
import { signEnvelope } from "../../../src/ohp/sign.js";
import type { JsonObject } from "../../../src/json/types.js";
import { testKeys } from "../../helpers/keys.js";
import { UPSTREAM_OHP } from "../../helpers/upstream.js";

const dir = mkdtempSync(join(tmpdir(), "agentwire-tlog-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOG_ID = "rekor.openhandoffprotocol.org";
const logKeys = testKeys(7);

function io(files: Record<string, string>) {
  const out = { stdout: "", stderr: "" };
  const cliIo: CliIo = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    readFile: async (p) => (p in files ? (files[p] as string) : readFileSync(p, "utf8")),
    writeFile: async () => undefined,
    cwd: dir,
  };
  return { io: cliIo, out };
}

async function run(args: string[], files: Record<string, string> = {}) {
  const { io: cliIo, out } = io(files);
  const code = await tlogCommand.run(args, cliIo);
  return { code, ...out };
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("agentwire tlog CLI", () => {
  const files = { "log.jwks": JSON.stringify(privateJwks([logKeys.ed])) };

  it("serve / vkey / submit / verify / anchor / verify-anchor end to end on an ephemeral port", async () => {
    const db = join(dir, "cli.db");
    const served = io(files);
    const serving = tlogCommand.run(["serve", "--db", db, "--key", "log.jwks", "--port", "0", "--origin", LOG_ID], served.io);
    await waitFor(() => served.out.stdout.includes("\n"));
    const { url, origin, verifierKey } = JSON.parse(served.out.stdout) as { url: string; origin: string; verifierKey: string };
    expect(origin).toBe(LOG_ID);
    try {
      const v = await run(["vkey", "--key", "log.jwks", "--origin", LOG_ID], files);
      expect(v.stdout.trim()).toBe(verifierKey);

      const hash = `sha256:${"ab".repeat(32)}`;
      const plain = await run(["submit", url, hash]);
      expect(plain.code).toBe(0);
      expect(JSON.parse(plain.stdout).index).toBe(0);
      const verified = await run(["submit", url, `sha256:${"cd".repeat(32)}`, "--vkey", verifierKey, "--origin", LOG_ID]);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ index: 1, proof: { index: 1, size: 2 } });

      const ok = await run(["verify", url, hash, "--vkey", verifierKey]);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, index: 0, size: 2 });
      await expect(run(["verify", url, `sha256:${"ef".repeat(32)}`, "--vkey", verifierKey])).rejects.toThrow(/ERR_TLOG_HTTP_RESPONSE/);

      const { ed, mldsa } = testKeys();
      const example = JSON.parse(readFileSync(join(UPSTREAM_OHP, "examples", "envelopes", "04-regulated-healthcare.json"), "utf8")) as JsonObject;
      const envelope = JSON.stringify(signEnvelope(example, { keys: [ed, mldsa] }).envelope);
      const anchored = await run(["anchor", "env.json", url, "--vkey", verifierKey], { "env.json": envelope });
      expect(anchored.code).toBe(0);
      const receipt = anchored.stdout;
      expect(JSON.parse(receipt)).toMatchObject({ logId: LOG_ID, index: 2 });

      const offline = await run(["verify-anchor", "env.json", "--receipt", "receipt.json", "--vkey", verifierKey], { "env.json": envelope, "receipt.json": receipt });
      expect(offline.code).toBe(0);
      expect(JSON.parse(offline.stdout)).toMatchObject({ verified: true, index: 2, logId: LOG_ID });
      const tampered = envelope.replace('"regulated"', '"regulated" ').replace(/"summary":"/, '"summary":"x');
      await expect(
        run(["verify-anchor", "env.json", "--receipt", "receipt.json", "--vkey", verifierKey], { "env.json": tampered, "receipt.json": receipt }),
      ).rejects.toThrow(/ERR_TLOG_ANCHOR_LEAF_MISMATCH/);
    } finally {
      process.emit("SIGINT");
      expect(await serving).toBe(0);
    }

    // Restart on the same DB file: the tree continues.
    const again = io(files);
    const serving2 = tlogCommand.run(["serve", "--db", db, "--key", "log.jwks", "--port", "0", "--origin", LOG_ID], again.io);
    await waitFor(() => again.out.stdout.includes("\n"));
    const url2 = (JSON.parse(again.out.stdout) as { url: string }).url;
    try {
      const next = await run(["submit", url2, `sha256:${"01".repeat(32)}`, "--vkey", verifierKey]);
      expect(JSON.parse(next.stdout).index).toBe(3);
    } finally {
      process.emit("SIGINT");
      expect(await serving2).toBe(0);
    }
  });

  it("usage errors", async () => {
    await expect(run([])).rejects.toBeInstanceOf(UsageError);
    await expect(run(["nope"])).rejects.toBeInstanceOf(UsageError);
    await expect(run(["serve", "--key", "log.jwks"], files)).rejects.toBeInstanceOf(UsageError);
    await expect(run(["verify", "http://x", "sha256:00"])).rejects.toBeInstanceOf(UsageError);
    await expect(run(["submit", "http://x"])).rejects.toBeInstanceOf(UsageError);
    await expect(run(["serve", "--db", join(dir, "x.db"), "--key", "nokey.jwks"], { "nokey.jwks": JSON.stringify(privateJwks([logKeys.x25519])) })).rejects.toThrow(
      /no EdDSA signing key/,
    );
  });
});
