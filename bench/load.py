"""Load and durability run (``make load``): mixed hooks and feedback against gunicorn, one worker
killed mid-run, then the checks: no 5xx, nothing lost, every distinct feedback item stored once.

``python -m bench.load [--seconds 60] [--concurrency 32] [--database-url URL | --postgres]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import requests

from bench.servers import gunicorn_service, postgres_server, socket_count, worker_pids
from cds_service.feedback import FeedbackStore
from hooks import SERVICES
from sandbox.ehr import build_request, sign_jwt
from sandbox.scenarios import load_scenarios

SERVICE_FOR_HOOK = {service.hook: service_id for service_id, service in SERVICES.items()}
# Share of each kind of call in the mix; feedback posts also resend earlier items on purpose.
MIX = (("patient-view", 35), ("order-select", 20), ("order-sign", 15), ("feedback", 30))
DUPLICATE_SHARE = 0.2
MAX_ATTEMPTS = 6
RECONNECT_EVERY = 10
REQUEST_TIMEOUT_SECONDS = 30.0
REPLACE_TIMEOUT_SECONDS = 30.0
# Connection errors this long after the new worker is up are no longer blamed on the kill.
KILL_WINDOW_GRACE_SECONDS = 2.0
# The FHIR base in the requests: nothing listens there, every scenario is fully prefetched.
UNUSED_FHIR_URL = "http://127.0.0.1:9/fhir"


@dataclass
class Results:
    """What the clients saw; every field is updated under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    connection_errors: list[float] = field(default_factory=list)  # monotonic times
    lost: int = 0
    items_acknowledged: set[str] = field(default_factory=set)  # card uuids, one item per card
    duplicates_sent: int = 0
    kill: dict[str, float] = field(default_factory=dict)
    after_replacement: int = 0
    served_by_replacement: int = 0
    replacement_alive: bool = False

    def record(self, status: int, latency: float, finished: float) -> None:
        """Count one answered request."""
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(latency)
            if finished > self.kill.get("replaced_at", float("inf")):
                self.after_replacement += 1


class Client:
    """One keep-alive client thread: a session, its own random stream and its cards."""

    def __init__(self, base: str, bodies: dict[str, list[dict[str, Any]]], seed: int) -> None:
        self.base = base
        self.bodies = bodies
        self.random = random.Random(seed)
        self.session = requests.Session()
        self.cards: deque[str] = deque(maxlen=200)  # card uuids we were given, not yet answered
        self.sent: list[dict[str, Any]] = []  # items acknowledged, candidates for duplicates

    def run(self, results: Results, deadline: float) -> None:
        """Send calls until ``deadline``."""
        kinds = [kind for kind, _weight in MIX]
        weights = [weight for _kind, weight in MIX]
        for sent in itertools.count(1):
            if time.monotonic() >= deadline:
                break
            kind = self.random.choices(kinds, weights)[0]
            if kind == "feedback":
                self.post_feedback(results)
            else:
                self.call_hook(kind, results)
            if sent % RECONNECT_EVERY == 0:
                # EHRs reconnect now and then; it also lets a new worker take its share.
                self.session.close()
                self.session = requests.Session()
        self.session.close()

    def call_hook(self, hook: str, results: Results) -> None:
        """Call one hook with a scenario request and keep the card uuids it returns."""
        body = {**self.random.choice(self.bodies[hook]), "hookInstance": str(uuid.uuid4())}
        answer = self.send(f"/cds-services/{SERVICE_FOR_HOOK[hook]}", body, results)
        # Feedback goes to the service that issued the card: keep the pathway service's cards.
        if hook == "patient-view" and answer is not None and answer.status_code == 200:
            self.cards.extend(c["uuid"] for c in answer.json()["cards"] if "uuid" in c)

    def post_feedback(self, results: Results) -> None:
        """Post one to three items: new ones, and sometimes one already acknowledged."""
        items = [self.new_item() for _ in range(self.random.randint(1, 3))]
        duplicate = bool(self.sent) and self.random.random() < DUPLICATE_SHARE
        if duplicate:
            items.append(self.random.choice(self.sent))
        answer = self.send("/cds-services/b-all-pathway/feedback", {"feedback": items}, results)
        if answer is not None and answer.status_code == 200:
            fresh = items[:-1] if duplicate else items
            self.sent.extend(fresh)
            with results.lock:
                results.items_acknowledged.update(item["card"] for item in fresh)
                results.duplicates_sent += duplicate

    def new_item(self) -> dict[str, Any]:
        """Return a feedback item on a card we were given (or a fresh uuid), never reused."""
        card = self.cards.popleft() if self.cards else str(uuid.uuid4())
        item: dict[str, Any] = {
            "card": card,
            "outcome": self.random.choice(("accepted", "overridden")),
            "outcomeTimestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if item["outcome"] == "overridden":
            item["overrideReason"] = {"reason": {"code": "not-applicable", "system": "urn:bench"}}
        return item

    def send(self, path: str, body: dict[str, Any], results: Results) -> requests.Response | None:
        """POST with a fresh JWT per attempt; retry connection errors; None when all failed."""
        for attempt in range(MAX_ATTEMPTS):
            headers = {"Authorization": f"Bearer {sign_jwt(self.base + path)}"}
            started = time.monotonic()
            try:
                answer = self.session.post(
                    self.base + path, json=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
                )
            except requests.RequestException:
                # The server may have stored the body before the connection died: resending is
                # exactly what an EHR does, and the store must still keep one copy.
                with results.lock:
                    results.connection_errors.append(time.monotonic())
                time.sleep(0.1 * (attempt + 1))
                continue
            finished = time.monotonic()
            results.record(answer.status_code, finished - started, finished)
            return answer
        with results.lock:
            results.lost += 1
        return None


def scenario_bodies() -> dict[str, list[dict[str, Any]]]:
    """Build one request body per sandbox scenario, grouped by hook (prefetch complete)."""
    bodies: dict[str, list[dict[str, Any]]] = {hook: [] for hook in SERVICE_FOR_HOOK}
    today = date.today()
    for scenario in load_scenarios():
        if scenario.prefetch_error:
            continue  # it makes the service query fhirServer; this run measures the service
        body = build_request(scenario, None, today, fhir_url=UNUSED_FHIR_URL)
        bodies[scenario.hook].append(body)
    return bodies


def kill_one_worker(master: int, workers: int, results: Results, at: float) -> None:
    """At ``at``, SIGKILL one worker and wait for the master to start its replacement."""
    time.sleep(max(0.0, at - time.monotonic()))
    before = worker_pids(master)
    if not before:
        return
    # Kill the worker holding the most client connections, so in-flight requests really die.
    victim = max(before, key=lambda pid: (socket_count(pid), pid))
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    with results.lock:
        results.kill.update(victim=victim, killed_at=killed_at)
    while time.monotonic() - killed_at < REPLACE_TIMEOUT_SECONDS:
        now = worker_pids(master)
        if victim not in now and len(now) >= workers and now - before:
            with results.lock:
                results.kill.update(replaced_at=time.monotonic(), replacement=min(now - before))
            return
        time.sleep(0.05)


def run_load(
    seconds: float,
    concurrency: int,
    database_url: str,
    *,
    workers: int = 2,
    kill_at: float = 0.4,
    seed: int = 8,
) -> tuple[Results, int, float]:
    """Run the workload, killing a worker ``kill_at`` of the way in; return the results, the
    feedback rows added and the elapsed time."""
    store = FeedbackStore(database_url)  # creates the tables before the workers race to
    baseline = store.count_feedback()
    bodies = scenario_bodies()
    env = {"CDS_PROFILE": "local", "CDS_DATABASE_URL": database_url}
    results = Results()
    with gunicorn_service(env, workers=workers) as (base, master, root):
        started = time.monotonic()
        deadline = started + seconds
        clients = [Client(base, bodies, seed + i) for i in range(concurrency)]
        threads = [threading.Thread(target=c.run, args=(results, deadline)) for c in clients]
        killer = threading.Thread(
            target=kill_one_worker, args=(master.pid, workers, results, started + seconds * kill_at)
        )
        for thread in [*threads, killer]:
            thread.start()
        for thread in [*threads, killer]:
            thread.join(timeout=seconds + REQUEST_TIMEOUT_SECONDS * MAX_ATTEMPTS)
        elapsed = time.monotonic() - started
        results.served_by_replacement = _answers_by(root / "access.log", results.kill)
        # A replacement that crashed while booting would have been replaced again by now.
        results.replacement_alive = results.kill.get("replacement") in worker_pids(master.pid)
    stored = store.count_feedback() - baseline
    store.close()
    return results, stored, elapsed


def _answers_by(access_log: Path, kill: dict[str, float]) -> int:
    """Count the access-log lines (``<pid> status request``) of the replacement worker."""
    if "replacement" not in kill:
        return 0
    prefix = f"<{kill['replacement']:.0f}> "
    with access_log.open(encoding="utf-8", errors="replace") as lines:
        return sum(1 for line in lines if line.startswith(prefix))


def check(results: Results, stored: int) -> list[str]:
    """Return the failed checks (empty when the run passed)."""
    failures = []
    server_errors = sum(n for status, n in results.statuses.items() if status >= 500)
    if server_errors:
        failures.append(f"{server_errors} responses were 5xx")
    unexpected = sum(n for status, n in results.statuses.items() if status != 200)
    if unexpected:
        failures.append(f"{unexpected} responses were not 200: {dict(results.statuses)}")
    if results.lost:
        failures.append(f"{results.lost} requests failed after {MAX_ATTEMPTS} attempts")
    outside = _errors_outside_kill_window(results)
    if outside:
        failures.append(f"{outside} connection errors outside the worker-kill window")
    if "replaced_at" not in results.kill:
        failures.append("the killed worker was not replaced")
    elif not results.after_replacement:
        failures.append("no request was answered after the worker was replaced")
    elif not results.replacement_alive:
        failures.append("the replacement worker did not live to the end of the run")
    if stored != len(results.items_acknowledged):
        failures.append(
            f"feedback stored {stored} != distinct items sent {len(results.items_acknowledged)}"
        )
    return failures


def _errors_outside_kill_window(results: Results) -> int:
    start = results.kill.get("killed_at", float("inf"))
    end = results.kill.get("replaced_at", float("inf")) + KILL_WINDOW_GRACE_SECONDS
    return sum(1 for t in results.connection_errors if not start <= t <= end)


def summary(results: Results, stored: int, elapsed: float) -> str:
    """Render the figures of a run."""
    latencies = sorted(results.latencies)
    total = len(latencies)
    kill = results.kill
    replaced = (
        f"replaced by pid {kill['replacement']:.0f} after "
        f"{kill['replaced_at'] - kill['killed_at']:.2f} s"
        if "replaced_at" in kill
        else "NOT replaced"
    )
    lines = [
        f"requests answered   {total} in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.0f}/s)",
        f"statuses            {dict(sorted(results.statuses.items()))}",
        f"latency ms          p50 {_pct(latencies, 50):.1f}  p95 {_pct(latencies, 95):.1f}  "
        f"p99 {_pct(latencies, 99):.1f}  max {_pct(latencies, 100):.1f}",
        f"connection errors   {len(results.connection_errors)} (retried; outside the kill "
        f"window: {_errors_outside_kill_window(results)}), lost {results.lost}",
        f"worker killed       pid {kill.get('victim', 0):.0f}, {replaced}; "
        f"{results.after_replacement} answers after replacement, "
        f"{results.served_by_replacement} by the new worker",
        f"feedback            distinct items sent {len(results.items_acknowledged)}, "
        f"duplicate resends {results.duplicates_sent}, rows stored {stored}",
    ]
    return "\n".join(lines)


def _pct(values: list[float], percent: int) -> float:
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, round(percent / 100 * len(values)) - 1))
    return values[index] * 1000


@contextmanager
def _database(url: str | None, postgres: bool) -> Iterator[str]:
    if postgres:
        with postgres_server(fast=False) as pg_url:
            yield pg_url
    elif url:
        yield url
    else:
        with tempfile.TemporaryDirectory(prefix="cds-load-") as root:
            yield f"sqlite:///{Path(root) / 'feedback.sqlite3'}"


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the load and print the summary; 1 when a check failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=32)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="SQLAlchemy URL (default: a fresh SQLite file)")
    where.add_argument("--postgres", action="store_true", help="start a private PostgreSQL")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 3600 or not 0 < args.concurrency <= 256:
        parser.error("--seconds must be in (0, 3600] and --concurrency in (0, 256]")
    with _database(args.database_url, args.postgres) as url:
        backend = url.split(":", 1)[0]
        print(f"load: {args.seconds:.0f} s, concurrency {args.concurrency}, database {backend}")
        results, stored, elapsed = run_load(args.seconds, args.concurrency, url)
    print(summary(results, stored, elapsed))
    failures = check(results, stored)
    for failure in failures:
        print(f"FAILED: {failure}")
    print("OK" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
