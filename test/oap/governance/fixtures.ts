/** Shared fixtures of the governance and commerce tests: extra DIDs with keys, a resolver over all of them. */
import { ALG_EDDSA } from "../../../src/crypto/jwk.js";
import { keyPairFromSeed, type PrivateKeyRecord } from "../../../src/crypto/keys.js";
import { ReceiptLedger } from "../../../src/oap/receipts.js";
import { mapKeyResolver, type OapKeyResolver } from "../../../src/oap/sign.js";
import { oapIds } from "../../../src/oap/util.js";
import { keys as baseKeys, counterRandom, type TestClock } from "../helpers.js";

/** An Ed25519 key of `did` (kid `${did}#key-1`) from a seed byte. */
export function didKey(did: string, seed: number): PrivateKeyRecord {
  return keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(seed), { kid: `${did}#key-1` });
}

export const WALLET_DID = "did:web:wallet.example";
export const VERIFIER_DID = "did:web:verifier.example";

export const extraKeys = {
  wallet: didKey(WALLET_DID, 0x61),
  walletB: didKey("did:web:wallet-b.example", 0x62),
  toolA: didKey("did:web:tool-a.example", 0x63),
  toolB: didKey("did:web:tool-b.example", 0x64),
  toolC: didKey("did:web:tool-c.example", 0x65),
  witness1: didKey("did:web:witness-1.example", 0x66),
  witness2: didKey("did:web:witness-2.example", 0x67),
  witness3: didKey("did:web:witness-3.example", 0x68),
  agentB: didKey("did:web:agent-b.example", 0x69),
};

/** Resolves every test key (helpers.ts keys and these) by DID URL. */
export const allKeys: OapKeyResolver = mapKeyResolver(
  Object.fromEntries([...Object.values(baseKeys).filter((k) => k !== baseKeys.attacker), ...Object.values(extraKeys)].map((k) => [k.kid, k.publicJwk])),
);

/** A receipt ledger signed by the test Tool key. */
export function testLedger(clock: TestClock, signer: PrivateKeyRecord = baseKeys.tool): ReceiptLedger {
  return new ReceiptLedger({ signer, clock: clock.now, ids: oapIds(clock.now, counterRandom(500)) });
}
