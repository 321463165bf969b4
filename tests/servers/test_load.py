"""A short ``bench.load`` run (gunicorn, one worker killed) and the checks that judge a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import Results, check, run_load

SECONDS = 5.0
CONCURRENCY = 8
# Early, so the replacement worker has time to boot and take connections in a short run.
KILL_AT = 0.25


def passing_results() -> Results:
    results = Results()
    results.statuses.update({200: 10})
    results.items_acknowledged.update({"card-1", "card-2"})
    results.kill.update(victim=1, killed_at=100.0, replaced_at=100.5, replacement=2)
    results.after_replacement = 4
    results.served_by_replacement = 2
    results.replacement_alive = True
    return results


def test_a_clean_run_passes_the_checks() -> None:
    assert check(passing_results(), stored=2) == []


def test_a_5xx_fails_the_run() -> None:
    results = passing_results()
    results.statuses[503] += 1
    assert any("5xx" in failure for failure in check(results, stored=2))


def test_a_feedback_count_mismatch_fails_the_run() -> None:
    assert any("stored 3" in failure for failure in check(passing_results(), stored=3))


def test_a_request_lost_after_all_retries_fails_the_run() -> None:
    results = passing_results()
    results.lost = 1
    assert any("failed after" in failure for failure in check(results, stored=2))


def test_a_connection_error_outside_the_kill_window_fails_the_run() -> None:
    results = passing_results()
    results.connection_errors.extend([100.2, 150.0])  # during the kill, and long after it
    assert check(results, stored=2) == ["1 connection errors outside the worker-kill window"]


def test_a_worker_not_replaced_fails_the_run() -> None:
    results = passing_results()
    del results.kill["replaced_at"]
    assert "the killed worker was not replaced" in check(results, stored=2)


def test_a_replacement_that_died_fails_the_run() -> None:
    results = passing_results()
    results.replacement_alive = False
    assert "the replacement worker did not live to the end of the run" in check(results, stored=2)


@pytest.mark.slow
def test_short_load_on_sqlite_survives_a_worker_kill_and_stores_each_item_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'feedback.sqlite3'}"
    results, stored, _elapsed = run_load(SECONDS, CONCURRENCY, url, kill_at=KILL_AT)
    assert check(results, stored) == []
    assert results.kill["replacement"] != results.kill["victim"]
    assert stored > 0


@pytest.mark.slow
def test_short_load_on_postgres_survives_a_worker_kill_and_stores_each_item_once(
    pg_url: str,
) -> None:
    results, stored, _elapsed = run_load(SECONDS, CONCURRENCY, pg_url, kill_at=KILL_AT)
    assert check(results, stored) == []
    assert stored > 0
