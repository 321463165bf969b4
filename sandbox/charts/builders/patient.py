"""Chart builders for the patient, their problem list and their trial enrolments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sandbox.charts.builders.base import ChartBase
from sandbox.charts.builders.codes import (
    CLINICAL_STATUS,
    CONDITION_CATEGORY,
    VERIFICATION,
    Json,
    coding,
    concept,
    instant,
)


class PatientRecords(ChartBase):
    """Demographics, diagnoses and trials."""

    def patient(self, birth: date, gender: str, family: str, given: str) -> Json:
        """Add the Patient (id = the chart's patient id)."""
        resource: Json = {
            "resourceType": "Patient",
            "id": self.patient_id,
            "identifier": [
                {"system": "https://b-all-pathway.example/fhir/sid/mrn", "value": self.prefix}
            ],
            "active": True,
            "name": [{"use": "official", "family": family, "given": [given]}],
            "gender": gender,
            "birthDate": birth.isoformat(),
        }
        self.resources.append(resource)
        return resource

    def condition(
        self,
        code: Json,
        onset: date,
        *,
        clinical: str | None = "active",
        verification: str = "confirmed",
        body_site: Sequence[Json] = (),
    ) -> Json:
        """Add a problem-list Condition (no clinicalStatus when entered-in-error: con-5)."""
        resource: Json = {"resourceType": "Condition"}
        if clinical and verification != "entered-in-error":
            resource["clinicalStatus"] = concept(coding(CLINICAL_STATUS, clinical))
        resource["verificationStatus"] = concept(coding(VERIFICATION, verification))
        resource["category"] = [concept(coding(CONDITION_CATEGORY, "problem-list-item"))]
        resource["code"] = code
        if body_site:
            resource["bodySite"] = list(body_site)
        resource["subject"] = self.subject
        resource["onsetDateTime"] = instant(onset, "08:00")
        resource["recordedDate"] = instant(onset, "16:00")
        return self.add("condition", resource)

    def research_subject(self, start: date, nct: str, title: str, status: str = "on-study") -> Json:
        """Add a ResearchSubject enrolling the patient on a (named, public) study."""
        study = {
            "identifier": {"system": "https://clinicaltrials.gov", "value": nct},
            "display": title,
        }
        resource: Json = {
            "resourceType": "ResearchSubject",
            "status": status,
            "period": {"start": start.isoformat()},
            "study": study,
            "individual": self.subject,
        }
        return self.add("research", resource)
