"""Turn measured phases into the stdout table, the ratios, the target verdicts and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.client import Stats
from bench.workload import UNSEEN

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FHIR_LATENCY_MS = 50


@dataclass(frozen=True)
class Phase:
    """One measured combination: which server, which request, how many clients."""

    server: str
    workload: str
    concurrency: int
    stats: Stats

    def row(self) -> dict[str, Any]:
        """Return the phase as a flat dict (table and JSON)."""
        return {
            "server": self.server,
            "workload": self.workload,
            "concurrency": self.concurrency,
            **asdict(self.stats),
            "throughput": round(self.stats.throughput, 1),
        }


def find(phases: Sequence[Phase], server: str, workload: str, concurrency: int) -> Stats | None:
    """Return the stats of one phase, or None when it was not run."""
    for phase in phases:
        if (phase.server, phase.workload, phase.concurrency) == (server, workload, concurrency):
            return phase.stats
    return None


def ratios(phases: Sequence[Phase]) -> list[dict[str, Any]]:
    """Compare the service with both baselines on every patient-view phase they share."""
    rows = []
    for phase in phases:
        if phase.server != "service":
            continue
        # An unseen chart is the same bytes to decode and validate: the baselines' workload.
        same = phase.workload.removesuffix(UNSEEN)
        bare = find(phases, "bare", same, phase.concurrency)
        naive = find(phases, "naive", same, phase.concurrency)
        if bare is None or naive is None:
            continue
        ours = phase.stats
        rows.append(
            {
                "workload": phase.workload,
                "concurrency": phase.concurrency,
                "p50_vs_bare": _ratio(ours.p50, bare.p50),
                "p99_vs_bare": _ratio(ours.p99, bare.p99),
                "naive_p50_over_ours": _ratio(naive.p50, ours.p50),
                "throughput_vs_naive": _ratio(ours.throughput, naive.throughput),
            }
        )
    return rows


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b > 0 else None


def targets(phases: Sequence[Phase], rss_mb: Mapping[int, float]) -> list[dict[str, Any]]:
    """Check the issue's targets against what was measured (absent phases are 'not run')."""
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, limit: float, *, at_least: bool = False) -> None:
        met = None if value is None else (value >= limit if at_least else value <= limit)
        checks.append({"target": name, "value": value, "limit": limit, "met": met})

    bare1k = find(phases, "bare", "patient-view/1000", 1)
    naive1k = find(phases, "naive", "patient-view/1000", 1)
    # The chart, sent again and again; then the same size as a chart never seen before.
    for suffix, label in (("", ""), (UNSEEN, " (unseen chart)")):
        pv1k = find(phases, "service", "patient-view/1000" + suffix, 1)
        if pv1k and bare1k:
            check(f"1000 c1 p50 / bare p50{label}", _ratio(pv1k.p50, bare1k.p50), 2.0)
        if pv1k:
            check(f"1000 c1 p99 ms{label}", pv1k.p99, 100)
        if pv1k and naive1k:
            ratio = _ratio(naive1k.p50, pv1k.p50)
            check(f"1000 c1 naive p50 / ours{label}", ratio, 8.0, at_least=True)
    pv5k = find(phases, "service", "patient-view/5000", 1)
    if pv5k:
        check("5000 c1 p99 ms", pv5k.p99, 400)
    _no_prefetch_check(phases, check)
    small = find(phases, "service", "patient-view/100", 8)
    if small:
        check("100 c8 req/s", round(small.throughput, 1), 300, at_least=True)
        check("100 c8 errors", small.errors, 0)
    if rss_mb:
        check("peak RSS per worker MB", max(rss_mb.values()), 200)
    return checks


def _no_prefetch_check(phases: Sequence[Phase], check: Any) -> None:
    # Budget: three FHIR round trips plus what the same chart costs with full prefetch.
    for phase in phases:
        if phase.server == "service" and phase.workload.endswith("/no-prefetch"):
            if phase.concurrency != 1:
                continue
            size = phase.workload.split("/")[1]
            processing = find(phases, "service", f"patient-view/{size}", 1)
            if processing is None:
                continue
            limit = round(3 * FHIR_LATENCY_MS + processing.p99, 1)
            check(f"{phase.workload} c1 p99 ms (3 trips + processing)", phase.stats.p99, limit)
            if phase.stats.errors:
                check(f"{phase.workload} c1 errors", phase.stats.errors, 0)


def table(phases: Sequence[Phase]) -> str:
    """Return the phases as a fixed-width text table."""
    header = (
        f"{'server':<8} {'workload':<30} {'c':>3} {'n':>5} {'err':>4} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}"
    )
    lines = [header, "-" * len(header)]
    for phase in phases:
        s = phase.stats
        lines.append(
            f"{phase.server:<8} {phase.workload:<30} {phase.concurrency:>3} {s.requests:>5} "
            f"{s.errors:>4} {s.p50:>8.1f} {s.p95:>8.1f} {s.p99:>8.1f} {s.throughput:>8.1f}"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    return {
        "nproc": os.cpu_count(),
        "memory": _free_total(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _free_total() -> str:
    try:
        out = subprocess.run(["free", "-h"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    rows = [line.split() for line in out.splitlines() if line.startswith("Mem:")]
    return rows[0][1] if rows else "?"


def write_json(result: Mapping[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """Write the result as ``<timestamp>.json`` under ``directory``; return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path
