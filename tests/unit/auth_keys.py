"""Keys and token minting for the JWT verification tests (all synthetic, made per test run)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

NOW = 1_700_000_000
ISS = "https://ehr.example/cds-client"
OTHER_ISS = "https://other-ehr.example/cds-client"
JKU = "https://ehr.example/.well-known/jwks.json"
AUD = "https://cds.example/cds-services/b-all-patient-view"

EC_KEY = ec.generate_private_key(ec.SECP384R1())
EC_KEY_2 = ec.generate_private_key(ec.SECP384R1())
EC256_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

# The CDS Hooks Sandbox's signing key. Its private half is published on purpose (any browser
# can mint Sandbox tokens), which is exactly why only the local profile trusts it.
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
SANDBOX_PRIVATE_JWK = {
    "kty": "EC",
    "crv": "P-384",
    "kid": "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
    "alg": "ES384",
    "use": "sig",
    "x": "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB",
    "y": "Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy",
    "d": "yOcYl9QzMKnBFUiPZKBijDV_lsEtn6oWFVOqtFyXbY_-V63WCBYYdxsLo9Pclr84",
}
DROP = object()  # a claim or header value meaning "leave this member out"
_jti_numbers = itertools.count(1)


def public_jwk(private_key: Any, kid: str | None, alg: str | None = None) -> dict[str, Any]:
    """Return the public JWK of a generated key, with kid/alg/use set."""
    public = private_key.public_key()
    algorithm = ECAlgorithm if isinstance(public, ec.EllipticCurvePublicKey) else RSAAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    jwk["use"] = "sig"
    if kid is not None:
        jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    return jwk


def public_pem(private_key: Any) -> bytes:
    """Return the PEM of a key's public half (what an HS* key-confusion attack uses)."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sandbox_private_key() -> Any:
    """Return the CDS Hooks Sandbox's (public) private key as a cryptography object."""
    return jwt.PyJWK(SANDBOX_PRIVATE_JWK).key


def claims(**changes: Any) -> dict[str, Any]:
    """Return a valid claim set (fresh jti) with ``changes`` applied; DROP removes a claim."""
    base: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": f"jti-{next(_jti_numbers)}",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not DROP}


def mint(
    key: Any,
    payload: dict[str, Any] | None = None,
    *,
    alg: str = "ES384",
    kid: Any = "ec-1",
    **header: Any,
) -> str:
    """Sign ``payload`` (default: ``claims()``) with ``key``; extra kwargs go in the header."""
    headers = {"typ": "JWT", "kid": kid, **header}
    headers = {name: value for name, value in headers.items() if value is not DROP}
    return jwt.encode(payload or claims(), key, algorithm=alg, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


def unsigned_token(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """Assemble an ``alg: none`` style token with an empty signature."""
    return _segments(header, payload) + "."


def hmac_token(secret: bytes, alg: str, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """Sign by hand with HMAC (PyJWT itself refuses PEM secrets, which is the attack)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384}[alg]
    signing_input = _segments({**header, "alg": alg}, payload)
    signature = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{_b64(signature)}"
