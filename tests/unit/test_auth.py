"""CDS client JWT verification (CONFORMANCE.md "Trusting the client")."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import responses

from cds_service.auth import JwtVerifier, fetch_jwks_http, load_issuers
from cds_service.auth.replay import (
    MemoryReplayCache,
    RedisReplayCache,
    ReplayStoreError,
    make_replay_cache,
)
from cds_service.config import LOCAL_PROFILE, PROJECT_DIR
from cds_service.errors import ConfigError, Unauthorized
from tests.unit.auth_keys import (
    AUD,
    DROP,
    EC256_KEY,
    EC_KEY,
    EC_KEY_2,
    ISS,
    JKU,
    NOW,
    OTHER_ISS,
    RSA_KEY,
    SANDBOX_ISS,
    SANDBOX_JKU,
    SANDBOX_PRIVATE_JWK,
    claims,
    hmac_token,
    mint,
    public_jwk,
    public_pem,
    sandbox_private_key,
    unsigned_token,
)

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


# ----------------------------------------------------------------------------- accepted tokens


def test_valid_es384_token_with_inline_keys_is_accepted(verifier: JwtVerifier) -> None:
    payload = claims()
    assert verifier.verify(bearer(mint(EC_KEY, payload)), AUD) == payload


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


def test_rotated_key_found_by_refetch_is_accepted(
    make_verifier: Callable[..., JwtVerifier], fetch: FakeJwks
) -> None:
    fetch.documents[JKU] = {"keys": [public_jwk(EC_KEY, "old", "ES384")]}
    verifier = make_verifier({ISS: {"jku": [JKU]}})
    verifier.verify(bearer(mint(EC_KEY, kid="old", jku=JKU)), AUD)
    fetch.documents[JKU] = {"keys": [public_jwk(EC_KEY_2, "new", "ES384")]}
    assert verifier.verify(bearer(mint(EC_KEY_2, kid="new", jku=JKU)), AUD)
    assert fetch.calls == [JKU, JKU]


def test_same_jti_from_another_issuer_is_accepted(
    make_verifier: Callable[..., JwtVerifier],
) -> None:
    verifier = make_verifier({ISS: EC_ISSUER, OTHER_ISS: EC_ISSUER})
    verifier.verify(bearer(mint(EC_KEY, claims(jti="shared"))), AUD)
    assert verifier.verify(bearer(mint(EC_KEY, claims(iss=OTHER_ISS, jti="shared"))), AUD)


def test_listed_tenant_is_accepted(make_verifier: Callable[..., JwtVerifier]) -> None:
    verifier = make_verifier({ISS: {**EC_ISSUER, "tenants": ["org-1", "org-2"]}})
    assert verifier.verify(bearer(mint(EC_KEY, claims(tenant="org-2"))), AUD)


# ----------------------------------------------------------------------------- refused tokens


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


def test_replayed_jti_is_refused(verifier: JwtVerifier, caplog: Any) -> None:
    token = mint(EC_KEY)
    verifier.verify(bearer(token), AUD)
    assert_refused(verifier, bearer(token), "replay", caplog)


def test_refused_token_does_not_use_up_its_jti(verifier: JwtVerifier, caplog: Any) -> None:
    payload = claims()
    assert_refused(verifier, bearer(mint(EC_KEY, {**payload, "aud": "x"})), "bad-aud", caplog)
    assert verifier.verify(bearer(mint(EC_KEY, payload)), AUD) == payload


@pytest.mark.parametrize("tenant", ["org-9", DROP])
def test_tenant_not_listed_for_the_issuer_is_refused(
    make_verifier: Callable[..., JwtVerifier], caplog: Any, tenant: Any
) -> None:
    verifier = make_verifier({ISS: {**EC_ISSUER, "tenants": ["org-1"]}})
    token = mint(EC_KEY, claims(tenant=tenant))
    assert_refused(verifier, bearer(token), "bad-tenant", caplog)


def test_full_replay_cache_refuses_new_tokens(
    make_verifier: Callable[..., JwtVerifier], clock: Clock, caplog: Any
) -> None:
    verifier = make_verifier(replay=MemoryReplayCache(max_entries=1, clock=clock))
    verifier.verify(bearer(mint(EC_KEY)), AUD)
    assert_refused(verifier, bearer(mint(EC_KEY)), "replay-store-unavailable", caplog)


def test_refusal_log_names_iss_and_jti_but_never_the_token_or_other_claims(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    payload = claims(exp=NOW - 120, iat=NOW - 400, sub="Patient/synthetic-ada", jti="jti-log")
    token = mint(EC_KEY, payload)
    assert_refused(verifier, bearer(token), "expired", caplog)
    assert f"iss={ISS} kid=ec-1 jti=jti-log" in caplog.text
    for secret in [token, *token.split("."), "synthetic-ada", AUD]:
        assert secret not in caplog.text


# ----------------------------------------------------------------------------- load_issuers


def _write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_issuers_file_and_setting_are_merged(tmp_path: Path) -> None:
    _write_json(tmp_path / "ehr-jwks.json", RSA_JWKS)
    file_issuers = {"issuers": {OTHER_ISS: {"jwks_file": "ehr-jwks.json", "tenants": ["org-1"]}}}
    settings = {
        "TRUSTED_ISSUERS_FILE": _write_json(tmp_path / "issuers.json", file_issuers),
        "TRUSTED_ISSUERS": {ISS: RSA_JKU_ISSUER},
    }
    issuers = load_issuers(settings)
    assert issuers[ISS].jku == (JKU,)
    assert issuers[ISS].algorithms == frozenset({"RS384"})
    assert issuers[OTHER_ISS].keys[0]["kid"] == "rsa-1"  # jwks_file is relative to the file
    assert issuers[OTHER_ISS].algorithms == frozenset({"ES384", "RS384"})
    assert issuers[OTHER_ISS].tenants == frozenset({"org-1"})


def test_local_profile_issuers_load_the_sandbox_public_key() -> None:
    issuers = load_issuers({"TRUSTED_ISSUERS_FILE": "", **LOCAL_PROFILE})
    sandbox_jwks = json.loads(
        (PROJECT_DIR / "sandbox/keys/cds-hooks-sandbox-jwks.json").read_text(encoding="utf-8")
    )
    assert issuers[SANDBOX_ISS].jku == (SANDBOX_JKU,)
    assert issuers[SANDBOX_ISS].keys[0]["x"] == sandbox_jwks["keys"][0]["x"]
    assert issuers[SANDBOX_ISS].keys[0]["x"] == SANDBOX_PRIVATE_JWK["x"]


def test_no_issuers_configured_gives_an_empty_trust_list() -> None:
    assert load_issuers({"TRUSTED_ISSUERS_FILE": "", "TRUSTED_ISSUERS": {}}) == {}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**EC_ISSUER, "algorithms": ["HS256"]}, "algorithms"),
        ({**EC_ISSUER, "algorithms": ["none"]}, "algorithms"),
        ({**EC_ISSUER, "algorithms": ["ES512"]}, "algorithms"),
        ({**EC_ISSUER, "algorithms": []}, "algorithms"),
        ({"algorithms": ["ES384"]}, "needs 'jku' URLs or keys"),
        ({"jwks": {"keys": []}}, "JWKS must be"),
        ({"jwks": {"keys": [SANDBOX_PRIVATE_JWK]}}, "private key material"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "EC or RSA"),
        ({"jwks": {"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]}}, "unusable"),
        ({"jwks_file": "/nonexistent/jwks.json"}, "cannot read"),
        ({"jwks": EC_ISSUER["jwks"], "jwks_file": "x.json"}, "not both"),
        ({"jku": "https://ehr.example/jwks.json"}, "list of non-empty strings"),
        ({"jku": ["http://ehr.example/jwks.json"]}, "https"),
        ({"jku": ["not a url"]}, "https"),
        ({**EC_ISSUER, "tenants": "org-1"}, "tenants"),
        ({**EC_ISSUER, "jwks_url": JKU}, "unknown field"),
        ("https://ehr.example/jwks.json", "expected an object"),
    ],
)
def test_malformed_issuer_is_a_config_error(entry: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_issuers({"TRUSTED_ISSUERS_FILE": "", "TRUSTED_ISSUERS": {ISS: entry}})


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({ISS: EC_ISSUER}), json.dumps({"issuers": []})]
)
def test_malformed_issuers_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="issuers file"):
        load_issuers({"TRUSTED_ISSUERS_FILE": str(path), "TRUSTED_ISSUERS": {}})


def test_missing_issuers_file_is_a_config_error(tmp_path: Path) -> None:
    settings = {"TRUSTED_ISSUERS_FILE": str(tmp_path / "absent.json"), "TRUSTED_ISSUERS": {}}
    with pytest.raises(ConfigError, match="cannot read"):
        load_issuers(settings)


def test_loopback_http_jku_is_allowed_for_local_development() -> None:
    settings = {"TRUSTED_ISSUERS": {ISS: {"jku": ["http://127.0.0.1:9000/jwks.json"]}}}
    assert load_issuers(settings)[ISS].jku == ("http://127.0.0.1:9000/jwks.json",)


# ----------------------------------------------------------------------------- replay caches


def test_memory_cache_forgets_a_jti_once_it_has_expired(clock: Clock) -> None:
    cache = MemoryReplayCache(clock=clock)
    assert cache.first_use("iss|a", NOW + 10)
    assert not cache.first_use("iss|a", NOW + 10)
    clock.now += 11
    assert cache.first_use("iss|a", NOW + 100)
    assert len(cache) == 1


def test_memory_cache_prunes_expired_entries_before_refusing_as_full(clock: Clock) -> None:
    cache = MemoryReplayCache(max_entries=2, clock=clock)
    assert cache.first_use("a", NOW + 10)
    assert cache.first_use("b", NOW + 10)
    with pytest.raises(ReplayStoreError):
        cache.first_use("c", NOW + 10)
    clock.now += 11
    assert cache.first_use("c", NOW + 100)


class FakeRedis:
    """Implements the one call RedisReplayCache makes: SET key value NX PX."""

    def __init__(self, *, fail: bool = False) -> None:
        self.store: dict[str, int] = {}
        self.fail = fail

    def set(self, key: str, value: bytes, *, nx: bool, px: int) -> bool | None:
        if self.fail:
            raise redis.ConnectionError("down")
        assert nx
        if key in self.store:
            return None
        self.store[key] = px
        return True


def test_redis_cache_sets_prefixed_key_once_with_expiry(clock: Clock) -> None:
    client = FakeRedis()
    cache = RedisReplayCache(client, clock=clock)
    assert cache.first_use(f"{ISS}|jti-1", NOW + 360)
    assert not cache.first_use(f"{ISS}|jti-1", NOW + 360)
    [(key, px)] = client.store.items()
    assert key.startswith("cds:jti:")
    assert "jti-1" not in key
    assert px == 360_000


def test_redis_outage_refuses_the_token(
    make_verifier: Callable[..., JwtVerifier], clock: Clock, caplog: Any
) -> None:
    verifier = make_verifier(replay=RedisReplayCache(FakeRedis(fail=True), clock=clock))
    assert_refused(verifier, bearer(mint(EC_KEY)), "replay-store-unavailable", caplog)


@pytest.mark.parametrize(
    ("redis_url", "kind"),
    [("", MemoryReplayCache), ("redis://127.0.0.1:6399/0", RedisReplayCache)],
)
def test_replay_cache_kind_follows_redis_url(redis_url: str, kind: type) -> None:
    assert isinstance(make_replay_cache({"REDIS_URL": redis_url}), kind)


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


def test_unexpected_error_during_checks_is_a_refusal_not_a_crash(
    make_verifier: Callable[..., JwtVerifier], caplog: Any
) -> None:
    class BrokenReplay:
        def first_use(self, key: str, expires_at: float) -> bool:
            raise RuntimeError("bug")

    verifier = make_verifier(replay=BrokenReplay())
    assert_refused(verifier, bearer(mint(EC_KEY)), "error-RuntimeError", caplog)
