"""Ph (BCR::ABL1) and KMT2A status (CLINICAL.md §1 rows "Ph status", "KMT2A status").

A positive result anywhere wins: a later "not detected" BCR::ABL1 under a TKI is a molecular
response, not a Ph-negative leukemia. Without a positive, a tested negative result says negative.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cds_service.fhir.normalize.common import (
    Resource,
    Vocab,
    codings,
    observation_date,
    source,
    texts,
)
from cds_service.fhir.normalize.conditions import condition_codes, condition_date
from cds_service.fhir.normalize.results import presence
from cds_service.fhir.shapes import listed
from cds_service.pathway import vocab as vs
from cds_service.pathway.facts import Fact, Source

_PH_ISCN = re.compile(r"t\(9;22\)", re.IGNORECASE)
# 11q23 written out, or a translocation breaking chromosome 11 at q23 (e.g. t(4;11)(q21;q23)).
_KMT2A_ISCN = re.compile(
    r"11q23|t\(11;[0-9xy]+\)\(q23|t\([0-9xy]+;11\)\([pq][0-9.]+;q23", re.IGNORECASE
)

Finding = tuple[bool, Source]


def _iscn_texts(obs: Resource, vocab: Vocab) -> list[str]:
    found: list[str] = []
    holders = [obs] if vocab.has(vs.KARYOTYPE, codings(obs.get("code"))) else []
    holders += [
        c
        for c in listed(obs.get("component"))
        if isinstance(c, dict) and vocab.has(vs.KARYOTYPE, codings(c.get("code")))
    ]
    for holder in holders:
        if isinstance(holder.get("valueString"), str):
            found.append(holder["valueString"])
        found += texts(holder.get("valueCodeableConcept"))
    return found


def _genes(obs: Resource, vocab: Vocab) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for component in listed(obs.get("component")):
        if isinstance(component, dict) and vocab.has(
            vs.GENE_STUDIED, codings(component.get("code"))
        ):
            pairs += codings(component.get("valueCodeableConcept"))
    return pairs


def _observation_findings(obs: Resource, vocab: Vocab) -> tuple[list[bool], list[bool]]:
    """Return the (Ph, KMT2A) results one Observation states."""
    ph: list[bool] = []
    kmt2a: list[bool] = []
    code = codings(obs.get("code"))
    result = presence(obs, vocab)
    if vocab.has(vs.PH_TEST, code) and result is not None:
        ph.append(result)
    if vocab.has(vs.KMT2A_TEST, code) and result is not None:
        # CLINICAL.md §1: a KMT2A test that was done and negative means germline.
        kmt2a.append(result)
    if vocab.has(vs.GENOMIC_VARIANT, code) and result is not None:
        genes = _genes(obs, vocab)
        if vocab.has(vs.GENE_BCR, genes) and vocab.has(vs.GENE_ABL1, genes):
            ph.append(result)
        if vocab.has(vs.GENE_KMT2A, genes):
            kmt2a.append(result)
    for text in _iscn_texts(obs, vocab):
        # A karyotype without the translocation does not exclude a cryptic fusion: positive only.
        if _PH_ISCN.search(text):
            ph.append(True)
        if _KMT2A_ISCN.search(text):
            kmt2a.append(True)
    return ph, kmt2a


def genomic_status(
    observations: Sequence[Resource], conditions: Sequence[Resource], vocab: Vocab
) -> tuple[Fact[str], Fact[str]]:
    """Return ph_status ("positive"/"negative") and kmt2a_status ("rearranged"/"germline")."""
    ph: list[Finding] = []
    kmt2a: list[Finding] = []
    for obs in observations:
        src = source(obs, observation_date(obs))
        found_ph, found_kmt2a = _observation_findings(obs, vocab)
        ph += [(value, src) for value in found_ph]
        kmt2a += [(value, src) for value in found_kmt2a]
    for condition in conditions:
        pairs = condition_codes(condition)
        src = source(condition, condition_date(condition))
        if vocab.has(vs.DIAGNOSIS_PH_POSITIVE, pairs):
            ph.append((True, src))
        if vocab.has(vs.DIAGNOSIS_KMT2A, pairs):
            kmt2a.append((True, src))
    return _status(ph, "positive", "negative"), _status(kmt2a, "rearranged", "germline")


def _status(findings: list[Finding], positive: str, negative: str) -> Fact[str]:
    hits = tuple(src for value, src in findings if value)
    if hits:
        return Fact(positive, hits)
    misses = tuple(src for value, src in findings if not value)
    return Fact(negative, misses) if misses else Fact()
