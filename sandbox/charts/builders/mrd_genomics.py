"""Chart builders for the pathway's disease facts: MRD, genomics, CNS status, disease status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sandbox.charts.builders.codes import (
    HGNC,
    LAB,
    LOINC,
    NCIT,
    PRESENT,
    SNOMED,
    Json,
    coding,
    concept,
    presence,
    quantity,
)
from sandbox.charts.builders.labs import LabRecords


class DiseaseRecords(LabRecords):
    """MRD time points, BCR::ABL1 and KMT2A, karyotype, Variants, CNS and disease status."""

    def mrd(
        self,
        day: date,
        percent: float | None,
        *,
        timepoint: str | None = None,
        method: str = "mrd-bm-flow",
        comparator: str | None = None,
        detected: bool | None = None,
    ) -> Json:
        """Add an MRD result in our lab code system (no LOINC verified), with its time point."""
        names = {
            "mrd-bm-flow": "MRD, bone marrow, flow cytometry",
            "mrd-bm-ngs": "MRD, bone marrow, NGS",
            "mrd-pb-flow": "MRD, peripheral blood, flow cytometry",
        }
        code = concept(coding(LAB, method, names[method]), text=names[method])
        components = []
        if timepoint:
            tp_code = concept(coding(LAB, "mrd-timepoint", "MRD time point"))
            components.append({"code": tp_code, "valueString": timepoint})
        if percent is not None:
            value: Json = {"valueQuantity": quantity(percent, "%", comparator=comparator)}
        else:
            found = ("260373001", "Detected") if detected else ("260415000", "Not detected")
            value = {"valueCodeableConcept": concept(coding(SNOMED, *found), text=found[1])}
        return self.observation(code, day, clock="11:20", components=components, **value)

    def bcr_abl1(self, day: date, present: bool) -> Json:
        """Add a BCR::ABL1 fusion transcript presence result (LOINC 21821-4)."""
        display = "t(9;22)(q34.1;q11.2)(ABL1,BCR) fusion transcript [Presence]"
        code = concept(coding(LOINC, "21821-4", display), text="BCR::ABL1 fusion")
        return self.coded_result(
            code, day, presence(present), interpretation="POS" if present else "NEG"
        )

    def kmt2a(self, day: date, rearranged: bool, *, loinc: bool = True) -> Json:
        """Add a KMT2A result: LOINC 72313-0 (KMT2A-AFF1) or our FISH break-apart lab code."""
        if loinc:
            display = "t(4;11)(q21.3;q23)(KMT2A,AFF1) fusion transcript [Presence]"
            code = concept(coding(LOINC, "72313-0", display), text="KMT2A::AFF1 fusion")
        else:
            display = "KMT2A rearrangement by FISH"
            code = concept(coding(LAB, "kmt2a-rearrangement", display), text=display)
        return self.coded_result(
            code, day, presence(rearranged), interpretation="POS" if rearranged else "NEG"
        )

    def karyotype(self, day: date, iscn: str) -> Json:
        """Add a karyotype in ISCN notation (LOINC 81291-7)."""
        display = "Karyotype [ISCN] in Blood or Tissue Nominal"
        code = concept(coding(LOINC, "81291-7", display), text="Karyotype")
        return self.observation(code, day, valueString=iscn)

    def variant(self, day: date, genes: Sequence[tuple[str, str]]) -> Json:
        """Add a genomics-reporting Variant (LOINC 69548-6), one gene-studied component per gene."""
        code = concept(coding(LOINC, "69548-6", "Genetic variant assessment"))
        components = [
            {
                "code": concept(coding(LOINC, "48018-6", "Gene studied [ID]")),
                "valueCodeableConcept": concept(coding(HGNC, hgnc, symbol)),
            }
            for hgnc, symbol in genes
        ]
        value = concept(coding(LOINC, *PRESENT))
        return self.observation(code, day, components=components, valueCodeableConcept=value)

    def cns_status(self, day: date, status: str) -> Json:
        """Add the CNS status (NCIt C116832) from the diagnostic lumbar puncture."""
        values = {"CNS1": "C116833", "CNS2": "C116834", "CNS3": "C116835"}
        code = concept(coding(NCIT, "C116832", "CNS Status"), text="CNS status")
        value = concept(coding(NCIT, values[status], status), text=status)
        return self.coded_result(code, day, value)

    def disease_status(self, day: date, status: str, body_site: Json | None = None) -> Json:
        """Add an mCODE-style CancerDiseaseStatus (LOINC 97509-4): relapse/remission/refractory."""
        values = {
            "relapse": [
                coding(SNOMED, "263855007", "Relapse phase"),
                coding(NCIT, "C38155", "Recurrent Disease"),
            ],
            "remission": [coding(SNOMED, "277022003", "Remission phase")],
            "refractory": [coding(NCIT, "C38014", "Refractory")],
        }
        code = concept(coding(LOINC, "97509-4", "Cancer disease status"))
        value = concept(*values[status], text=status)
        return self.observation(
            code,
            day,
            category="exam",
            clock="15:30",
            valueCodeableConcept=value,
            body_site=body_site,
        )
