"""The SQL engine behind the feedback store: SQLite (WAL, one writer at a time) or any other URL.

``""`` is a private in-memory SQLite database (tests, one process); a file path is SQLite shared
by the gunicorn workers of one host; PostgreSQL serves several hosts (DESIGN.md, "Scaling past
one machine").
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool


class _SqliteWriterLock:
    """Let one thread of one process at a time into a SQLite database.

    SQLite admits one writing transaction at a time, and a writer that finds the file busy polls
    with growing sleeps (1, 2, 5 ... 100 ms): under concurrent calls the card-ledger insert became
    the slowest part of a request (bench/README.md). Queuing on a lock wakes each writer as soon
    as the one before commits. Threads queue on a mutex; processes (gunicorn workers) on an
    ``flock`` of ``<database>.lock``, opened per process so forked workers never share it.
    """

    def __init__(self, lock_path: Path | None) -> None:
        self._mutex = threading.Lock()
        self._lock_path = lock_path
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._mutex.acquire()
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def _file(self) -> int | None:
        if self._lock_path is None:
            return None
        if self._pid != os.getpid():  # first use in this process (a fork does not inherit it)
            try:
                self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self._lock_path = None  # unwritable directory: SQLite's own waiting still works
                return None
            self._pid = os.getpid()
        return self._fd


def writer_lock(url: str) -> _SqliteWriterLock | None:
    """Return the lock writers to ``url`` take (None for servers such as PostgreSQL)."""
    if not _is_sqlite(url):
        return None
    path = _sqlite_file(url)  # None in memory (one shared connection) or for a file: URI
    return _SqliteWriterLock(None if path is None else path.with_name(path.name + ".lock"))


def make_engine(url: str) -> sa.Engine:
    """Return the engine for ``url`` (a SQLite file in WAL mode; in-memory on one connection)."""
    if _is_memory(url):
        return sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    if not _is_sqlite(url):
        return sa.create_engine(url, pool_pre_ping=True)
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Wait for a busy writer instead of failing: several threads may post feedback at once.
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    sa.event.listen(engine, "connect", _sqlite_wal)
    return engine


def _is_sqlite(url: str) -> bool:
    return make_url(url or "sqlite://").get_backend_name() == "sqlite"


def _is_memory(url: str) -> bool:
    return _is_sqlite(url) and make_url(url or "sqlite://").database in (None, "", ":memory:")


def _sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL given as a path (not in memory, not a ``file:`` URI)."""
    if _is_memory(url):
        return None
    database = make_url(url).database or ""
    return None if database.startswith("file:") else Path(database).expanduser()


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    # Every service call writes the card ledger: in rollback-journal mode each commit waits for
    # fsync (~10 ms here, the largest cost of a small chart's call). In WAL mode with NORMAL
    # sync a commit is a write to the log, which survives a crash of the process (only an OS
    # crash may lose the last commits), and readers in the other workers no longer block it.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
