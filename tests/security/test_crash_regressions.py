"""Crashes the fuzzers found, pinned with their smallest input: each must answer without a 500.

All are fixed: a ``status``/``intent`` that is a list or an object once reached a ``frozenset``
membership test (TypeError); a diagnosis date at the calendar's edge overflowed the WBC window
arithmetic; a list as a timing unit broke the dose reader. ``test_shape_mutations`` goes further:
every member of every sandbox resource, replaced by each wrong JSON type.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api import requests as rq
from tests.conftest import Ehr
from tests.security.conftest import assert_outcome

PV = "/cds-services/b-all-pathway"
SELECT = "/cds-services/b-all-order-select"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"


def _post(client: FlaskClient, ehr: Ehr, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body, headers=ehr.headers(path))
    assert_outcome(response.status_code, response.get_data(as_text=True), response.get_json())


@pytest.mark.parametrize(
    ("key", "resource"),
    [
        ("medications", {"resourceType": "MedicationRequest", "status": [], "intent": "order"}),
        ("medications", {"resourceType": "MedicationRequest", "status": "active", "intent": {}}),
        ("observations", {"resourceType": "Observation", "status": {}}),
        ("observations", {"resourceType": "Observation", "status": ["final"]}),
    ],
)
def test_prefetched_resource_with_a_non_string_status_is_not_a_500(
    client: FlaskClient, ehr: Ehr, key: str, resource: dict[str, Any]
) -> None:
    prefetch = rq.prefetch()
    prefetch[key] = rq.searchset(resource)
    _post(client, ehr, PV, rq.patient_view(prefetch=prefetch))


@pytest.mark.parametrize("onset", ["0001-01-01", "9999-12-31"])
def test_diagnosis_dated_at_the_calendar_edge_is_not_a_500(
    client: FlaskClient, ehr: Ehr, onset: str
) -> None:
    # The WBC window around the diagnosis date (labs.py) overflows datetime.date.
    prefetch = rq.prefetch()
    prefetch["conditions"] = rq.searchset({**rq.B_ALL, "onsetDateTime": onset})
    _post(client, ehr, PV, rq.patient_view(prefetch=prefetch))


def test_draft_with_a_list_as_period_unit_is_not_a_500(client: FlaskClient, ehr: Ehr) -> None:
    draft = copy.deepcopy(rq.DSTU2_ORDER)
    draft["dosageInstruction"][0]["timing"]["repeat"]["periodUnits"] = ["d"]
    _post(client, ehr, SELECT, rq.order_select(draft))


def test_draft_with_a_list_as_timing_code_is_not_a_500(client: FlaskClient, ehr: Ehr) -> None:
    draft = copy.deepcopy(rq.DSTU2_ORDER)
    draft["dosageInstruction"][0]["timing"] = {"code": {"coding": [{"system": GTS, "code": []}]}}
    _post(client, ehr, SELECT, rq.order_select(draft))
