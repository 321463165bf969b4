"""Fixtures shared by every test: an app wired for tests, an EHR that signs JWTs, a fixed date."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import date
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from jwt.algorithms import ECAlgorithm

from cds_service import create_app

TODAY = date(2026, 3, 2)
BASE_URL = "http://cds.test"
EHR_ISSUER = "https://ehr.test.example"
EHR_KID = "ehr-test-key-1"
FHIR_BASE = "https://fhir.test.example/r4"


class Ehr:
    """A test EHR: signs CDS Hooks client JWTs with its ES384 key, as Epic or the Sandbox would."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": EHR_KID, "alg": "ES384", "use": "sig"})
        self.jwks = {"keys": [public]}

    def token(self, path: str, **claims: Any) -> str:
        """Sign a token whose ``aud`` is the URL of ``path`` on the service under test."""
        now = int(time.time())
        payload = {
            "iss": EHR_ISSUER,
            "aud": BASE_URL + path,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        return jwt.encode(payload, self.key, algorithm="ES384", headers={"kid": EHR_KID})

    def headers(self, path: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path, **claims)}"}


@pytest.fixture(scope="session")
def ehr() -> Ehr:
    return Ehr()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's CDS_* variables must not change what the tests see.
    import os

    for name in list(os.environ):
        if name.startswith("CDS_"):
            monkeypatch.delenv(name)


def app_settings(ehr: Ehr, tmp_path: Any, **overrides: Any) -> dict[str, Any]:
    """Return test settings: our EHR trusted, a private SQLite store, one allowed FHIR host."""
    return {
        "TESTING": True,
        "PUBLIC_BASE_URL": BASE_URL,
        "TRUSTED_ISSUERS": {EHR_ISSUER: {"jwks": ehr.jwks, "algorithms": ["ES384"]}},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'feedback.sqlite3'}",
        "FHIR_ALLOWED_HOSTS": ["fhir.test.example"],
        **overrides,
    }


def counting_uuids() -> Any:
    counter = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


@pytest.fixture
def app(ehr: Ehr, tmp_path: Any) -> Flask:
    return create_app(app_settings(ehr, tmp_path), today=lambda: TODAY, new_uuid=counting_uuids())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
