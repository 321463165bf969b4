"""Issuer entries, stand-ins and the refusal check shared by the JWT verification tests."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cds_service.auth import JwtVerifier
from cds_service.errors import Unauthorized
from tests.unit.auth_keys import AUD, EC_KEY, JKU, NOW, RSA_KEY, public_jwk

EC_ISSUER = {"jwks": {"keys": [public_jwk(EC_KEY, "ec-1", "ES384")]}, "algorithms": ["ES384"]}
RSA_JWKS = {"keys": [public_jwk(RSA_KEY, "rsa-1", "RS384")]}
RSA_JKU_ISSUER = {"jku": [JKU], "algorithms": ["RS384"]}


class FakeJwks:
    """Stands in for the HTTP JWKS fetch and records every URL asked for."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.calls: list[str] = []

    def __call__(self, url: str) -> Any:
        self.calls.append(url)
        return self.documents.get(url, {})


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


def bearer(token: str) -> str:
    return f"Bearer {token}"


def assert_refused(
    verifier: JwtVerifier, authorization: str | None, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="cds_service.auth"),
        pytest.raises(Unauthorized) as refused,
    ):
        verifier.verify(authorization, AUD)
    assert refused.value.message == Unauthorized.default_message  # no detail for the client
    assert f"reason={reason} " in caplog.text
