/**
 * HPKE sealing benchmarks (OHP §5.3): the spec's single-recipient shape and the `agentwire-multi-1`
 * extension (3 recipients), over a 1 KB plaintext (the canonical CBOR map of sealed fields; its content does
 * not matter to the cost, so random bytes stand in) and an AAD of envelope size.
 */
import { randomBytes } from "node:crypto";
import {
  generateX25519KeyPair,
  openSealed,
  sealForRecipients,
  type HpkeRecipient,
  type HpkeRecipientKey,
} from "../../src/crypto/hpke/index.js";
import { measureAsync, type BenchResult } from "./types.js";

const GROUP = "HPKE sealing (1 KB fields)";

export async function bench(): Promise<BenchResult[]> {
  const plaintext = new Uint8Array(randomBytes(1024));
  // About the size of canonical CBOR of {id, issuedAt, audience.did, session.callId}.
  const aad = new Uint8Array(randomBytes(128));
  const fields = ["payment.disputeDetail", "caller.vulnerable"];

  const pairs = await Promise.all([0, 1, 2].map(() => generateX25519KeyPair()));
  const recipients: HpkeRecipient[] = pairs.map((p, i) => ({ kid: `rcv_${i}`, publicKey: p.publicKey }));
  const keys: HpkeRecipientKey[] = pairs.map((p, i) => ({ kid: `rcv_${i}`, privateKey: p.privateKey }));
  const one = recipients.slice(0, 1);
  const lastKey = keys.slice(2);

  const single = await sealForRecipients({ recipients: one, plaintext, aad, fields });
  const multi = await sealForRecipients({ recipients, plaintext, aad, fields });

  const sealSingleOps = await measureAsync(() => sealForRecipients({ recipients: one, plaintext, aad, fields }));
  const openSingleOps = await measureAsync(() => openSealed(single, keys.slice(0, 1), aad));
  const sealMultiOps = await measureAsync(() => sealForRecipients({ recipients, plaintext, aad, fields }));
  // The receiver holds the last slot's key: every entry is decoded, one is decrypted.
  const openMultiOps = await measureAsync(() => openSealed(multi, lastKey, aad));

  return [
    { group: GROUP, name: "seal single (OHP §5.3 shape)", opsPerSec: sealSingleOps },
    { group: GROUP, name: "open single", opsPerSec: openSingleOps },
    {
      group: GROUP,
      name: "seal for 3 recipients (agentwire-multi-1)",
      opsPerSec: sealMultiOps,
      baseline: "seal single (OHP §5.3 shape)",
      note: "3 HPKE encapsulations + 1 body AEAD",
    },
    {
      group: GROUP,
      name: "open multi (3 slots, last one ours)",
      opsPerSec: openMultiOps,
      baseline: "open single",
      note: "1 decapsulation + 2 AEAD opens",
    },
  ];
}
