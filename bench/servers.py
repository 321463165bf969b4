"""Private throwaway servers for tests and load runs: PostgreSQL, Redis and the service itself.

Each server runs from its binary on a free loopback port with a temporary data directory and is
stopped (and its directory removed) when its ``with`` block ends. ``ServerUnavailable`` says why a
server cannot be started here (binary missing, cannot drop root), so tests can skip with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# PostgreSQL refuses to run as root; when we are root it runs as this user instead.
UNPRIVILEGED_USER = "nobody"


class ServerUnavailable(Exception):
    """A server cannot be started on this machine; the message says why (for a test skip)."""


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin_dir() -> Path:
    """Return the newest ``/usr/lib/postgresql/*/bin`` that has ``initdb``, or raise."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: _version(p.parent.name),
    )
    on_path = shutil.which("initdb")
    if found:
        return found[-1]
    if on_path:
        return Path(on_path).parent
    raise ServerUnavailable("postgresql not installed (no initdb under /usr/lib/postgresql)")


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _run_as() -> dict[str, Any]:
    """Return Popen arguments that drop root for PostgreSQL (empty when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        import pwd

        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise ServerUnavailable(
            f"running as root and no {UNPRIVILEGED_USER!r} user to run PostgreSQL as"
        ) from None
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextmanager
def postgres_server(*, fast: bool = True) -> Iterator[str]:
    """Run a private PostgreSQL; yield the SQLAlchemy URL of its empty ``cds`` database.

    ``fast`` turns fsync off (tests: a crash of the test machine loses nothing we need).
    """
    bin_dir = postgres_bin_dir()
    as_user = _run_as()
    with _temp_dir("cds-pg-", chown=bool(as_user)) as root:
        data = root / "data"
        _check_call([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                     "--no-sync", "-E", "UTF8", "--no-locale"], as_user, "initdb")  # fmt: skip
        port = free_port()
        command = [str(bin_dir / "postgres"), "-D", str(data), "-k", str(root),
                   "-p", str(port), "-h", "127.0.0.1", "-c", "max_connections=200"]  # fmt: skip
        if fast:
            command += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        log = (root / "postgres.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **as_user)
        try:
            _wait_for(lambda: _postgres_ready(port), process, "postgres", root / "postgres.log")
            _create_database(port, "cds")
            yield postgres_url(port, "cds")
        finally:
            # SIGINT is PostgreSQL's "fast" shutdown: roll back clients, then stop.
            _stop(process, signal.SIGINT)
            log.close()


def postgres_url(port: int, database: str) -> str:
    """Return the SQLAlchemy URL of ``database`` on the private server at ``port``."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"


def create_database(server_url: str, name: str) -> str:
    """Create an empty database on the server of ``server_url``; return its URL."""
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    assert url.port is not None
    _create_database(url.port, name)
    return postgres_url(url.port, name)


def _create_database(port: int, name: str) -> None:
    import psycopg

    if not name.replace("_", "").isalnum():
        raise ValueError("database names here are plain identifiers")
    with psycopg.connect(_dsn(port, "postgres"), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")


def _dsn(port: int, database: str) -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname={database} connect_timeout=2"


def _postgres_ready(port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(_dsn(port, "postgres")):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def redis_server() -> Iterator[str]:
    """Run a private Redis without persistence; yield its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server not installed")
    with _temp_dir("cds-redis-") as root:
        port = free_port()
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(root)]  # fmt: skip
        log = (root / "redis.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_for(lambda: _redis_ready(url), process, "redis-server", root / "redis.log")
            yield url
        finally:
            _stop(process, signal.SIGTERM)
            log.close()


def _redis_ready(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextmanager
def gunicorn_service(
    env: Mapping[str, str], *, workers: int = 2, threads: int = 4, extra: Sequence[str] = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """Serve ``create_app()`` under gunicorn on loopback; yield (base URL, master, work dir).

    ``env`` holds the ``CDS_*`` settings; the base URL is also the JWT audience base. The work
    directory holds ``gunicorn.log`` (error log) and ``access.log`` (``<pid> status request``).
    """
    with _temp_dir("cds-gunicorn-") as root:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
        environment.update({"CDS_PUBLIC_BASE_URL": base, "CDS_LOG_LEVEL": "WARNING", **env})
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", str(threads),
                   "--graceful-timeout", "5", "--error-logfile", str(root / "gunicorn.log"),
                   "--access-logfile", str(root / "access.log"),
                   "--access-logformat", "%(p)s %(s)s %(r)s", *extra,
                   "cds_service:create_app()"]  # fmt: skip
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_for(lambda: _http_ready(base), process, "gunicorn", root / "gunicorn.log")
            yield base, process, root
        finally:
            _stop(process, signal.SIGTERM)


def _http_ready(base: str) -> bool:
    import requests

    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def worker_pids(master: int) -> set[int]:
    """Return the pids of the live child processes of ``master`` (gunicorn's workers)."""
    children: set[int] = set()
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue  # the process ended while we looked
        # Field 2 is "(comm)" and may hold spaces: split after its closing parenthesis.
        state, parent = text.rpartition(")")[2].split()[:2]
        if int(parent) == master and state != "Z":
            children.add(int(Path(stat).parent.name))
    return children


def socket_count(pid: int) -> int:
    """Return how many sockets process ``pid`` holds open (0 if it is gone)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return 0
    count = 0
    for fd in fds:
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue  # closed while we looked
    return count


@contextmanager
def _temp_dir(prefix: str, *, chown: bool = False) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if chown:
            import pwd

            entry = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _check_call(command: list[str], as_user: Mapping[str, Any], what: str) -> None:
    done = subprocess.run(command, capture_output=True, timeout=START_TIMEOUT_SECONDS, **as_user)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-500:]
        raise ServerUnavailable(f"{what} failed ({done.returncode}): {tail}")


def _wait_for(ready: Any, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode} while starting:\n{tail}")
        if ready():
            return
        time.sleep(0.05)
    _stop(process, signal.SIGKILL)
    raise RuntimeError(f"{what} did not become ready within {START_TIMEOUT_SECONDS:.0f} s")


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
