"""Every member of every sandbox resource, replaced by JSON of the wrong type, is not a 500.

An EHR's data is read before it is validated (to pick the few resources worth validating), so each
reader of raw JSON must survive any JSON value anywhere: a number where a list of codings belongs
(this found `{"coding": 5}` crashing the code readers), an object where a string belongs, and so on.
Each (hook kind, resource type, member path) is tried once, with every value in ``WRONG``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask.testing import FlaskClient

from sandbox.ehr import build_request
from sandbox.scenarios import Scenario, load_scenarios
from tests.conftest import TODAY, Ehr
from tests.security.conftest import assert_outcome

WRONG: tuple[Any, ...] = (5, "x", None, [5], {"a": 1}, [{"a": 1}])
SERVICE = {
    "patient-view": "b-all-pathway",
    "order-select": "b-all-order-select",
    "order-sign": "b-all-order-sign",
}
UNLISTED_FHIR = "http://unlisted.example/fhir"
Path = tuple[str | int, ...]


def member_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Yield the path of every member below ``value`` (the first two items of each array)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from member_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:2]):
            yield (*prefix, index)
            yield from member_paths(child, (*prefix, index))


def at(data: Any, path: Path) -> Any:
    for step in path:
        data = data[step]
    return data


def prefetched_resources(body: dict[str, Any]) -> Iterator[Path]:
    """Yield the path of each prefetched Bundle and resource in a request."""
    for key, value in (body.get("prefetch") or {}).items():
        if isinstance(value, dict):
            yield ("prefetch", key)
            if value.get("resourceType") == "Bundle":
                for index in range(len(value.get("entry", []))):
                    yield ("prefetch", key, "entry", index, "resource")


def draft_resources(body: dict[str, Any]) -> Iterator[Path]:
    drafts = body["context"].get("draftOrders") or {}
    for index in range(len(drafts.get("entry", []))):
        yield ("context", "draftOrders", "entry", index, "resource")


def mutations(
    scenarios: list[Scenario], containers: Any
) -> Iterator[tuple[Scenario, dict[str, Any], Path]]:
    """Yield (scenario, request, member path) once per hook, resource type and member path."""
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    for scenario in scenarios:
        # A FHIR server outside the allow-list: a key spoilt beyond reading is never fetched.
        body = build_request(scenario, None, TODAY, fhir_url=UNLISTED_FHIR)
        for container in containers(body):
            resource = at(body, container)
            for path in member_paths(resource):
                shape = tuple("#" if isinstance(step, int) else step for step in path)
                signature = (scenario.hook, str(resource.get("resourceType")), shape)
                if signature not in seen:
                    seen.add(signature)
                    yield scenario, body, (*container, *path)


def post_each_wrong_value(
    client: FlaskClient, ehr: Ehr, scenarios: list[Scenario], containers: Any
) -> int:
    tried = 0
    for scenario, body, path in mutations(scenarios, containers):
        parent = at(body, path[:-1])
        original = parent[path[-1]]
        for wrong in WRONG:
            parent[path[-1]] = wrong
            url = f"/cds-services/{SERVICE[scenario.hook]}"
            response = client.post(url, json=body, headers=ehr.headers(url))
            text = response.get_data(as_text=True)
            where = f"{scenario.patient} {'.'.join(map(str, path))} = {wrong!r}"
            assert response.status_code < 500, f"{where}: {text[:300]}"
            assert_outcome(response.status_code, text, response.get_json(silent=True))
            tried += 1
        parent[path[-1]] = original
    return tried


def test_any_prefetched_member_of_the_wrong_type_is_not_a_500(
    client: FlaskClient, ehr: Ehr
) -> None:
    scenarios = [s for s in load_scenarios() if s.hook == "patient-view"]
    assert post_each_wrong_value(client, ehr, scenarios, prefetched_resources) > 1000


def test_any_draft_order_member_of_the_wrong_type_is_not_a_500(
    client: FlaskClient, ehr: Ehr
) -> None:
    scenarios = [s for s in load_scenarios() if s.hook != "patient-view"]
    assert post_each_wrong_value(client, ehr, scenarios, draft_resources) > 300
