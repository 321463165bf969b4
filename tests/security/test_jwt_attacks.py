"""JWT attack matrix through HTTP on discovery, a service and feedback (beyond unit tests).

Each forged or misused token must get 401, ``WWW-Authenticate: Bearer`` and the one generic
OperationOutcome: nothing in the answer tells the attacker which check failed. Hosts named in
token headers (``jku``, ``x5u``, a URL ``kid``) are loopback servers that must see no request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_service import create_app
from cds_service.errors import Unauthorized
from tests.api import requests as rq
from tests.conftest import BASE_URL, EHR_ISSUER, EHR_KID, TODAY, Ehr, app_settings, counting_uuids
from tests.security.loopback import LoopbackServer

RSA_ISSUER = "https://rsa-ehr.test.example"
RSA_KID = "rsa-1"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FORGED_KEY = ec.generate_private_key(ec.SECP384R1())  # the attacker's own key pair
RSA_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
GENERIC_401 = Unauthorized().operation_outcome()

DISCOVERY = "/cds-services"
SERVICE = "/cds-services/b-all-pathway"
FEEDBACK = SERVICE + "/feedback"
FEEDBACK_BODY = {
    "feedback": [{"card": "c-1", "outcome": "accepted", "outcomeTimestamp": "2026-03-02T10:00:00Z"}]
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def claims(path: str, **changes: Any) -> dict[str, Any]:
    """Claims that would pass every check for ``path`` on the service under test."""
    now = int(time.time())
    base = {"iss": EHR_ISSUER, "aud": BASE_URL + path, "iat": now, "exp": now + 300}
    return {**base, "jti": str(uuid.uuid4()), **changes}


def signed(payload: dict[str, Any], key: Any, alg: str = "ES384", **header: Any) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers=header or None)


def unsigned(payload: dict[str, Any], alg: str, signature: bytes = b"") -> str:
    return f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(payload)}.{_b64(signature)}"


def hmac_with_public_pem(payload: dict[str, Any], alg: str) -> str:
    """RS->HS confusion: an HMAC token whose secret is the issuer's *public* RSA key."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384}[alg]
    signing_input = f"{_segment({'alg': alg, 'typ': 'JWT', 'kid': RSA_KID})}.{_segment(payload)}"
    mac = hmac.new(RSA_PEM, signing_input.encode(), digest).digest()
    return f"{signing_input}.{_b64(mac)}"


@dataclass
class Ctx:
    """What an attack may use: the real EHR, the path called, and a host to point at."""

    ehr: Ehr
    path: str
    attacker: LoopbackServer

    def url(self, name: str) -> str:
        return f"{self.attacker.base}/{name}"


def _forged_jwk() -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(FORGED_KEY.public_key()))
    return {**jwk, "kid": EHR_KID}


ATTACKS: dict[str, Callable[[Ctx], str]] = {
    "rs-to-hs256-with-public-pem": lambda c: hmac_with_public_pem(
        claims(c.path, iss=RSA_ISSUER), "HS256"
    ),
    "rs-to-hs384-with-public-pem": lambda c: hmac_with_public_pem(
        claims(c.path, iss=RSA_ISSUER), "HS384"
    ),
    "kid-path-traversal": lambda c: signed(claims(c.path), c.ehr.key, kid="../../etc/passwd"),
    "kid-dev-null": lambda c: signed(claims(c.path), FORGED_KEY, kid="/dev/null"),
    "kid-sql": lambda c: signed(claims(c.path), c.ehr.key, kid="x' OR '1'='1' --"),
    "kid-url": lambda c: signed(claims(c.path), FORGED_KEY, kid=c.url("jwks.json")),
    "kid-null-byte": lambda c: signed(claims(c.path), c.ehr.key, kid=EHR_KID + "\x00"),
    "kid-forged-key-real-kid": lambda c: signed(claims(c.path), FORGED_KEY, kid=EHR_KID),
    "jku-attacker-host": lambda c: signed(
        claims(c.path), FORGED_KEY, kid=EHR_KID, jku=c.url("jwks.json")
    ),
    "x5u-attacker-host": lambda c: signed(
        claims(c.path), FORGED_KEY, kid=EHR_KID, x5u=c.url("cert.pem")
    ),
    "embedded-jwk": lambda c: signed(claims(c.path), FORGED_KEY, kid=EHR_KID, jwk=_forged_jwk()),
    "aud-other-service": lambda c: c.ehr.token(
        c.path, aud=BASE_URL + "/cds-services/someone-elses-service"
    ),
    "aud-other-host": lambda c: c.ehr.token(c.path, aud="https://other.example" + c.path),
    "aud-missing": lambda c: signed(
        {k: v for k, v in claims(c.path).items() if k != "aud"}, c.ehr.key, kid=EHR_KID
    ),
    "alg-none-no-signature": lambda c: unsigned(claims(c.path), "none"),
    "alg-none-with-signature": lambda c: unsigned(claims(c.path), "none", b"sig"),
    "alg-None-capitalised": lambda c: unsigned(claims(c.path), "None"),
    "expired": lambda c: c.ehr.token(
        c.path, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600
    ),
    "iat-far-future": lambda c: c.ehr.token(
        c.path, iat=int(time.time()) + 10 * 365 * 86400, exp=int(time.time()) + 10 * 365 * 86400
    ),
    "nbf-future": lambda c: c.ehr.token(c.path, nbf=int(time.time()) + 3600),
    "unknown-issuer-own-key": lambda c: signed(
        claims(c.path, iss="https://evil.example"), FORGED_KEY, kid=EHR_KID
    ),
    "token-for-another-endpoint": lambda c: c.ehr.token(
        DISCOVERY if c.path != DISCOVERY else SERVICE
    ),
    "signature-stripped": lambda c: c.ehr.token(c.path).rsplit(".", 1)[0] + ".",
}

CALLS = {
    "discovery": ("GET", DISCOVERY, None),
    "service": ("POST", SERVICE, rq.patient_view()),
    "feedback": ("POST", FEEDBACK, FEEDBACK_BODY),
}


@pytest.fixture
def trust_app(ehr: Ehr, tmp_path: Any) -> Flask:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    rsa_jwk.update({"kid": RSA_KID, "alg": "RS384", "use": "sig"})
    issuers = {
        EHR_ISSUER: {"jwks": ehr.jwks, "algorithms": ["ES384"]},
        RSA_ISSUER: {"jwks": {"keys": [rsa_jwk]}, "algorithms": ["RS384"]},
    }
    settings = app_settings(ehr, tmp_path, TRUSTED_ISSUERS=issuers)
    return create_app(settings, today=lambda: TODAY, new_uuid=counting_uuids())


def _send(app: Flask, call: str, token: str) -> Any:
    method, path, body = CALLS[call]
    headers = {"Authorization": f"Bearer {token}"}
    return app.test_client().open(path, method=method, json=body, headers=headers)


def _assert_refused(response: Any) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json() == GENERIC_401


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_is_refused_without_detail(
    trust_app: Flask, ehr: Ehr, attacker: LoopbackServer, attack: str, call: str
) -> None:
    token = ATTACKS[attack](Ctx(ehr, CALLS[call][1], attacker))
    _assert_refused(_send(trust_app, call, token))
    assert attacker.hits == []


@pytest.mark.parametrize("call", sorted(CALLS))
def test_valid_tokens_of_both_issuers_are_accepted(trust_app: Flask, ehr: Ehr, call: str) -> None:
    # Control: the matrix fails because of each attack, not because the issuers are misconfigured.
    path = CALLS[call][1]
    assert _send(trust_app, call, ehr.token(path)).status_code == 200
    rsa_token = signed(claims(path, iss=RSA_ISSUER), RSA_KEY, "RS384", kid=RSA_KID)
    assert _send(trust_app, call, rsa_token).status_code == 200


def test_token_used_once_is_refused_at_another_endpoint(trust_app: Flask, ehr: Ehr) -> None:
    token = ehr.token(SERVICE)
    assert _send(trust_app, "service", token).status_code == 200
    _assert_refused(_send(trust_app, "feedback", token))
    _assert_refused(_send(trust_app, "discovery", token))


def test_token_replayed_at_the_same_endpoint_is_refused(trust_app: Flask, ehr: Ehr) -> None:
    token = ehr.token(DISCOVERY)
    assert _send(trust_app, "discovery", token).status_code == 200
    _assert_refused(_send(trust_app, "discovery", token))


def test_refusal_is_identical_for_every_reason(
    trust_app: Flask, ehr: Ehr, attacker: LoopbackServer
) -> None:
    # An attacker comparing answers (body, headers) learns nothing about which check failed.
    answers = set()
    for reason in ("expired", "kid-sql", "alg-none-no-signature", "aud-other-service"):
        token = ATTACKS[reason](Ctx(ehr, DISCOVERY, attacker))
        response = _send(trust_app, "discovery", token)
        answers.add((response.status_code, response.get_data(), tuple(sorted(response.headers))))
    missing = trust_app.test_client().get(DISCOVERY)
    answers.add((missing.status_code, missing.get_data(), tuple(sorted(missing.headers))))
    assert len(answers) == 1
