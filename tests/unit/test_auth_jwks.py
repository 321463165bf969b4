"""CDS client JWT verification: keys from an allowlisted jku, and fetching JWKS over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses

from cds_service.auth import JwtVerifier, fetch_jwks_http
from tests.unit.auth_keys import (
    AUD,
    EC_KEY,
    EC_KEY_2,
    ISS,
    JKU,
    RSA_KEY,
    claims,
    mint,
    public_jwk,
)
from tests.unit.auth_support import (
    RSA_JKU_ISSUER,
    RSA_JWKS,
    Clock,
    FakeJwks,
    assert_refused,
    bearer,
)

# ----------------------------------------------------------------------------- accepted tokens


def test_rs384_keys_from_allowlisted_jku_are_fetched_once_then_cached(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks
) -> None:
    fetch.documents[JKU] = RSA_JWKS
    verifier = make_verifier({ISS: RSA_JKU_ISSUER})
    for _ in range(3):
        token = mint(RSA_KEY, alg="RS384", kid="rsa-1", jku=JKU)
        verifier.verify(bearer(token), AUD)
    assert fetch.calls == [JKU]


def test_token_without_jku_uses_the_issuers_single_out_of_band_jku(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks
) -> None:
    fetch.documents[JKU] = RSA_JWKS
    verifier = make_verifier({ISS: RSA_JKU_ISSUER})
    verifier.verify(bearer(mint(RSA_KEY, alg="RS384", kid="rsa-1")), AUD)
    assert fetch.calls == [JKU]


def test_jwks_is_fetched_again_after_its_ttl(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks, clock: Clock
) -> None:
    fetch.documents[JKU] = RSA_JWKS
    verifier = make_verifier({ISS: RSA_JKU_ISSUER}, jwks_ttl=600)
    verifier.verify(bearer(mint(RSA_KEY, alg="RS384", kid="rsa-1")), AUD)
    clock.now += 601
    payload = claims(iat=clock.now, exp=clock.now + 300)
    verifier.verify(bearer(mint(RSA_KEY, payload, alg="RS384", kid="rsa-1")), AUD)
    assert fetch.calls == [JKU, JKU]


def test_rotated_key_found_by_refetch_is_accepted(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks
) -> None:
    fetch.documents[JKU] = {"keys": [public_jwk(EC_KEY, "old", "ES384")]}
    verifier = make_verifier({ISS: {"jku": [JKU]}})
    verifier.verify(bearer(mint(EC_KEY, kid="old", jku=JKU)), AUD)
    fetch.documents[JKU] = {"keys": [public_jwk(EC_KEY_2, "new", "ES384")]}
    assert verifier.verify(bearer(mint(EC_KEY_2, kid="new", jku=JKU)), AUD)
    assert fetch.calls == [JKU, JKU]


# ----------------------------------------------------------------------------- refused tokens


@pytest.mark.parametrize(
    "jku",
    [
        "https://attacker.example/.well-known/jwks.json",  # another host
        "https://ehr.example.attacker.example/.well-known/jwks.json",  # host prefix trick
        "https://ehr.example/.well-known/jwks.json?x=1",  # same URL, not exactly
        "http://ehr.example/.well-known/jwks.json",  # scheme downgrade
        "https://ehr.example/other/jwks.json",  # same host, other path
    ],
)
def test_unlisted_jku_is_refused_and_never_fetched(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks, caplog: Any, jku: str
) -> None:
    fetch.documents[jku] = RSA_JWKS
    verifier = make_verifier({ISS: RSA_JKU_ISSUER})
    token = mint(RSA_KEY, alg="RS384", kid="rsa-1", jku=jku)
    assert_refused(verifier, bearer(token), "unlisted-jku", caplog)
    assert fetch.calls == []


def test_unlisted_jku_is_refused_even_when_keys_are_inline(
    verifier: JwtVerifier, fetch: FakeJwks, caplog: Any
) -> None:
    token = mint(EC_KEY, jku="https://attacker.example/jwks.json")
    assert_refused(verifier, bearer(token), "unlisted-jku", caplog)
    assert fetch.calls == []


def test_unknown_kid_triggers_one_refetch_then_is_refused(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks, caplog: Any
) -> None:
    fetch.documents[JKU] = RSA_JWKS
    verifier = make_verifier({ISS: RSA_JKU_ISSUER})
    token = mint(RSA_KEY, alg="RS384", kid="rsa-unknown", jku=JKU)
    assert_refused(verifier, bearer(token), "unknown-kid", caplog)
    assert fetch.calls == [JKU, JKU]


def test_unknown_kid_refetches_are_rate_limited(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks, clock: Clock, caplog: Any
) -> None:
    fetch.documents[JKU] = RSA_JWKS
    verifier = make_verifier({ISS: RSA_JKU_ISSUER})
    for _ in range(5):
        token = mint(RSA_KEY, alg="RS384", kid="rsa-unknown", jku=JKU)
        assert_refused(verifier, bearer(token), "unknown-kid", caplog)
        clock.now += 5
    assert fetch.calls == [JKU, JKU]


# ----------------------------------------------------------------------------- JWKS over HTTP


@responses.activate
def test_http_fetch_returns_the_jwks_with_a_short_timeout() -> None:
    responses.get(JKU, json=RSA_JWKS)
    assert fetch_jwks_http(JKU) == RSA_JWKS
    assert responses.calls[0].request.req_kwargs["timeout"] == 2


@responses.activate
def test_http_fetch_does_not_follow_a_redirect() -> None:
    elsewhere = "https://attacker.example/jwks.json"
    responses.get(JKU, status=302, headers={"Location": elsewhere})
    responses.get(elsewhere, json=RSA_JWKS)
    assert fetch_jwks_http(JKU) == {}
    assert [call.request.url for call in responses.calls] == [JKU]


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 500, "json": RSA_JWKS},
        {"status": 200, "body": "not json"},
        {"status": 200, "json": ["keys"]},
        {"status": 200, "body": json.dumps({"keys": [], "pad": "x" * 1_100_000})},
        {"body": responses.ConnectionError("refused")},
    ],
    ids=["server-error", "not-json", "not-object", "too-large", "unreachable"],
)
@responses.activate
def test_http_fetch_failure_gives_no_keys(reply: dict[str, Any]) -> None:
    responses.get(JKU, **reply)
    assert fetch_jwks_http(JKU) == {}


# ----------------------------------------------------------------------------- JWKS trouble


@pytest.mark.parametrize("answer", [{}, {"keys": "none"}, RuntimeError("boom")])
def test_unusable_jwks_refuses_and_is_not_hammered(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks, caplog: Any, answer: Any
) -> None:
    def failing(url: str) -> Any:
        fetch.calls.append(url)
        if isinstance(answer, Exception):
            raise answer
        return answer

    verifier = make_verifier({ISS: RSA_JKU_ISSUER}, fetch_jwks=failing)
    for _ in range(3):
        token = mint(RSA_KEY, alg="RS384", kid="rsa-1", jku=JKU)
        assert_refused(verifier, bearer(token), "unknown-kid", caplog)
    assert fetch.calls == [JKU, JKU]  # the first fetch and one refetch for the kid, no more


def test_token_without_jku_is_refused_when_the_issuer_has_several(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks, caplog: Any
) -> None:
    verifier = make_verifier({ISS: {"jku": [JKU, JKU + "?v=2"]}})
    assert_refused(verifier, bearer(mint(EC_KEY)), "jku-required", caplog)
    assert fetch.calls == []
