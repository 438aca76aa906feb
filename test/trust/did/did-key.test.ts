import { describe, expect, it } from "vitest";
import { ALG_EDDSA } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed } from "../../../src/crypto/keys.js";
import {
  base58btcDecode,
  base58btcEncode,
  decodeMultibaseKey,
  didKeyDocument,
  didKeyFromPublicKey,
  DidResolver,
  parseDidKey,
} from "../../../src/trust/did/index.js";
import { b64uDecode } from "../../../src/util/base64url.js";
import { throwsWith } from "./helpers.js";

// did:key spec (w3c-ccg/did-key-spec) §2 example and §6 test vectors "Ed25519 with X25519".
const SPEC_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
const SPEC_X = "Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY";
const SPEC_X25519_MULTIBASE = "z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p";
const SPEC_X25519_X = "bl_3kgKpz9jgsg350CNuHa_kQL3B60Gi-98WmdQW2h8";

describe("did:key §2 / §3.1.3 decode public key", () => {
  it("spec example z6MkhaXg… decodes to its Ed25519 public key", () => {
    const key = parseDidKey(SPEC_DID);
    expect(key.type).toBe("Ed25519");
    expect(key.jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", x: SPEC_X, alg: ALG_EDDSA, use: "sig", kid: key.multibase });
    expect(Buffer.from(key.publicKey)).toEqual(Buffer.from(b64uDecode(SPEC_X)));
  });

  it("§2 encode: the Ed25519 JWK encodes back to the spec DID", () => {
    expect(didKeyFromPublicKey(parseDidKey(SPEC_DID).jwk)).toBe(SPEC_DID);
    expect(didKeyFromPublicKey({ type: "Ed25519", publicKey: b64uDecode(SPEC_X) })).toBe(SPEC_DID);
  });

  it("x25519-pub (0xec01) decodes (spec vector z6LSj72t…)", () => {
    const key = parseDidKey(`did:key:${SPEC_X25519_MULTIBASE}`);
    expect(key.type).toBe("X25519");
    expect(key.jwk).toMatchObject({ kty: "OKP", crv: "X25519", x: SPEC_X25519_X, use: "enc" });
  });

  it("§6 test vectors: other Ed25519 did:keys round-trip", () => {
    for (const did of [SPEC_DID, "did:key:z6Mkf5rGMoatrSj1f4CyvuHBeXJELe9RPdzo2PKGNCKVtZxP"]) {
      expect(didKeyFromPublicKey(parseDidKey(did).jwk)).toBe(did);
    }
  });

  it("a generated Ed25519 key round-trips and starts with z6Mk", () => {
    const k = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(7));
    const did = didKeyFromPublicKey(k.publicJwk);
    expect(did.startsWith("did:key:z6Mk")).toBe(true);
    expect((parseDidKey(did).jwk as { x: string }).x).toBe((k.publicJwk as { x: string }).x);
  });

  it.each([
    ["did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "secp256k1-pub 0xe7"],
    ["did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", "p256-pub 0x1200"],
    ["did:key:z82LkvCwHNreneWpsgPEbV3gu1C6NFJEBg4srfJ5gdxEsMGRJUz2sG9FE42shbn2xkZJh54", "p384-pub 0x1201"],
  ])("§6 test vector %s (%s) → ERR_DID_KEY_CODEC_UNSUPPORTED", (did) => {
    throwsWith(() => parseDidKey(did), "ERR_DID_KEY_CODEC_UNSUPPORTED");
  });

  it.each([
    ["did:key:6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "no multibase prefix"],
    ["did:key:uZWQB", "base64url multibase (u) is not supported"],
    ["did:key:z0OIl", "characters outside base58btc"],
    [`did:key:z${base58btcEncode(Uint8Array.from([0xed, 0x01, ...new Uint8Array(31).fill(9)]))}`, "31-byte Ed25519 key"],
    [`did:key:z${base58btcEncode(Uint8Array.from([0xed, 0x01, ...new Uint8Array(33).fill(9)]))}`, "33-byte Ed25519 key"],
    [`${SPEC_DID}#z6Mk`, "DID URL"],
    ["did:key:", "empty"],
  ])("%s (%s) → ERR_DID_INVALID", (did) => {
    throwsWith(() => parseDidKey(did), "ERR_DID_INVALID");
  });

  it("did:key only encodes Ed25519/X25519 keys", () => {
    throwsWith(() => didKeyFromPublicKey({ kty: "EC", crv: "P-256", x: "a", y: "b" } as never), "ERR_DID_KEY_CODEC_UNSUPPORTED");
  });

  it("base58btc keeps leading zero bytes", () => {
    const bytes = Uint8Array.from([0, 0, 1, 2, 255]);
    expect(base58btcEncode(bytes).startsWith("11")).toBe(true);
    expect(Buffer.from(base58btcDecode(base58btcEncode(bytes))!)).toEqual(Buffer.from(bytes));
    expect(() => decodeMultibaseKey("z")).toThrow();
  });
});

describe("did:key §3.1.1 document creation", () => {
  it("§3.1.6 derives the spec's X25519 keyAgreement key from the Ed25519 key", () => {
    const doc = didKeyDocument(SPEC_DID);
    const vmId = `${SPEC_DID}#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK`;
    expect(doc.id).toBe(SPEC_DID);
    expect(doc.assertionMethod).toEqual([vmId]);
    expect(doc.authentication).toEqual([vmId]);
    expect(doc.keyAgreement).toEqual([
      { id: `${SPEC_DID}#${SPEC_X25519_MULTIBASE}`, type: "Multikey", controller: SPEC_DID, publicKeyMultibase: SPEC_X25519_MULTIBASE },
    ]);
  });

  it("without derivation there is no keyAgreement", () => {
    expect(didKeyDocument(SPEC_DID, { enableEncryptionKeyDerivation: false }).keyAgreement).toBeUndefined();
  });

  it("DidResolver resolves did:key offline with both keys", async () => {
    const r = await new DidResolver({ fetcher: () => Promise.reject(new Error("no network")) }).resolve(SPEC_DID);
    expect(r.method).toBe("key");
    expect(r.keys.map((k) => [k.jwk.kid, (k.jwk as { crv: string }).crv, (k.jwk as { x: string }).x])).toEqual([
      ["z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "Ed25519", SPEC_X],
      [SPEC_X25519_MULTIBASE, "X25519", SPEC_X25519_X],
    ]);
    expect(r.keys[0]!.relationships).toContain("assertionMethod");
    expect(r.keys[1]!.relationships).toEqual(["keyAgreement"]);
  });
});
