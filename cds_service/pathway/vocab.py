"""Names of the value sets and thresholds the code reads: the knowledge files must define them all.

The loader refuses to start when one is missing, so a site editing the TOML cannot silently drop a
code list the normaliser relies on.
"""

from __future__ import annotations

# Conditions (CLINICAL.md §1 "has B-ALL", "disease state", "prior HCT").
DIAGNOSIS_B_ALL = "diagnosis-b-all"
DIAGNOSIS_ALL_UNSPECIFIED = "diagnosis-all-unspecified"
DIAGNOSIS_T_ALL = "diagnosis-t-all"
DIAGNOSIS_PH_POSITIVE = "diagnosis-ph-positive"
DIAGNOSIS_KMT2A = "diagnosis-kmt2a-rearranged"
DIAGNOSIS_RELAPSE = "diagnosis-relapse"
DIAGNOSIS_REMISSION = "diagnosis-remission"
HCT_HISTORY = "hct-history-condition"
HCT_PROCEDURE = "hct-procedure"
# Disease status observations and their values.
DISEASE_STATUS = "disease-status-observation"
STATUS_RELAPSE = "status-relapse"
STATUS_REMISSION = "status-remission"
STATUS_REFRACTORY = "status-refractory"
# Genomics.
PH_TEST = "ph-test"
KMT2A_TEST = "kmt2a-test"
GENOMIC_VARIANT = "genomic-variant"
GENE_STUDIED = "gene-studied"
GENE_BCR = "gene-bcr"
GENE_ABL1 = "gene-abl1"
GENE_KMT2A = "gene-kmt2a"
KARYOTYPE = "karyotype-iscn"
# Result values.
RESULT_DETECTED = "result-detected"
RESULT_NOT_DETECTED = "result-not-detected"
INTERPRETATION_POSITIVE = "interpretation-positive"
INTERPRETATION_NEGATIVE = "interpretation-negative"
# Labs and vitals.
WBC = "wbc"
ANC = "anc"
BODY_WEIGHT = "body-weight"
BODY_HEIGHT = "body-height"
BSA = "bsa"
CNS_STATUS = "cns-status-observation"
CNS1 = "cns1"
CNS2 = "cns2"
CNS3 = "cns3"
MRD = "mrd"
MRD_TIMEPOINT = "mrd-timepoint"
# Relapse sites.
RELAPSE_SITE = "relapse-site-observation"
SITE_CNS = "site-cns"
SITE_TESTIS = "site-testis"
SITE_MARROW = "site-marrow"
# ResearchSubject.status values that mean "enrolled".
RESEARCH_ACTIVE = "research-active-status"

REQUIRED_VALUE_SETS = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)

REQUIRED_THRESHOLDS = frozenset(
    {
        "pediatric_age_limit_years",
        "infant_age_months",
        "nci_high_risk_age_months",
        "wbc_high_risk",
        "mrd_positive_percent",
        "wbc_window_days",
        "eoi_window_min_days",
        "eoi_window_max_days",
        "anc_window_days",
        "vitals_window_days",
        "bsa_discrepancy_fraction",
        "relapse_marrow_window_days",
    }
)
