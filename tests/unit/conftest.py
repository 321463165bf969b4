"""Fixtures of the JWT verification tests (tests/unit/test_auth*.py): a fake JWKS fetch, a
settable clock and verifiers built on them. Helpers that need no fixture live in auth_support."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cds_service.auth import JwtVerifier, load_issuers
from cds_service.auth.replay import MemoryReplayCache
from tests.unit.auth_keys import ISS
from tests.unit.auth_support import EC_ISSUER, Clock, FakeJwks


@pytest.fixture
def fetch() -> FakeJwks:
    return FakeJwks()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_verifier(fetch: FakeJwks, clock: Clock) -> Callable[..., JwtVerifier]:
    def build(trusted: dict[str, Any] | None = None, **kwargs: Any) -> JwtVerifier:
        settings = {"TRUSTED_ISSUERS_FILE": "", "TRUSTED_ISSUERS": trusted or {ISS: EC_ISSUER}}
        kwargs.setdefault("replay", MemoryReplayCache(clock=clock))
        kwargs.setdefault("fetch_jwks", fetch)
        return JwtVerifier(load_issuers(settings), clock=clock, **kwargs)

    return build


@pytest.fixture
def verifier(make_verifier: Callable[..., JwtVerifier]) -> JwtVerifier:
    return make_verifier()
