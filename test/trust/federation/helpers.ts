import { ALG_EDDSA } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks, type PrivateKeyRecord } from "../../../src/crypto/keys.js";
import {
  InMemoryFederationFetcher,
  federationJwks,
  signEntityStatement,
  type EntityStatementInput,
  type TrustAnchor,
} from "../../../src/trust/federation/index.js";

export const TA = "https://federation.openhandoffprotocol.org";
export const INT = "https://intermediate.example.org";
export const LEAF = "https://idp.bank.example.com";

const key = (b: number, kid: string): PrivateKeyRecord => keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(b), { kid });
export const taKey = key(0x51, "ta-2026");
export const intKey = key(0x52, "int-2026");
export const leafKey = key(0x53, "leaf-fed-2026");
export const leafOhpKey = key(0x54, "idp_2026_05");
export const rogueKey = key(0x55, "int-2026");

/** 2026-05-28T14:00:00Z */
export const T0 = 1_780_063_200;
export const NOW = new Date((T0 + 60) * 1000);

export const trustAnchors: TrustAnchor[] = [{ entityId: TA, jwks: federationJwks([taKey]) }];

export const LEAF_OHP_METADATA = {
  max_ial: "IAL3",
  max_aal: "AAL3",
  max_fal: "FAL2",
  annex_iii_allowed: ["5(b)", "5(d)"],
  jurisdictions: ["GB", "IE", "FR"],
  ohp_jwks: publicJwks([leafOhpKey]),
};

type Tweak = Partial<EntityStatementInput> & { readonly signWith?: PrivateKeyRecord };

export interface FederationTweaks {
  readonly leaf?: Tweak;
  readonly intAboutLeaf?: Tweak;
  readonly intConfig?: Tweak;
  readonly taAboutInt?: Tweak;
  readonly taConfig?: Tweak;
}

async function sign(base: EntityStatementInput, signer: PrivateKeyRecord, tweak: Tweak = {}): Promise<string> {
  const { signWith, ...claims } = tweak;
  return signEntityStatement({ ...base, ...claims } as EntityStatementInput, signWith ?? signer);
}

/** A three-level federation: trust anchor → intermediate → leaf (an IdP publishing ohp_issuer). */
export async function buildFederation(tweaks: FederationTweaks = {}) {
  const times = { iat: T0, exp: T0 + 86400 };
  const leafEc = await sign(
    { iss: LEAF, sub: LEAF, ...times, jwks: federationJwks([leafKey]), authority_hints: [INT], metadata: { ohp_issuer: LEAF_OHP_METADATA } },
    leafKey,
    tweaks.leaf,
  );
  const intAboutLeaf = await sign(
    {
      iss: INT,
      sub: LEAF,
      ...times,
      jwks: federationJwks([leafKey]),
      metadata_policy: { ohp_issuer: { annex_iii_allowed: { subset_of: ["5(b)", "5(d)", "4(a)"] } } },
    },
    intKey,
    tweaks.intAboutLeaf,
  );
  const intEc = await sign(
    {
      iss: INT,
      sub: INT,
      ...times,
      jwks: federationJwks([intKey]),
      authority_hints: [TA],
      metadata: { federation_entity: { federation_fetch_endpoint: `${INT}/fetch` } },
    },
    intKey,
    tweaks.intConfig,
  );
  const taAboutInt = await sign(
    {
      iss: TA,
      sub: INT,
      ...times,
      jwks: federationJwks([intKey]),
      metadata_policy: { ohp_issuer: { jurisdictions: { subset_of: ["GB", "IE", "DE"] }, max_aal: { one_of: ["AAL1", "AAL2", "AAL3"] } } },
    },
    taKey,
    tweaks.taAboutInt,
  );
  const taEc = await sign(
    { iss: TA, sub: TA, ...times, jwks: federationJwks([taKey]), metadata: { federation_entity: { federation_fetch_endpoint: `${TA}/fetch` } } },
    taKey,
    tweaks.taConfig,
  );
  const chain = [leafEc, intAboutLeaf, taAboutInt, taEc];
  const fetcher = new InMemoryFederationFetcher([leafEc, intAboutLeaf, intEc, taAboutInt, taEc]);
  return { leafEc, intAboutLeaf, intEc, taAboutInt, taEc, chain, fetcher };
}
