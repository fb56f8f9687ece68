"""Coded concepts and record helpers shared by the golden patients and the demo patients.

Every code here is real: LOINC for imaging and labs, SNOMED CT and ICD-10-CM
for conditions (ICD-10-CM checked by :func:`cds_content.demo.icd`), RxNorm
products from ``plugin/data`` for medicines.
"""

from __future__ import annotations

from cds_content.demo import imaging_report, loinc, rx, sct

MRI = {
    "knee": loinc("30691-0", "MRI knee without contrast"),
    "hip": loinc("30687-8", "MRI hip without contrast"),
    "ankle": loinc("24538-1", "MRI ankle without contrast"),
    "foot": loinc("24707-2", "MRI foot without contrast"),
    "spine": loinc("24968-0", "MRI lumbar spine without contrast"),
    "pelvis": loinc("24867-4", "MRI pelvis without contrast"),
    "sacroiliac": loinc("36031-3", "MRI sacroiliac joints without contrast"),
}
XRAY = {
    "knee": loinc("28565-0", "X-ray knee"),
    "hip": loinc("24762-7", "X-ray hip"),
    "spine": loinc("24972-2", "X-ray lumbar spine"),
}
NEGATIVE_XRAY = "IMPRESSION: No acute osseous abnormality. No fracture. Joint spaces preserved."

# Common conditions (SNOMED CT or ICD-10-CM; cases mix both on purpose).
OA_KNEE_SCT = sct("239873007", "Osteoarthritis of knee")
OSTEOPOROSIS_SCT = sct("64859006", "Osteoporosis")

# Medicines (RxNorm products from plugin/data, as prescribing screens send them).
IBUPROFEN_600 = rx("197806", "Ibuprofen 600 MG Oral Tablet")
NAPROSYN_250 = rx("105898", "Naproxen 250 MG Oral Tablet [Naprosyn]")
CELECOXIB_200 = rx("205323", "celecoxib 200 MG Oral Capsule")
MELOXICAM_15 = rx("152695", "meloxicam 15 MG Oral Tablet")
WARFARIN_5 = rx("855332", "Warfarin Sodium 5 MG Oral Tablet")
APIXABAN_5 = rx("1364445", "apixaban 5 MG Oral Tablet")
ACETAMINOPHEN = rx("161", "acetaminophen")
EGFR = loinc("98979-8", "eGFR (CKD-EPI 2021)")


def mri(site: str, text: str, days: int = 30, **kwargs) -> dict:
    return imaging_report(MRI[site], days=days, conclusion=text, **kwargs)


def xray(site: str, text: str = NEGATIVE_XRAY, days: int = 20) -> dict:
    return imaging_report(XRAY[site], days=days, conclusion=text)
