"""Shared pieces of the security tests: the fuzz budget, outcome checks, loopback servers."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.security.loopback import LoopbackServer

# Read at import: the root conftest removes every CDS_* variable before each test runs.
FUZZ_EXAMPLES = int(os.environ.get("CDS_FUZZ_EXAMPLES", "60"))

# No example database: runs are reproducible from the seed and leave nothing in the tree.
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


class Tally:
    """Count fuzz cases by label; rewritten every few hundred cases so a cut-short run still
    leaves its figures in tests/artifacts/ (git-ignored)."""

    def __init__(self, name: str, every: int = 250) -> None:
        self.path = ARTIFACTS / f"{name}.json"
        self.counts: Counter[str] = Counter()
        self._every = every

    def count(self, label: str) -> None:
        """Add one case under ``label``."""
        self.counts[label] += 1
        if self.counts.total() % self._every == 0:
            self.write()

    def write(self) -> None:
        """Write the figures so far."""
        self.path.parent.mkdir(exist_ok=True)
        figures = {"cases": self.counts.total(), "by_label": dict(sorted(self.counts.items()))}
        self.path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


LEAK_MARKERS = ("Traceback", 'File "', "werkzeug", "site-packages")


def assert_outcome(status: int, text: str, body: Any) -> None:
    """Assert the property every answer keeps: 2xx, or 4xx with an OperationOutcome; no trace."""
    assert status < 500, f"server error {status}: {text[:500]}"
    for marker in LEAK_MARKERS:
        assert marker not in text, f"internal detail {marker!r} in a {status} body"
    if status >= 400:
        assert isinstance(body, dict), f"{status} without a JSON body"
        assert body.get("resourceType") == "OperationOutcome", f"{status} body: {text[:300]}"
        assert body.get("issue"), "OperationOutcome without issues"


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def attacker() -> Iterator[LoopbackServer]:
    """A server nobody should ever contact; tests assert it saw no request."""
    with LoopbackServer() as server:
        yield server
