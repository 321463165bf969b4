"""Draft orders (``context.draftOrders``) for the order-select and order-sign scenarios."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.charts.builders import CPT, HCT, SNOMED, TBI, TESTIS_SITE, Chart, coding, concept
from sandbox.charts.common import ago

PROCEDURE = "https://b-all-pathway.example/fhir/CodeSystem/procedure"
# Testicular irradiation: SNOMED has no site-specific code, so the generic radiotherapy concept
# (with bodySite testis) travels with the site's local code, as EHR order catalogues send it.
RADIOTHERAPY = concept(
    coding(SNOMED, "108290001", "Radiation oncology AND/OR radiotherapy"),
    coding(PROCEDURE, "testicular-radiation", "Testicular radiation therapy"),
    text="Testicular irradiation",
)
ORCHIECTOMY = concept(coding(CPT, "54520", "Orchiectomy, simple"), text="Orchiectomy")


# Start a draft bundle ``stem`` for ``patient`` and keep it; returns the bundle's chart.
NewBundle = Callable[[str, str], Chart]


def draft_bundles() -> dict[str, Chart]:
    """Return every draft-order bundle by file stem (ids ``<stem>-<kind>-<n>``)."""
    out: dict[str, Chart] = {}

    def new(stem: str, patient: str) -> Chart:
        out[stem] = Chart(patient, prefix=stem)
        return out[stem]

    _transplant_and_tki_drafts(new)
    _relapse_and_front_line_drafts(new)
    return out


def _transplant_and_tki_drafts(new: NewBundle) -> None:
    today, start = ago(0), ago(-1)
    new("persistent-mrd-hct", "persistent-mrd").service_request(HCT, ago(-21), status="draft")
    d = new("infant-hct-tbi", "infant-kmt2a-high-risk")
    d.service_request(HCT, ago(-30), status="draft")
    d.service_request(TBI, ago(-35), status="draft")
    # BSA 1.01 m² (28 kg, 132 cm): 340 mg/m²/day is 344 mg; 400 mg is 16 % over.
    new("ph-positive-imatinib-overdose", "ph-positive").medication(
        "imatinib", start, status="draft", dose=(400, "mg"), route="oral"
    )
    new("ph-positive-imatinib-dstu2", "ph-positive").medication_order_dstu2(
        "imatinib", today, dose=(400, "mg")
    )
    # BSA 0.85 m² (22 kg, 118 cm): 289 mg/day; 300 mg is within 10 %.
    new("ph-positive-no-tki-imatinib", "ph-positive-no-tki").medication(
        "imatinib", start, status="draft", dose=(300, "mg"), route="oral"
    )
    d = new("ph-positive-no-tki-chemo", "ph-positive-no-tki")
    d.medication("vincristine", start, status="draft", dose=(1.3, "mg"), every="wk", route="iv")
    d.medication("daunorubicin", start, status="draft", dose=(21, "mg"), every="wk", route="iv")


def _relapse_and_front_line_drafts(new: NewBundle) -> None:
    start = ago(-1)
    # BSA 1.08 m² (31 kg, 136 cm): 15 µg/m²/day is 16.2 µg/day; 28 µg/day is the adult dose.
    new("relapse-blinatumomab-overdose", "relapse-mrd-positive").medication(
        "blinatumomab", start, status="draft", dose=(28, "ug"), route="iv"
    )
    new("relapse-blinatumomab-bsa-dose", "relapse-mrd-positive").medication(
        "blinatumomab", start, status="draft", dose=(16.2, "ug"), route="iv"
    )
    new("consolidation-inotuzumab", "consolidation-mrd-negative").medication(
        "inotuzumab", start, status="draft", dose=(0.62, "mg"), every="wk", route="iv"
    )
    d = new("testicular-local-only", "isolated-testicular-relapse")
    d.service_request(RADIOTHERAPY, ago(-7), status="draft", body_site=TESTIS_SITE)
    d.service_request(ORCHIECTOMY, ago(-10), status="draft")
    d = new("testicular-with-systemic", "isolated-testicular-relapse")
    d.service_request(RADIOTHERAPY, ago(-7), status="draft", body_site=TESTIS_SITE)
    d.medication("cytarabine", start, status="draft", dose=(1000, "mg"), frequency=2, route="iv")
    new("induction-vincristine-intrathecal", "induction-standard-risk").medication(
        "vincristine", start, status="draft", dose=(1.4, "mg"), route="intrathecal"
    )
    d = new("induction-orders", "induction-standard-risk")
    d.medication("vincristine", start, status="draft", dose=(1.4, "mg"), every="wk", route="iv")
    d.medication("dexamethasone", start, status="draft", dose=(3, "mg"), frequency=2, route="oral")
    d.medication("methotrexate", start, status="draft", dose=(12, "mg"), route="intrathecal")
    new("adult-blinatumomab", "out-of-scope-adult").medication(
        "blinatumomab", start, status="draft", dose=(28, "ug"), route="iv"
    )
