"""CDS client JWT verification: jti replay protection and the replay caches behind it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from cds_service.auth import JwtVerifier
from cds_service.auth.replay import (
    MemoryReplayCache,
    RedisReplayCache,
    ReplayStoreError,
    make_replay_cache,
)
from tests.unit.auth_keys import AUD, EC_KEY, ISS, NOW, OTHER_ISS, claims, mint
from tests.unit.auth_support import EC_ISSUER, Clock, assert_refused, bearer

# ----------------------------------------------------------------------------- the verifier


def test_same_jti_from_another_issuer_is_accepted(
    make_verifier: Callable[..., JwtVerifier],
) -> None:
    verifier = make_verifier({ISS: EC_ISSUER, OTHER_ISS: EC_ISSUER})
    verifier.verify(bearer(mint(EC_KEY, claims(jti="shared"))), AUD)
    assert verifier.verify(bearer(mint(EC_KEY, claims(iss=OTHER_ISS, jti="shared"))), AUD)


def test_replayed_jti_is_refused(verifier: JwtVerifier, caplog: Any) -> None:
    token = mint(EC_KEY)
    verifier.verify(bearer(token), AUD)
    assert_refused(verifier, bearer(token), "replay", caplog)


def test_refused_token_does_not_use_up_its_jti(verifier: JwtVerifier, caplog: Any) -> None:
    payload = claims()
    assert_refused(verifier, bearer(mint(EC_KEY, {**payload, "aud": "x"})), "bad-aud", caplog)
    assert verifier.verify(bearer(mint(EC_KEY, payload)), AUD) == payload


def test_full_replay_cache_refuses_new_tokens(
    make_verifier: Callable[..., JwtVerifier], clock: Clock, caplog: Any
) -> None:
    verifier = make_verifier(replay=MemoryReplayCache(max_entries=1, clock=clock))
    verifier.verify(bearer(mint(EC_KEY)), AUD)
    assert_refused(verifier, bearer(mint(EC_KEY)), "replay-store-unavailable", caplog)


# ----------------------------------------------------------------------------- replay caches


def test_memory_cache_forgets_a_jti_once_it_has_expired(clock: Clock) -> None:
    cache = MemoryReplayCache(clock=clock)
    assert cache.first_use("iss|a", NOW + 10)
    assert not cache.first_use("iss|a", NOW + 10)
    clock.now += 11
    assert cache.first_use("iss|a", NOW + 100)
    assert len(cache) == 1


def test_memory_cache_never_forgets_a_jti_before_it_expires(clock: Clock) -> None:
    cache = MemoryReplayCache(clock=clock)
    assert cache.first_use("iss|a", NOW + 10.2)
    for elapsed in (10.0, 10.19, 10.2):
        clock.now = NOW + elapsed
        assert not cache.first_use("iss|a", NOW + 500)
    clock.now = NOW + 11.01  # expiry rounded up to a whole second, never down
    assert cache.first_use("iss|a", NOW + 500)


def test_memory_cache_keeps_keys_sharing_an_expiry_second_apart(clock: Clock) -> None:
    cache = MemoryReplayCache(clock=clock)
    assert cache.first_use("iss|a", NOW + 10.1)
    assert cache.first_use("iss|b", NOW + 10.9)
    assert (cache.first_use("iss|a", NOW + 10), cache.first_use("iss|b", NOW + 10)) == (
        False,
        False,
    )
    clock.now += 12
    assert len(cache) == 2  # pruned on the next call, not by a timer
    assert cache.first_use("iss|c", NOW + 100)
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
