"""Run an app under gunicorn on loopback for the benchmark; time its start, read its memory.

The service and both baselines run with the same command line (gthread workers, so the client's
connections stay open between calls); only the app factory and the environment differ.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import free_port, worker_pids

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    """A running gunicorn: where it listens, its master process and how long it took to start."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    startup_seconds: float
    workdir: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def peak_rss_mb(self) -> dict[int, float]:
        """Return each live worker's peak resident memory (VmHWM) in MB, by pid."""
        pids = sorted(worker_pids(self.process.pid))
        return {pid: round(_vm_hwm_kb(pid) / 1024, 1) for pid in pids}


@contextmanager
def gunicorn(
    app_spec: str,
    env: Mapping[str, str] | None = None,
    *,
    workers: int = 2,
    threads: int = 4,
    health_path: str = "/healthz",
) -> Iterator[Server]:
    """Serve ``app_spec`` (``module:factory()``) with gunicorn; stop it when the block ends."""
    workdir = Path(tempfile.mkdtemp(prefix="cds-bench-"))
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    environment.update({"CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **(env or {})})
    # Every server, baselines included, runs with the production gunicorn settings.
    command = [sys.executable, "-m", "gunicorn", "-c", "python:cds_service.gunicorn_conf",
               "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
               "--keep-alive", "30", "--graceful-timeout", "5",
               "--error-logfile", str(workdir / "gunicorn.log"), app_spec]  # fmt: skip
    with open(workdir / "app.log", "wb") as app_log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=environment, cwd=PROJECT_DIR, stdout=app_log, stderr=app_log
        )
    try:
        _wait_healthy(process, port, workdir, health_path)
        yield Server("127.0.0.1", port, process, time.perf_counter() - started, workdir)
    finally:
        _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_healthy(
    process: subprocess.Popen[bytes], port: int, workdir: Path, health_path: str
) -> None:
    deadline = time.perf_counter() + START_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            tail = (workdir / "gunicorn.log").read_text(errors="replace")[-1500:]
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{tail}")
        if _status(port, health_path) == 200:
            return
        time.sleep(0.01)
    limit = f"{START_TIMEOUT_SECONDS:.0f} s"
    raise RuntimeError(f"gunicorn gave no 200 on {health_path} within {limit}")


def _status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass  # the worker ended while we looked
    return 0


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
