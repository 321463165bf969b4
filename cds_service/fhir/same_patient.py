"""Keep only data about the patient in ``context.patientId``.

A card built from another child's records is the worst error this service could make, so a
prefetched Patient with another id is refused, and any resource whose patient reference names
someone else is dropped before facts are read. Resources without a patient reference are kept:
the search that returned them was already scoped to the patient.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from cds_service.errors import BadRequest

log = logging.getLogger("cds_service.fhir")

# Where each resource type names its patient (R4; DSTU2 MedicationOrder uses ``patient``).
_PATIENT_FIELDS = ("subject", "patient", "individual")


def only_this_patient(
    resources: Mapping[str, Sequence[Mapping[str, Any]]], patient_id: str
) -> dict[str, list[Mapping[str, Any]]]:
    """Return the resources that belong to ``patient_id``; BadRequest for another Patient."""
    kept: dict[str, list[Mapping[str, Any]]] = {}
    dropped = 0
    ours = f"Patient/{patient_id}"
    for key, items in resources.items():
        kept[key] = []
        for resource in items:
            subject = resource.get("subject")
            if resource.get("resourceType") == "Patient":
                if resource.get("id") not in (None, patient_id):
                    raise BadRequest(
                        "The prefetched Patient is not the patient in context.patientId.",
                        expression=[f"prefetch.{key}"],
                    )
            elif type(subject) is dict and subject.get("reference") == ours:
                pass  # the usual case, decided without parsing the reference
            elif _names_another_patient(resource, patient_id):
                dropped += 1
                continue
            kept[key].append(resource)
    if dropped:
        log.warning("resources_for_another_patient_dropped", extra={"dropped": dropped})
    return kept


def _names_another_patient(resource: Mapping[str, Any], patient_id: str) -> bool:
    for field in _PATIENT_FIELDS:
        value = resource.get(field)
        reference = value.get("reference") if isinstance(value, (dict, Mapping)) else None
        if isinstance(reference, str) and "Patient/" in reference:
            named = reference.split("Patient/", 1)[1].split("/", 1)[0]
            return named != patient_id
    return False
