"""Medication orders -> pathway ingredients (shared/CLINICAL.md §1 "active therapies")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cds_service.errors import ConfigError
from cds_service.fhir.medications import (
    class_members,
    drug_classes,
    ingredients_of,
    is_tki,
    load_medication_table,
)

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _request(concept: dict[str, Any], resource_type: str = "MedicationRequest") -> dict[str, Any]:
    return {"resourceType": resource_type, "id": "m1", "medicationCodeableConcept": concept}


def _rx(code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": RXNORM, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("282388", "imatinib"),
        ("475342", "dasatinib"),
        ("1597258", "blinatumomab"),
        ("1942950", "inotuzumab ozogamicin"),
        ("11202", "vincristine"),
        ("8640", "prednisone"),
        ("3264", "dexamethasone"),
        ("3109", "daunorubicin"),
        ("3639", "doxorubicin"),
        ("3041", "cytarabine"),
        ("6851", "methotrexate"),
        ("103", "mercaptopurine"),
        ("3002", "cyclophosphamide"),
    ],
)
def test_rxnorm_ingredient_code_maps_to_its_ingredient(code: str, name: str) -> None:
    assert ingredients_of(_request(_rx(code))) == {name}


def test_rxnorm_product_code_maps_through_the_table() -> None:
    assert ingredients_of(_request(_rx("1597262"))) == {"blinatumomab"}


def test_dstu2_medication_order_is_read_like_a_request() -> None:
    assert ingredients_of(_request(_rx("282388"), "MedicationOrder")) == {"imatinib"}


def test_contained_medication_is_followed_through_its_local_reference() -> None:
    resource = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "contained": [{"resourceType": "Medication", "id": "med", "code": _rx("475342")}],
        "medicationReference": {"reference": "#med"},
    }
    assert ingredients_of(resource) == {"dasatinib"}


def test_contained_medication_ingredients_are_read() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "med",
        "ingredient": [{"itemCodeableConcept": _rx("11202")}],
    }
    resource = {
        "resourceType": "MedicationRequest",
        "contained": [medication],
        "medicationReference": {"reference": "#med"},
    }
    assert ingredients_of(resource) == {"vincristine"}


def test_external_medication_reference_is_unknown() -> None:
    resource = {
        "resourceType": "MedicationRequest",
        "medicationReference": {"reference": "Medication/x"},
    }
    assert ingredients_of(resource) == frozenset()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Tisagenlecleucel suspension for IV infusion", "tisagenlecleucel"),
        ("KYMRIAH", "tisagenlecleucel"),
        ("pegaspargase 3750 units/5 mL", "asparaginase"),
        ("Calaspargase pegol-mknl", "asparaginase"),
        ("asparaginase Erwinia chrysanthemi (recombinant)", "asparaginase"),
    ],
)
def test_names_without_a_verified_code_match_by_text(text: str, name: str) -> None:
    assert ingredients_of(_request({"text": text})) == {name}


def test_text_match_reads_coding_display() -> None:
    concept = {"coding": [{"system": "urn:oid:1.2.3", "code": "x", "display": "Oncaspar"}]}
    assert ingredients_of(_request(concept)) == {"asparaginase"}


def test_text_match_needs_a_whole_word() -> None:
    assert ingredients_of(_request({"text": "pseudoasparaginasezyme"})) == frozenset()


def test_drugs_with_a_verified_code_are_not_matched_by_text() -> None:
    assert ingredients_of(_request({"text": "imatinib 400 mg"})) == frozenset()


@pytest.mark.parametrize(
    "resource",
    [
        {},
        {"resourceType": "MedicationRequest"},
        _request(_rx("99999999")),
        _request({"coding": [{"system": "http://snomed.info/sct", "code": "282388"}]}),
        _request({"coding": ["not a coding"]}),
        {"resourceType": "MedicationRequest", "medicationCodeableConcept": "imatinib"},
    ],
)
def test_unknown_or_malformed_medication_is_the_empty_set(resource: dict[str, Any]) -> None:
    assert ingredients_of(resource) == frozenset()


@pytest.mark.parametrize(
    ("name", "expected"), [("imatinib", True), ("dasatinib", True), ("vincristine", False)]
)
def test_is_tki(name: str, expected: bool) -> None:
    assert is_tki(name) is expected


def test_chemotherapy_class_excludes_corticosteroids() -> None:
    chemo = class_members("chemotherapy")
    assert "vincristine" in chemo
    assert "asparaginase" in chemo
    assert "dexamethasone" not in chemo
    assert "prednisone" not in chemo


def test_restricted_biologics_are_the_three_immunotherapies() -> None:
    assert class_members("biologic-restricted") == {
        "blinatumomab",
        "tisagenlecleucel",
        "inotuzumab ozogamicin",
    }


def test_unknown_ingredient_has_no_class() -> None:
    assert drug_classes("aspirin") == frozenset()


@pytest.mark.parametrize(
    "text",
    [
        "not = [toml",
        'version = "x"\n[systems]\nrxnorm = "u"\n[ingredients.a]\nclasses = ["nonsense"]\n',
        'version = "x"\n[systems]\nrxnorm = "u"\n[ingredients.a]\nclasses = []\n'
        'codes = [{ system = "rxnorm", code = "1" }]\n',
        'version = "x"\n[systems]\nrxnorm = "u"\n[ingredients.a]\nclasses = []\n'
        '[[products]]\nsystem = "rxnorm"\ncode = "2"\ningredient = "b"\nverified = false\n',
        'version = "x"\n[ingredients.a]\nclasses = []\n',
    ],
)
def test_malformed_table_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "medications.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_medication_table(path)


def test_missing_table_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_medication_table(tmp_path / "absent.toml")
