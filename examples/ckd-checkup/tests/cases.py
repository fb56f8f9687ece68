"""Synthetic patients for the golden tests, built with the generic :mod:`cds_content.demo`."""

from __future__ import annotations

from cds_content.demo import Case, Person, condition, icd, lab_result, loinc

EGFR = loinc("98979-8", "eGFR (CKD-EPI 2021)")
CREATININE = loinc("2160-0", "Creatinine, serum")

ANA = Person("ckd-ana", "Ana", "Example", "female", 67)
BEN = Person("ckd-ben", "Ben", "Example", "male", 58)

CASES = [
    Case("stage-3a-never-tested", "patient-view", "CKD stage 3a, no kidney test on record: card",
         ANA, records=[condition(icd("N18.31"), onset_days=900)]),
    Case("stage-2-tested-400-days-ago", "patient-view", "CKD stage 2, last eGFR more than a year ago: card",
         BEN, records=[condition(icd("N18.2"), onset_days=2000), lab_result(EGFR, 72, "mL/min/{1.73_m2}", days=400)]),
    Case("stage-4-creatinine-last-month", "patient-view", "CKD stage 4, serum creatinine last month: no card",
         ANA, records=[condition(icd("N18.4"), onset_days=700), lab_result(CREATININE, 2.9, "mg/dL", days=30)]),
    Case("unspecified-egfr-this-year", "patient-view", "CKD unspecified, eGFR 200 days ago: no card",
         BEN, records=[condition(icd("N18.9"), onset_days=300), lab_result(EGFR, 48, "mL/min/{1.73_m2}", days=200)]),
    Case("end-stage-renal-disease", "patient-view", "ESRD (N18.6) is out of scope: no card",
         ANA, records=[condition(icd("N18.6"), onset_days=900)]),
    Case("ckd-refuted", "patient-view", "CKD entered but refuted: no card",
         BEN, records=[condition(icd("N18.30"), onset_days=100, verification="refuted")]),
    Case("ckd-resolved", "patient-view", "CKD no longer active: no card",
         BEN, records=[condition(icd("N18.1"), onset_days=100, clinical="resolved")]),
    Case("preliminary-result-only", "patient-view", "CKD stage 3b with only a preliminary eGFR: card",
         ANA, records=[condition(icd("N18.32"), onset_days=400),
                       lab_result(EGFR, 40, "mL/min/{1.73_m2}", days=20, status="preliminary")]),
]
