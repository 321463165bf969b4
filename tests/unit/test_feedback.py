"""Feedback store: idempotent ledger and feedback, safe under concurrent posts, per-step report."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from cds_service.feedback import FeedbackStore, StepStats, render_report

ISSUED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RECEIVED_AT = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)


def item(card: str = "card-1", outcome: str = "overridden", **extra: Any) -> dict[str, Any]:
    return {
        "card": card,
        "outcome": outcome,
        "outcomeTimestamp": "2026-03-02T10:00:00.123Z",
        **extra,
    }


@pytest.fixture
def store() -> FeedbackStore:
    return FeedbackStore("")


@pytest.fixture
def file_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'nested' / 'feedback.sqlite3'}"


def rows(url: str, query: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query)))
    finally:
        engine.dispose()


def test_sqlite_file_and_its_parent_directory_are_created(tmp_path: Path, file_url: str) -> None:
    FeedbackStore(file_url)
    assert (tmp_path / "var" / "nested" / "feedback.sqlite3").is_file()


def test_a_new_item_is_counted_as_new(store: FeedbackStore) -> None:
    assert store.record_feedback("b-all-pathway", [item()], RECEIVED_AT) == 1


def test_the_same_item_twice_is_stored_once(store: FeedbackStore) -> None:
    store.record_feedback("b-all-pathway", [item()], RECEIVED_AT)
    assert store.record_feedback("b-all-pathway", [item()], RECEIVED_AT) == 0
    assert store.count_feedback() == 1


def test_the_same_item_twice_in_one_batch_is_stored_once(store: FeedbackStore) -> None:
    assert store.record_feedback("b-all-pathway", [item(), item()], RECEIVED_AT) == 1


def test_the_same_instant_in_another_offset_is_the_same_item(store: FeedbackStore) -> None:
    store.record_feedback("b-all-pathway", [item()], RECEIVED_AT)
    shifted = item(outcomeTimestamp="2026-03-02T11:00:00.123+01:00")
    assert store.record_feedback("b-all-pathway", [shifted], RECEIVED_AT) == 0


def test_a_changed_comment_alone_does_not_make_a_new_item(store: FeedbackStore) -> None:
    first = item(overrideReason={"reason": {"code": "x"}, "userComment": "first"})
    second = item(overrideReason={"reason": {"code": "x"}, "userComment": "second"})
    store.record_feedback("b-all-pathway", [first], RECEIVED_AT)
    assert store.record_feedback("b-all-pathway", [second], RECEIVED_AT) == 0


def test_suggestion_order_does_not_make_a_new_item(store: FeedbackStore) -> None:
    ab = item(outcome="accepted", acceptedSuggestions=[{"id": "a"}, {"id": "b"}])
    ba = item(outcome="accepted", acceptedSuggestions=[{"id": "b"}, {"id": "a"}])
    store.record_feedback("b-all-pathway", [ab], RECEIVED_AT)
    assert store.record_feedback("b-all-pathway", [ba], RECEIVED_AT) == 0


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (item(outcome="overridden"), item(outcome="accepted", acceptedSuggestions=[{"id": "s"}])),
        (item(), item(outcomeTimestamp="2026-03-02T10:00:01Z")),
        (item(card="card-1"), item(card="card-2")),
        (
            item(outcome="accepted", acceptedSuggestions=[{"id": "s1"}]),
            item(outcome="accepted", acceptedSuggestions=[{"id": "s2"}]),
        ),
        (
            item(overrideReason={"reason": {"system": "urn:a", "code": "x"}}),
            item(overrideReason={"reason": {"system": "urn:a", "code": "y"}}),
        ),
    ],
    ids=["outcome", "timestamp", "card", "suggestion", "override-code"],
)
def test_items_that_differ_in_an_identity_field_are_stored_apart(
    store: FeedbackStore, first: dict[str, Any], second: dict[str, Any]
) -> None:
    store.record_feedback("b-all-pathway", [first], RECEIVED_AT)
    assert store.record_feedback("b-all-pathway", [second], RECEIVED_AT) == 1
    assert store.count_feedback() == 2


def test_the_same_item_for_another_service_is_stored_apart(store: FeedbackStore) -> None:
    store.record_feedback("b-all-pathway", [item()], RECEIVED_AT)
    assert store.record_feedback("b-all-order-sign", [item()], RECEIVED_AT) == 1


def test_override_reason_and_comment_are_stored(file_url: str) -> None:
    reason = {"reason": {"system": "urn:reasons", "code": "not-applicable"}, "userComment": "why"}
    FeedbackStore(file_url).record_feedback(
        "b-all-pathway", [item(overrideReason=reason)], RECEIVED_AT
    )
    stored = rows(file_url, "SELECT override_system, override_code, override_comment FROM feedback")
    assert stored == [("urn:reasons", "not-applicable", "why")]


def test_accepted_suggestion_ids_are_stored_as_sorted_json(file_url: str) -> None:
    accepted = item(outcome="accepted", acceptedSuggestions=[{"id": "s2"}, {"id": "s1"}])
    FeedbackStore(file_url).record_feedback("b-all-pathway", [accepted], RECEIVED_AT)
    assert rows(file_url, "SELECT accepted_suggestions FROM feedback") == [('["s1", "s2"]',)]


def test_timestamps_are_stored_as_utc(file_url: str) -> None:
    received = datetime(2026, 3, 2, 12, 5, tzinfo=timezone(timedelta(hours=2)))
    shifted = item(outcomeTimestamp="2026-03-02T11:00:00+01:00")
    FeedbackStore(file_url).record_feedback("b-all-pathway", [shifted], received)
    stored = rows(file_url, "SELECT outcome_timestamp, received_at FROM feedback")
    assert [tuple(str(v)[:19] for v in row) for row in stored] == [
        ("2026-03-02 10:00:00", "2026-03-02 10:05:00")
    ]


def test_a_naive_received_time_is_refused(store: FeedbackStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_feedback("b-all-pathway", [item()], datetime(2026, 3, 2, 10, 5))


def test_a_naive_issue_time_is_refused(store: FeedbackStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_cards(
            service_id="b-all-pathway",
            hook_instance="hi-1",
            cards=[("card-1", "IND-START")],
            issued_at=datetime(2026, 3, 2, 9, 0),
        )


def test_the_ledger_keeps_a_card_recorded_twice_once(file_url: str) -> None:
    store = FeedbackStore(file_url)
    for _ in range(2):
        store.record_cards(
            service_id="b-all-pathway",
            hook_instance="hi-1",
            cards=[("card-1", "IND-START")],
            issued_at=ISSUED_AT,
        )
    assert rows(file_url, "SELECT card_uuid, step_code FROM card_ledger") == [
        ("card-1", "IND-START")
    ]


def test_concurrent_posts_of_the_same_item_store_one_row(file_url: str) -> None:
    store = FeedbackStore(file_url)
    barrier = threading.Barrier(10)
    new_counts: list[int] = []
    errors: list[BaseException] = []

    def post() -> None:
        barrier.wait()
        try:
            new_counts.append(store.record_feedback("b-all-pathway", [item()], RECEIVED_AT))
        except BaseException as exc:  # collected so the main thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(new_counts) == [0] * 9 + [1]
    assert store.count_feedback() == 1


def test_concurrent_stores_on_one_file_store_one_row(file_url: str) -> None:
    stores = [FeedbackStore(file_url) for _ in range(5)]  # like separate worker processes
    barrier = threading.Barrier(len(stores))

    def post(store: FeedbackStore) -> None:
        barrier.wait()
        store.record_feedback("b-all-pathway", [item()], RECEIVED_AT)

    threads = [threading.Thread(target=post, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rows(file_url, "SELECT count(*) FROM feedback") == [(1,)]


def test_a_ledger_batch_with_a_known_card_stores_the_new_ones(file_url: str) -> None:
    store = FeedbackStore(file_url)
    for cards in ([("card-1", "IND-START")], [("card-1", "OTHER"), ("card-2", "MRD-EOI")]):
        store.record_cards(
            service_id="b-all-pathway", hook_instance="hi-1", cards=cards, issued_at=ISSUED_AT
        )
    assert rows(file_url, "SELECT card_uuid, step_code FROM card_ledger ORDER BY card_uuid") == [
        ("card-1", "IND-START"),
        ("card-2", "MRD-EOI"),
    ]


def test_a_sqlite_writer_queues_behind_another_process_holding_the_lock(
    tmp_path: Path, file_url: str
) -> None:
    store = FeedbackStore(file_url)
    lock_file = tmp_path / "var" / "nested" / "feedback.sqlite3.lock"
    # A separate open file description conflicts like another worker process would.
    held = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    done = threading.Event()

    def write() -> None:
        store.record_cards(
            service_id="b-all-pathway", hook_instance="hi", cards=[("c", "S")], issued_at=ISSUED_AT
        )
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not done.wait(0.3)  # waiting for the lock, not failing and not writing around it
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        os.close(held)
    writer.join(5)
    assert done.is_set()
    assert rows(file_url, "SELECT card_uuid FROM card_ledger") == [("c",)]


def _write_ledger(store: FeedbackStore, prefix: str, n: int) -> None:
    for i in range(n):
        store.record_cards(
            service_id="b-all-pathway",
            hook_instance=f"{prefix}-{i}",
            cards=[(f"{prefix}-{i}-a", "S"), (f"{prefix}-{i}-b", "S")],
            issued_at=ISSUED_AT,
        )


def test_forked_workers_share_one_sqlite_file_without_losing_a_row(file_url: str) -> None:
    store = FeedbackStore(file_url)
    _write_ledger(store, "parent", 1)  # the parent has opened its lock file before the fork
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_ledger, args=(store, f"w{i}", 60)) for i in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert rows(file_url, "SELECT count(*) FROM card_ledger") == [(2 + 3 * 60 * 2,)]


@pytest.fixture
def reported(store: FeedbackStore) -> dict[str, StepStats]:
    """Two steps, mixed outcomes, a re-decided card and feedback for a card we never issued."""
    store.record_cards(
        service_id="b-all-pathway",
        hook_instance="hi-1",
        cards=[("a1", "STEP-A"), ("a2", "STEP-A"), ("a3", "STEP-A"), ("b1", "STEP-B")],
        issued_at=ISSUED_AT,
    )
    accepted = {"outcome": "accepted", "acceptedSuggestions": [{"id": "s"}]}
    store.record_feedback(
        "b-all-pathway",
        [
            item("a1", **accepted),
            # a2 was first overridden, then accepted later: the later outcome counts.
            item("a2", outcomeTimestamp="2026-03-02T09:30:00Z"),
            item("a2", **accepted, outcomeTimestamp="2026-03-02T09:45:00Z"),
            item("b1"),
            item("ghost"),
        ],
        RECEIVED_AT,
    )
    return {stats.step_code: stats for stats in store.report()}


def test_report_has_one_row_per_step_with_unknown_last(store: FeedbackStore, reported: Any) -> None:
    assert [s.step_code for s in store.report()] == ["STEP-A", "STEP-B", "unknown"]


@pytest.mark.parametrize(
    ("step", "issued", "with_feedback", "accepted", "overridden"),
    [("STEP-A", 3, 2, 2, 0), ("STEP-B", 1, 1, 0, 1), ("unknown", 0, 1, 0, 1)],
)
def test_report_counts_cards_by_latest_outcome(
    reported: dict[str, StepStats],
    step: str,
    issued: int,
    with_feedback: int,
    accepted: int,
    overridden: int,
) -> None:
    assert reported[step] == StepStats(step, issued, with_feedback, accepted, overridden)


@pytest.mark.parametrize(
    ("step", "acceptance", "override", "answered"),
    [("STEP-A", 1.0, 0.0, 2 / 3), ("STEP-B", 0.0, 1.0, 1.0), ("unknown", 0.0, 1.0, None)],
)
def test_report_rates_are_over_cards_with_feedback(
    reported: dict[str, StepStats],
    step: str,
    acceptance: float,
    override: float,
    answered: float | None,
) -> None:
    stats = reported[step]
    assert (stats.acceptance_rate, stats.override_rate) == (acceptance, override)
    assert stats.feedback_rate == (None if answered is None else pytest.approx(answered))


def test_a_step_without_feedback_has_no_rates() -> None:
    stats = StepStats("STEP-C", issued=4, with_feedback=0, accepted=0, overridden=0)
    assert (stats.acceptance_rate, stats.override_rate, stats.feedback_rate) == (None, None, 0.0)


def test_rendered_report_shows_step_codes_and_percentages(reported: dict[str, StepStats]) -> None:
    table = render_report(list(reported.values()))
    step_b = next(line for line in table.splitlines() if line.startswith("STEP-B"))
    assert step_b.split() == ["STEP-B", "1", "1", "0", "1", "0.0%", "100.0%", "100.0%"]
    assert "66.7%" in table  # STEP-A: 2 of 3 cards answered
    assert any(line.startswith("unknown") for line in table.splitlines())


def test_rendered_report_ends_with_a_total_line(reported: dict[str, StepStats]) -> None:
    lines = render_report(list(reported.values())).splitlines()
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[:7] == ["total", "4", "4", "2", "2", "50.0%", "50.0%"]


def test_total_answer_rate_leaves_out_feedback_on_unknown_cards(
    reported: dict[str, StepStats],
) -> None:
    lines = render_report(list(reported.values())).splitlines()
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[-1] == "75.0%"  # 3 of the 4 issued cards were answered


def test_rendered_report_columns_line_up(reported: dict[str, StepStats]) -> None:
    table_lines = [line for line in render_report(list(reported.values())).splitlines() if line]
    widths = {len(line) for line in table_lines[:-1]}  # the last line is the note on rates
    assert len(widths) == 1


def test_an_empty_store_renders_a_plain_message(store: FeedbackStore) -> None:
    assert render_report(store.report()) == "no cards issued and no feedback received yet"
