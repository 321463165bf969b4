"""Checks on medication drafts that need no dose arithmetic (CLINICAL.md §2, order steps)."""

from __future__ import annotations

import re

from cds_service.pathway.facts import PatientFacts
from cds_service.pathway.findings import Action, Finding, Reason, Suggestion
from cds_service.pathway.order_rules.common import (
    OrderContext,
    draft_reason,
    drafts_value,
    finding,
)
from cds_service.pathway.order_rules.model import DraftOrder

_INTRATHECAL_TEXT = re.compile(r"\bintrathecal(ly)?\b", re.IGNORECASE)
STANDARD_RISK_BLINATUMOMAB = "standard-risk-blinatumomab"


def vincristine_intrathecal(ctx: OrderContext) -> list[Finding]:
    """Stop intrathecal vincristine: fatal by that route (order-vincristine-intrathecal)."""
    findings = []
    for draft in ctx.triggers:
        if "vincristine" not in draft.ingredients or not _intrathecal(ctx, draft):
            continue
        suggestions: tuple[Suggestion, ...] = ()
        if draft.has_id:
            action = Action(
                "delete", "Remove the intrathecal vincristine draft order", None, draft.reference
            )
            suggestions = (Suggestion("Remove this order", (action,), recommended=True),)
        why = (draft_reason("Vincristine order", draft, "route: intrathecal"),)
        values = {"drafts": (draft.reference,)}
        findings.append(finding(ctx, "order-vincristine-intrathecal", why, values, suggestions))
    return findings


def _intrathecal(ctx: OrderContext, draft: DraftOrder) -> bool:
    # Codes first; the route text too, because a wrong-route order is worth catching even when
    # the EHR sent the route uncoded (a safety rule: a false "no" is the costly error).
    if draft.routes & ctx.config.intrathecal_routes:
        return True
    return any(_INTRATHECAL_TEXT.search(text) for text in draft.route_texts)


def ph_positive_no_tki(ctx: OrderContext) -> list[Finding]:
    """Warn when a Ph+ child gets chemotherapy with no TKI active or drafted."""
    facts, drafts = ctx.facts, ctx.drafts
    therapies = facts.therapies.value
    if facts.ph_status.value != "positive" or therapies is None:
        return []
    chemo = tuple(
        d for d in ctx.triggers if any(drafts.in_class(n, "chemotherapy") for n in d.ingredients)
    )
    drafted = {name for d in drafts.all for name in d.ingredients}  # context drafts count too
    if not chemo or any(drafts.in_class(n, "tki") for n in drafted | therapies):
        return []
    why = (
        Reason("Ph status (BCR::ABL1)", "positive", facts.ph_status.sources),
        draft_reason("Chemotherapy order", chemo[0], ", ".join(sorted(chemo[0].ingredients))),
        Reason("TKI", "none active or drafted", facts.therapies.sources),
    )
    values: dict[str, object] = {"drafts": drafts_value(chemo)}
    if facts.bsa_m2.value is not None:
        values["bsa_m2"] = facts.bsa_m2.value  # the card's start-imatinib suggestion doses from it
    return [finding(ctx, "order-ph-positive-no-tki", why, values)]


def blinatumomab_safety(ctx: OrderContext) -> list[Finding]:
    """Show the blinatumomab monitoring card for blinatumomab drafts."""
    blina = tuple(d for d in ctx.triggers if "blinatumomab" in d.ingredients)
    if not blina:
        return []
    why = (draft_reason("Blinatumomab order", blina[0], "draft"),)
    return [finding(ctx, "order-blinatumomab-safety", why, {"drafts": drafts_value(blina)})]


def off_pathway(ctx: OrderContext) -> list[Finding]:
    """Flag a restricted immunotherapy the child's pathway position does not list."""
    if ctx.position_step is None:
        return []  # position unknown: we cannot say the order is off the pathway
    findings = []
    for draft in ctx.triggers:
        for name in sorted(draft.ingredients):
            listed = ctx.config.listed_by.get(name)
            if listed is None or _listed_here(ctx, listed):
                continue
            why = (
                draft_reason("Immunotherapy order", draft, name),
                Reason("Pathway position", ctx.position_step),
            )
            values = {
                "drafts": (draft.reference,),
                "drug": name,
                "position_step": ctx.position_step,
            }
            findings.append(finding(ctx, "order-off-pathway", why, values))
    return findings


def _listed_here(ctx: OrderContext, listed: frozenset[str]) -> bool:
    position = ctx.position_step
    if position in listed:
        return True
    if ctx.active_steps is not None:
        return bool(listed & set(ctx.active_steps))
    # Without the gap findings, the standard-risk blinatumomab gap (AALL1731) counts as listing
    # the drug unless the facts rule it out: unknown eligibility must not raise the card.
    return STANDARD_RISK_BLINATUMOMAB in listed and not _rules_out_standard_risk(ctx.facts)


def _rules_out_standard_risk(facts: PatientFacts) -> bool:
    return (
        (facts.nci_risk.known and facts.nci_risk.value != "standard")
        or facts.ph_status.value == "positive"
        or facts.cns_status.value == "CNS3"
        or (facts.line.known and facts.line.value != "first-line")
    )
