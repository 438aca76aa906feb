/**
 * Opening an OHP sealed block in the page (D09 step 13) with the project's own HPKE and CBOR
 * code (src/ohp/seal.ts, bundled for the browser): the private key pasted into the page is used
 * here and never sent to the node.
 */
import { isJsonObject, type JsonValue } from "../../json/types.js";
import { openEnvelope, type OpenedEnvelope } from "../../ohp/seal.js";
import type { HpkeRecipientKey } from "../../crypto/hpke/index.js";
import { b64uDecode } from "../../util/base64url.js";

/** The X25519 keys (OKP, crv X25519, with `d` and `kid`) of a private JWKS or a single private JWK. */
export function hpkeKeysFromPrivateJwks(text: string): HpkeRecipientKey[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`the private JWKS is not JSON: ${(e as Error).message}`);
  }
  const list: unknown[] = isJsonObject(value as JsonValue) && Array.isArray((value as { keys?: unknown }).keys) ? ((value as { keys: unknown[] }).keys) : [value];
  const out: HpkeRecipientKey[] = [];
  for (const k of list) {
    if (!isJsonObject(k as JsonValue)) continue;
    const jwk = k as Record<string, JsonValue>;
    if (jwk["kty"] !== "OKP" || jwk["crv"] !== "X25519" || typeof jwk["d"] !== "string" || typeof jwk["kid"] !== "string") continue;
    out.push({ kid: jwk["kid"], privateKey: b64uDecode(jwk["d"]), suite: "x25519" });
  }
  if (out.length === 0) throw new Error("the private JWKS has no X25519 key with d and kid");
  return out;
}

/** Opens the envelope's sealed block with the page's keys. */
export async function openInPage(envelope: unknown, privateJwks: string): Promise<OpenedEnvelope> {
  return openEnvelope(envelope, hpkeKeysFromPrivateJwks(privateJwks));
}
