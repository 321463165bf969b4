"""What the benchmark sends: big synthetic charts turned into the requests an EHR would make.

A chart from ``sandbox.generator.large_chart`` is split by resource type into the pathway's
prefetch keys (``hooks.prefetch.PATHWAY_PREFETCH``): the Patient read as the resource itself, every
search as one complete searchset Bundle (no ``next`` link), as an EHR that fulfils prefetch sends
it. Bodies are encoded to bytes once, so the timed loop only sends them.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from cds_service.fhir.client import resource_type_of
from sandbox import patients
from sandbox.generator import large_chart
from sandbox.patients import patient_id

Json = dict[str, Any]

CHART_SIZES = (100, 1000, 5000)
SEED = 7
USER_ID = "Practitioner/bench-clinician"
# Draft sets written for the sandbox patients; together they make a realistic order-sign set.
DRAFT_SETS = ("induction-orders", "induction-vincristine-intrathecal")
PATIENT_VIEW = "b-all-pathway"
# order-sign runs on the chart nearest this size (the reference chart).
ORDER_SIGN_CHART = 1000
ORDER_SIGN = "b-all-order-sign"
# The chart also measured as never seen before (no remembered validation verdicts apply).
UNSEEN_CHART = 1000


@dataclass(frozen=True)
class Workload:
    """One request to repeat: which service, the encoded body and what it holds."""

    name: str
    service_id: str
    body: bytes
    resources: int
    # Set on an "unseen" workload: each call renames this patient (see ``renamed_bodies``).
    renamed_patient: str | None = None

    @property
    def path(self) -> str:
        return f"/cds-services/{self.service_id}"

    def bodies(self) -> Iterator[bytes]:
        """Yield the body of each call: the same bytes, or a renamed copy for an unseen chart."""
        if self.renamed_patient is None:
            return itertools.repeat(self.body)
        return renamed_bodies(self.body, self.renamed_patient)


UNSEEN = "/unseen"


def unseen_workload(item: Workload, pid: str) -> Workload:
    """Return ``item`` sent as a chart the service has never seen, a new one on every call."""
    return replace(item, name=item.name + UNSEEN, renamed_patient=pid)


def renamed_bodies(body: bytes, pid: str) -> Iterator[bytes]:
    """Yield ``body`` with the patient id replaced by a new one each time, wherever it occurs.

    The child's id is in ``context.patientId``, the Patient, every ``subject`` reference and every
    generated resource id, so each copy holds resources no earlier call sent: no validation
    verdict the service remembers applies (a chart opened for the first time).
    """
    old = pid.encode()
    for number in itertools.count(1):
        yield body.replace(old, f"{pid}-unseen-{number}".encode())


def chart(n_resources: int, today: date) -> Json:
    """Return the benchmark chart of about ``n_resources`` resources (same every run)."""
    return large_chart(n_resources, seed=SEED, today=today)


def chart_resources(bundle: Mapping[str, Any]) -> list[Json]:
    """Return the resources of a collection Bundle."""
    return [entry["resource"] for entry in bundle.get("entry", []) if "resource" in entry]


def full_prefetch(bundle: Mapping[str, Any], templates: Mapping[str, str]) -> Json:
    """Group a chart's resources under the prefetch keys, as complete searchset Bundles."""
    resources = chart_resources(bundle)
    prefetch: Json = {}
    for key, template in templates.items():
        rtype = resource_type_of(template)
        matches = [r for r in resources if r.get("resourceType") == rtype]
        if "?" not in template:
            prefetch[key] = matches[0] if matches else None  # a read: the resource, or null
            continue
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, rtype + r['id'])}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in matches
            ],
        }
    return prefetch


def request_body(
    hook: str,
    pid: str,
    *,
    fhir_server: str,
    prefetch: Mapping[str, Any] | None = None,
    drafts: Mapping[str, Any] | None = None,
) -> Json:
    """Build a CDS Hooks request body for patient ``pid`` (prefetch and drafts optional)."""
    context: Json = {"userId": USER_ID, "patientId": pid}
    if drafts is not None:
        context["draftOrders"] = dict(drafts)
    body: Json = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": fhir_server,
        "context": context,
    }
    if prefetch:
        body["prefetch"] = dict(prefetch)
    return body


def draft_set(pid: str, today: date) -> Json:
    """Return the benchmark's draft orders as one collection Bundle for patient ``pid``."""
    entries: list[Json] = []
    for name in DRAFT_SETS:
        draft = patients.load_draft(name, today)
        found = draft.get("entry", []) if draft.get("resourceType") == "Bundle" else [draft]
        for index, entry in enumerate(found):
            resource = entry.get("resource", entry)
            # Ids must stay unique across the combined sets; the subject becomes our chart's child.
            resource = _retarget(resource, pid)
            resource["id"] = f"{name}-{index}"
            entries.append({"resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _retarget(resource: Json, pid: str) -> Json:
    text = json.dumps(resource)
    subject = (resource.get("subject") or {}).get("reference")
    if isinstance(subject, str) and subject.startswith("Patient/"):
        text = text.replace(json.dumps(subject), json.dumps(f"Patient/{pid}"))
    retargeted: Json = json.loads(text)
    return retargeted


def encode(body: Mapping[str, Any]) -> bytes:
    """Encode a body once, compactly, as an EHR would send it."""
    return json.dumps(body, separators=(",", ":")).encode()


def build_workloads(
    today: date, templates: Mapping[str, str], *, sizes: tuple[int, ...], fhir_server: str
) -> tuple[list[Workload], dict[int, Json]]:
    """Return the prefetch and order-sign workloads per chart size, and the charts by size."""
    charts = {n: chart(n, today) for n in sizes}
    workloads: list[Workload] = []
    for n, bundle in charts.items():
        pid = patient_id(bundle)
        prefetch = full_prefetch(bundle, templates)
        body = request_body("patient-view", pid, fhir_server=fhir_server, prefetch=prefetch)
        workloads.append(Workload(f"patient-view/{n}", PATIENT_VIEW, encode(body), n))
    big = min(sizes, key=lambda n: abs(n - ORDER_SIGN_CHART))
    pid = patient_id(charts[big])
    body = request_body(
        "order-sign",
        pid,
        fhir_server=fhir_server,
        prefetch=full_prefetch(charts[big], templates),
        drafts=draft_set(pid, today),
    )
    workloads.append(Workload(f"order-sign/{big}", ORDER_SIGN, encode(body), big))
    return workloads, charts


def no_prefetch_workload(pid: str, n_resources: int, fhir_server: str) -> Workload:
    """Return a patient-view call with no prefetch at all: the service fetches every key."""
    body = request_body("patient-view", pid, fhir_server=fhir_server)
    return Workload(f"patient-view/{n_resources}/no-prefetch", PATIENT_VIEW, encode(body), 0)


def create_fhir_app_from_env() -> Any:
    """Build the sandbox FHIR server over one benchmark chart (gunicorn factory; env-driven).

    ``BENCH_TODAY`` (ISO date), ``BENCH_FHIR_CHART`` (resources) and ``BENCH_FHIR_LATENCY_MS``
    say which chart and how slow; the chart is the same one the no-prefetch request names.
    """
    import os

    from sandbox.fhir_server import create_fhir_app

    today = date.fromisoformat(os.environ["BENCH_TODAY"])
    size = int(os.environ["BENCH_FHIR_CHART"])
    latency = int(os.environ.get("BENCH_FHIR_LATENCY_MS", "50"))
    return create_fhir_app(today=today, latency_ms=latency, bundles=[chart(size, today)])
