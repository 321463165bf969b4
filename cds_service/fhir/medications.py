"""Which pathway ingredients a medication order holds (shared/CLINICAL.md §1 "active therapies").

Reads R4 ``MedicationRequest`` (``medicationCodeableConcept``, or a contained ``Medication`` through
``medicationReference: "#id"``), DSTU2 ``MedicationOrder`` (the CDS Hooks Sandbox still sends them)
and ``Medication``. Codes map through ``knowledge/medications.toml``: ingredient codes, product
(SCD/SBD) codes, and -- only for ingredients with no verified code -- names matched as whole words.
An order we cannot read maps to the empty set: unknown, never a guess.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cds_service.errors import ConfigError
from cds_service.fhir.shapes import listed

DEFAULT_TABLE = Path(__file__).resolve().parent.parent / "knowledge" / "medications.toml"

TKI = "tki"
CHEMOTHERAPY = "chemotherapy"
CORTICOSTEROID = "corticosteroid"
BIOLOGIC_RESTRICTED = "biologic-restricted"
KNOWN_CLASSES = frozenset({TKI, CHEMOTHERAPY, CORTICOSTEROID, BIOLOGIC_RESTRICTED})


@dataclass(frozen=True)
class MedicationTable:
    """The product/ingredient table, indexed for lookup."""

    by_code: Mapping[tuple[str, str], str]  # (system URL, code) -> ingredient name
    text_patterns: tuple[tuple[re.Pattern[str], str], ...]  # (whole-word pattern, ingredient)
    classes: Mapping[str, frozenset[str]]  # ingredient -> classes


def ingredients_of(
    resource: Mapping[str, Any], table: MedicationTable | None = None
) -> frozenset[str]:
    """Return the pathway ingredient names a medication order or Medication refers to."""
    table = table or load_medication_table()
    found: set[str] = set()
    for concept in _medication_concepts(resource):
        found |= _concept_ingredients(concept, table)
    return frozenset(found)


def drug_classes(name: str, table: MedicationTable | None = None) -> frozenset[str]:
    """Return the classes ("tki", "chemotherapy", ...) of one ingredient name."""
    table = table or load_medication_table()
    return table.classes.get(name, frozenset())


def in_class(name: str, drug_class: str, table: MedicationTable | None = None) -> bool:
    """Say whether an ingredient belongs to a drug class."""
    return drug_class in drug_classes(name, table)


def is_tki(name: str, table: MedicationTable | None = None) -> bool:
    """Say whether an ingredient is a tyrosine-kinase inhibitor used for Ph+ ALL."""
    return in_class(name, TKI, table)


def class_members(drug_class: str, table: MedicationTable | None = None) -> frozenset[str]:
    """Return every ingredient name of a class."""
    table = table or load_medication_table()
    return frozenset(name for name, kinds in table.classes.items() if drug_class in kinds)


@lru_cache(maxsize=8)
def load_medication_table(path: Path = DEFAULT_TABLE) -> MedicationTable:
    """Load and validate the medication table once per path; a broken file is a ConfigError."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"medication table {path}: {exc}") from exc
    try:
        return _build_table(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"medication table {path}: {exc}") from exc


def _build_table(data: Mapping[str, Any]) -> MedicationTable:
    systems: Mapping[str, str] = data["systems"]
    by_code: dict[tuple[str, str], str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    classes: dict[str, frozenset[str]] = {}
    for name, entry in data["ingredients"].items():
        kinds = frozenset(entry["classes"])
        if not kinds <= KNOWN_CLASSES:
            raise ValueError(f"ingredient {name!r}: unknown class in {sorted(kinds)}")
        classes[name] = kinds
        for code in entry.get("codes", []):
            by_code[(_system_url(systems, code["system"]), _code_text(code))] = name
            _require_bool(code, name)
        for term in entry.get("text", []):
            if not isinstance(term, str) or not term.strip():
                raise ValueError(f"ingredient {name!r}: empty text term")
            patterns.append((re.compile(rf"\b{re.escape(term)}\b", re.IGNORECASE), name))
    for product in data.get("products", []):
        if product["ingredient"] not in classes:
            raise ValueError(f"product {product['code']!r}: unknown ingredient")
        _require_bool(product, product["code"])
        key = (_system_url(systems, product["system"]), _code_text(product))
        by_code[key] = product["ingredient"]
    return MedicationTable(by_code=by_code, text_patterns=tuple(patterns), classes=classes)


def _system_url(systems: Mapping[str, str], alias: str) -> str:
    if alias not in systems:
        raise ValueError(f"unknown system alias {alias!r}")
    return systems[alias]


def _code_text(entry: Mapping[str, Any]) -> str:
    code = entry["code"]
    if not isinstance(code, str) or not code:
        raise ValueError(f"code must be a non-empty string, not {code!r}")
    return code


def _require_bool(entry: Mapping[str, Any], label: str) -> None:
    # Every code must say whether it was verified (CLINICAL.md: "each with a verified flag").
    if not isinstance(entry.get("verified"), bool):
        raise ValueError(f"{label!r}: `verified` must be true or false")


def _medication_concepts(resource: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield the CodeableConcepts that name the drug (the order's, and a contained Medication's)."""
    if resource.get("resourceType") == "Medication":
        yield from _medication_resource_concepts(resource)
        return
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, Mapping):
        yield concept
    reference = resource.get("medicationReference")
    if not isinstance(reference, Mapping):
        return
    if isinstance(reference.get("display"), str):
        yield {"text": reference["display"]}
    target = reference.get("reference")
    if isinstance(target, str) and target.startswith("#"):
        for contained in listed(resource.get("contained")):
            is_match = isinstance(contained, Mapping) and contained.get("id") == target[1:]
            if is_match and contained.get("resourceType") == "Medication":
                yield from _medication_resource_concepts(contained)


def _medication_resource_concepts(medication: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if isinstance(medication.get("code"), Mapping):
        yield medication["code"]
    for ingredient in listed(medication.get("ingredient")):
        if isinstance(ingredient, Mapping) and isinstance(
            ingredient.get("itemCodeableConcept"), Mapping
        ):
            yield ingredient["itemCodeableConcept"]


def _concept_ingredients(concept: Mapping[str, Any], table: MedicationTable) -> set[str]:
    found: set[str] = set()
    texts: list[str] = []
    for coding in listed(concept.get("coding")):
        if not isinstance(coding, Mapping):
            continue
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and isinstance(code, str) and (system, code) in table.by_code:
            found.add(table.by_code[(system, code)])
        if isinstance(coding.get("display"), str):
            texts.append(coding["display"])
    if isinstance(concept.get("text"), str):
        texts.append(concept["text"])
    for pattern, name in table.text_patterns:
        if any(pattern.search(text) for text in texts):
            found.add(name)
    return found
