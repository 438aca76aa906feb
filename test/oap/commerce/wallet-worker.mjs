// Worker thread of s11-2-wallet-concurrency.test.ts: opens its own SqliteWalletStore connection
// on the shared file and races the other workers (captures on one hold, or charges on one
// balance). Posts {ok, refused, errors} when done.
import { register } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

register(new URL("./ts-hooks.mjs", import.meta.url));
const src = new URL("../../../src/", import.meta.url);
const { SqliteWalletStore } = await import(new URL("oap/commerce/wallet-sqlite.ts", src).href);
const { Wallet } = await import(new URL("oap/commerce/wallet.ts", src).href);
const { keyPairFromSeed } = await import(new URL("crypto/keys.ts", src).href);
const { ALG_EDDSA } = await import(new URL("crypto/jwk.ts", src).href);

const { file, mode, holdId, walletDid, toolDid, amount, count, index, seed, barrier, workers } = workerData;
const store = new SqliteWalletStore(file, { busyTimeoutMs: 30_000 });
const signer = keyPairFromSeed(ALG_EDDSA, new Uint8Array(32).fill(seed), { kid: "did:web:wallet.example#key-1" });
const wallet = new Wallet({ providerDid: "did:web:wallet.example", signer, store });
// start barrier: every worker has loaded its modules and opened its connection before anyone writes
const gate = new Int32Array(barrier);
Atomics.add(gate, 0, 1);
Atomics.notify(gate, 0);
while (Atomics.load(gate, 0) < workers) Atomics.wait(gate, 0, Atomics.load(gate, 0), 50);
let ok = 0;
let refused = 0;
const errors = [];
const ops = [];
for (let i = 0; i < count; i++) {
  const receipt = `urn:oap:receipt:w${index}-${i}`;
  const op = mode === "capture" ? wallet.capture(holdId, { amount, receipt_id: receipt }) : wallet.charge(walletDid, { amount, currency: "EUR", tool_did: toolDid, receipt_id: receipt });
  ops.push(
    op.then(
      () => void ok++,
      (e) => (e?.code === "ERR_OAP_CONFLICT" || e?.code === "ERR_OAP_SUBSCRIPTION_REQUIRED" ? void refused++ : void errors.push(`${e?.code}: ${e?.message}`)),
    ),
  );
}
await Promise.all(ops);
store.close();
parentPort.postMessage({ ok, refused, errors });
