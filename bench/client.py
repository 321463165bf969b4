"""The load client: keep-alive connections, one per client thread, timing each call.

Every phase is bounded twice, by a request count and by a wall-clock limit. Bodies and tokens are
prepared before the clock starts, so the client spends its time only on sending and reading (the
bare-decode baseline shows what is left of the client's own cost).
"""

from __future__ import annotations

import http.client
import itertools
import math
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# A sender posts (path, body, bearer token) and returns the HTTP status.
Sender = Callable[[str, bytes, str | None], int]
SenderFactory = Callable[[], Sender]

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Stats:
    """What one phase measured; latencies in milliseconds."""

    requests: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float
    mean: float
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Return completed requests per second over the phase."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def http_sender(host: str, port: int) -> SenderFactory:
    """Return a factory of keep-alive HTTP senders to ``host:port`` (one connection each)."""

    def make() -> Sender:
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)

        def send(path: str, body: bytes, token: str | None) -> int:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                connection.close()  # the next call reconnects
                return 0
            return response.status

        return send

    return make


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def measure(
    make_sender: SenderFactory,
    path: str,
    bodies: Iterator[bytes],
    tokens: Iterator[str | None],
    *,
    concurrency: int,
    count: int,
    max_seconds: float,
    warmup: int = 0,
) -> Stats:
    """Post ``count`` calls from ``concurrency`` threads; return the latency figures.

    ``bodies`` and ``tokens`` yield one body and one bearer token per call (warm-up calls
    included), taken before the call's clock starts. Warm-up calls go first on each connection,
    are not counted, and stop when ``max_seconds`` have passed; the timed calls then have
    ``max_seconds`` of their own.
    """
    lock = threading.Lock()
    remaining = itertools.count()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    clock = {"started": 0.0, "deadline": time.perf_counter() + max_seconds}

    def start_clock() -> None:
        clock["started"] = time.perf_counter()
        clock["deadline"] = clock["started"] + max_seconds

    def take() -> tuple[bytes, str | None]:
        with lock:
            return next(bodies), next(tokens, None)

    def client(sender: Sender) -> None:
        for _ in range(warmup):
            if time.perf_counter() < clock["deadline"]:
                sender(path, *take())
        try:
            barrier.wait(timeout=max_seconds + TIMEOUT_SECONDS)
        except threading.BrokenBarrierError:
            with lock:  # a client stuck in its warm-up: the others start without it
                if not clock["started"]:
                    start_clock()
        while next(remaining) < count and time.perf_counter() < clock["deadline"]:
            call = take()
            started = time.perf_counter()
            status = sender(path, *call)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1

    senders = [make_sender() for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency, action=start_clock)
    threads = [threading.Thread(target=client, args=(s,), daemon=True) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * (max_seconds + TIMEOUT_SECONDS))
    return summarise(latencies, statuses, time.perf_counter() - clock["started"])


@dataclass
class Lane:
    """One server's part of an interleaved phase: its sender and what it sends, call by call."""

    name: str
    send: Sender
    path: str
    bodies: Iterator[bytes]
    tokens: Iterator[str | None]

    def call(self) -> tuple[float, int]:
        """Make one call; return its latency in ms and its status."""
        body, token = next(self.bodies), next(self.tokens, None)
        started = time.perf_counter()
        status = self.send(self.path, body, token)
        return (time.perf_counter() - started) * 1000, status


def interleave(
    lanes: Sequence[Lane], *, rounds: int, max_seconds: float, warmup: int = 0
) -> dict[str, Stats]:
    """Call every lane once per round, one call at a time; return each lane's figures.

    The lanes' calls alternate (the order rotates each round), so a slow spell of the machine
    (another tenant of the host, a frequency change) falls on every lane alike and the ratios
    between lanes hold, where phases run minutes apart could differ by a third. Throughput is
    per lane: its calls over the time it spent in them.
    """
    for lane in lanes:
        for _ in range(warmup):
            lane.call()
    latencies: dict[str, list[float]] = {lane.name: [] for lane in lanes}
    statuses: dict[str, Counter[int]] = {lane.name: Counter() for lane in lanes}
    deadline = time.perf_counter() + max_seconds
    for number in range(rounds):
        if time.perf_counter() >= deadline:
            break
        shift = number % len(lanes)
        for lane in [*lanes[shift:], *lanes[:shift]]:
            elapsed, status = lane.call()
            latencies[lane.name].append(elapsed)
            statuses[lane.name][status] += 1
    return {
        name: summarise(times, statuses[name], sum(times) / 1000)
        for name, times in latencies.items()
    }


def summarise(latencies: list[float], statuses: Counter[int], seconds: float) -> Stats:
    """Turn raw latencies and statuses into a ``Stats``."""
    ordered = sorted(latencies)
    errors = sum(n for status, n in statuses.items() if status != 200)
    return Stats(
        requests=len(ordered),
        errors=errors,
        seconds=round(seconds, 3),
        p50=round(percentile(ordered, 0.50), 2),
        p95=round(percentile(ordered, 0.95), 2),
        p99=round(percentile(ordered, 0.99), 2),
        mean=round(statistics.fmean(ordered), 2) if ordered else 0.0,
        statuses={str(status): n for status, n in sorted(statuses.items())},
    )


def wsgi_sender(app: Any) -> SenderFactory:
    """Return a factory of in-process senders to a Flask app (the smoke test; no sockets)."""

    def make() -> Sender:
        client = app.test_client()

        def send(path: str, body: bytes, token: str | None) -> int:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            status: int = client.post(path, data=body, headers=headers).status_code
            return status

        return send

    return make
