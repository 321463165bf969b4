"""Feedback store and feedback API on a real PostgreSQL server (CONFORMANCE.md "Feedback")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cds_service import create_app
from cds_service.feedback import FeedbackStore, feedback
from sandbox.ehr import build_request
from tests.conftest import FHIR_BASE, TODAY, Ehr, app_settings, counting_uuids

PV = "/cds-services/b-all-pathway"
FEEDBACK = PV + "/feedback"
RECEIVED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
THREADS = 8


def item(card: str, outcome: str = "accepted", at: str = "2026-03-02T10:00:00Z") -> dict[str, Any]:
    return {"card": card, "outcome": outcome, "outcomeTimestamp": at}


def at_once(count: int, action: Callable[[int], int]) -> list[int]:
    """Run ``action(i)`` in ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count)

    def run(index: int) -> int:
        barrier.wait(timeout=10)
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def stores(pg_url: str) -> Iterator[Callable[[], FeedbackStore]]:
    """Open stores on the test database; close them all at the end (no pooled connection left)."""
    opened: list[FeedbackStore] = []

    def open_store() -> FeedbackStore:
        opened.append(FeedbackStore(pg_url))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def make_app(ehr: Ehr, tmp_path: Path, pg_url: str) -> Iterator[Callable[[], Any]]:
    """Build apps whose feedback store is the test database; close their stores at the end."""
    apps: list[Any] = []

    def build() -> Any:
        settings = app_settings(ehr, tmp_path, DATABASE_URL=pg_url)
        apps.append(create_app(settings, today=lambda: TODAY, new_uuid=counting_uuids()))
        return apps[-1]

    yield build
    for app in apps:
        app.extensions["cds"].store.close()


def test_the_same_item_twice_is_stored_once(stores: Callable[[], FeedbackStore]) -> None:
    store = stores()
    assert store.record_feedback(PV, [item("card-1")], RECEIVED) == 1
    assert store.record_feedback(PV, [item("card-1")], RECEIVED) == 0
    assert store.count_feedback() == 1


def test_the_same_item_twice_in_one_batch_is_stored_once(
    stores: Callable[[], FeedbackStore],
) -> None:
    store = stores()
    assert store.record_feedback(PV, [item("card-1"), item("card-1")], RECEIVED) == 1


def test_connections_posting_the_same_items_at_once_store_each_once(
    stores: Callable[[], FeedbackStore],
) -> None:
    # One store per thread: separate engines and connections, as separate worker processes have.
    opened = [stores() for _ in range(THREADS)]
    batch = [item(f"card-{n}") for n in range(20)]
    new = at_once(THREADS, lambda i: opened[i].record_feedback(PV, batch, RECEIVED))
    assert sum(new) == 20
    assert opened[0].count_feedback() == 20


def test_timestamps_come_back_as_the_same_utc_instant(
    stores: Callable[[], FeedbackStore], pg_url: str
) -> None:
    store = stores()
    store.record_feedback(PV, [item("card-1", at="2026-03-02T12:30:00+02:00")], RECEIVED)
    engine = sa.create_engine(pg_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(feedback.c.outcome_timestamp)).scalar_one()
    engine.dispose()
    assert stored == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def test_report_counts_each_card_once_with_its_latest_outcome(
    stores: Callable[[], FeedbackStore],
) -> None:
    store = stores()
    cards = [("card-a", "induction"), ("card-b", "induction"), ("card-c", "neutropenia")]
    store.record_cards(service_id=PV, hook_instance="hi-1", cards=cards, issued_at=RECEIVED)
    store.record_feedback(
        PV,
        [
            item("card-a", "overridden", "2026-03-02T10:00:00Z"),
            item("card-a", "accepted", "2026-03-02T11:00:00Z"),
            item("card-c", "overridden"),
            item("card-x"),
        ],
        RECEIVED,
    )
    stats = {s.step_code: s for s in store.report()}
    assert (stats["induction"].issued, stats["induction"].with_feedback) == (2, 1)
    assert (stats["induction"].accepted, stats["induction"].overridden) == (1, 0)
    assert stats["neutropenia"].overridden == 1
    assert (stats["unknown"].issued, stats["unknown"].accepted) == (0, 1)


def test_the_ledger_keeps_a_card_recorded_by_two_stores_once(
    stores: Callable[[], FeedbackStore],
) -> None:
    first, second = stores(), stores()
    for store in (first, second):
        store.record_cards(
            service_id=PV, hook_instance="hi", cards=[("card-a", "induction")], issued_at=RECEIVED
        )
    assert [(s.step_code, s.issued) for s in first.report()] == [("induction", 1)]


def _post(client: Any, ehr: Ehr, body: Any) -> int:
    return int(client.post(FEEDBACK, json=body, headers=ehr.headers(FEEDBACK)).status_code)


def test_feedback_posted_twice_over_http_is_stored_once(
    make_app: Callable[[], Any], stores: Callable[[], FeedbackStore], ehr: Ehr
) -> None:
    app = make_app()
    body = {"feedback": [item("card-1"), item("card-2", "overridden")]}
    assert [_post(app.test_client(), ehr, body) for _ in range(2)] == [200, 200]
    assert stores().count_feedback() == 2


def test_two_apps_posting_the_same_feedback_at_once_store_it_once(
    make_app: Callable[[], Any], stores: Callable[[], FeedbackStore], ehr: Ehr
) -> None:
    apps = [make_app() for _ in range(2)]
    body = {"feedback": [item(f"card-{n}") for n in range(10)]}
    statuses = at_once(THREADS, lambda i: _post(apps[i % 2].test_client(), ehr, body))
    assert statuses == [200] * THREADS
    assert stores().count_feedback() == 10


def test_cards_issued_over_http_are_in_the_ledger_for_the_report(
    make_app: Callable[[], Any], stores: Callable[[], FeedbackStore], ehr: Ehr
) -> None:
    app = make_app()
    body = build_request("induction-standard-risk", "patient-view", TODAY, fhir_url=FHIR_BASE)
    answer = app.test_client().post(PV, json=body, headers=ehr.headers(PV))
    assert answer.status_code == 200
    card = answer.get_json()["cards"][0]["uuid"]
    assert _post(app.test_client(), ehr, {"feedback": [item(card)]}) == 200
    stats = {s.step_code: s for s in stores().report()}
    assert (stats["induction"].issued, stats["induction"].accepted) == (1, 1)
