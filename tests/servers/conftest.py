"""Private PostgreSQL and Redis servers for this package: one each per session, from the binaries.

A missing binary (or root without an unprivileged user for PostgreSQL) skips the tests that need
the server, with the reason; ``.ci/run`` installs both so CI always runs them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from bench.servers import ServerUnavailable, create_database, postgres_server, redis_server


def _serve_or_skip(start: Callable[[], AbstractContextManager[str]]) -> Iterator[str]:
    """Yield the URL of a started server, or skip with the reason its binary is unavailable."""
    try:
        server = start()
        url = server.__enter__()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    yield from _serve_or_skip(lambda: postgres_server(fast=True))


@pytest.fixture
def pg_url(postgres_server_url: str) -> str:
    """Return the URL of a new, empty database on the session's PostgreSQL."""
    return create_database(postgres_server_url, f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    yield from _serve_or_skip(redis_server)
