"""The benchmark run: start the servers, drive every phase, collect figures for the report.

The service and both baselines run side by side, each under the same gunicorn setup. At
concurrency 1 their calls are interleaved (``paired_phase``), so the ratios compare calls made in
the same moments; the phases with more clients load one server at a time, the others idle.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bench import report, workload
from bench.client import Lane, SenderFactory, Stats, http_sender, interleave, measure
from bench.report import Phase
from bench.serving import Server, gunicorn
from bench.workload import Workload

SERVICE_APP = "cds_service:create_app()"
BARE_APP = "bench.baselines:create_bare_app()"
NAIVE_APP = "bench.baselines:create_naive_app()"
FHIR_APP = "bench.workload:create_fhir_app_from_env()"


@dataclass(frozen=True)
class Plan:
    """How much to run: chart sizes, client counts, and the bounds of each phase."""

    sizes: tuple[int, ...]
    concurrency: tuple[int, ...]
    base_count: int
    max_seconds: float
    warmup: int
    no_prefetch_sizes: tuple[int, ...]

    def count(self, resources: int, concurrency: int) -> int:
        """Return how many calls a phase makes: fewer for big charts, enough for each client."""
        scaled = int(self.base_count * min(4.0, 1000 / max(resources, 1)))
        return max(scaled, 4 * concurrency)


FULL = Plan((100, 1000, 5000), (1, 8, 32), 150, 20.0, 1, (100, 1000))
QUICK = Plan((100, 1000), (1, 8), 20, 5.0, 1, (100,))


def presign(base_url: str, path: str, n: int) -> tuple[list[str], float]:
    """Sign ``n`` fresh client JWTs for ``base_url + path``; return them and ms per token."""
    from sandbox.ehr import sign_jwt

    started = time.perf_counter()
    tokens = [sign_jwt(base_url + path) for _ in range(n)]
    return tokens, (time.perf_counter() - started) * 1000 / max(n, 1)


def run_phase(
    make_sender: SenderFactory,
    item: Workload,
    concurrency: int,
    plan: Plan,
    *,
    audience_base: str | None,
) -> Stats:
    """Measure one workload at one concurrency (tokens signed before the clock starts)."""
    count = plan.count(item.resources or 100, concurrency)
    tokens: Iterator[str | None]
    if audience_base is None:
        tokens = iter([None] * (count + plan.warmup * concurrency))
    else:
        signed, _ = presign(audience_base, item.path, count + plan.warmup * concurrency)
        tokens = iter(signed)
    return measure(
        make_sender,
        item.path,
        item.bodies(),
        tokens,
        concurrency=concurrency,
        count=count,
        max_seconds=plan.max_seconds,
        warmup=plan.warmup,
    )


def drive(
    name: str,
    make_sender: SenderFactory,
    items: Sequence[Workload],
    plan: Plan,
    *,
    audience_base: str | None,
    progress: Callable[[str], None] = lambda line: None,
) -> list[Phase]:
    """Run every workload at every concurrency against one server."""
    phases = []
    for item in items:
        for concurrency in plan.concurrency:
            stats = run_phase(make_sender, item, concurrency, plan, audience_base=audience_base)
            phase = Phase(name, item.name, concurrency, stats)
            progress(report.table([phase]).splitlines()[-1])
            phases.append(phase)
    return phases


def run(plan: Plan, today: date, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run the whole benchmark; return everything the report needs."""
    from hooks.prefetch import PATHWAY_PREFETCH
    from sandbox.patients import patient_id

    items, charts = workload.build_workloads(
        today, PATHWAY_PREFETCH, sizes=plan.sizes, fhir_server="http://127.0.0.1:9/fhir"
    )
    patient_view = [w for w in items if w.service_id == workload.PATIENT_VIEW]
    unseen = {
        w.name: workload.unseen_workload(w, patient_id(charts[w.resources]))
        for w in patient_view
        if w.resources == workload.UNSEEN_CHART
    }
    with tempfile.TemporaryDirectory(prefix="cds-bench-ledger-") as ledger, ExitStack() as stack:
        # A private ledger per run: the benchmark must not fill the developer's local database.
        env = {"CDS_PROFILE": "local", "CDS_FHIR_ALLOWED_HOSTS": "127.0.0.1",
               "CDS_DATABASE_URL": f"sqlite:///{ledger}/feedback.sqlite3"}  # fmt: skip
        # Started one at a time (each start-up is timed alone); idle, a server costs nothing.
        servers = {
            "bare": stack.enter_context(gunicorn(BARE_APP)),
            "naive": stack.enter_context(gunicorn(NAIVE_APP)),
            "service": stack.enter_context(gunicorn(SERVICE_APP, env)),
        }
        phases = []
        for item in patient_view:
            phases += paired_phase(servers, item, unseen.get(item.name), plan, progress)
        crowded = replace(plan, concurrency=tuple(c for c in plan.concurrency if c > 1))
        for name, server in servers.items():
            sender = http_sender(server.host, server.port)
            base = server.base_url if name == "service" else None
            phases += drive(
                name, sender, patient_view, crowded, audience_base=base, progress=progress
            )
        phases += _service_only(servers["service"], items, plan, today, progress)
        figures = {name: _server_figures(server) for name, server in servers.items()}
    _, sign_ms = presign("http://127.0.0.1/x", "/cds-services/b-all-pathway", 50)
    return {"phases": phases, "servers": figures, "jwt_sign_ms_per_token": round(sign_ms, 3)}


def paired_phase(
    servers: dict[str, Server],
    item: Workload,
    unseen: Workload | None,
    plan: Plan,
    progress: Callable[[str], None],
) -> list[Phase]:
    """Measure one chart at concurrency 1 on every server at once, their calls interleaved.

    The ratios to the baselines come from these phases: measured side by side, call by call,
    they do not move with the machine's speed of the moment (bench/README.md).
    """
    count = plan.count(item.resources, 1)
    service = servers["service"]
    lanes = {
        (name, item.name): _lane(name, server, item, count + plan.warmup)
        for name, server in servers.items()
    }
    if unseen is not None:
        lanes["service", unseen.name] = _lane("unseen", service, unseen, count + plan.warmup)
    stats = interleave(
        list(lanes.values()),
        rounds=count,
        max_seconds=plan.max_seconds * len(lanes),
        warmup=plan.warmup,
    )
    found = [Phase(server, name, 1, stats[lane.name]) for (server, name), lane in lanes.items()]
    for phase in found:
        progress(report.table([phase]).splitlines()[-1])
    return found


def _lane(name: str, server: Server, item: Workload, calls: int) -> Lane:
    signed = name in ("service", "unseen")
    tokens = presign(server.base_url, item.path, calls)[0] if signed else [None] * calls
    send = http_sender(server.host, server.port)()
    return Lane(name, send, item.path, item.bodies(), iter(tokens))


def _service_only(
    server: Server,
    items: Sequence[Workload],
    plan: Plan,
    today: date,
    progress: Callable[[str], None],
) -> list[Phase]:
    """Order-sign at every concurrency, then patient-view with no prefetch (FHIR fetched)."""
    from sandbox.patients import patient_id

    sender = http_sender(server.host, server.port)
    base = server.base_url
    signing = [w for w in items if w.service_id == workload.ORDER_SIGN]
    phases = drive("service", sender, signing, plan, audience_base=base, progress=progress)
    for size in plan.no_prefetch_sizes:
        fhir_env = _fhir_env(today, size)
        with gunicorn(FHIR_APP, fhir_env, threads=32, health_path="/metadata") as fhir:
            pid = patient_id(workload.chart(size, today))
            item = workload.no_prefetch_workload(pid, size, fhir.base_url)
            phases += drive("service", sender, [item], plan, audience_base=base, progress=progress)
    return phases


def _fhir_env(today: date, size: int) -> dict[str, str]:
    latency = str(report.FHIR_LATENCY_MS)
    return {"BENCH_TODAY": today.isoformat(), "BENCH_FHIR_CHART": str(size),
            "BENCH_FHIR_LATENCY_MS": latency}  # fmt: skip


def _server_figures(server: Server) -> dict[str, Any]:
    rss = server.peak_rss_mb()
    return {
        "startup_seconds": round(server.startup_seconds, 3),
        "peak_rss_mb": {str(pid): mb for pid, mb in rss.items()},
    }
