"""The prefetch templates every B-ALL service asks for: everything the pathway reads.

Only spec-allowed tokens (``{{context.patientId}}``) and search parameters (reference) are used.
"""

PATHWAY_PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    "serviceRequests": "ServiceRequest?patient={{context.patientId}}",
    "researchSubjects": "ResearchSubject?patient={{context.patientId}}",
}

# Without these the pathway cannot place the child: 412 when they cannot be had. The others only
# refine the picture; when they are missing, the facts they feed stay unknown.
REQUIRED_KEYS = frozenset({"patient", "conditions", "observations", "medications"})
