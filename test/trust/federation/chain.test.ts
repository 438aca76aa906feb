import { describe, expect, it } from "vitest";
import {
  InMemoryFederationFetcher,
  decodeEntityStatement,
  federationJwks,
  resolveTrustChain,
  signEntityStatement,
  verifyTrustChain,
} from "../../../src/trust/federation/index.js";
import { INT, LEAF, NOW, T0, TA, buildFederation, intKey, rogueKey, taKey, trustAnchors } from "./helpers.js";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "no error";
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

describe("OpenID Federation 1.0 §3 entity statements", () => {
  it("§3: signed with EdDSA, typ entity-statement+jwt, kid, and iss/sub/iat/exp/jwks", async () => {
    const { leafEc } = await buildFederation();
    const s = decodeEntityStatement(leafEc);
    expect(s.header).toEqual({ typ: "entity-statement+jwt", alg: "EdDSA", kid: "leaf-fed-2026" });
    expect(s.payload).toMatchObject({ iss: LEAF, sub: LEAF, iat: T0, exp: T0 + 86400, authority_hints: [INT] });
  });

  it("§3: a JWT with another typ is ERR_FED_HEADER_INVALID; a non-JWT is ERR_FED_MALFORMED", async () => {
    const { leafEc } = await buildFederation();
    const [, p, s] = leafEc.split(".");
    const h = Buffer.from(JSON.stringify({ typ: "JWT", alg: "EdDSA", kid: "x" })).toString("base64url");
    expect(() => decodeEntityStatement(`${h}.${p}.${s}`)).toThrow(expect.objectContaining({ code: "ERR_FED_HEADER_INVALID" }));
    expect(() => decodeEntityStatement("nope")).toThrow(expect.objectContaining({ code: "ERR_FED_MALFORMED" }));
  });
});

describe("OpenID Federation 1.0 §10 trust chains", () => {
  it("§10.2: a 3-level chain (anchor → intermediate → leaf) verifies and reports the earliest exp", async () => {
    const { chain } = await buildFederation({ intAboutLeaf: { exp: T0 + 7200 } });
    const tc = await verifyTrustChain(chain, { trustAnchors, now: NOW });
    expect(tc.entityId).toBe(LEAF);
    expect(tc.trustAnchorId).toBe(TA);
    expect(tc.statements).toHaveLength(4);
    expect(tc.expiresAt.getTime()).toBe((T0 + 7200) * 1000);
  });

  it("§10.1: resolveTrustChain collects the same chain through the fetcher (authority_hints, fetch endpoint)", async () => {
    const { fetcher, chain } = await buildFederation();
    const tc = await resolveTrustChain(LEAF, { trustAnchors, fetcher, now: NOW });
    expect(tc.statements.map((s) => s.jwt)).toEqual(chain);
  });

  it("§10.2: an expired subordinate statement → ERR_FED_EXPIRED", async () => {
    const { chain } = await buildFederation({ intAboutLeaf: { iat: T0 - 7200, exp: T0 - 3600 } });
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors, now: NOW }))).toBe("ERR_FED_EXPIRED");
  });

  it("§10.2: a statement issued in the future → ERR_FED_NOT_YET_VALID", async () => {
    const { chain } = await buildFederation({ leaf: { iat: T0 + 3600 } });
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors, now: NOW }))).toBe("ERR_FED_NOT_YET_VALID");
  });

  it("§10.2: a subordinate statement signed by a key the superior does not publish → ERR_FED_SIGNATURE", async () => {
    const { chain } = await buildFederation({ intAboutLeaf: { signWith: rogueKey } });
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors, now: NOW }))).toBe("ERR_FED_SIGNATURE");
  });

  it("§10.2: the anchor configuration must verify with the locally configured anchor keys → ERR_FED_SIGNATURE", async () => {
    const { chain } = await buildFederation();
    const wrongAnchor = [{ entityId: TA, jwks: federationJwks([intKey.publicJwk as never]) }];
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors: wrongAnchor, now: NOW }))).toBe("ERR_FED_SIGNATURE");
  });

  it("§10.2: a leaf signing with a key its superior does not list → ERR_FED_SIGNATURE", async () => {
    const { chain } = await buildFederation({ intAboutLeaf: { jwks: federationJwks([rogueKey]) } });
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors, now: NOW }))).toBe("ERR_FED_SIGNATURE");
  });

  it("§10.2: broken sub/iss linkage (the statement is about another entity) → ERR_FED_CHAIN_LINK", async () => {
    const { chain } = await buildFederation({ intAboutLeaf: { sub: "https://other.example.com" } });
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors, now: NOW }))).toBe("ERR_FED_CHAIN_LINK");
    const { chain: c2 } = await buildFederation();
    expect(await codeOf(verifyTrustChain([c2[0]!, c2[2]!, c2[3]!], { trustAnchors, now: NOW }))).toBe("ERR_FED_CHAIN_LINK");
  });

  it("§10.2: a chain ending at an anchor that is not configured → ERR_FED_UNKNOWN_ANCHOR", async () => {
    const { chain, fetcher } = await buildFederation();
    const others = [{ entityId: "https://other-federation.example", jwks: federationJwks([taKey]) }];
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors: others, now: NOW }))).toBe("ERR_FED_UNKNOWN_ANCHOR");
    expect(await codeOf(resolveTrustChain(LEAF, { trustAnchors: others, fetcher, now: NOW }))).toBe("ERR_FED_UNKNOWN_ANCHOR");
  });

  it("§10.2 / §6.2.1: maxPathLength 0 or constraints.max_path_length 0 reject an intermediate → ERR_FED_PATH_LENGTH", async () => {
    const { chain, fetcher } = await buildFederation();
    expect(await codeOf(verifyTrustChain(chain, { trustAnchors, now: NOW, maxPathLength: 0 }))).toBe("ERR_FED_PATH_LENGTH");
    expect(await codeOf(resolveTrustChain(LEAF, { trustAnchors, fetcher, now: NOW, maxPathLength: 0 }))).toBe("ERR_FED_PATH_LENGTH");
    const { chain: c2 } = await buildFederation({ taAboutInt: { constraints: { max_path_length: 0 } } });
    expect(await codeOf(verifyTrustChain(c2, { trustAnchors, now: NOW }))).toBe("ERR_FED_PATH_LENGTH");
    const { chain: c3 } = await buildFederation({ taAboutInt: { constraints: { max_path_length: 1 } } });
    await expect(verifyTrustChain(c3, { trustAnchors, now: NOW })).resolves.toBeDefined();
  });

  it("§10.1: a missing subordinate statement → ERR_FED_FETCH", async () => {
    const { leafEc, intEc, taAboutInt, taEc } = await buildFederation();
    const fetcher = new InMemoryFederationFetcher([leafEc, intEc, taAboutInt, taEc]);
    expect(await codeOf(resolveTrustChain(LEAF, { trustAnchors, fetcher, now: NOW }))).toBe("ERR_FED_FETCH");
  });

  it("§10.1: resolution follows the first authority hint that reaches a configured anchor", async () => {
    const fed = await buildFederation({ leaf: { authority_hints: ["https://dead-end.example", INT] } });
    const deadEnd = await signEntityStatement(
      { iss: "https://dead-end.example", sub: "https://dead-end.example", iat: T0, exp: T0 + 86400, jwks: federationJwks([rogueKey]) },
      rogueKey,
    );
    fed.fetcher.add(deadEnd);
    const tc = await resolveTrustChain(`did:web:idp.bank.example.com`, { trustAnchors, fetcher: fed.fetcher, now: NOW });
    expect(tc.statements[1]!.payload.iss).toBe(INT);
  });
});

describe("OpenID Federation 1.0 §9 / §8.1.1 HTTP fetcher (injected fetch)", () => {
  it("§9: GETs <id>/.well-known/openid-federation and <fetch endpoint>?sub=…, then resolves the chain", async () => {
    const { HttpFederationFetcher } = await import("../../../src/trust/federation/index.js");
    const fed = await buildFederation();
    const routes = new Map<string, string>([
      [`${LEAF}/.well-known/openid-federation`, fed.leafEc],
      [`${INT}/.well-known/openid-federation`, fed.intEc],
      [`${TA}/.well-known/openid-federation`, fed.taEc],
      [`${INT}/fetch?sub=${encodeURIComponent(LEAF)}`, fed.intAboutLeaf],
      [`${TA}/fetch?sub=${encodeURIComponent(INT)}`, fed.taAboutInt],
    ]);
    const seen: string[] = [];
    const fetch = (async (url: string | URL | Request) => {
      const u = String(url);
      seen.push(u);
      const body = routes.get(u);
      return new Response(body ?? "not found", { status: body === undefined ? 404 : 200 });
    }) as typeof globalThis.fetch;
    const tc = await resolveTrustChain(LEAF, { trustAnchors, fetcher: new HttpFederationFetcher({ fetch }), now: NOW });
    expect(tc.trustAnchorId).toBe(TA);
    expect(seen).toContain(`${INT}/fetch?sub=${encodeURIComponent(LEAF)}`);
    const missing = new HttpFederationFetcher({ fetch });
    expect(await codeOf(missing.fetchEntityConfiguration("https://absent.example"))).toBe("ERR_FED_FETCH");
  });
});
