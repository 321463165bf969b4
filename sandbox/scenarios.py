"""The scenario manifest (``sandbox/scenarios.toml``): patient, hook, drafts and expected steps.

Loading validates the whole file, so a typo in a patient, a draft id or a hook fails here, not as
a confusing card mismatch in an end-to-end test.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import patients

DEFAULT_MANIFEST = Path(__file__).resolve().parent / "scenarios.toml"
HOOKS = ("patient-view", "order-select", "order-sign")
ORDER_HOOKS = frozenset({"order-select", "order-sign"})
# The prefetch keys an EHR can fail to fetch (hooks/prefetch.py PATHWAY_PREFETCH).
PREFETCH_KEYS = frozenset(
    {
        "patient",
        "conditions",
        "observations",
        "medications",
        "procedures",
        "serviceRequests",
        "researchSubjects",
    }
)
_FIELDS = frozenset({"patient", "hook", "drafts", "selections", "expect", "note", "prefetch_error"})


class ManifestError(ValueError):
    """The scenario manifest is not valid."""


@dataclass(frozen=True)
class Scenario:
    """One call of the EHR simulator and the step codes it must produce (sorted)."""

    patient: str
    hook: str
    drafts: str | None
    selections: tuple[str, ...]
    expect: tuple[str, ...]
    note: str
    # A prefetch key whose search the EHR answers with an OperationOutcome instead of a Bundle.
    prefetch_error: str | None = None

    @property
    def name(self) -> str:
        """Return a readable id for test parametrisation."""
        parts = [self.patient, self.hook, self.drafts or "", self.prefetch_error or ""]
        return ":".join(p for p in parts if p)


def load_scenarios(path: Path | None = None) -> list[Scenario]:
    """Read and validate the manifest; raise ManifestError on the first problem."""
    manifest = path or DEFAULT_MANIFEST
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{manifest.name}: {exc}") from exc
    rows = data.get("scenario")
    if not isinstance(rows, list) or not rows:
        raise ManifestError(f"{manifest.name}: no [[scenario]] tables")
    known_patients = set(patients.names())
    known_drafts = set(patients.draft_names())
    return [
        _scenario(row, f"{manifest.name} scenario {i}", known_patients, known_drafts)
        for i, row in enumerate(rows, start=1)
    ]


def _scenario(row: Any, where: str, known_patients: set[str], known_drafts: set[str]) -> Scenario:
    if not isinstance(row, dict):
        raise ManifestError(f"{where}: not a table")
    unknown = set(row) - _FIELDS
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {sorted(unknown)}")
    scenario = Scenario(
        patient=_text(row, "patient", where),
        hook=_text(row, "hook", where),
        drafts=_text(row, "drafts", where) if "drafts" in row else None,
        selections=_strings(row, "selections", where),
        expect=tuple(sorted(_strings(row, "expect", where, required=True))),
        note=_text(row, "note", where) if "note" in row else "",
        prefetch_error=_text(row, "prefetch_error", where) if "prefetch_error" in row else None,
    )
    _check(scenario, where, known_patients, known_drafts)
    return scenario


def _check(s: Scenario, where: str, known_patients: set[str], known_drafts: set[str]) -> None:
    if s.patient not in known_patients:
        raise ManifestError(f"{where}: no patient file {s.patient!r}")
    if s.hook not in HOOKS:
        raise ManifestError(f"{where}: hook {s.hook!r} is not one of {', '.join(HOOKS)}")
    if len(set(s.expect)) != len(s.expect):
        raise ManifestError(f"{where}: a step code is listed twice in expect")
    if s.prefetch_error is not None and s.prefetch_error not in PREFETCH_KEYS:
        raise ManifestError(f"{where}: prefetch_error {s.prefetch_error!r} is no prefetch key")
    if s.hook not in ORDER_HOOKS:
        if s.drafts or s.selections:
            raise ManifestError(f"{where}: patient-view takes no drafts or selections")
        return
    if s.drafts is None or s.drafts not in known_drafts:
        raise ManifestError(f"{where}: {s.hook} needs an existing drafts file, got {s.drafts!r}")
    if s.selections and s.hook != "order-select":
        raise ManifestError(f"{where}: only order-select takes selections")
    _check_selections(s, where)


def _check_selections(s: Scenario, where: str) -> None:
    bundle = patients.load_draft(str(s.drafts), patients.ANCHOR)
    ids = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])
    }
    missing = [ref for ref in s.selections if ref not in ids]
    if missing:
        raise ManifestError(f"{where}: selections {missing} are not in drafts {s.drafts!r}")


def _text(row: dict[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: {key} must be a non-empty string")
    return value


def _strings(
    row: dict[str, Any], key: str, where: str, *, required: bool = False
) -> tuple[str, ...]:
    if key not in row:
        if required:
            raise ManifestError(f"{where}: {key} is required (use [] for no cards)")
        return ()
    values = row[key]
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ManifestError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(values)
