"""Load the pathway knowledge from TOML and refuse to start on any defect (DESIGN.md).

``pathway.toml`` (the manifest) sets the knowledge ``version``. Every ``*.toml`` file holding one
of the pathway sections (``value_sets``, ``thresholds``, ``steps``, ``evidence``, ``orderables``)
is read and merged; files without them (``medications.toml``, read by
``cds_service.fhir.medications``) are left to their own reader. A file may declare ``[systems]``
aliases (``snomed = "http://snomed.info/sct"``) for its codes.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from cds_service.errors import ConfigError
from cds_service.pathway import predicates
from cds_service.pathway.derived import fact_names
from cds_service.pathway.findings import Indicator, StepKind
from cds_service.pathway.knowledge import Code, EvidenceRef, Knowledge, StepDef
from cds_service.pathway.vocab import REQUIRED_THRESHOLDS, REQUIRED_VALUE_SETS

MANIFEST = "pathway.toml"
SECTIONS = ("value_sets", "thresholds", "steps", "evidence", "orderables")
_TOP_LEVEL = frozenset({*SECTIONS, "version", "systems"})
_URI = re.compile(r"^(https?://[^\s/]+\S*|urn:[a-z0-9-]+:\S+)$", re.IGNORECASE)
_INDICATORS = ("info", "warning", "critical")
_KINDS = ("position", "gap", "order")


class _Problems(list[str]):
    """The defects found so far; the loader reports them all at once."""


def load_knowledge(directory: Path | str) -> Knowledge:
    """Read every pathway TOML file in ``directory``, validate it all, return the Knowledge."""
    files = _read_files(Path(directory))
    found = _Problems()
    merged = _merge(files, found)
    version = _version(files, found)
    thresholds = _thresholds(merged["thresholds"], found)
    value_sets = _value_sets(merged["value_sets"], found)
    evidence = _evidence(merged["evidence"], found)
    orderables = {
        name: code
        for name, (raw, aliases, where) in merged["orderables"].items()
        if (code := _code(raw, aliases, f"{where}: orderables.{name}", found)) is not None
    }
    steps = _steps(merged["steps"], evidence, thresholds, found)
    found += [f"value set {name!r} is required but not defined" for name in
              sorted(REQUIRED_VALUE_SETS - set(value_sets))]  # fmt: skip
    found += [f"threshold {name!r} is required but not defined" for name in
              sorted(REQUIRED_THRESHOLDS - set(thresholds))]  # fmt: skip
    if found:
        raise ConfigError("knowledge is invalid:\n  " + "\n  ".join(found))
    return Knowledge(version, value_sets, thresholds, steps, evidence, orderables)


def check_card_templates(knowledge: Knowledge, template_codes: Iterable[str]) -> None:
    """Refuse steps without a card template and templates without a step."""
    templates = frozenset(template_codes)
    missing = sorted(knowledge.step_codes - templates)
    orphans = sorted(templates - knowledge.step_codes)
    problems = []
    if missing:
        problems.append(f"steps without a card template: {', '.join(missing)}")
    if orphans:
        problems.append(f"card templates without a step: {', '.join(orphans)}")
    if problems:
        raise ConfigError("; ".join(problems))


def _read_files(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    if not directory.is_dir():
        raise ConfigError(f"knowledge directory {directory} does not exist")
    files = []
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"knowledge {path.name}: cannot read: {exc}") from None
        if path.name == MANIFEST or any(section in data for section in SECTIONS):
            files.append((path.name, data))
    return files


def _merge(
    files: list[tuple[str, dict[str, Any]]], found: _Problems
) -> dict[str, dict[str, tuple[Any, Mapping[str, str], str]]]:
    # Every entry remembers its file and that file's system aliases, for errors and codes.
    merged: dict[str, dict[str, tuple[Any, Mapping[str, str], str]]] = {s: {} for s in SECTIONS}
    for name, data in files:
        found += [f"{name}: unknown top-level key {k!r}" for k in sorted(set(data) - _TOP_LEVEL)]
        aliases = data.get("systems", {})
        if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
            found.append(f"{name}: [systems] must map aliases to URIs")
            aliases = {}
        for section in SECTIONS:
            table = data.get(section, {})
            if not isinstance(table, dict):
                found.append(f"{name}: {section} must be a table")
                continue
            for key, raw in table.items():
                if key in merged[section]:
                    first = merged[section][key][2]
                    found.append(f"{name}: duplicate {section} entry {key!r} (also in {first})")
                    continue
                merged[section][key] = (raw, aliases, name)
    return merged


def _version(files: list[tuple[str, dict[str, Any]]], found: _Problems) -> str:
    # The knowledge version is the manifest's; other files may carry their own revision string.
    manifest = dict(files).get(MANIFEST, {})
    version = manifest.get("version")
    if not isinstance(version, str) or not version.strip():
        found.append(f"{MANIFEST}: 'version' must be set to a non-empty string")
        return ""
    return version


def _thresholds(
    entries: Mapping[str, tuple[Any, Mapping[str, str], str]], found: _Problems
) -> dict[str, float]:
    thresholds: dict[str, float] = {}
    for key, (raw, _, where) in entries.items():
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            found.append(f"{where}: thresholds.{key}: must be a number")
            continue
        thresholds[key] = float(raw)
    return thresholds


def _code(raw: Any, aliases: Mapping[str, str], where: str, found: _Problems) -> Code | None:
    if not isinstance(raw, dict):
        found.append(f"{where}: a code must be a table")
        return None
    system = aliases.get(raw.get("system", ""), raw.get("system", ""))
    code, display, source = raw.get("code"), raw.get("display", ""), raw.get("source", "")
    problems = []
    if not isinstance(system, str) or not _URI.match(system):
        problems.append(f"system {raw.get('system')!r} is neither a URI nor a declared alias")
    if not isinstance(code, str) or not code.strip():
        problems.append("code must be a non-empty string")
    if not isinstance(raw.get("verified"), bool):
        problems.append("verified must be true or false")
    if not isinstance(source, str):
        problems.append("source must be a string saying where the code was checked")
    if not isinstance(display, str):
        problems.append("display must be a string")
    unknown = set(raw) - {"system", "code", "display", "verified", "source"}
    problems += [f"unknown key {k!r}" for k in sorted(unknown)]
    found += [f"{where}: {p}" for p in problems]
    if problems:
        return None
    return Code(system, cast(str, code), display, raw["verified"], cast(str, source))


def _value_sets(
    entries: Mapping[str, tuple[Any, Mapping[str, str], str]], found: _Problems
) -> dict[str, tuple[Code, ...]]:
    own: dict[str, list[Code]] = {}
    includes: dict[str, list[str]] = {}
    for name, (raw, aliases, where) in entries.items():
        here = f"{where}: value_sets.{name}"
        if not isinstance(raw, dict) or set(raw) - {"description", "codes", "include"}:
            found.append(f"{here}: must be a table of description, codes and include")
            continue
        codes = raw.get("codes", [])
        include = raw.get("include", [])
        if not isinstance(codes, list) or not isinstance(include, list):
            found.append(f"{here}: codes and include must be lists")
            continue
        parsed = [_code(c, aliases, f"{here}.codes[{i}]", found) for i, c in enumerate(codes)]
        own[name] = [c for c in parsed if c is not None]
        includes[name] = [str(i) for i in include]
        found += [f"{here}: includes unknown value set {i!r}" for i in include if i not in entries]
    return {name: tuple(_expand(name, own, includes, (), found)) for name in own}


def _expand(
    name: str,
    own: Mapping[str, list[Code]],
    includes: Mapping[str, list[str]],
    seen: tuple[str, ...],
    found: _Problems,
) -> list[Code]:
    if name in seen:
        found.append(f"value set {name!r} includes itself ({' -> '.join((*seen, name))})")
        return []
    codes = list(own.get(name, []))
    for other in includes.get(name, []):
        codes += [c for c in _expand(other, own, includes, (*seen, name), found) if c not in codes]
    return codes


def _evidence(
    entries: Mapping[str, tuple[Any, Mapping[str, str], str]], found: _Problems
) -> dict[str, EvidenceRef]:
    evidence: dict[str, EvidenceRef] = {}
    for ref, (raw, _, where) in entries.items():
        citation = raw.get("citation") if isinstance(raw, dict) else None
        url = raw.get("url") if isinstance(raw, dict) else None
        if not isinstance(citation, str) or not citation.strip():
            found.append(f"{where}: evidence.{ref}: citation must be a non-empty string")
        elif url is not None and not (isinstance(url, str) and url.startswith("https://")):
            found.append(f"{where}: evidence.{ref}: url must be an https URL")
        else:
            evidence[ref] = EvidenceRef(ref, citation, url)
    return evidence


def _steps(
    entries: Mapping[str, tuple[Any, Mapping[str, str], str]],
    evidence: Mapping[str, EvidenceRef],
    thresholds: Mapping[str, float],
    found: _Problems,
) -> dict[str, StepDef]:
    steps: dict[str, StepDef] = {}
    names = fact_names()
    for code, (raw, _, where) in entries.items():
        here = f"{where}: steps.{code}"
        problems = _step_problems(raw, evidence, here)
        if not problems:
            for i, pred in enumerate(raw.get("when", [])):
                problems += predicates.problems(pred, names, thresholds, f"{here}.when[{i}]")
        found += problems
        if not problems:
            steps[code] = _step(code, raw)
    _check_precedence(steps, found)
    return steps


def _step_problems(raw: Any, evidence: Mapping[str, EvidenceRef], here: str) -> list[str]:
    if not isinstance(raw, dict):
        return [f"{here}: must be a table"]
    problems = []
    allowed = {"kind", "display", "indicator", "evidence", "precedence", "when"}
    problems += [f"{here}: unknown key {k!r}" for k in sorted(set(raw) - allowed)]
    kind, refs, when = raw.get("kind"), raw.get("evidence"), raw.get("when", [])
    if kind not in _KINDS:
        problems.append(f"{here}: kind must be one of {', '.join(_KINDS)}, not {kind!r}")
    if raw.get("indicator") not in _INDICATORS:
        problems.append(f"{here}: indicator must be one of {', '.join(_INDICATORS)}")
    if not isinstance(raw.get("display"), str) or not raw["display"].strip():
        problems.append(f"{here}: display must be a non-empty string")
    if not isinstance(refs, list) or not refs:
        problems.append(f"{here}: evidence must list at least one reference")
    else:
        problems += [f"{here}: unknown evidence {r!r}" for r in refs if r not in evidence]
    if not isinstance(when, list):
        problems.append(f"{here}: when must be a list of predicates")
    elif kind in ("position", "gap") and not when:
        problems.append(f"{here}: a {kind} step needs at least one predicate in 'when'")
    elif kind == "order" and when:
        problems.append(
            f"{here}: order steps are decided by the order checks; 'when' must be empty"
        )
    if kind == "position" and not isinstance(raw.get("precedence"), int):
        problems.append(f"{here}: a position step needs an integer precedence")
    return problems


def _step(code: str, raw: Mapping[str, Any]) -> StepDef:
    return StepDef(
        code=code,
        kind=cast(StepKind, raw["kind"]),
        display=raw["display"],
        indicator=cast(Indicator, raw["indicator"]),
        evidence=tuple(raw["evidence"]),
        when=tuple(raw.get("when", ())),
        precedence=int(raw.get("precedence", 0)),
    )


def _check_precedence(steps: Mapping[str, StepDef], found: _Problems) -> None:
    # CLINICAL.md §2: exactly one position card, so a tie would have no defined winner.
    seen: dict[int, str] = {}
    for step in steps.values():
        if step.kind != "position":
            continue
        if step.precedence in seen:
            other = seen[step.precedence]
            found.append(f"steps.{step.code}: precedence {step.precedence} also used by {other}")
        seen[step.precedence] = step.code
