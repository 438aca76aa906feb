/**
 * OAP test helpers: upstream data paths, a controllable clock, deterministic keys bound to DID
 * URLs, and request envelope builders.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { keyPairFromSeed, type PrivateKeyRecord } from "../../src/crypto/keys.js";
import type { JsonObject } from "../../src/json/types.js";
import type { OapError } from "../../src/oap/errors.js";
import { mapKeyResolver, signRequest, type OapKeyResolver, type OapSigner } from "../../src/oap/sign.js";
import { oapUlid, type OapRandom } from "../../src/oap/util.js";
import { TEST_DIR } from "../helpers/upstream.js";

export const UPSTREAM_OAP = join(TEST_DIR, "upstream", "oap", "oap-spec");

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

export function upstream<T = JsonObject>(rel: string): T {
  return readJson<T>(join(UPSTREAM_OAP, rel));
}

/** All files under a directory (relative names, sorted). */
export function walk(dir: string): string[] {
  const out: string[] = [];
  const go = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) go(p);
      else out.push(relative(dir, p));
    }
  };
  go(dir);
  return out;
}

/** A clock tests move by hand. */
export class TestClock {
  ms: number;
  constructor(iso = "2026-05-02T10:00:00.000Z") {
    this.ms = Date.parse(iso);
  }
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): this {
    this.ms += ms;
    return this;
  }
  iso(offsetMs = 0): string {
    return new Date(this.ms + offsetMs).toISOString();
  }
}

/** Deterministic "random" bytes (a counter), so ids are reproducible. */
export function counterRandom(start = 1): OapRandom {
  let c = start;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (c * 31 + i * 7) & 0xff;
    c++;
    return out;
  };
}

export const AGENT_DID = "did:web:agent.example";
export const TOOL_DID = "did:web:weatherpro.example";
export const PRINCIPAL_DID = "did:plc:abc123";

function key(byte: number, kid: string): PrivateKeyRecord {
  return keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(byte), { kid });
}

/** Agent, tool and principal signing keys; `kid` is the DID URL. */
export const keys = {
  agent: key(0x51, `${AGENT_DID}#key-1`),
  tool: key(0x52, `${TOOL_DID}#key-1`),
  principal: key(0x53, `${PRINCIPAL_DID}#key-1`),
  attacker: key(0x54, `${AGENT_DID}#key-1`),
};
export const agentSigner: OapSigner = { key: keys.agent };
export const toolSigner: OapSigner = { key: keys.tool };

/** Resolves the agent, tool and principal keys by DID URL. */
export const resolver: OapKeyResolver = mapKeyResolver({
  [keys.agent.kid]: keys.agent.publicJwk,
  [keys.tool.kid]: keys.tool.publicJwk,
  [keys.principal.kid]: keys.principal.publicJwk,
});

let seq = 1;
/** A fresh Crockford ULID at the clock's time. */
export function ulidAt(clock: TestClock): string {
  return oapUlid(clock.ms, counterRandom(seq++));
}

/** An unsigned §8.2 request envelope for get_forecast. */
export function unsignedRequest(clock: TestClock, overrides: JsonObject = {}): JsonObject {
  return {
    oap_version: "1.0",
    request_id: ulidAt(clock),
    timestamp: clock.iso(),
    principal_did: PRINCIPAL_DID,
    agent_did: AGENT_DID,
    action: "get_forecast",
    input: { location: "Berlin, DE", days: 3 },
    context: { locale: "de-DE", currency: "EUR", jurisdiction_user: "DE", jurisdiction_agent: "DE" },
    ...overrides,
  };
}

/** A signed §8.2 request envelope. */
export function signedRequest(clock: TestClock, overrides: JsonObject = {}): JsonObject {
  return signRequest(unsignedRequest(clock, overrides), agentSigner) as unknown as JsonObject;
}

/** Runs `fn` and returns the `code` of what it throws ("no error" otherwise). */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return "no error";
  } catch (e) {
    return (e as { code?: string }).code ?? `untyped: ${(e as Error).message}`;
  }
}

/** Runs `fn` and returns what it throws (fails the test when it does not throw). */
export async function thrown<E = OapError>(fn: () => unknown): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return e as E;
  }
  throw new Error("expected an error");
}
