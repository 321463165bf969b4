"""Hypothesis strategies for FHIR-shaped JSON: the right resourceType, anything inside.

Resources are built field by field: most fields hold a plausible value (a code the pathway reads,
a real or impossible date, an extreme number), and any field may instead hold arbitrary JSON.
Codes come from the shipped knowledge, so resources pass the normaliser's relevance filters and
reach the code that reads values, not only the code that skips them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from cds_service.config import PACKAGE_DIR
from cds_service.fhir.normalize.common import vocab_for
from cds_service.pathway.loader import load_knowledge
from hooks.prefetch import PATHWAY_PREFETCH

KNOWLEDGE = load_knowledge(PACKAGE_DIR / "knowledge")
_PAIRS = sorted(set().union(*vocab_for(KNOWLEDGE).sets.values()))
_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_DRUGS = ["282388", "475342", "1597258", "11202", "3002", "6851", "not-a-code"]
TYPE_OF_KEY = {key: query.split("?")[0].split("/")[0] for key, query in PATHWAY_PREFETCH.items()}

# Leaves: unicode-heavy and huge text, extreme and non-finite numbers (json.loads accepts NaN).
# Huge values are prebuilt: drawing a megabyte character by character would dominate the run.
_HUGE = ["9" * 1_000_000, "é\u202e𝔘\x00" * 250_000, "2020-01-01" * 100_000]
# Drawn by index: hypothesis reprs strategies, and a sampled_from holding megabytes would make
# every repr megabytes long (the 10,000-example run ran out of memory that way).
huge_text = st.integers(min_value=0, max_value=len(_HUGE) - 1).map(lambda index: _HUGE[index])
text = st.one_of(st.text(max_size=40), st.text(max_size=40), huge_text)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)

dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2020", "2020-05", "0001-01-01", "9999-12-31T23:59:59+14:00", "2020-02-30"]),
    text,
)


def fuzzed(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the plausible value, sometimes arbitrary JSON in its place."""
    return st.one_of(plausible, plausible, plausible, json_values)


def coding() -> st.SearchStrategy[dict[str, Any]]:
    known = st.sampled_from(_PAIRS).map(lambda pair: {"system": pair[0], "code": pair[1]})
    drug = st.sampled_from(_DRUGS).map(lambda code: {"system": _RXNORM, "code": code})
    return st.one_of(known, known, drug)


concepts = st.builds(
    lambda codings, label: {"coding": codings, **({"text": label} if label else {})},
    st.lists(fuzzed(coding()), min_size=1, max_size=3),
    st.one_of(st.none(), text),
)
quantities = st.fixed_dictionaries(
    {"value": numbers},
    optional={"unit": text, "code": st.sampled_from(["kg", "g", "cm", "m2", "10*9/L", "/uL", "%"])},
)
_STATUSES = ["final", "amended", "active", "completed", "on-study", "draft", "entered-in-error"]
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.text(min_size=1, max_size=64),
    "status": st.sampled_from(_STATUSES),
    "intent": st.sampled_from(["order", "plan", "proposal"]),
    "code": concepts,
    "clinicalStatus": concepts,
    "verificationStatus": concepts,
    "category": st.lists(concepts, max_size=2),
    "medicationCodeableConcept": concepts,
    "valueCodeableConcept": concepts,
    "valueQuantity": quantities,
    "valueString": text,
    "interpretation": st.lists(concepts, max_size=2),
    "component": st.lists(
        st.fixed_dictionaries({"code": concepts}, optional={"valueQuantity": quantities}),
        max_size=2,
    ),
    "subject": st.just({"reference": "Patient/syn-1"}),
    "birthDate": dates,
    "onsetDateTime": dates,
    "recordedDate": dates,
    "effectiveDateTime": dates,
    "issued": dates,
    "authoredOn": dates,
    "performedDateTime": dates,
    "period": st.fixed_dictionaries({}, optional={"start": dates, "end": dates}),
    "bodySite": st.lists(concepts, max_size=2),
    "dosageInstruction": st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "doseAndRate": st.lists(
                    st.fixed_dictionaries({}, optional={"doseQuantity": quantities}), max_size=2
                )
            },
        ),
        max_size=2,
    ),
}


def resource(resource_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """One resource of ``resource_type`` with a random subset of fuzzed fields."""
    fields = st.dictionaries(
        st.sampled_from(sorted(_FIELDS)), st.none(), max_size=len(_FIELDS)
    ).flatmap(
        lambda chosen: st.fixed_dictionaries({name: fuzzed(_FIELDS[name]) for name in chosen})
    )
    return fields.map(lambda body: {**body, "resourceType": resource_type})


def chart() -> st.SearchStrategy[dict[str, list[Any]]]:
    """Resources by prefetch key: each list mixes fuzzed resources and stray junk."""
    per_key = {
        key: st.lists(st.one_of(resource(rtype), resource(rtype), json_values), max_size=4)
        for key, rtype in TYPE_OF_KEY.items()
    }
    return st.fixed_dictionaries({}, optional=per_key)


def searchset(resources: list[Any]) -> dict[str, Any]:
    """Wrap resources in a searchset Bundle as a prefetch value."""
    entries = [{"resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}
