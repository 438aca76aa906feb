/**
 * Raw signature primitives over a 4 KB payload (the order of an OHP envelope's JWS signing
 * input): Ed25519 through node:crypto against @noble/curves, ML-DSA-65 through node:crypto against
 * @noble/post-quantum, and the opt-in composite ML-DSA-65-Ed25519. Ratios are node vs noble.
 */
import { randomBytes } from "node:crypto";
import { ed25519 as nobleEd25519 } from "@noble/curves/ed25519.js";
import { compositeKeyFromSeed, compositePublicKey, compositeSign, compositeVerify } from "../../src/crypto/composite.js";
import { ed25519PrivateKeyFromSeed, ed25519PublicKeyBytes, ed25519PublicKeyFromBytes, ed25519Sign, ed25519Verify } from "../../src/crypto/ed25519.js";
import { nobleMlDsa65Backend, nodeMlDsa65Backend } from "../../src/crypto/mldsa.js";
import { measure, type BenchResult } from "./types.js";

const GROUP = "raw primitives (4 KB payload)";

export async function bench(): Promise<BenchResult[]> {
  const payload = new Uint8Array(randomBytes(4096));
  const results: BenchResult[] = [];
  const add = (r: BenchResult): void => {
    results.push(r);
  };

  // Ed25519: node:crypto (cached KeyObjects) vs @noble/curves.
  const edSeed = new Uint8Array(randomBytes(32));
  const edKey = ed25519PrivateKeyFromSeed(edSeed);
  const edPubBytes = ed25519PublicKeyBytes(edKey);
  const edPub = ed25519PublicKeyFromBytes(edPubBytes);
  const edSig = ed25519Sign(edKey, payload);
  const nobleSig = nobleEd25519.sign(payload, edSeed);
  if (!ed25519Verify(edPub, payload, nobleSig) || !nobleEd25519.verify(edSig, payload, edPubBytes)) {
    throw new Error("Ed25519 backends disagree");
  }
  add({ group: GROUP, name: "Ed25519 sign (noble)", opsPerSec: measure(() => nobleEd25519.sign(payload, edSeed)) });
  add({
    group: GROUP,
    name: "Ed25519 sign (node:crypto)",
    opsPerSec: measure(() => ed25519Sign(edKey, payload)),
    baseline: "Ed25519 sign (noble)",
  });
  add({ group: GROUP, name: "Ed25519 verify (noble)", opsPerSec: measure(() => nobleEd25519.verify(nobleSig, payload, edPubBytes)) });
  add({
    group: GROUP,
    name: "Ed25519 verify (node:crypto)",
    opsPerSec: measure(() => ed25519Verify(edPub, payload, edSig)),
    baseline: "Ed25519 verify (noble)",
  });

  // ML-DSA-65: node:crypto vs @noble/post-quantum (hedged signing; signatures interoperate).
  const mlSeed = new Uint8Array(randomBytes(32));
  const nobleKey = nobleMlDsa65Backend.keyFromSeed(mlSeed);
  const noblePub = nobleMlDsa65Backend.publicKey(nobleKey.publicKey);
  const nobleMlSig = nobleMlDsa65Backend.sign(nobleKey, payload);
  const mlRounds = { rounds: 3, roundMs: 300 };
  add({ group: GROUP, name: "ML-DSA-65 sign (noble)", opsPerSec: measure(() => nobleMlDsa65Backend.sign(nobleKey, payload), mlRounds) });
  if (nodeMlDsa65Backend !== undefined) {
    const node = nodeMlDsa65Backend;
    const nodeKey = node.keyFromSeed(mlSeed);
    const nodePub = node.publicKey(nodeKey.publicKey);
    if (!node.verify(nodePub, payload, nobleMlSig) || !nobleMlDsa65Backend.verify(noblePub, payload, node.sign(nodeKey, payload))) {
      throw new Error("ML-DSA-65 backends disagree");
    }
    add({
      group: GROUP,
      name: "ML-DSA-65 sign (node:crypto)",
      opsPerSec: measure(() => node.sign(nodeKey, payload), mlRounds),
      baseline: "ML-DSA-65 sign (noble)",
    });
    add({ group: GROUP, name: "ML-DSA-65 verify (noble)", opsPerSec: measure(() => nobleMlDsa65Backend.verify(noblePub, payload, nobleMlSig), mlRounds) });
    add({
      group: GROUP,
      name: "ML-DSA-65 verify (node:crypto)",
      opsPerSec: measure(() => node.verify(nodePub, payload, nobleMlSig), mlRounds),
      baseline: "ML-DSA-65 verify (noble)",
    });
  } else {
    add({
      group: GROUP,
      name: "ML-DSA-65 verify (noble)",
      opsPerSec: measure(() => nobleMlDsa65Backend.verify(noblePub, payload, nobleMlSig), mlRounds),
      note: "node:crypto has no ML-DSA-65 on this runtime",
    });
  }

  // Composite ML-DSA-65-Ed25519 on the default backend (node:crypto where available).
  const compKey = compositeKeyFromSeed(new Uint8Array(randomBytes(64)));
  const compPub = compositePublicKey(compKey.publicKey);
  const compSig = compositeSign(compKey, payload);
  if (!compositeVerify(compPub, payload, compSig)) throw new Error("composite round trip failed");
  const mlBase = nodeMlDsa65Backend === undefined ? "noble" : "node:crypto";
  add({
    group: GROUP,
    name: "ML-DSA-65-Ed25519 composite sign",
    opsPerSec: measure(() => compositeSign(compKey, payload), mlRounds),
    baseline: `ML-DSA-65 sign (${mlBase})`,
    note: "ML-DSA-65 + Ed25519 over M' (SHA-512 prehash)",
  });
  add({
    group: GROUP,
    name: "ML-DSA-65-Ed25519 composite verify",
    opsPerSec: measure(() => compositeVerify(compPub, payload, compSig), mlRounds),
    baseline: `ML-DSA-65 verify (${mlBase})`,
    note: "both halves always verified",
  });

  return results;
}
