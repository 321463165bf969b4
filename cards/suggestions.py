"""Named suggestion kinds a card template can list, and the wire form of every suggestion.

Each kind builds a ``create`` action holding a complete FHIR R4 resource (a plain dict: this
package never imports fhir.resources; the tests validate the resources with the R4B models).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cards.context import CardContext
from cds_service.pathway.dosing import DoseCalc, dasatinib_daily_mg, imatinib_daily_mg
from cds_service.pathway.findings import Action, Finding, Suggestion
from cds_service.pathway.knowledge import Code, Knowledge

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

# Every suggested order states why: the B-ALL diagnosis (SNOMED, verified in CLINICAL.md §1).
B_ALL_REASON = {"coding": [{"system": SNOMED, "code": "277571004", "display": "B-cell ALL"}]}
ORAL_ROUTE = {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]}
ONCE_DAILY = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
DASATINIB = Code(RXNORM, "475342", "dasatinib", verified=True)
DoseRule = Callable[[float], DoseCalc]


@dataclass(frozen=True)
class Built:
    """A suggestion made from a named kind, plus a detail line that shows its arithmetic."""

    suggestion: Suggestion
    note: str | None = None


@dataclass(frozen=True)
class OrderInput:
    """What every suggested order needs: the finding, the knowledge, the call, the day."""

    finding: Finding
    knowledge: Knowledge
    context: CardContext
    today: date


def _coding(code: Code) -> dict[str, str]:
    coding = {"system": code.system, "code": code.code}
    if code.display:
        coding["display"] = code.display
    return coding


def _order_header(resource_type: str, order: OrderInput) -> dict[str, Any]:
    ctx = order.context
    # Without a known requester the EHR cannot treat it as anyone's order yet: a proposal.
    resource: dict[str, Any] = {
        "resourceType": resource_type,
        "status": "draft",
        "intent": "order" if ctx.user_id else "proposal",
        "subject": {"reference": f"Patient/{ctx.patient_id}"},
    }
    if ctx.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{ctx.encounter_id}"}
    resource["authoredOn"] = order.today.isoformat()
    if ctx.user_id:
        resource["requester"] = {"reference": ctx.user_id}
    resource["reasonCode"] = [B_ALL_REASON]
    return resource


def _service_request(
    order: OrderInput, orderable: str, label: str, recommended: bool = True
) -> Built | None:
    code = order.knowledge.orderables.get(orderable)
    if code is None:
        return None  # the site has not configured this orderable: offer nothing rather than guess
    resource = _order_header("ServiceRequest", order)
    resource["code"] = {"coding": [_coding(code)], "text": code.display or label}
    action = Action("create", f"Create a draft order: {code.display or label}", resource)
    return Built(Suggestion(label, (action,), recommended=recommended))


def _dose(finding: Finding, rule: DoseRule) -> DoseCalc | None:
    value = finding.values.get("bsa_m2")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return rule(float(value))
    except ValueError:
        return None  # implausible BSA: leave the dose to the prescriber rather than compute one


def _medication(order: OrderInput, drug: Code, name: str, per_m2: str, rule: DoseRule) -> Built:
    calc = _dose(order.finding, rule)
    resource = _order_header("MedicationRequest", order)
    resource["medicationCodeableConcept"] = {"coding": [_coding(drug)], "text": name}
    dosage: dict[str, Any] = {"timing": ONCE_DAILY, "route": ORAL_ROUTE}
    if calc is None:
        label = f"Start {name} (dose to be set: no usable BSA)"
        note = f"{name.capitalize()} {per_m2}: no usable BSA recorded, so the dose is left unset."
    else:
        dose = int(calc.practical) if calc.practical.is_integer() else calc.practical
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": dose, "unit": "mg", "system": UCUM, "code": "mg"}}
        ]
        label = f"Start {name} {dose} mg daily ({per_m2})"
        note = f"{name.capitalize()}: {calc.formula} → {dose} mg daily."
    resource["dosageInstruction"] = [dosage]
    action = Action("create", f"Create a draft order: {name}, oral, once daily", resource)
    return Built(Suggestion(label, (action,)), note)


def _order_mrd(order: OrderInput) -> Built | None:
    return _service_request(order, "mrd-bone-marrow", "Order bone-marrow MRD")


def _repeat_mrd(order: OrderInput) -> Built | None:
    return _service_request(order, "mrd-bone-marrow", "Repeat bone-marrow MRD before HCT")


def _order_bcr_abl1(order: OrderInput) -> Built | None:
    return _service_request(order, "bcr-abl1-test", "Order BCR::ABL1 testing")


def _order_kmt2a(order: OrderInput) -> Built | None:
    return _service_request(order, "kmt2a-test", "Order KMT2A rearrangement testing")


def _trial_screening(order: OrderInput) -> Built | None:
    # Only when we know there is no active ResearchSubject: unknown enrolment is not "none".
    if order.finding.values.get("has_trial") is not False:
        return None
    return _service_request(
        order, "trial-screening", "Refer for clinical trial screening", recommended=False
    )


def _start_imatinib(order: OrderInput) -> Built | None:
    drug = order.knowledge.orderables.get("imatinib")
    if drug is None:
        return None
    return _medication(order, drug, "imatinib", "340 mg/m²/day", imatinib_daily_mg)


def _start_dasatinib(order: OrderInput) -> Built | None:
    drug = order.knowledge.orderables.get("dasatinib", DASATINIB)
    return _medication(order, drug, "dasatinib", "60 mg/m²/day", dasatinib_daily_mg)


SUGGESTION_KINDS: Mapping[str, Callable[[OrderInput], Built | None]] = {
    "order-mrd": _order_mrd,
    "repeat-mrd": _repeat_mrd,
    "order-bcr-abl1": _order_bcr_abl1,
    "order-kmt2a": _order_kmt2a,
    "trial-screening": _trial_screening,
    "start-imatinib": _start_imatinib,
    "start-dasatinib": _start_dasatinib,
}


def build_named(kind: str, order: OrderInput) -> Built | None:
    """Build the suggestion a template names, or None when it does not apply to this finding."""
    return SUGGESTION_KINDS[kind](order)


def suggestion_json(suggestion: Suggestion, new_uuid: Callable[[], str]) -> dict[str, Any] | None:
    """Render a suggestion for the wire (None when it has no usable action)."""
    actions = [a for a in (_action_json(action) for action in suggestion.actions) if a]
    if not actions or not suggestion.label:
        return None
    wire: dict[str, Any] = {"label": suggestion.label, "uuid": new_uuid()}
    if suggestion.recommended:
        wire["isRecommended"] = True
    wire["actions"] = actions
    return wire


def _action_json(action: Action) -> dict[str, Any] | None:
    wire: dict[str, Any] = {"type": action.type, "description": action.description}
    if action.type in ("create", "update"):
        if not action.resource:
            return None
        wire["resource"] = plain(action.resource)
    else:
        if not action.resource_id:
            return None
        wire["resourceId"] = action.resource_id
    return wire


def plain(value: Any) -> Any:
    """Copy mappings and sequences into plain JSON dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
