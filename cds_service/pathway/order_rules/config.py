"""What the order checks read from the knowledge: codes, thresholds and the off-pathway table.

Keys (``knowledge/orders.toml`` unless noted): value sets ``order-hct``, ``order-tbi``,
``order-local-therapy``, ``order-route-intrathecal`` and ``order-off-pathway.<ingredient>``;
thresholds ``order_*``, plus the shared ``infant_age_months`` and ``mrd_positive_percent``
(thresholds.toml). Every one is required: a missing code list would silently switch a safety check
off, so ``order_config`` refuses it and the service checks this at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cds_service.errors import ConfigError
from cds_service.pathway.knowledge import Knowledge

OFF_PATHWAY_PREFIX = "order-off-pathway."
REQUIRED_VALUE_SETS = ("order-hct", "order-tbi", "order-local-therapy", "order-route-intrathecal")
REQUIRED_THRESHOLDS = (
    "order_dose_tolerance",
    "order_infant_hct_min_age_months",
    "infant_age_months",
    "mrd_positive_percent",
)
# A policy switch, not a clinical limit: info-only order cards at order-sign (orders.py docstring).
_OPTIONAL_THRESHOLDS = {"order_sign_shows_info": 0.0}

CodeSet = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class OrderConfig:
    """The order checks' slice of the knowledge."""

    hct_codes: CodeSet
    tbi_codes: CodeSet
    local_therapy_codes: CodeSet
    intrathecal_routes: CodeSet
    listed_by: Mapping[str, frozenset[str]]  # restricted biologic -> steps that list it
    dose_tolerance: float
    infant_hct_min_months: float
    infant_months: float
    mrd_positive_percent: float
    sign_shows_info: bool


def order_config(knowledge: Knowledge) -> OrderConfig:
    """Read the order checks' codes and limits from the knowledge; ConfigError if any is missing."""
    missing = [n for n in REQUIRED_VALUE_SETS if not knowledge.value_sets.get(n)] + [
        n for n in REQUIRED_THRESHOLDS if n not in knowledge.thresholds
    ]
    if missing:
        raise ConfigError(f"order checks: missing value sets or thresholds: {', '.join(missing)}")

    def codes(name: str) -> CodeSet:
        return frozenset((c.system, c.code) for c in knowledge.value_sets[name])

    def limit(name: str) -> float:
        return float(knowledge.thresholds.get(name, _OPTIONAL_THRESHOLDS.get(name, 0.0)))

    listed_by = {
        name.removeprefix(OFF_PATHWAY_PREFIX): frozenset(c.code for c in value_set)
        for name, value_set in knowledge.value_sets.items()
        if name.startswith(OFF_PATHWAY_PREFIX)
    }
    return OrderConfig(
        hct_codes=codes("order-hct"),
        tbi_codes=codes("order-tbi"),
        local_therapy_codes=codes("order-local-therapy"),
        intrathecal_routes=codes("order-route-intrathecal"),
        listed_by=listed_by,
        dose_tolerance=limit("order_dose_tolerance"),
        infant_hct_min_months=limit("order_infant_hct_min_age_months"),
        infant_months=limit("infant_age_months"),
        mrd_positive_percent=limit("mrd_positive_percent"),
        sign_shows_info=limit("order_sign_shows_info") >= 1,
    )
