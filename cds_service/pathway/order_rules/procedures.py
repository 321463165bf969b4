"""Checks on procedure drafts: HCT, total-body irradiation, local therapy (CLINICAL.md §2)."""

from __future__ import annotations

from cds_service.pathway.findings import Finding, Reason
from cds_service.pathway.order_rules.common import (
    OrderContext,
    age_below_months,
    age_months,
    describe_mrd,
    draft_reason,
    drafts_value,
    finding,
    mrd_positive,
)
from cds_service.pathway.order_rules.config import CodeSet
from cds_service.pathway.order_rules.model import DraftOrder

# Drug classes that count as systemic ALL therapy for order-extramedullary-local-only; a steroid
# alone (often an antiemetic) does not.
SYSTEMIC_CLASSES = ("chemotherapy", "tki", "biologic-restricted")


def _coded(drafts: tuple[DraftOrder, ...], codes: CodeSet) -> tuple[DraftOrder, ...]:
    return tuple(d for d in drafts if d.service_codes & codes)


def hct_with_detectable_mrd(ctx: OrderContext) -> list[Finding]:
    """Warn when HCT is ordered while the latest MRD is positive (order-hct-with-detectable-mrd)."""
    hct = _coded(ctx.triggers, ctx.config.hct_codes)
    latest = ctx.facts.latest_mrd.value
    if not hct or latest is None:
        return []
    if mrd_positive(latest, ctx.config.mrd_positive_percent) is not True:
        return []  # negative or uninterpretable MRD: no card (unknown is not positive)
    mrd_sources = (latest.source,) if latest.source else ctx.facts.latest_mrd.sources
    why = (
        draft_reason("HCT order", hct[0], "draft"),
        Reason("Latest MRD", describe_mrd(latest), mrd_sources),
    )
    values = {"drafts": drafts_value(hct), "latest_mrd": describe_mrd(latest)}
    return [finding(ctx, "order-hct-with-detectable-mrd", why, values)]


def infant_hct_timing(ctx: OrderContext) -> list[Finding]:
    """Warn when HCT is ordered for a child under 6 months (order-infant-hct-timing)."""
    hct = _coded(ctx.triggers, ctx.config.hct_codes)
    if not hct or age_below_months(ctx.facts, ctx.config.infant_hct_min_months) is not True:
        return []
    months = age_months(ctx.facts)
    why = (
        draft_reason("HCT order", hct[0], "draft"),
        Reason("Age today", f"{months} months", ctx.facts.birth_date.sources),
    )
    return [finding(ctx, "order-infant-hct-timing", why, _age_values(hct, months))]


def infant_tbi(ctx: OrderContext) -> list[Finding]:
    """Warn when TBI is ordered for an infant or a KMT2A-rearranged patient (order-infant-tbi)."""
    tbi = _coded(ctx.triggers, ctx.config.tbi_codes)
    if not tbi:
        return []
    facts = ctx.facts
    why: list[Reason] = [draft_reason("Total-body irradiation order", tbi[0], "draft")]
    if age_below_months(facts, ctx.config.infant_months) is True:
        why.append(Reason("Age today", f"{age_months(facts)} months", facts.birth_date.sources))
    elif facts.nci_risk.value == "infant":
        # Children treated on the infant pathway keep its regimen choices after their 1st birthday.
        why.append(Reason("Risk group", "infant ALL", facts.nci_risk.sources))
    if facts.kmt2a_status.value == "rearranged":
        why.append(Reason("KMT2A", "rearranged", facts.kmt2a_status.sources))
    if len(why) == 1:
        return []
    return [finding(ctx, "order-infant-tbi", tuple(why), _age_values(tbi, age_months(facts)))]


def extramedullary_local_only(ctx: OrderContext) -> list[Finding]:
    """Warn when an isolated extramedullary relapse gets only local therapy."""
    facts = ctx.facts
    local = _coded(ctx.triggers, ctx.config.local_therapy_codes)
    therapies = facts.therapies.value
    if not local or facts.isolated_extramedullary.value is not True or therapies is None:
        return []
    drafted = {name for d in ctx.drafts.all for name in d.ingredients}
    if any(ctx.drafts.in_class(n, c) for n in drafted | therapies for c in SYSTEMIC_CLASSES):
        return []  # systemic therapy is active or ordered alongside: local therapy is appropriate
    site = facts.extramedullary_site.value or "extramedullary"
    why = (
        draft_reason("Local therapy order", local[0], "draft"),
        Reason("Relapse", f"isolated {site}", facts.isolated_extramedullary.sources),
        Reason("Systemic therapy", "none active or drafted", facts.therapies.sources),
    )
    values = {"drafts": drafts_value(local), "site": site}
    return [finding(ctx, "order-extramedullary-local-only", why, values)]


def _age_values(drafts: tuple[DraftOrder, ...], months: float | None) -> dict[str, object]:
    values: dict[str, object] = {"drafts": drafts_value(drafts)}
    if months is not None:
        values["age_months"] = f"{months:g}"
    return values
