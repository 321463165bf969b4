"""What we know about one child, as plain frozen values (shared/CLINICAL.md §1).

Every fact is a ``Fact``: a value, or ``None`` for *unknown*, plus the FHIR resources it came from.
Unknown is never the same as negative: a predicate on an unknown fact is neither true nor false.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """A FHIR resource a fact was read from: ``Type/id`` and its clinically relevant date."""

    reference: str
    date: date | None = None


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A value (None = unknown) and where it came from."""

    value: T | None = None
    sources: tuple[Source, ...] = ()

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class MrdResult:
    """One measurable-residual-disease result (positive = ≥ 0.01 % or reported detected)."""

    date: date
    positive: bool | None
    value_percent: float | None = None
    # "day8" | "eoi" | "eoc" | "pre-hct" | "post-relapse-eoi", or None when the lab gave none.
    timepoint: str | None = None
    source: Source | None = None
    comparator: str | None = None  # "<", "<=", ">", ">=" as the lab reported it


@dataclass(frozen=True)
class PatientFacts:
    """Everything the pathway reads about one patient on one day (``today`` is injected)."""

    today: date
    patient_id: str | None = None
    birth_date: Fact[date] = field(default_factory=Fact)
    age_years: Fact[float] = field(default_factory=Fact)
    # "b-all" (B-ALL or ALL of unspecified lineage) | "t-all"; unknown = no ALL diagnosis found.
    diagnosis: Fact[str] = field(default_factory=Fact)
    diagnosis_date: Fact[date] = field(default_factory=Fact)
    age_at_diagnosis_months: Fact[float] = field(default_factory=Fact)
    # "first-line" | "first-relapse" | "multiple-relapse" | "refractory"
    line: Fact[str] = field(default_factory=Fact)
    relapse_count: Fact[int] = field(default_factory=Fact)
    relapse_date: Fact[date] = field(default_factory=Fact)
    # Remission reached in the current line (CR1 first line, CR2 after a first relapse).
    in_remission: Fact[bool] = field(default_factory=Fact)
    ph_status: Fact[str] = field(default_factory=Fact)  # "positive" | "negative"
    kmt2a_status: Fact[str] = field(default_factory=Fact)  # "rearranged" | "germline"
    wbc_at_diagnosis: Fact[float] = field(default_factory=Fact)  # 10*3/uL
    nci_risk: Fact[str] = field(default_factory=Fact)  # "standard" | "high" | "infant"
    mrd_results: tuple[MrdResult, ...] = ()
    eoi_mrd: Fact[MrdResult] = field(default_factory=Fact)  # first-line end of induction
    relapse_eoi_mrd: Fact[MrdResult] = field(default_factory=Fact)  # after the latest relapse
    latest_mrd: Fact[MrdResult] = field(default_factory=Fact)
    persistent_mrd: Fact[bool] = field(default_factory=Fact)
    cns_status: Fact[str] = field(default_factory=Fact)  # "CNS1" | "CNS2" | "CNS3"
    extramedullary_site: Fact[str] = field(default_factory=Fact)  # "cns" | "testis"
    isolated_extramedullary: Fact[bool] = field(default_factory=Fact)
    prior_hct: Fact[bool] = field(default_factory=Fact)
    hct_date: Fact[date] = field(default_factory=Fact)
    hct_requested: Fact[bool] = field(default_factory=Fact)  # active or draft HCT request
    therapies: Fact[frozenset[str]] = field(default_factory=Fact)  # active ingredient names
    anc: Fact[float] = field(default_factory=Fact)  # 10*3/uL, last 7 days
    weight_kg: Fact[float] = field(default_factory=Fact)
    height_cm: Fact[float] = field(default_factory=Fact)
    bsa_m2: Fact[float] = field(default_factory=Fact)
    bsa_discrepancy: Fact[bool] = field(default_factory=Fact)  # charted vs computed > 10 %
    trial_enrolled: Fact[bool] = field(default_factory=Fact)
