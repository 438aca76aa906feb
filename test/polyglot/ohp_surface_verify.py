"""Independent OHP signing-surface builder and Ed25519 verifier (Debian python3-cbor2 + python3-cryptography).

usage: ohp_surface_verify.py ENVELOPE.json JWKS.json
Prints one JSON object: {"surface": hex, "leafHash": "sha256:...", "eddsa": [{"kid", "valid"}]}.
Shares no code with agentwire: the surface rules are re-implemented from OHP §5.2 and the
issue's fixed decisions (signatures := [], leafHash placeholder, tag 0 on the eight rfc3339
fields, integral numbers as integers, RFC 8949 §4.2.1 canonical encoding via cbor2).
"""
import base64
import hashlib
import json
import sys

from cbor2 import CBORTag, dumps
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TAGGED = [
    ["issuedAt"], ["notBefore"], ["notAfter"], ["session", "startedAt"],
    ["caller", "assurance", "lastStepUpAt"], ["governance", "art50Disclosure", "at"],
    ["oversight", "lastReviewAt"], ["decisions", "*", "at"],
]


def b64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def model(value, paths, depth):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        nxt = [p for p in paths if len(p) > depth and p[depth] == "*"]
        return [model(v, nxt, depth + 1) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            nxt = [p for p in paths if len(p) > depth and p[depth] == k]
            if isinstance(v, str) and any(len(p) == depth + 1 for p in nxt):
                out[k] = CBORTag(0, v)
            else:
                out[k] = model(v, nxt, depth + 1)
        return out
    return value


def main():
    env = json.load(open(sys.argv[1], encoding="utf-8"))
    jwks = json.load(open(sys.argv[2], encoding="utf-8"))
    signatures = env.get("signatures", [])
    copy = dict(env)
    copy["signatures"] = []
    if "transparency" in copy:
        copy["transparency"] = dict(copy["transparency"], leafHash="sha256:" + "0" * 64)
    surface = dumps(model(copy, TAGGED, 0), canonical=True)
    keys = {k["kid"]: k for k in jwks["keys"]}
    results = []
    for entry in signatures:
        if entry["alg"] != "EdDSA":
            continue
        try:
            header_b64, payload_b64, sig_b64 = entry["jws"].split(".")
            header = json.loads(b64u(header_b64))
        except ValueError:  # upstream placeholders are not JWS at all
            results.append({"kid": entry["kid"], "valid": False})
            continue
        jwk = keys.get(header.get("kid"))
        valid = False
        if payload_b64 == "" and header == {"alg": "EdDSA", "kid": entry["kid"]} and jwk and jwk.get("crv") == "Ed25519":
            signing_input = (header_b64 + "." + base64.urlsafe_b64encode(surface).decode().rstrip("=")).encode("ascii")
            try:
                Ed25519PublicKey.from_public_bytes(b64u(jwk["x"])).verify(b64u(sig_b64), signing_input)
                valid = True
            except InvalidSignature:
                valid = False
        results.append({"kid": entry["kid"], "valid": valid})
    print(json.dumps({"surface": surface.hex(), "leafHash": "sha256:" + hashlib.sha256(surface).hexdigest(), "eddsa": results}))


if __name__ == "__main__":
    main()
