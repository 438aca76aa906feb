/**
 * Independent verification of the OHP §5.2 detached EdDSA JWS with Python `cryptography`
 * (OpenSSL-backed, but a different binding, base64 codec, JSON parser and thumbprint code):
 * our JWS verifies there, and a JWS produced there verifies here.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ALG_EDDSA } from "../../src/crypto/jwk.js";
import { JwsError, signDetached, verifyDetached } from "../../src/crypto/jws.js";
import { exportPrivateJwk, keyPairFromSeed, publicJwks } from "../../src/crypto/keys.js";
import { expectCode, seed, text } from "./helpers.js";

const PYTHON = "/usr/bin/python3";

function runPython(script: string, input: unknown): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(input), encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}

const probe = spawnSync(PYTHON, ["-c", "import cryptography, sys; sys.stdout.write(cryptography.__version__)"], { encoding: "utf8" });
const HAVE_PY_CRYPTOGRAPHY = probe.status === 0;
if (!HAVE_PY_CRYPTOGRAPHY) {
  console.warn(
    `SKIP RFC 8037 independent verification: ${PYTHON} with the 'cryptography' package is not available ` +
      "(apt-get install -y python3-cryptography)",
  );
}

const VERIFY_PY = String.raw`
import base64, hashlib, json, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def b64u_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")

req = json.load(sys.stdin)
jwk = req["jwk"]
parts = req["jws"].split(".")
assert len(parts) == 3 and parts[1] == "", "not a detached compact JWS"
header = json.loads(b64u_decode(parts[0]))
assert sorted(header) == ["alg", "kid"], "header members: %r" % sorted(header)
assert header["alg"] == "EdDSA"
assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
# RFC 7638 thumbprint, computed here from scratch.
canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"), sort_keys=True)
assert header["kid"] == jwk["kid"] == b64u_encode(hashlib.sha256(canonical.encode()).digest()), "kid is not the RFC 7638 thumbprint"
signing_input = (parts[0] + "." + b64u_encode(base64.b64decode(req["payload_b64"]))).encode("ascii")
key = Ed25519PublicKey.from_public_bytes(b64u_decode(jwk["x"]))
try:
    key.verify(b64u_decode(parts[2]), signing_input)
    print("VALID")
except InvalidSignature:
    print("INVALID")
`;

const SIGN_PY = String.raw`
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")

req = json.load(sys.stdin)
sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(req["seed_hex"]))
pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
header = b64u(json.dumps({"alg": "EdDSA", "kid": req["kid"]}, separators=(",", ":")).encode())
payload = base64.b64decode(req["payload_b64"])
sig = sk.sign((header + "." + b64u(payload)).encode("ascii"))
print(json.dumps({"jws": header + ".." + b64u(sig), "x": b64u(pub)}))
`;

describe.skipIf(!HAVE_PY_CRYPTOGRAPHY)("RFC 8037 §3.1 / RFC 7515 Appendix F EdDSA detached JWS, verified independently by Python cryptography", () => {
  const key = keyPairFromSeed(ALG_EDDSA, seed(0x5e));
  const payload = text('{"ohp":"1.0","note":"independent verification \u00e9\u4e2d"}');

  it("our detached JWS verifies in Python (header exactly {alg,kid}, kid = RFC 7638 thumbprint)", () => {
    const jws = signDetached(payload, key);
    const r = runPython(VERIFY_PY, { jws, payload_b64: Buffer.from(payload).toString("base64"), jwk: key.publicJwk });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("VALID");
  });

  it("Python rejects our JWS over a tampered payload (the check has teeth)", () => {
    const jws = signDetached(payload, key);
    const tampered = Uint8Array.from(payload);
    tampered[0] = 0x5b;
    const r = runPython(VERIFY_PY, { jws, payload_b64: Buffer.from(tampered).toString("base64"), jwk: key.publicJwk });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("INVALID");
  });

  it("a detached JWS produced by Python verifies with verifyDetached; Python derives the same public key", () => {
    const priv = exportPrivateJwk(key) as unknown as { d: string; x: string };
    const r = runPython(SIGN_PY, {
      seed_hex: Buffer.from(priv.d, "base64url").toString("hex"),
      kid: key.kid,
      payload_b64: Buffer.from(payload).toString("base64"),
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { jws: string; x: string };
    expect(out.x).toBe(priv.x);
    expect(verifyDetached(out.jws, payload, publicJwks([key]))).toMatchObject({ alg: ALG_EDDSA, kid: key.kid });
    // Ed25519 is deterministic: Python's JWS is byte-identical to ours.
    expect(out.jws).toBe(signDetached(payload, key));
    expectCode(() => verifyDetached(out.jws, text("other"), publicJwks([key])), "ERR_JWS_SIGNATURE_INVALID", JwsError);
  });
});
