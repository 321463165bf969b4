"""The benchmark harness still works: its pieces run in-process on a tiny chart (no gunicorn).

The full benchmark (``python -m bench``) is not part of the suite; this keeps it from rotting.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bench import baselines, harness, report, workload
from bench.client import Lane, Stats, interleave, percentile, summarise, wsgi_sender
from cds_service import create_app
from cds_service.fhir import models
from hooks.prefetch import PATHWAY_PREFETCH

TODAY = date(2026, 3, 2)
BASE = "http://bench.test"
PLAN = harness.Plan((100,), (1, 2), 4, 5.0, 1, ())


@pytest.fixture(scope="module")
def items() -> list[workload.Workload]:
    built, _ = workload.build_workloads(
        TODAY, PATHWAY_PREFETCH, sizes=(100,), fhir_server="http://127.0.0.1:9/fhir"
    )
    return built


@pytest.fixture
def service(tmp_path: Path) -> Flask:
    settings = {
        "PROFILE": "local",
        "PUBLIC_BASE_URL": BASE,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        "LOG_LEVEL": "WARNING",
    }
    return create_app(settings, today=lambda: TODAY)


def body_of(item: workload.Workload) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(item.body)
    return decoded


def test_full_prefetch_puts_every_chart_resource_under_its_key(
    items: list[workload.Workload],
) -> None:
    prefetch = body_of(items[0])["prefetch"]
    counted = {
        key: 1 if value.get("resourceType") == "Patient" else len(value["entry"])
        for key, value in prefetch.items()
        if value
    }
    chart = workload.chart(100, TODAY)
    assert sum(counted.values()) == len(chart["entry"])
    assert prefetch["patient"]["resourceType"] == "Patient"
    assert prefetch["observations"]["type"] == "searchset"


def test_order_sign_drafts_name_the_chart_patient(items: list[workload.Workload]) -> None:
    body = body_of(next(i for i in items if i.service_id == workload.ORDER_SIGN))
    subjects = {
        entry["resource"]["subject"]["reference"]
        for entry in body["context"]["draftOrders"]["entry"]
    }
    assert subjects == {f"Patient/{body['context']['patientId']}"}


def test_the_service_answers_every_benchmark_call_with_200(
    service: Flask, items: list[workload.Workload]
) -> None:
    for item in items:
        stats = harness.run_phase(wsgi_sender(service), item, 2, PLAN, audience_base=BASE)
        assert stats.statuses == {"200": stats.requests}
        assert stats.requests == PLAN.count(item.resources, 2)


def test_an_unsigned_call_is_counted_as_an_error(
    service: Flask, items: list[workload.Workload]
) -> None:
    stats = harness.run_phase(wsgi_sender(service), items[0], 1, PLAN, audience_base=None)
    assert stats.errors == stats.requests > 0


def test_the_bare_baseline_returns_no_cards() -> None:
    response = baselines.create_bare_app().test_client().post("/cds-services/x", data=b"{}")
    assert response.get_json() == {"cards": []}


def test_the_naive_baseline_validates_every_prefetched_resource(
    items: list[workload.Workload],
) -> None:
    body = body_of(items[0])
    assert baselines.validate_all(body) == len(workload.chart(100, TODAY)["entry"])


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99)) == (50.0, 99.0)


def test_targets_compare_the_service_with_the_floor() -> None:
    def stats(p50: float) -> Stats:
        return summarise([p50] * 10, Counter({200: 10}), 1.0)

    phases = [
        report.Phase("bare", "patient-view/1000", 1, stats(10.0)),
        report.Phase("naive", "patient-view/1000", 1, stats(200.0)),
        report.Phase("service", "patient-view/1000", 1, stats(25.0)),
    ]
    verdicts = {c["target"]: c["met"] for c in report.targets(phases, {1: 150.0})}
    assert verdicts == {
        "1000 c1 p50 / bare p50": False,
        "1000 c1 p99 ms": True,
        "1000 c1 naive p50 / ours": True,
        "peak RSS per worker MB": True,
    }


def test_an_unseen_chart_is_new_on_every_call_and_still_answered(
    service: Flask, items: list[workload.Workload], monkeypatch: pytest.MonkeyPatch
) -> None:
    item = items[0]
    pid = body_of(item)["context"]["patientId"]
    unseen = workload.unseen_workload(item, pid)
    first, second = itertools.islice(workload.renamed_bodies(item.body, pid), 2)
    assert len({item.body, first, second}) == 3
    assert json.loads(first)["context"]["patientId"] == f"{pid}-unseen-1"

    validated: list[str] = []
    real = models.parse_resource
    monkeypatch.setattr(models, "parse_resource", lambda d: validated.append(d["id"]) or real(d))
    stats = harness.run_phase(wsgi_sender(service), unseen, 1, PLAN, audience_base=BASE)
    assert stats.statuses == {"200": stats.requests}
    # Every call validates resources no earlier call sent: nothing is answered from memory.
    patients = [v for v in validated if "-unseen-" in v and v.count("-") == pid.count("-") + 2]
    assert len(patients) == len(set(patients)) == stats.requests + PLAN.warmup


def test_interleaved_lanes_take_turns_and_each_get_every_round(
    service: Flask, items: list[workload.Workload]
) -> None:
    item = items[0]
    order: list[str] = []

    def lane(name: str, app: Flask, tokens: list[str | None]) -> Lane:
        send = wsgi_sender(app)()

        def recorded(path: str, body: bytes, token: str | None) -> int:
            order.append(name)
            return send(path, body, token)

        return Lane(name, recorded, item.path, itertools.repeat(item.body), iter(tokens))

    signed: list[str | None] = list(harness.presign(BASE, item.path, 5)[0])
    bare = baselines.create_bare_app()
    lanes = [lane("bare", bare, [None] * 5), lane("service", service, signed)]
    stats = interleave(lanes, rounds=4, max_seconds=30.0, warmup=1)
    assert {name: s.statuses for name, s in stats.items()} == {
        "bare": {"200": 4},
        "service": {"200": 4},
    }
    # Warm-up first, then rounds whose order rotates: no lane always goes first.
    assert order == ["bare", "service"] + ["bare", "service", "service", "bare"] * 2
