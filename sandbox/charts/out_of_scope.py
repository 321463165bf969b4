"""Out-of-scope children (no cards): an adult, T-ALL, no leukemia, a diagnosis entered in error."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.charts.builders import B_ALL, ICD10CM, ICDO3, RXNORM, SNOMED, Chart, coding, concept
from sandbox.charts.common import ALL_ICD10, ago, born_at, first_line, induction_meds


def out_of_scope_adult() -> Chart:
    c = first_line(
        "out-of-scope-adult",
        ("Lund", "Erik"),
        sex="male",
        age=19.3,
        dx_ago=20,
        wbc=25.0,
        growth=(68.0, 176.0),
    )
    induction_meds(c, ago(20), 2.0, 10.0)
    return c


def out_of_scope_t_all() -> Chart:
    # ICD-10-CM C91.00 has no lineage; the ICD-O-3 morphology 9837/3 says T-ALL.
    t_all = concept(
        coding(ICDO3, "9837/3", "T lymphoblastic leukemia/lymphoma"),
        ALL_ICD10,
        text="T-cell acute lymphoblastic leukemia",
    )
    return first_line(
        "out-of-scope-t-all",
        ("Garcia", "Pablo"),
        sex="male",
        age=9.0,
        dx_ago=25,
        wbc=95.0,
        growth=(28.0, 134.0),
        code=t_all,
    )


def _healthy(pid: str, name: tuple[str, str], sex: str, age: float) -> Chart:
    c = Chart(pid)
    c.patient(born_at(age, 0), sex, *name)
    c.cbc(ago(3), wbc=7.2, anc=3.9, hb=12.8, platelets=260)
    c.growth(ago(3), 21.0 if age > 5.5 else 18.0, 116.0 if age > 5.5 else 109.0)
    return c


def out_of_scope_no_leukemia() -> Chart:
    c = _healthy("out-of-scope-no-leukemia", ("Hughes", "Isla"), "female", 6.0)
    asthma = concept(
        coding(SNOMED, "195967001", "Asthma"),
        coding(ICD10CM, "J45.909", "Unspecified asthma, uncomplicated"),
    )
    c.condition(asthma, ago(700))
    c.medication(
        concept(coding(RXNORM, "435", "albuterol"), text="albuterol"),
        ago(200),
        dose=(2, "{puff}"),
        frequency=4,
    )
    return c


def out_of_scope_entered_in_error() -> Chart:
    # A B-ALL diagnosis filed on the wrong chart and marked entered-in-error: not a patient.
    c = _healthy("out-of-scope-entered-in-error", ("Walsh", "Noah"), "male", 5.0)
    c.condition(B_ALL, ago(30), verification="entered-in-error")
    return c


CHARTS: tuple[Callable[[], Chart], ...] = (
    out_of_scope_adult,
    out_of_scope_t_all,
    out_of_scope_no_leukemia,
    out_of_scope_entered_in_error,
)
