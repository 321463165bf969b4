"""CDS client JWT verification: the matrix of refused tokens (CONFORMANCE.md "Trusting the client").

Refusals about jku and JWKS fetching are in test_auth_jwks.py, replays in test_auth_replay.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cds_service.auth import JwtVerifier
from tests.unit.auth_keys import (
    AUD,
    DROP,
    EC256_KEY,
    EC_KEY,
    EC_KEY_2,
    ISS,
    NOW,
    OTHER_ISS,
    RSA_KEY,
    claims,
    hmac_token,
    mint,
    public_jwk,
    public_pem,
    unsigned_token,
)
from tests.unit.auth_support import EC_ISSUER, RSA_JWKS, assert_refused, bearer


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iat": NOW - 400, "exp": NOW - 61}, "expired"),
        ({"nbf": NOW + 120}, "not-yet-valid"),
        ({"iat": NOW + 120, "exp": NOW + 400}, "future-iat"),
        ({"aud": "https://cds.example/cds-services/other-service"}, "bad-aud"),
        ({"aud": AUD + "/"}, "bad-aud"),
        ({"aud": ["https://cds.example/cds-services"]}, "bad-aud"),
        ({"iss": "https://unknown.example"}, "unknown-iss"),
        ({"jti": DROP}, "missing-jti"),
        ({"exp": DROP}, "missing-exp"),
        ({"iat": DROP}, "missing-iat"),
        ({"aud": DROP}, "missing-aud"),
        ({"iss": DROP}, "unknown-iss"),
        ({"exp": "tomorrow"}, "bad-exp"),
        ({"jti": ""}, "bad-jti"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_token_with_bad_claims_is_refused(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture, changes: dict[str, Any], reason: str
) -> None:
    assert_refused(verifier, bearer(mint(EC_KEY, claims(**changes))), reason, caplog)


@pytest.mark.parametrize("authorization", [None, ""])
def test_missing_authorization_header_is_refused(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture, authorization: str | None
) -> None:
    assert_refused(verifier, authorization, "no-token", caplog)


@pytest.mark.parametrize("scheme", ["Basic", "Token", ""])
def test_non_bearer_scheme_is_refused(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture, scheme: str
) -> None:
    assert_refused(verifier, f"{scheme} {mint(EC_KEY)}".strip(), "not-bearer", caplog)


@pytest.mark.parametrize(
    "token",
    ["garbage", "abc.def", "!!!.@@@.###", "eyJhbGciOiJFUzM4NCJ9.%%%.sig", "a.b.c.d"],
)
def test_malformed_token_is_refused(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture, token: str
) -> None:
    assert_refused(verifier, bearer(token), "malformed", caplog)


def test_token_signed_by_another_key_is_refused(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    assert_refused(verifier, bearer(mint(EC_KEY_2)), "bad-signature", caplog)


def test_token_with_altered_payload_is_refused(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    header, _, signature = mint(EC_KEY).split(".")
    forged_payload = mint(EC_KEY, claims(aud=AUD, exp=NOW + 86_400)).split(".")[1]
    forged = f"{header}.{forged_payload}.{signature}"
    assert_refused(verifier, bearer(forged), "bad-signature", caplog)


def test_unknown_iss_is_refused(make_verifier: Callable[..., JwtVerifier], caplog: Any) -> None:
    verifier = make_verifier({OTHER_ISS: EC_ISSUER})
    assert_refused(verifier, bearer(mint(EC_KEY)), "unknown-iss", caplog)


def test_unknown_kid_with_inline_keys_is_refused(verifier: JwtVerifier, caplog: Any) -> None:
    assert_refused(verifier, bearer(mint(EC_KEY, kid="nope")), "unknown-kid", caplog)


def test_missing_kid_is_refused_when_the_jwks_has_several_keys(
    make_verifier: Callable[..., JwtVerifier], caplog: Any
) -> None:
    keys = [public_jwk(EC_KEY, "ec-1", "ES384"), public_jwk(EC_KEY_2, "ec-2", "ES384")]
    verifier = make_verifier({ISS: {"jwks": {"keys": keys}}})
    assert_refused(verifier, bearer(mint(EC_KEY, kid=DROP)), "kid-required", caplog)


def test_alg_none_is_refused(verifier: JwtVerifier, caplog: Any) -> None:
    token = unsigned_token({"alg": "none", "typ": "JWT", "kid": "ec-1"}, claims())
    assert_refused(verifier, bearer(token), "bad-alg", caplog)


@pytest.mark.parametrize(
    ("alg", "key", "issuer"),
    [
        ("HS256", RSA_KEY, {"jwks": RSA_JWKS, "algorithms": ["RS384"]}),
        ("HS384", EC_KEY, EC_ISSUER),
    ],
)
def test_hmac_signed_with_the_public_key_is_refused(
    make_verifier: Callable[..., JwtVerifier], caplog: Any, alg: str, key: Any, issuer: Any
) -> None:
    # Key confusion: an HS* token whose secret is the issuer's own public key PEM.
    verifier = make_verifier({ISS: issuer})
    kid = issuer["jwks"]["keys"][0]["kid"]
    token = hmac_token(public_pem(key), alg, {"typ": "JWT", "kid": kid}, claims())
    assert_refused(verifier, bearer(token), "bad-alg", caplog)


def test_algorithm_not_allowed_for_the_issuer_is_refused(
    make_verifier: Callable[..., JwtVerifier], caplog: Any
) -> None:
    keys = [public_jwk(EC_KEY, "ec-1", "ES384"), public_jwk(EC256_KEY, "p256")]
    verifier = make_verifier({ISS: {"jwks": {"keys": keys}, "algorithms": ["ES384"]}})
    token = mint(EC256_KEY, alg="ES256", kid="p256")
    assert_refused(verifier, bearer(token), "alg-not-allowed", caplog)


def test_token_alg_that_does_not_fit_the_key_is_refused(
    make_verifier: Callable[..., JwtVerifier], caplog: Any
) -> None:
    keys = [public_jwk(EC_KEY, "ec-1", "ES384"), public_jwk(RSA_KEY, "rsa-1", "RS384")]
    verifier = make_verifier({ISS: {"jwks": {"keys": keys}}})
    token = mint(RSA_KEY, alg="RS384", kid="ec-1")
    assert_refused(verifier, bearer(token), "key-alg-mismatch", caplog)


@pytest.mark.parametrize("typ", ["at+jwt", "JOSE", 7])
def test_typ_other_than_jwt_is_refused(verifier: JwtVerifier, caplog: Any, typ: Any) -> None:
    assert_refused(verifier, bearer(mint(EC_KEY, typ=typ)), "bad-typ", caplog)


@pytest.mark.parametrize("tenant", ["org-9", DROP])
def test_tenant_not_listed_for_the_issuer_is_refused(
    make_verifier: Callable[..., JwtVerifier], caplog: Any, tenant: Any
) -> None:
    verifier = make_verifier({ISS: {**EC_ISSUER, "tenants": ["org-1"]}})
    token = mint(EC_KEY, claims(tenant=tenant))
    assert_refused(verifier, bearer(token), "bad-tenant", caplog)


def test_refusal_log_names_iss_and_jti_but_never_the_token_or_other_claims(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    payload = claims(exp=NOW - 120, iat=NOW - 400, sub="Patient/synthetic-ada", jti="jti-log")
    token = mint(EC_KEY, payload)
    assert_refused(verifier, bearer(token), "expired", caplog)
    assert f"iss={ISS} kid=ec-1 jti=jti-log" in caplog.text
    for secret in [token, *token.split("."), "synthetic-ada", AUD]:
        assert secret not in caplog.text


def test_unexpected_error_during_checks_is_a_refusal_not_a_crash(
    make_verifier: Callable[..., JwtVerifier], caplog: Any
) -> None:
    class BrokenReplay:
        def first_use(self, key: str, expires_at: float) -> bool:
            raise RuntimeError("bug")

    verifier = make_verifier(replay=BrokenReplay())
    assert_refused(verifier, bearer(mint(EC_KEY)), "error-RuntimeError", caplog)
