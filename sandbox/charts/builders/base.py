"""The core of a chart: the resources of one synthetic patient and the ids handed out to them."""

from __future__ import annotations

import uuid
from collections import Counter

from sandbox.charts.builders.codes import SANDBOX_URL, Json


def _urn(resource: Json) -> str:
    # Absolute, as Bundle.entry.fullUrl must be, and stable so the written files do not churn.
    name = f"{resource['resourceType']}/{resource['id']}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, SANDBOX_URL + name)}"


class ChartBase:
    """The resources of one synthetic patient, with ids ``<prefix>-<kind>-<n>``."""

    def __init__(self, patient_id: str, prefix: str | None = None) -> None:
        self.patient_id = patient_id
        self.prefix = prefix or patient_id
        self.resources: list[Json] = []
        self._counts: Counter[str] = Counter()

    @property
    def subject(self) -> Json:
        return {"reference": f"Patient/{self.patient_id}"}

    def add(self, kind: str, resource: Json) -> Json:
        """Give ``resource`` the next id of ``kind`` and keep it."""
        self._counts[kind] += 1
        resource = {"resourceType": resource.pop("resourceType"), **resource}
        resource["id"] = f"{self.prefix}-{kind}-{self._counts[kind]}"
        self.resources.append(resource)
        return resource

    def bundle(self) -> Json:
        """Return the chart as a collection Bundle (fullUrl: a urn:uuid derived from the id)."""
        entries = [{"fullUrl": _urn(r), "resource": r} for r in self.resources]
        return {"resourceType": "Bundle", "type": "collection", "entry": entries}
