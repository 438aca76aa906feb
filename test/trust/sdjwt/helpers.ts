import { ALG_EDDSA } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed, publicJwks } from "../../../src/crypto/keys.js";
import { issueSdJwtVc } from "../../../src/trust/sdjwt/index.js";

export const idpKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x41), { kid: "idp_2026_05" });
export const otherKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x42), { kid: "idp_2026_05" });
export const holderKey = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(0x43), { kid: "holder" });
export const idpJwks = publicJwks([idpKey]);

/** 2026-05-28T14:00:00Z */
export const T0 = 1_780_063_200;
export const NOW = new Date((T0 + 60) * 1000);
export const VCT = "https://credentials.example.com/identity_credential";
export const ISS = "https://idp.bank.example.com";

export function credential(overrides: Partial<Parameters<typeof issueSdJwtVc>[0]> = {}) {
  return issueSdJwtVc({
    issuerKey: idpKey,
    vct: VCT,
    iss: ISS,
    claims: {
      given_name: "Alex",
      family_name: "Doe",
      accountRef: "acc_7781",
      address: { street_address: "1 High St", locality: "London", country: "GB" },
      nationalities: ["GB", "IE"],
    },
    disclosable: ["given_name", "family_name", "accountRef", "address", "address.street_address", "nationalities.*"],
    holderJwk: holderKey.publicJwk,
    iat: T0,
    exp: T0 + 3600,
    ...overrides,
  });
}
