"""CDS client JWT verification: tokens that are accepted (CONFORMANCE.md "Trusting the client").

Accepted tokens whose keys come from a jku are in test_auth_jwks.py; jti reuse in
test_auth_replay.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest

from cds_service.auth import JwtVerifier
from cds_service.auth import verifier as verifier_module
from cds_service.config import LOCAL_PROFILE
from tests.unit.auth_keys import (
    AUD,
    DROP,
    EC_KEY,
    ISS,
    NOW,
    SANDBOX_ISS,
    SANDBOX_JKU,
    SANDBOX_PRIVATE_JWK,
    claims,
    mint,
    sandbox_private_key,
)
from tests.unit.auth_support import EC_ISSUER, FakeJwks, bearer


def test_valid_es384_token_with_inline_keys_is_accepted(verifier: JwtVerifier) -> None:
    payload = claims()
    assert verifier.verify(bearer(mint(EC_KEY, payload)), AUD) == payload


def test_a_public_key_is_parsed_once_for_many_tokens(
    verifier: JwtVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []

    class CountingJwk(jwt.PyJWK):
        def __init__(self, data: dict[str, Any], algorithm: str | None = None) -> None:
            parsed.append(str(data.get("kid")))
            super().__init__(data, algorithm=algorithm)

    verifier_module._cached_key.cache_clear()
    monkeypatch.setattr(verifier_module.jwt, "PyJWK", CountingJwk)
    for _ in range(3):
        verifier.verify(bearer(mint(EC_KEY)), AUD)
    verifier_module._cached_key.cache_clear()  # no counting key object outlives this test

    assert parsed == ["ec-1"]


def test_cds_hooks_sandbox_token_is_accepted_without_fetching_its_jku(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks
) -> None:
    verifier = make_verifier(LOCAL_PROFILE["TRUSTED_ISSUERS"])
    payload = claims(iss=SANDBOX_ISS, jti="3f0ae1c6-2b0e-4d5e-9c55-6f0d1c2e7a10")
    token = mint(sandbox_private_key(), payload, kid=SANDBOX_PRIVATE_JWK["kid"], jku=SANDBOX_JKU)
    assert verifier.verify(bearer(token), AUD)["iss"] == SANDBOX_ISS
    assert fetch.calls == []


def test_token_expired_within_leeway_is_accepted(verifier: JwtVerifier) -> None:
    token = mint(EC_KEY, claims(iat=NOW - 330, exp=NOW - 30))
    assert verifier.verify(bearer(token), AUD)["exp"] == NOW - 30


def test_past_nbf_and_a_sub_claim_are_tolerated(verifier: JwtVerifier) -> None:
    payload = claims(nbf=NOW - 300, sub="Practitioner/example")
    assert verifier.verify(bearer(mint(EC_KEY, payload)), AUD) == payload


@pytest.mark.parametrize("aud", [[AUD], ["https://cds.example/cds-services", AUD]])
def test_aud_array_containing_the_audience_is_accepted(verifier: JwtVerifier, aud: Any) -> None:
    assert verifier.verify(bearer(mint(EC_KEY, claims(aud=aud))), AUD)["aud"] == aud


def test_single_key_is_used_when_the_token_has_no_kid(verifier: JwtVerifier) -> None:
    assert verifier.verify(bearer(mint(EC_KEY, kid=DROP)), AUD)


@pytest.mark.parametrize("typ", ["jwt", DROP])
def test_lowercase_or_absent_typ_is_accepted(verifier: JwtVerifier, typ: Any) -> None:
    assert verifier.verify(bearer(mint(EC_KEY, typ=typ)), AUD)


def test_listed_tenant_is_accepted(make_verifier: Callable[..., JwtVerifier]) -> None:
    verifier = make_verifier({ISS: {**EC_ISSUER, "tenants": ["org-1", "org-2"]}})
    assert verifier.verify(bearer(mint(EC_KEY, claims(tenant="org-2"))), AUD)
