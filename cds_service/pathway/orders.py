"""Order checks for order-select and order-sign (shared/CLINICAL.md §2, "Order steps").

``check_orders`` runs every order check on the triggering draft orders and returns one ``Finding``
per card. Each check needs all the facts it reads: an unknown fact never raises a card.

Nagging policy (CDS Hooks calls are stateless: order-select and order-sign of one ordering session
carry different ``hookInstance`` values, so the service cannot remember what it already showed):

- order-select: the checks look only at the drafts in ``selections``; the other drafts are context
  (a TKI drafted alongside counts, but an unselected draft raises no card of its own).
- order-sign: every draft is checked again. Warning and critical cards (wrong dose, wrong route,
  missing TKI, HCT with MRD, ...) always show: signing is the last safety net, and a clinician who
  ignored the card at selection must meet it once more before the order becomes real.
- Info-only cards (``order-blinatumomab-safety``, ``order-off-pathway``) show at order-select, and
  at order-sign only for drafts that could never have been selected (drafts without an id cannot be
  named in ``selections``) -- or for every draft when the site sets the knowledge threshold
  ``order_sign_shows_info = 1`` because its EHR never calls order-select.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence

from cds_service.pathway.facts import PatientFacts
from cds_service.pathway.findings import Finding
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.order_rules.common import OrderContext
from cds_service.pathway.order_rules.config import order_config
from cds_service.pathway.order_rules.doses import blinatumomab_dose, imatinib_dose
from cds_service.pathway.order_rules.medication import (
    blinatumomab_safety,
    off_pathway,
    ph_positive_no_tki,
    vincristine_intrathecal,
)
from cds_service.pathway.order_rules.model import DraftSet
from cds_service.pathway.order_rules.procedures import (
    extramedullary_local_only,
    hct_with_detectable_mrd,
    infant_hct_timing,
    infant_tbi,
)

Check = Callable[[OrderContext], list[Finding]]

# Warning and critical checks: run on every trigger at both hooks.
SAFETY_CHECKS: Sequence[Check] = (
    vincristine_intrathecal,
    hct_with_detectable_mrd,
    infant_hct_timing,
    infant_tbi,
    imatinib_dose,
    blinatumomab_dose,
    ph_positive_no_tki,
    extramedullary_local_only,
)
# Info-only checks: subject to the order-sign rule of the nagging policy above.
INFO_CHECKS: Sequence[Check] = (blinatumomab_safety, off_pathway)
_ORDER = {"critical": 0, "warning": 1, "info": 2}


def check_orders(
    facts: PatientFacts,
    drafts: DraftSet,
    knowledge: Knowledge,
    position_step: str | None,
    *,
    active_steps: Collection[str] | None = None,
) -> list[Finding]:
    """Check the triggering draft orders; return the order findings, most severe first.

    ``active_steps`` (optional) are the step codes the engine found for this child (position and
    gaps); when given, ``order-off-pathway`` also accepts a drug listed by an applicable gap step.
    """
    if not drafts.triggers:
        return []
    config = order_config(knowledge)
    ctx = OrderContext(
        facts, drafts, knowledge, config, position_step, drafts.triggers, active_steps
    )
    findings = [f for check in SAFETY_CHECKS for f in check(ctx)]
    info_ctx = ctx
    if drafts.hook == "order-sign" and not config.sign_shows_info:
        never_selectable = tuple(d for d in drafts.triggers if not d.has_id)
        info_ctx = dataclasses.replace(ctx, triggers=never_selectable)
    findings += [f for check in INFO_CHECKS for f in check(info_ctx)]
    return sorted(findings, key=lambda f: _ORDER[f.indicator])
