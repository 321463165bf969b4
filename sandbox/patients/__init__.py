"""The synthetic sandbox patients and draft orders, moved to "today" when loaded.

The JSON files are written as of ``ANCHOR`` (see ``sandbox/build_patients.py``). The pathway's
windows are relative to the day of the hook (diagnosis ≤ 49 days ago, ANC in the last 7 days...),
so the loader shifts every date of a chart by ``today - ANCHOR`` days: birth dates too, so ages
and every interval stay exactly as written.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

ANCHOR = date(2026, 1, 1)

PATIENTS_DIR = Path(__file__).resolve().parent
DRAFTS_DIR = PATIENTS_DIR.parent / "drafts"

# Only these keys hold dates in the resources we write (R4 and the DSTU2 MedicationOrder);
# kept explicit so a code or an identifier that looks like a date is never touched.
DATE_KEYS = frozenset(
    {
        "birthDate",
        "deceasedDateTime",
        "onsetDateTime",
        "abatementDateTime",
        "recordedDate",
        "effectiveDateTime",
        "effectiveInstant",
        "issued",
        "authoredOn",
        "performedDateTime",
        "occurrenceDateTime",
        "start",
        "end",
        "lastUpdated",
        "date",
        "dateWritten",
        "valueDateTime",
        "timestamp",
    }
)

# A full date at the start of a FHIR date, dateTime or instant; the time part is kept as written.
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?=$|T)")


def names() -> list[str]:
    """Return the patient bundle names (file stems), sorted."""
    return sorted(path.stem for path in PATIENTS_DIR.glob("*.json"))


def draft_names() -> list[str]:
    """Return the draft-order bundle names (file stems), sorted."""
    return sorted(path.stem for path in DRAFTS_DIR.glob("*.json"))


def load_bundle(name: str, today: date) -> dict[str, Any]:
    """Return the patient's collection Bundle with every date moved to ``today``."""
    bundle: dict[str, Any] = shift_dates(_read(PATIENTS_DIR, name), today - ANCHOR)
    return bundle


def load_draft(name: str, today: date) -> dict[str, Any]:
    """Return a Bundle of draft orders with every date moved to ``today``."""
    bundle: dict[str, Any] = shift_dates(_read(DRAFTS_DIR, name), today - ANCHOR)
    return bundle


def patient_id(bundle: dict[str, Any]) -> str:
    """Return the id of the Patient in a bundle."""
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        if resource.get("resourceType") == "Patient":
            return str(resource["id"])
    raise ValueError("the bundle holds no Patient")


def shift_dates(data: Any, delta: timedelta) -> Any:
    """Return a copy of ``data`` with the value of every date-bearing key moved by ``delta``."""
    if isinstance(data, dict):
        return {
            key: _shift_value(value, delta) if key in DATE_KEYS else shift_dates(value, delta)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [shift_dates(item, delta) for item in data]
    return data


def _shift_value(value: Any, delta: timedelta) -> Any:
    if not isinstance(value, str):
        # A Period or other structure under a date-like key name: look inside it.
        return shift_dates(value, delta)
    match = _DATE_PREFIX.match(value)
    if match is None:
        return value  # year or year-month precision: too coarse to move by days
    moved = date(*map(int, match.groups())) + delta
    return moved.isoformat() + value[match.end() :]


def _read(directory: Path, name: str) -> dict[str, Any]:
    return copy.deepcopy(_cached(directory, name))


@lru_cache(maxsize=128)
def _cached(directory: Path, name: str) -> dict[str, Any]:
    path = directory / f"{name}.json"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name) or not path.is_file():
        raise FileNotFoundError(f"no sandbox file {name!r} in {directory.name}/")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
