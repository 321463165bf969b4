"""Write the sandbox patients and draft orders (``python -m sandbox.build_patients``).

Every chart is written as of ``ANCHOR`` and moved to the day of use by the loader. Each patient
exists for one row of shared/CLINICAL.md §2; the note in ``sandbox/scenarios.toml`` says which.
The builders live in ``sandbox/charts/``, grouped by pathway branch. All people here are invented.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sandbox.charts import front_line, out_of_scope, ph_infant, relapse
from sandbox.charts.builders import Chart, Json
from sandbox.charts.common import ago, born_at, first_line
from sandbox.charts.drafts import draft_bundles
from sandbox.patients import DRAFTS_DIR, PATIENTS_DIR

__all__ = ["PATIENTS", "ago", "born_at", "draft_bundles", "first_line", "main"]

PATIENTS: tuple[Callable[[], Chart], ...] = (
    front_line.CHARTS + ph_infant.CHARTS + relapse.CHARTS + out_of_scope.CHARTS
)


def _write(directory: Path, bundles: dict[str, Json]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        if stale.stem not in bundles:
            stale.unlink()
    for stem, bundle in bundles.items():
        text = json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
        (directory / f"{stem}.json").write_text(text, encoding="utf-8")


def main(patients_dir: Path = PATIENTS_DIR, drafts_dir: Path = DRAFTS_DIR) -> None:
    """Write every patient and draft bundle, replacing what is there."""
    charts = (build() for build in PATIENTS)
    _write(patients_dir, {chart.patient_id: chart.bundle() for chart in charts})
    _write(drafts_dir, {stem: chart.bundle() for stem, chart in draft_bundles().items()})


if __name__ == "__main__":
    main()
