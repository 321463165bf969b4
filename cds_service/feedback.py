"""Feedback store: the card ledger, clinicians' feedback on our cards, and the per-step report.

Two tables. ``card_ledger`` remembers which pathway step each issued card spoke for (card uuid and
step code only — no patient data), so feedback, which names only the card uuid, can be counted per
step. ``feedback`` keeps every distinct feedback item (CONFORMANCE.md "Feedback"): clients may send
the same item more than once (spec: feedback arrives "multiple times for the same card"), so each
row carries a content hash with a UNIQUE constraint and inserts skip rows that already exist. That
keeps concurrent workers posting the same item down to one row on SQLite and PostgreSQL alike.

Any SQLAlchemy URL works; ``""`` is a private in-memory SQLite database (tests, one process).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from cds_service.database import make_engine, writer_lock

UNKNOWN_STEP = "unknown"


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Store aware datetimes as naive UTC and read them back as aware UTC, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return _aware(value).astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

card_ledger = sa.Table(
    "card_ledger",
    metadata,
    sa.Column("card_uuid", sa.String(128), primary_key=True),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("step_code", sa.String(64), nullable=False),
    sa.Column("hook_instance", sa.Text, nullable=False),
    sa.Column("issued_at", UtcDateTime, nullable=False),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.String(64), nullable=False, unique=True),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("card_uuid", sa.String(128), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("outcome_timestamp", UtcDateTime, nullable=False),
    sa.Column("accepted_suggestions", sa.Text, nullable=False),  # JSON list of suggestion uuids
    sa.Column("override_code", sa.String(256)),
    sa.Column("override_system", sa.Text),
    # Free text from a clinician: kept for the team's review, never logged.
    sa.Column("override_comment", sa.Text),
    sa.Column("received_at", UtcDateTime, nullable=False),
)
sa.Index("ix_feedback_card_uuid", feedback.c.card_uuid)


@dataclass(frozen=True)
class StepStats:
    """What clinicians did with the cards of one pathway step.

    A card counts once, with its latest outcome (by ``outcomeTimestamp``). Acceptance and override
    rates are over cards that *received feedback*, not over cards issued: the spec sends no
    feedback for an ignored card, so an issued-based rate would mix "ignored" into "not accepted".
    ``feedback_rate`` (cards with feedback / cards issued) shows how much of the step was answered.
    """

    step_code: str
    issued: int
    with_feedback: int
    accepted: int
    overridden: int

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.with_feedback if self.with_feedback else None

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.with_feedback if self.with_feedback else None

    @property
    def feedback_rate(self) -> float | None:
        return self.with_feedback / self.issued if self.issued else None


class FeedbackStore:
    """Card ledger and feedback in one SQL database (SQLite by default, PostgreSQL when shared)."""

    def __init__(self, url: str) -> None:
        self._engine = make_engine(url)
        self._lock = writer_lock(url)
        _create_tables(self._engine)

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        with self._lock or nullcontext(), self._engine.begin() as connection:
            yield connection

    def record_cards(
        self,
        *,
        service_id: str,
        hook_instance: str,
        cards: Sequence[tuple[str, str]],
        issued_at: datetime,
    ) -> None:
        """Remember which step each issued card spoke for; a card uuid already known is kept."""
        _aware(issued_at)
        issue = {"service_id": service_id, "hook_instance": hook_instance, "issued_at": issued_at}
        rows = [{**issue, "card_uuid": card, "step_code": step} for card, step in cards]
        with self._begin() as connection:
            _insert_all(connection, card_ledger, rows)

    def record_feedback(
        self, service_id: str, items: Sequence[Mapping[str, Any]], received_at: datetime
    ) -> int:
        """Store schema-valid feedback items once each; return how many were new."""
        rows = [_feedback_row(service_id, item, _aware(received_at)) for item in items]
        with self._begin() as connection:
            return sum(_insert_once(connection, feedback, row) for row in rows)

    def close(self) -> None:
        """Close the pooled database connections (the store reconnects if used again)."""
        self._engine.dispose()

    def count_feedback(self) -> int:
        """Return the number of distinct feedback items stored."""
        with self._begin() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(feedback))
            return int(count.scalar_one())

    def report(self) -> list[StepStats]:
        """Count issued cards and their latest outcomes per step (unknown cards: "unknown")."""
        issued_query = sa.select(card_ledger.c.step_code, sa.func.count()).group_by(
            card_ledger.c.step_code
        )
        outcome_query = (
            sa.select(feedback.c.card_uuid, feedback.c.outcome, card_ledger.c.step_code)
            .select_from(
                feedback.outerjoin(card_ledger, feedback.c.card_uuid == card_ledger.c.card_uuid)
            )
            .order_by(feedback.c.outcome_timestamp, feedback.c.id)
        )
        with self._begin() as connection:
            issued = {step: int(n) for step, n in connection.execute(issued_query)}
            latest: dict[str, tuple[str, str]] = {}
            for card_uuid, outcome, step_code in connection.execute(outcome_query):
                latest[card_uuid] = (step_code or UNKNOWN_STEP, outcome)  # later rows win
        return _step_stats(issued, latest.values())


_HEADER = ("step", "issued", "feedback", "accepted", "overridden", "accept", "override", "answer")
_NOTE = "rates: accept/override over cards with feedback; answer = cards with feedback / issued"


def render_report(stats: Sequence[StepStats]) -> str:
    """Render step statistics as a fixed-width table with a total line."""
    if not stats:
        return "no cards issued and no feedback received yet"
    rows = [*(_report_cells(s) for s in stats), _total_cells(stats)]
    widths = [max(len(row[i]) for row in [_HEADER, *rows]) for i in range(len(_HEADER))]
    lines = [_report_line(row, widths) for row in [_HEADER, *rows]]
    rule = "-" * len(lines[0])
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1], "", _NOTE])


def _total_cells(stats: Sequence[StepStats]) -> tuple[str, ...]:
    total = StepStats(
        step_code="total",
        issued=sum(s.issued for s in stats),
        with_feedback=sum(s.with_feedback for s in stats),
        accepted=sum(s.accepted for s in stats),
        overridden=sum(s.overridden for s in stats),
    )
    # Feedback on unknown cards has no issued card behind it: leave it out of the answer rate.
    known = [s for s in stats if s.step_code != UNKNOWN_STEP]
    issued = sum(s.issued for s in known)
    answered = sum(s.with_feedback for s in known) / issued if issued else None
    return (*_report_cells(total)[:-1], _percent(answered))


def _report_cells(stats: StepStats) -> tuple[str, ...]:
    return (
        stats.step_code,
        str(stats.issued),
        str(stats.with_feedback),
        str(stats.accepted),
        str(stats.overridden),
        _percent(stats.acceptance_rate),
        _percent(stats.override_rate),
        _percent(stats.feedback_rate),
    )


def _report_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    first = cells[0].ljust(widths[0])
    rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
    return "  ".join([first, *rest])


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _step_stats(issued: Mapping[str, int], outcomes: Iterable[tuple[str, str]]) -> list[StepStats]:
    with_feedback: Counter[str] = Counter()
    by_outcome: Counter[tuple[str, str]] = Counter()
    for step_code, outcome in outcomes:
        with_feedback[step_code] += 1
        by_outcome[step_code, outcome] += 1
    steps = sorted(set(issued) | set(with_feedback), key=lambda s: (s == UNKNOWN_STEP, s))
    return [
        StepStats(
            step_code=step,
            issued=issued.get(step, 0),
            with_feedback=with_feedback[step],
            accepted=by_outcome[step, "accepted"],
            overridden=by_outcome[step, "overridden"],
        )
        for step in steps
    ]


def _feedback_row(
    service_id: str, item: Mapping[str, Any], received_at: datetime
) -> dict[str, Any]:
    outcome_at = _parse_timestamp(item["outcomeTimestamp"])
    suggestion_ids = sorted(str(s["id"]) for s in item.get("acceptedSuggestions") or [])
    override = item.get("overrideReason") or {}
    reason = override.get("reason") or {}
    code, system = reason.get("code"), reason.get("system")
    # The key is what makes two items "the same" (CONFORMANCE.md I4); the comment is not part of it.
    identity = [
        service_id,
        item["card"],
        item["outcome"],
        outcome_at.isoformat(),
        suggestion_ids,
        f"{system or ''}|{code or ''}" if reason else None,
    ]
    canonical = json.dumps(identity, separators=(",", ":"), ensure_ascii=True)
    return {
        "dedup_key": hashlib.sha256(canonical.encode("ascii")).hexdigest(),
        "service_id": service_id,
        "card_uuid": item["card"],
        "outcome": item["outcome"],
        "outcome_timestamp": outcome_at,
        "accepted_suggestions": json.dumps(suggestion_ids),
        "override_code": code,
        "override_system": system,
        "override_comment": override.get("userComment"),
        "received_at": received_at,
    }


def _aware(value: datetime) -> datetime:
    # A naive time would be stored as if it were UTC and silently shift by the host's offset.
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value


def _parse_timestamp(value: str) -> datetime:
    # The schema has checked the RFC 3339 shape; a missing offset would be read as UTC.
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _insert_once(connection: sa.Connection, table: sa.Table, row: Mapping[str, Any]) -> int:
    """Insert a row unless its unique key exists; return 1 if inserted, else 0."""
    name = connection.dialect.name
    if name in ("sqlite", "postgresql"):
        dialect = sqlite if name == "sqlite" else postgresql
        statement = dialect.insert(table).values(**row).on_conflict_do_nothing()
        # Count the rows RETURNING gives back: psycopg reports rowcount -1 for this statement.
        returning = statement.returning(*table.primary_key.columns)
        return len(connection.execute(returning).fetchall())
    # Other backends: a savepoint per row keeps the rest of the batch when one collides.
    try:
        with connection.begin_nested():
            connection.execute(sa.insert(table).values(**row))
    except IntegrityError:
        return 0
    return 1


def _insert_all(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows whose unique key is new, in one statement on SQLite and PostgreSQL."""
    name = connection.dialect.name
    if name not in ("sqlite", "postgresql"):
        for row in rows:
            _insert_once(connection, table, row)
        return
    dialect = sqlite if name == "sqlite" else postgresql
    connection.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


def _create_tables(engine: sa.Engine) -> None:
    try:
        metadata.create_all(engine)
    except DBAPIError:
        # Two workers starting together may both try to create a table; the loser checks again.
        metadata.create_all(engine)
