#!/usr/bin/python3
"""Generates the JWT fixtures under tests/fixtures/jwt/.

Keys come from the `openssl` command line tool and tokens from Debian's python3-jwt, so the
gateway's verifier is checked against encoders it shares no code with. The RFC 7515 appendix A
and RFC 8037 appendix A examples are checked here with python3-cryptography before they are
written out, so a copying mistake fails at generation time instead of in the C++ tests.

Run with /usr/bin/python3 (the Debian modules live there):
    /usr/bin/python3 tests/scripts/make_jwt_fixtures.py [output-dir]
Every run makes fresh keys; commit the output together.
"""
import base64
import hashlib
import hmac
import json
import pathlib
import subprocess
import sys

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "fixtures" / "jwt"
KEYS = OUT / "keys"

# The C++ tests verify at this instant (2027-01-15T08:00:00Z).
NOW = 1800000000
ISSUER = "https://issuer.test"
AUDIENCE = "gatewayd"
BASE_CLAIMS = {
    "sub": "user-42",
    "iss": ISSUER,
    "aud": AUDIENCE,
    "iat": 1700000000,
    "nbf": 1700000000,
    "exp": 4102444800,  # 2100-01-01
    "roles": ["admin", "reader"],
    "permissions": ["projects:read", "projects:write"],
    "scope": "read write",
}

# alg -> (key name, kid)
ALGS = {
    "HS256": ("hmac", "hs-1"),
    "HS384": ("hmac", "hs-1"),
    "HS512": ("hmac", "hs-1"),
    "RS256": ("rsa", "rsa-1"),
    "RS384": ("rsa", "rsa-1"),
    "RS512": ("rsa", "rsa-1"),
    "PS256": ("rsa", "rsa-1"),
    "PS384": ("rsa", "rsa-1"),
    "PS512": ("rsa", "rsa-1"),
    "ES256": ("ec256", "ec256-1"),
    "ES384": ("ec384", "ec384-1"),
    "ES512": ("ec521", "ec521-1"),
    "EdDSA": ("ed25519", "ed-1"),
}


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(obj) -> str:
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_keys() -> None:
    KEYS.mkdir(parents=True, exist_ok=True)
    for name, bits in (("rsa", 2048), ("rsa2", 2048), ("rsa1024", 1024)):
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
                "-out", str(KEYS / f"{name}_private.pem"))
        openssl("pkey", "-in", str(KEYS / f"{name}_private.pem"), "-pubout",
                "-out", str(KEYS / f"{name}_public.pem"))
    openssl("rsa", "-in", str(KEYS / "rsa_private.pem"), "-RSAPublicKey_out",
            "-out", str(KEYS / "rsa_public_pkcs1.pem"))
    openssl("req", "-x509", "-new", "-key", str(KEYS / "rsa_private.pem"), "-subj", "/CN=issuer.test",
            "-days", "36500", "-out", str(KEYS / "rsa_cert.pem"))
    openssl("pkcs8", "-topk8", "-in", str(KEYS / "rsa_private.pem"), "-passout", "pass:fixture",
            "-out", str(KEYS / "rsa_private_encrypted.pem"))
    for name, curve in (("ec256", "P-256"), ("ec384", "P-384"), ("ec521", "P-521")):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}",
                "-pkeyopt", "ec_param_enc:named_curve", "-out", str(KEYS / f"{name}_private.pem"))
        openssl("pkey", "-in", str(KEYS / f"{name}_private.pem"), "-pubout",
                "-out", str(KEYS / f"{name}_public.pem"))
    openssl("genpkey", "-algorithm", "ED25519", "-out", str(KEYS / "ed25519_private.pem"))
    openssl("pkey", "-in", str(KEYS / "ed25519_private.pem"), "-pubout",
            "-out", str(KEYS / "ed25519_public.pem"))
    secret = subprocess.run(["openssl", "rand", "-hex", "32"], check=True,
                            capture_output=True, text=True).stdout.strip()
    (KEYS / "hmac_secret.txt").write_text(secret + "\n")


def read(name: str) -> bytes:
    return (KEYS / name).read_bytes()


def signing_key(key: str):
    if key == "hmac":
        return read("hmac_secret.txt").decode().strip()
    return read(f"{key}_private.pem")


def verifying_key(key: str):
    if key == "hmac":
        return read("hmac_secret.txt").decode().strip()
    return read(f"{key}_public.pem")


def encode(claims, alg, key, headers=None) -> str:
    token = jwt.encode(claims, signing_key(key), algorithm=alg, headers=headers)
    return token if isinstance(token, str) else token.decode()


def check_with_pyjwt(token: str, alg: str, key: str) -> None:
    jwt.decode(token, verifying_key(key), algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)


def tamper_payload(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(b64u_decode(payload))
    claims["roles"] = ["superadmin"]
    return ".".join((head, segment(claims), sig))


def unsigned(header, claims, signature: str = "") -> str:
    return f"{segment(header)}.{segment(claims)}.{signature}"


def make_tokens() -> dict:
    valid = {}
    for alg, (key, kid) in ALGS.items():
        with_kid = encode(BASE_CLAIMS, alg, key, {"kid": kid})
        without_kid = encode(BASE_CLAIMS, alg, key)
        check_with_pyjwt(with_kid, alg, key)
        check_with_pyjwt(without_kid, alg, key)
        valid[alg] = {"key": key, "kid": kid, "token": with_kid, "token_no_kid": without_kid,
                      "tampered": tamper_payload(with_kid)}

    rs256 = valid["RS256"]["token"]
    rsa_public_pem = read("rsa_public.pem")
    attack_hs_header = segment({"alg": "HS256", "typ": "JWT"})
    attack_hs_input = f"{attack_hs_header}.{segment(BASE_CLAIMS)}"
    attack_hs_sig = b64u(hmac.new(rsa_public_pem, attack_hs_input.encode(),
                                  hashlib.sha256).digest())
    attack_hs_kid_header = segment({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
    attack_hs_kid_input = f"{attack_hs_kid_header}.{segment(BASE_CLAIMS)}"
    attack_hs_kid_sig = b64u(hmac.new(rsa_public_pem, attack_hs_kid_input.encode(),
                                      hashlib.sha256).digest())
    head, payload, sig = rs256.split(".")

    def claims_with(**changes):
        claims = dict(BASE_CLAIMS)
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    rsa1 = {"kid": "rsa-1"}
    attacker_jwk = json.loads(RSAAlgorithm.to_jwk(
        serialization.load_pem_public_key(read("rsa2_public.pem"))))
    attacks = {
        "alg_none": unsigned({"alg": "none", "typ": "JWT"}, BASE_CLAIMS),
        "alg_None": unsigned({"alg": "None", "typ": "JWT"}, BASE_CLAIMS),
        "alg_NONE": unsigned({"alg": "NONE", "typ": "JWT"}, BASE_CLAIMS),
        "alg_none_with_kid": unsigned({"alg": "none", "kid": "rsa-1"}, BASE_CLAIMS),
        "alg_none_with_signature": unsigned({"alg": "none"}, BASE_CLAIMS, sig),
        "hs256_with_rsa_public_key": f"{attack_hs_input}.{attack_hs_sig}",
        "hs256_with_rsa_public_key_kid": f"{attack_hs_kid_input}.{attack_hs_kid_sig}",
        "empty_signature": f"{head}.{payload}.",
        "stripped_signature": f"{head}.{payload}",
        "tampered_payload": valid["RS256"]["tampered"],
        "expired": encode(claims_with(exp=NOW - 3600), "RS256", "rsa", rsa1),
        "not_yet_valid": encode(claims_with(nbf=NOW + 3600), "RS256", "rsa", rsa1),
        "issued_in_future": encode(claims_with(iat=NOW + 3600), "RS256", "rsa", rsa1),
        "missing_exp": encode(claims_with(exp=None), "RS256", "rsa", rsa1),
        "wrong_iss": encode(claims_with(iss="https://evil.test"), "RS256", "rsa", rsa1),
        "missing_iss": encode(claims_with(iss=None), "RS256", "rsa", rsa1),
        "wrong_aud": encode(claims_with(aud="other-service"), "RS256", "rsa", rsa1),
        "wrong_aud_array": encode(claims_with(aud=["a", "b"]), "RS256", "rsa", rsa1),
        "unknown_kid": encode(BASE_CLAIMS, "RS256", "rsa", {"kid": "no-such-key"}),
        "crit_header": encode(BASE_CLAIMS, "RS256", "rsa",
                              {"kid": "rsa-1", "crit": ["urn:example:ext"],
                               "urn:example:ext": True}),
        # Signed by a key the gateway does not trust, pointing at where to find it.
        "jku_attacker_key": encode(BASE_CLAIMS, "RS256", "rsa2",
                                   {"jku": "https://attacker.example/jwks.json",
                                    "x5u": "https://attacker.example/cert.pem",
                                    "jwk": attacker_jwk}),
        "jku_attacker_key_kid": encode(BASE_CLAIMS, "RS256", "rsa2",
                                       {"kid": "rsa-1", "jku": "https://attacker.example/j"}),
        "exp_not_a_number": encode(claims_with(exp="4102444800"), "RS256", "rsa", rsa1),
        "payload_not_object": f"{head}.{b64u(b'[1,2,3]')}.{sig}",
    }
    # Checks that the attacks are real: a verifier ignoring the problem would accept them.
    assert jwt.decode(attacks["jku_attacker_key"], read("rsa2_public.pem"), algorithms=["RS256"],
                      audience=AUDIENCE)

    # Valid variations the verifier must accept.
    extra = {
        # jku/x5u present but the token is signed by a configured key: the header is ignored.
        "jku_ignored": encode(BASE_CLAIMS, "RS256", "rsa",
                              {"kid": "rsa-1", "jku": "https://attacker.example/jwks.json"}),
        "aud_array": encode(claims_with(aud=["other", AUDIENCE]), "RS256", "rsa", rsa1),
        "scp_array_user_id": encode(claims_with(sub=None, scope=None, user_id=1234,
                                                scp=["a:read", "b:write"]), "RS256", "rsa", rsa1),
        "float_exp": encode(claims_with(exp=4102444800.5), "RS256", "rsa", rsa1),
        "rotated_rsa2": encode(BASE_CLAIMS, "RS256", "rsa2", {"kid": "rsa-2"}),
    }
    return {"now": NOW, "issuer": ISSUER, "audience": AUDIENCE, "claims": BASE_CLAIMS,
            "valid": valid, "attacks": attacks, "extra": extra}


def public_jwk(key: str, kid: str) -> dict:
    if key == "hmac":
        jwk = {"kty": "oct", "k": b64u(read("hmac_secret.txt").decode().strip().encode())}
    else:
        pub = serialization.load_pem_public_key(read(f"{key}_public.pem"))
        if isinstance(pub, rsa.RSAPublicKey):
            jwk = json.loads(RSAAlgorithm.to_jwk(pub))
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            jwk = json.loads(ECAlgorithm.to_jwk(pub))
        else:
            jwk = json.loads(OKPAlgorithm.to_jwk(pub))
    jwk.update({"kid": kid, "use": "sig"})
    return jwk


def make_jwks() -> tuple:
    seen = {}
    for key, kid in ALGS.values():
        seen[kid] = key
    keys = [public_jwk(key, kid) for kid, key in seen.items()]
    rotated = [public_jwk("rsa2", "rsa-2")]
    return {"keys": keys}, {"keys": rotated}


# RFC 7515 appendix A.1-A.3 and RFC 8037 appendix A.4, checked with python3-cryptography.
RFC_PAYLOAD = ("eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19y"
               "b290Ijp0cnVlfQ")
RFC_VECTORS = {
    "rfc7515_a1_hs256": {
        "jwk": {"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3"
                                    "Yj0iPS4hcgUuTwjAzZr1Z9CAow"},
        "token": "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + RFC_PAYLOAD
                 + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    },
    "rfc7515_a2_rs256": {
        "jwk": {"kty": "RSA", "e": "AQAB",
                "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qP"
                     "CJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47s"
                     "oMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2"
                     "R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoud"
                     "F8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"},
        "token": "eyJhbGciOiJSUzI1NiJ9." + RFC_PAYLOAD
                 + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Q"
                   "c_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTy"
                   "WzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwu"
                   "sC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5A"
                   "XLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
    },
    "rfc7515_a3_es256": {
        "jwk": {"kty": "EC", "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        "token": "eyJhbGciOiJFUzI1NiJ9." + RFC_PAYLOAD
                 + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqP"
                   "P3-Kg6NU1Q",
    },
    "rfc8037_a4_ed25519": {
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        "private_d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "token": "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PP"
                 "Ot7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
    },
}


def check_rfc_vectors() -> None:
    for name, vector in RFC_VECTORS.items():
        head, payload, sig = vector["token"].split(".")
        data = f"{head}.{payload}".encode()
        sig = b64u_decode(sig)
        jwk = vector["jwk"]
        try:
            if jwk["kty"] == "oct":
                expected = hmac.new(b64u_decode(jwk["k"]), data, hashlib.sha256).digest()
                if not hmac.compare_digest(expected, sig):
                    raise InvalidSignature()
            elif jwk["kty"] == "RSA":
                numbers = rsa.RSAPublicNumbers(int.from_bytes(b64u_decode(jwk["e"]), "big"),
                                               int.from_bytes(b64u_decode(jwk["n"]), "big"))
                numbers.public_key().verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            elif jwk["kty"] == "EC":
                numbers = ec.EllipticCurvePublicNumbers(
                    int.from_bytes(b64u_decode(jwk["x"]), "big"),
                    int.from_bytes(b64u_decode(jwk["y"]), "big"), ec.SECP256R1())
                der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                                 int.from_bytes(sig[32:], "big"))
                numbers.public_key().verify(der, data, ec.ECDSA(hashes.SHA256()))
            else:
                public = ed25519.Ed25519PublicKey.from_public_bytes(b64u_decode(jwk["x"]))
                public.verify(sig, data)
                private = ed25519.Ed25519PrivateKey.from_private_bytes(
                    b64u_decode(vector["private_d"]))
                assert private.sign(data) == sig, "Ed25519 signing is deterministic"
        except InvalidSignature:
            sys.exit(f"{name}: the published example does not verify; check the copied values")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    make_keys()
    tokens = make_tokens()
    jwks, rotated = make_jwks()
    check_rfc_vectors()
    (OUT / "tokens.json").write_text(json.dumps(tokens, indent=2) + "\n")
    (OUT / "jwks.json").write_text(json.dumps(jwks, indent=2) + "\n")
    (OUT / "jwks_rotated.json").write_text(json.dumps(rotated, indent=2) + "\n")
    (OUT / "rfc_vectors.json").write_text(json.dumps(RFC_VECTORS, indent=2) + "\n")
    print(f"wrote fixtures to {OUT}")


if __name__ == "__main__":
    main()
