"""The shipped knowledge loads; every defect in a knowledge file stops the start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cds_service.errors import ConfigError
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import check_card_templates, load_knowledge
from cds_service.pathway.vocab import REQUIRED_THRESHOLDS, REQUIRED_VALUE_SETS

SHIPPED = Path(__file__).resolve().parents[2] / "cds_service" / "knowledge"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge"
LAB = "https://b-all-pathway.example/fhir/CodeSystem/lab"
POSITION_STEPS = {
    "induction", "post-induction-mrd-unknown", "consolidation-mrd-negative",
    "consolidation-mrd-positive", "persistent-mrd", "ph-positive", "infant-kmt2a-unknown",
    "infant-kmt2a-high-risk", "infant-kmt2a-intermediate-risk", "infant-kmt2a-germline",
    "relapse-cr2-mrd-negative", "relapse-mrd-positive", "relapse-assessment",
    "multiple-relapse-refractory", "isolated-extramedullary-relapse",
}  # fmt: skip
GAP_STEPS = {
    "standard-risk-blinatumomab", "mrd-eoi-missing", "ph-status-unknown", "kmt2a-status-unknown",
    "ph-positive-no-tki", "hct-with-detectable-mrd", "neutropenia", "blinatumomab-monitoring",
}  # fmt: skip


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(SHIPPED)


def broken_copy(case: str, tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, target)
    for path in (FIXTURES / case).iterdir():
        shutil.copy(path, target / path.name)
    return target


def test_shipped_knowledge_has_a_version(knowledge: Knowledge) -> None:
    assert knowledge.version == "2026.11.0"


def test_shipped_knowledge_has_every_clinical_step(knowledge: Knowledge) -> None:
    kinds = {code: step.kind for code, step in knowledge.steps.items()}
    assert {c for c, k in kinds.items() if k == "position"} == POSITION_STEPS
    assert {c for c, k in kinds.items() if k == "gap"} == GAP_STEPS


def test_shipped_knowledge_defines_what_the_code_reads(knowledge: Knowledge) -> None:
    assert set(knowledge.value_sets) >= REQUIRED_VALUE_SETS
    assert set(knowledge.thresholds) >= REQUIRED_THRESHOLDS


def test_every_pathway_code_says_where_it_was_checked(knowledge: Knowledge) -> None:
    unsourced = [
        (name, code.code)
        for name in REQUIRED_VALUE_SETS
        for code in knowledge.value_sets[name]
        if not code.source
    ]
    assert unsourced == []


@pytest.mark.parametrize(
    ("value_set", "code", "verified"),
    [
        ("diagnosis-b-all", "277571004", True),
        ("wbc", "6690-2", True),
        ("ph-test", "21821-4", False),
        ("kmt2a-test", "72313-0", False),
        ("mrd", "mrd-bm-flow", False),
    ],
)
def test_verified_flag_follows_the_research(
    knowledge: Knowledge, value_set: str, code: str, verified: bool
) -> None:
    (found,) = [c for c in knowledge.value_sets[value_set] if c.code == code]
    assert found.verified is verified


def test_orderables_name_the_codes_the_cards_order(knowledge: Knowledge) -> None:
    assert (
        knowledge.orderables["mrd-bone-marrow"].system,
        knowledge.orderables["mrd-bone-marrow"].code,
    ) == (LAB, "mrd-bm-flow")
    assert knowledge.orderables["imatinib"].code == "282388"
    assert knowledge.orderables["dasatinib"].code == "475342"
    assert knowledge.orderables["kmt2a-test"].code == "kmt2a-rearrangement"
    assert not knowledge.orderables["trial-screening"].verified


def test_mrd_evidence_has_no_link(knowledge: Knowledge) -> None:
    assert knowledge.evidence["MRD"].url is None
    assert knowledge.evidence["AALL1731"].url == "https://pubmed.ncbi.nlm.nih.gov/39651791/"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown-predicate-kind", "steps.case-step.when[0]: unknown predicate kind 'regex'"),
        ("unknown-fact", "zz_case.toml: steps.case-step.when[0]: unknown fact 'favourite_colour'"),
        ("unknown-value-set", "case-set: includes unknown value set 'no-such-value-set'"),
        ("unknown-evidence", "zz_case.toml: steps.case-step: unknown evidence 'NOT-A-REF'"),
        ("no-evidence", "zz_case.toml: steps.case-step: evidence must list at least one reference"),
        ("duplicate-step", "zz_case.toml: duplicate steps entry 'induction' (also in steps.toml)"),
        ("code-empty-system", "zz_case.toml: value_sets.case-set.codes[0]: system '' is neither"),
        ("code-system-not-uri", "value_sets.case-set.codes[0]: system 'snomed ct' is neither"),
        ("code-empty-code", "zz_case.toml: value_sets.case-set.codes[0]: code must be a non-empty"),
        ("code-without-verified", "value_sets.case-set.codes[0]: verified must be true or false"),
        ("missing-version", "pathway.toml: 'version' must be set"),
        ("bad-indicator", "zz_case.toml: steps.case-step: indicator must be one of info, warning"),
        ("bad-kind", "zz_case.toml: steps.case-step: kind must be one of position, gap, order"),
        ("missing-threshold", "threshold 'wbc_high_risk' is required but not defined"),
        ("tied-precedence", "precedence 41 also used by"),
        ("predicate-unknown-threshold", "value names unknown threshold 'no_such_threshold'"),
    ],
)  # fmt: skip
def test_broken_knowledge_stops_the_start(case: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_knowledge(broken_copy(case, tmp_path))
    assert message in str(refused.value)


def test_every_negative_fixture_is_tested() -> None:
    tested = {
        "unknown-predicate-kind", "unknown-fact", "unknown-value-set", "unknown-evidence",
        "no-evidence", "duplicate-step", "code-empty-system", "code-system-not-uri",
        "code-empty-code", "code-without-verified", "missing-version", "bad-indicator", "bad-kind",
        "missing-threshold", "tied-precedence", "predicate-unknown-threshold",
    }  # fmt: skip
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == tested


def test_missing_directory_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_knowledge(tmp_path / "nowhere")


def test_unreadable_toml_names_the_file(tmp_path: Path) -> None:
    target = broken_copy("missing-version", tmp_path)
    (target / "zz_bad.toml").write_text("[steps\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zz_bad\.toml: cannot read"):
        load_knowledge(target)


def test_a_file_without_pathway_sections_is_left_to_its_reader(tmp_path: Path) -> None:
    target = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, target)
    (target / "other.toml").write_text('version = "x"\n[ingredients.x]\ncodes = []\n', "utf-8")
    assert load_knowledge(target).version == "2026.11.0"


def test_a_site_adds_its_mrd_code_by_editing_the_value_set(tmp_path: Path) -> None:
    target = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, target)
    text = (target / "value_sets.toml").read_text(encoding="utf-8")
    shipped_line = '{ system = "lab", code = "mrd-pb-flow"'
    site_line = (
        '  { system = "https://lab.example-hospital.org/codes", code = "MRD-BM-FC", '
        'display = "MRD", verified = false, source = "site lab catalogue" },\n'
    )
    start = text.index(shipped_line)
    end = text.index("\n", start) + 1
    (target / "value_sets.toml").write_text(text[:end] + site_line + text[end:], "utf-8")
    codes = load_knowledge(target).codes("mrd")
    assert ("https://lab.example-hospital.org/codes", "MRD-BM-FC") in codes
    assert (LAB, "mrd-bm-flow") in codes


def test_card_templates_must_match_the_steps(knowledge: Knowledge) -> None:
    codes = set(knowledge.step_codes) - {"neutropenia"} | {"made-up-step"}
    with pytest.raises(ConfigError) as refused:
        check_card_templates(knowledge, codes)
    assert "steps without a card template: neutropenia" in str(refused.value)
    assert "card templates without a step: made-up-step" in str(refused.value)


def test_matching_card_templates_pass(knowledge: Knowledge) -> None:
    check_card_templates(knowledge, knowledge.step_codes)
