"""`python -m cds_service serve` (what `make run` calls) really serves, with its local profile."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_the_local_profile_answers_health_and_refuses_anonymous_discovery(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")} | {
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'fb.sqlite3'}"
    }
    command = [sys.executable, "-m", "cds_service", "serve", "--profile", "local"]
    base = f"http://127.0.0.1:{port}"
    with subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        try:
            health = wait_for(f"{base}/healthz", process)
            assert health.json()["status"] == "ok"
            assert requests.get(f"{base}/cds-services", timeout=2).status_code == 401
        finally:
            process.terminate()
            process.wait(timeout=10)


def wait_for(url: str, process: subprocess.Popen[bytes]) -> requests.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return requests.get(url, timeout=1)
        except requests.ConnectionError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the service did not start in 20 s"
            time.sleep(0.2)


def test_unknown_cds_variable_stops_serve_with_a_clear_message() -> None:
    env = dict(os.environ) | {"CDS_NOT_A_SETTING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "cds_service", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "CDS_NOT_A_SETTING" in result.stderr
