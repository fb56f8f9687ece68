"""Golden patients for NSAID safety at order-sign: every NSAID form and every caution class, on messy charts.

Charts mix RxNorm product codes, ingredient codes, local formulary codes and
text-only medications, as EHRs send them. Each :class:`NsaidCase` says what a
prescriber must see: the card's indicator (``None``: no card) and the words
its detail must hold. All names and charts are invented; RxNorm products come
from ``plugin/data``, ingredient codes from the clinical facts, ICD-10-CM codes
are checked by the builder.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds_content.demo import Case, Person, concept, icd, lab_result, loinc, medication_request, medication_statement, prescription, rx, sct
from cds_content.demo import condition as cond
from plugin.demo.codes import IBUPROFEN_600, MELOXICAM_15, WARFARIN_5

FORMULARY = "http://hospital.example.org/fhir/CodeSystem/formulary"
GFR_UNIT = "mL/min/{1.73_m2}"
NAPROXEN_500 = rx("198014", "Naproxen 500 MG Oral Tablet")
DABIGATRAN_150 = rx("1037045", "dabigatran etexilate 150 MG Oral Capsule")


def local(code: str, text: str) -> dict:
    """A medication coded only in the hospital's own formulary (no RxNorm code)."""
    return concept(FORMULARY, code, text)


def text_only(text: str) -> dict:
    return {"text": text}


def with_ingredient(rxcui: str, ingredient: str, text: str) -> dict:
    """A formulary product whose coding also carries the RxNorm ingredient, as some EHRs send it."""
    return {"coding": [{"system": FORMULARY, "code": f"F{rxcui}"},
                       {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxcui, "display": ingredient}],
            "text": text}


@dataclass(frozen=True)
class NsaidCase:
    case: Case
    indicator: str | None
    words: tuple[str, ...] = ()


def sign(case_id: str, about: str, person: Person, records: tuple, orders: tuple, indicator: str | None, *words: str) -> NsaidCase:
    return NsaidCase(Case(case_id, "order-sign", about, person, records, orders), indicator, words)


def adult(slug: str, given: str, family: str, gender: str, age: int) -> Person:
    return Person(f"nsaid-{slug}", given, family, gender, age)


NSAID_CASES: list[NsaidCase] = [
    # ---- forms: injection, nasal spray, suspension, brand name, liqui-gels, ingredient code ----------------------
    sign("nsaid-ketorolac-injection-age-72", "Ketorolac injection (formulary code only) for a 72-year-old: avoid (Beers).",
         adult("irene-baptiste", "Irene", "Baptiste", "female", 72), (),
         (prescription(local("KET30INJ", "Ketorolac tromethamine 30 mg/mL injection, 1 mL IM once")),),
         "critical", "ketorolac at age 65 or older", "age 65 or older (Beers criteria)"),
    sign("nsaid-ketorolac-nasal-age-68", "Ketorolac nasal spray as free text only, age 68: avoid.",
         adult("walter-nkemelu", "Walter", "Nkemelu", "male", 68), (),
         (prescription(text_only("ketorolac 15.75 mg per spray nasal spray (Sprix), 1 spray each nostril q8h")),),
         "critical", "ketorolac at age 65 or older"),
    sign("nsaid-toradol-brand-age-66", "Toradol tablets named by brand only, age 66: avoid.",
         adult("ruth-okafor", "Ruth", "Okafor", "female", 66), (), (prescription(text_only("Toradol 10 mg tab PO q6h prn")),),
         "critical", "ketorolac at age 65 or older"),
    sign("nsaid-ketorolac-injection-age-40-warfarin", "Ketorolac injection for a 40-year-old on warfarin (product code): avoid for the anticoagulant.",
         adult("dario-ferri", "Dario", "Ferri", "male", 40), (medication_request(WARFARIN_5),),
         (prescription(local("KET15INJ", "Ketorolac 15 mg/mL injectable solution")),), "critical", "anticoagulant use"),
    sign("nsaid-suspension-enoxaparin", "Ibuprofen oral suspension coded with the ingredient; enoxaparin injections active: avoid.",
         adult("mina-sato", "Mina", "Sato", "female", 34),
         (medication_request(with_ingredient("67108", "enoxaparin", "Enoxaparin 40 mg/0.4 mL subcutaneous injection daily")),),
         (prescription(with_ingredient("5640", "ibuprofen", "Ibuprofen 100 mg/5 mL oral suspension")),), "critical", "anticoagulant use"),
    sign("nsaid-liquigels-age-70", "Ibuprofen liqui-gels (text only) for a 70-year-old: a capsule, not a topical gel: use with care.",
         adult("george-lindqvist", "George", "Lindqvist", "male", 70), (),
         (prescription(text_only("Ibuprofen 200 MG [Advil Liqui-Gels], 2 caps every 6 hours")),), "warning", "age 65 or older"),
    # ---- topical forms ---------------------------------------------------------------------------------------------
    sign("nsaid-topical-gel-warfarin", "Diclofenac gel (text only) for a patient on warfarin: topical, lower risk, no 'avoid'.",
         adult("hanna-berg", "Hanna", "Berg", "female", 61), (medication_request(WARFARIN_5),),
         (prescription(text_only("Diclofenac sodium 1% topical gel, apply to right knee four times daily")),), "info",
         "topical, lower risk", "anticoagulant use"),
    sign("nsaid-ketorolac-eye-drops-age-74", "Ketorolac eye drops for a 74-year-old: topical, not the ketorolac 'avoid'.",
         adult("omar-haddad", "Omar", "Haddad", "male", 74), (),
         (prescription(local("KETOPH", "Ketorolac 0.5% ophthalmic solution, 1 drop left eye four times daily")),), "info",
         "topical, lower risk", "age 65 or older"),
    sign("nsaid-topical-no-caution", "Voltaren gel for a 45-year-old with nothing on record: no card.",
         adult("lena-fischer", "Lena", "Fischer", "female", 45), (), (prescription(text_only("Voltaren Arthritis Pain Gel")),), None),
    # ---- kidney ----------------------------------------------------------------------------------------------------
    sign("nsaid-dialysis-z992", "Naproxen for a patient on dialysis (Z99.2 only): avoid.",
         adult("samuel-achebe", "Samuel", "Achebe", "male", 57), (cond(icd("Z99.2"), onset_days=400),), (prescription(NAPROXEN_500),),
         "critical", "chronic kidney disease stage 4-5 or dialysis"),
    sign("nsaid-egfr-mdrd-low", "Meloxicam, latest eGFR 22 reported with the MDRD code 33914-3: avoid.",
         adult("paula-reyes", "Paula", "Reyes", "female", 63),
         (lab_result(loinc("33914-3", "eGFR (MDRD)"), 22, GFR_UNIT, days=12),), (prescription(MELOXICAM_15),),
         "critical", "latest eGFR 22 (below 30)"),
    sign("nsaid-egfr-two-equations", "Ibuprofen; the newest day reports eGFR 31 and 27 (MDRD by race): the lower counts, avoid.",
         adult("victor-mensah", "Victor", "Mensah", "male", 59),
         (lab_result(loinc("48642-3", "eGFR (MDRD), non-Black"), 31, GFR_UNIT, days=5),
          lab_result(loinc("48643-1", "eGFR (MDRD), Black"), 27, GFR_UNIT, days=5),
          lab_result(loinc("88294-4", "eGFR (CKD-EPI), non-Black"), 18, GFR_UNIT, days=300)),
         (prescription(IBUPROFEN_600),), "critical", "latest eGFR 27 (below 30)"),
    sign("nsaid-ckd3-care", "Ibuprofen with CKD stage 3a (N18.31): use with care, dose advice given.",
         adult("greta-novak", "Greta", "Novak", "female", 52), (cond(icd("N18.31"), onset_days=800),), (prescription(IBUPROFEN_600),),
         "warning", "chronic kidney disease stage 3"),
    # ---- bleeding --------------------------------------------------------------------------------------------------
    sign("nsaid-aspirin-81-care", "Ibuprofen with low-dose aspirin (formulary code, text): use with care, gastroprotection.",
         adult("frank-oduya", "Frank", "Oduya", "male", 58),
         (medication_request(local("ASA81EC", "Aspirin 81 mg enteric-coated tablet daily")),), (prescription(IBUPROFEN_600),),
         "warning", "aspirin or another antiplatelet"),
    sign("nsaid-clopidogrel-statement", "Naproxen; clopidogrel recorded as a statement with its ingredient code: use with care.",
         adult("agnes-kowalski", "Agnes", "Kowalski", "female", 62),
         (medication_statement(rx("32968", "clopidogrel")),), (prescription(NAPROXEN_500),), "warning", "aspirin or another antiplatelet"),
    sign("nsaid-z7982-aspirin", "Meloxicam with long-term aspirin use coded Z79.82 only: use with care.",
         adult("tomas-silva", "Tomas", "Silva", "male", 55), (cond(icd("Z79.82"), onset_days=900),), (prescription(MELOXICAM_15),),
         "warning", "aspirin or another antiplatelet"),
    sign("nsaid-dabigatran-product", "Ibuprofen for a patient on a dabigatran product: avoid.",
         adult("nora-quinn", "Nora", "Quinn", "female", 60), (medication_request(DABIGATRAN_150),), (prescription(IBUPROFEN_600),),
         "critical", "anticoagulant use"),
    sign("nsaid-edoxaban-statement", "Naproxen; edoxaban statement with the ingredient code only: avoid.",
         adult("felix-braun", "Felix", "Braun", "male", 56), (medication_statement(rx("1599538", "edoxaban")),),
         (prescription(NAPROXEN_500),), "critical", "anticoagulant use"),
    sign("nsaid-melena", "Ibuprofen with melena (K92.1) on the problem list: use with care.",
         adult("kwame-asante", "Kwame", "Asante", "male", 49), (cond(icd("K92.1"), onset_days=20),), (prescription(IBUPROFEN_600),),
         "warning", "ulcer or gastrointestinal bleeding"),
    sign("nsaid-hematemesis-resolved", "Naproxen; hematemesis (K92.0) resolved last year: still a caution.",
         adult("elena-popescu", "Elena", "Popescu", "female", 51),
         (cond(icd("K92.0"), onset_days=380, clinical="resolved"),), (prescription(NAPROXEN_500),), "warning",
         "ulcer or gastrointestinal bleeding"),
    sign("nsaid-heparin-flush-no-card", "Ibuprofen for a 44-year-old whose only heparin is a line flush: no card.",
         adult("ivy-chen", "Ivy", "Chen", "female", 44),
         (medication_request(text_only("Heparin lock flush 10 units/mL, 3 mL IV per line care protocol")),), (prescription(IBUPROFEN_600),),
         None),
    # ---- heart failure, steroids -----------------------------------------------------------------------------------
    sign("nsaid-hf-hypertensive-i110", "Naproxen with heart failure coded as hypertensive heart disease with heart failure (I11.0).",
         adult("bruno-costa", "Bruno", "Costa", "male", 62), (cond(icd("I11.0"), onset_days=700),), (prescription(NAPROXEN_500),),
         "warning", "heart failure"),
    sign("nsaid-hf-congestive-sct", "Ibuprofen with congestive heart failure (SNOMED 42343007).",
         adult("dora-weiss", "Dora", "Weiss", "female", 60), (cond(sct("42343007", "Congestive heart failure"), onset_days=500),),
         (prescription(IBUPROFEN_600),), "warning", "heart failure"),
    sign("nsaid-prednisone-prescription", "Ibuprofen with an active prednisone prescription (text only), no Z79.52: use with care.",
         adult("leo-marchetti", "Leo", "Marchetti", "male", 47),
         (medication_request(text_only("predniSONE 20 mg oral tablet, taper over 3 weeks")),), (prescription(IBUPROFEN_600),),
         "warning", "steroid"),
    sign("nsaid-hydrocortisone-cream-no-card", "Ibuprofen for a 39-year-old using hydrocortisone cream only: no card.",
         adult("maya-lund", "Maya", "Lund", "female", 39),
         (medication_request(with_ingredient("5492", "hydrocortisone", "Hydrocortisone 1% cream, apply twice daily")),),
         (prescription(IBUPROFEN_600),), None),
    # ---- pregnancy -------------------------------------------------------------------------------------------------
    sign("nsaid-pregnancy-24-weeks", "Naproxen at 24 weeks of pregnancy (Z3A.24, Z34.82): avoid.",
         adult("sofia-almeida", "Sofia", "Almeida", "female", 31),
         (cond(icd("Z34.82"), onset_days=150), cond(icd("Z3A.24"), onset_days=3)), (prescription(NAPROXEN_500),), "critical", "pregnancy"),
    sign("nsaid-pregnancy-snomed", "Ibuprofen for a pregnant patient coded with SNOMED 77386006 only, weeks unknown: avoid.",
         adult("ada-nwosu", "Ada", "Nwosu", "female", 28), (cond(sct("77386006", "Pregnancy"), onset_days=60),),
         (prescription(IBUPROFEN_600),), "critical", "pregnancy"),
    sign("nsaid-postpartum-no-card", "Ibuprofen after delivery (puerperium code O90.89 only), age 30: not pregnant, no card.",
         adult("julia-mendes", "Julia", "Mendes", "female", 30), (cond(icd("O90.89"), onset_days=10),), (prescription(IBUPROFEN_600),),
         None),
    # ---- duplicate therapy -----------------------------------------------------------------------------------------
    sign("nsaid-duplicate-active", "Ibuprofen drafted while naproxen is active: duplicate therapy.",
         adult("oscar-vidal", "Oscar", "Vidal", "male", 50), (medication_request(NAPROXEN_500),), (prescription(IBUPROFEN_600),),
         "warning", "duplicate therapy"),
    sign("nsaid-duplicate-drafted", "Celecoxib (text) and ibuprofen drafted together: duplicate therapy.",
         adult("rita-santos", "Rita", "Santos", "female", 46), (),
         (prescription(IBUPROFEN_600), prescription(text_only("Celecoxib 200 mg capsule daily"))), "warning", "duplicate therapy"),
    sign("nsaid-aspirin-free-no-card", "Ibuprofen for a 41-year-old whose other pain reliever is labelled aspirin-free: no card.",
         adult("colin-frey", "Colin", "Frey", "male", 41),
         (medication_statement(text_only("Aspirin-free pain reliever (acetaminophen 500 mg) as needed")),), (prescription(IBUPROFEN_600),),
         None),
    sign("nsaid-stopped-antiplatelet-no-card", "Ibuprofen; clopidogrel was stopped: no card.",
         adult("yusuf-demir", "Yusuf", "Demir", "male", 42), (medication_request(rx("32968", "clopidogrel"), status="stopped"),),
         (prescription(IBUPROFEN_600),), None),
]
