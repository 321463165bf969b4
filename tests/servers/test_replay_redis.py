"""jti replay across workers through a real Redis (CONFORMANCE.md "Trusting the client").

Two ``create_app`` calls stand for two workers; then a real gunicorn with two worker processes,
whose access log (``<pid> status request``) shows which worker answered each request.
"""

from __future__ import annotations

import functools
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from bench.servers import gunicorn_service
from cds_service import create_app
from cds_service.auth import RedisReplayCache
from cds_service.auth.replay import REDIS_KEY_PREFIX, redis_key
from sandbox.ehr import sign_jwt
from tests.conftest import Ehr, app_settings

DISCOVERY = "/cds-services"
TOKENS = 8
MAX_BATCHES = 6


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def two_workers(ehr: Ehr, tmp_path: Path, redis_url: str) -> Iterator[list[Any]]:
    """Two apps ("workers") sharing one Redis and one SQLite store."""
    apps = [create_app(app_settings(ehr, tmp_path, REDIS_URL=redis_url)) for _ in range(2)]
    yield [app.test_client() for app in apps]
    for app in apps:
        app.extensions["cds"].store.close()


def test_a_token_accepted_by_one_worker_is_refused_by_the_other(
    two_workers: list[Any], ehr: Ehr, redis_client: redis.Redis
) -> None:
    first, second = two_workers
    headers = ehr.headers(DISCOVERY)
    assert first.get(DISCOVERY, headers=headers).status_code == 200
    refused = second.get(DISCOVERY, headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["resourceType"] == "OperationOutcome"


def test_distinct_tokens_are_accepted_by_either_worker(
    two_workers: list[Any], ehr: Ehr, redis_client: redis.Redis
) -> None:
    statuses = [
        two_workers[n % 2].get(DISCOVERY, headers=ehr.headers(DISCOVERY)).status_code
        for n in range(4)
    ]
    assert statuses == [200] * 4


def test_without_redis_each_worker_remembers_only_its_own_tokens(ehr: Ehr, tmp_path: Path) -> None:
    # The limit Redis removes: the per-process cache lets another worker accept a replay.
    apps = [create_app(app_settings(ehr, tmp_path)) for _ in range(2)]
    headers = ehr.headers(DISCOVERY)
    statuses = [app.test_client().get(DISCOVERY, headers=headers).status_code for app in apps]
    for app in apps:
        app.extensions["cds"].store.close()
    assert statuses == [200, 200]


def test_the_redis_entry_lives_until_the_token_expires_and_holds_no_raw_jti(
    two_workers: list[Any], ehr: Ehr, redis_client: redis.Redis
) -> None:
    jti = f"jti-{uuid.uuid4()}"
    expires = int(time.time()) + 120
    token = ehr.token(DISCOVERY, jti=jti, exp=expires)
    two_workers[0].get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
    keys = redis_client.keys(REDIS_KEY_PREFIX + "*")
    assert keys == [redis_key(f"https://ehr.test.example|{jti}").encode()]
    assert jti.encode() not in keys[0]
    ttl = redis_client.pttl(keys[0]) / 1000
    assert expires - time.time() < ttl <= expires + 60 - time.time() + 1  # + 60 s leeway


def test_concurrent_first_uses_of_one_key_are_accepted_once(redis_url: str) -> None:
    clients = [redis.Redis.from_url(redis_url) for _ in range(8)]
    caches = [RedisReplayCache(client) for client in clients]
    key, barrier = f"race-{uuid.uuid4()}", threading.Barrier(len(caches))

    def use(cache: RedisReplayCache) -> bool:
        barrier.wait(timeout=10)
        return cache.first_use(key, time.time() + 60)

    with ThreadPoolExecutor(max_workers=len(caches)) as pool:
        firsts = list(pool.map(use, caches))
    for client in clients:
        client.close()
    assert sorted(firsts) == [False] * 7 + [True]


@pytest.fixture(scope="module")
def gunicorn_with_redis(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """Gunicorn, two sync workers (one request at a time each), replay cache in Redis."""
    database = tmp_path_factory.mktemp("gunicorn") / "feedback.sqlite3"
    env = {
        "CDS_PROFILE": "local",
        "CDS_REDIS_URL": redis_url,
        "CDS_DATABASE_URL": f"sqlite:///{database}",
    }
    with gunicorn_service(env, workers=2, threads=1) as (base, _master, root):
        yield base, root


def _get(base: str, token: str, probe: str) -> int:
    # A new connection per request (no session), so either worker may take it.
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    return requests.get(f"{base}{DISCOVERY}?probe={probe}", headers=headers, timeout=10).status_code


def _answered_by(root: Path, expected: int) -> dict[str, int]:
    """Map each probe to the pid of the worker that answered it, from the access log."""
    pattern = re.compile(r"<(\d+)> \d+ GET /cds-services\?probe=(\S+) ")
    for _ in range(50):  # the log line is written just after the response
        found = {m[2]: int(m[1]) for m in pattern.finditer((root / "access.log").read_text())}
        if len(found) >= expected:
            return found
        time.sleep(0.05)
    return found


def _at_once(calls: list[Callable[[], int]]) -> list[int]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], int]) -> int:
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_gunicorn_workers_refuse_a_replay_answered_by_either_worker(
    gunicorn_with_redis: tuple[str, Path],
) -> None:
    base, root = gunicorn_with_redis
    statuses: dict[int, list[int]] = {}
    crossed: list[int] = []
    # Batches until one token has been answered by both workers (bounded: a busy machine may
    # let one worker take several pairs in a row).
    for batch in range(MAX_BATCHES):
        for n in range(batch * TOKENS, (batch + 1) * TOKENS):
            token = sign_jwt(base + DISCOVERY)
            # Two sends of one token at once: the busy sync worker leaves one to the other.
            sends = [functools.partial(_get, base, token, f"{n}-{side}") for side in "ab"]
            statuses[n] = sorted(_at_once(sends))
        pids = _answered_by(root, 2 * len(statuses))
        crossed = [n for n in statuses if pids.get(f"{n}-a") != pids.get(f"{n}-b")]
        if crossed:
            break
    assert all(pair == [200, 401] for pair in statuses.values()), statuses
    assert crossed, "no token was answered by both workers"


def test_gunicorn_refuses_every_later_send_of_a_used_token(
    gunicorn_with_redis: tuple[str, Path],
) -> None:
    base, _root = gunicorn_with_redis
    token = sign_jwt(base + DISCOVERY)
    statuses = [_get(base, token, f"seq-{n}") for n in range(6)]
    assert statuses == [200] + [401] * 5
