"""Golden patients of clinical safety II (issue 19, points 1-8 and 11): messy charts, not textbook ones.

Each :class:`Expected` pairs a synthetic chart with the cards a clinician must
see (topic, indicator, suggested codes) and what must not appear (free-text
advice that would be wrong for this patient). Charts mix SNOMED CT and
ICD-10-CM, sided and unsided codes, old studies, children and pregnancy. All
names, reports and dates are invented; codes are real (ICD-10-CM checked by
the builder, LOINC and CPT as in docs/bme-content.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cds_content.demo import Case, Person, cpt, icd, imaging_order, imaging_report, lab_result, loinc, sct
from cds_content.demo import condition as cond
from plugin.demo.codes import MRI, OA_KNEE_SCT, OSTEOPOROSIS_SCT, XRAY, mri, xray

INFO, WARNING = "info", "warning"
BASICS, INFECTION_SHEET = "handout|bme-basics", "handout|bone-infection"
PT = "sct|306170007"
ESR, CRP, VITD, LIPIDS, DXA = "loinc|4537-7", "loinc|1988-5", "loinc|62292-8", "loinc|57698-3", "loinc|38268-9"
WORKUP = (CRP, DXA, ESR, LIPIDS, VITD)
ROUTINE_ADVICE = "usually settles"
XRAY_FIRST_ADVICE = "Start with an X-ray"
XRAY_ANKLE = loinc("24541-5", "XR Ankle Views")
CT_KNEE = loinc("36037-0", "CT Knee")
DXA_CPT = cpt("77080", "DXA bone density, axial skeleton")


@dataclass(frozen=True)
class Expected:
    """A chart and what must (and must not) come back for it.

    ``cards``: topic -> (indicator, sorted suggested codes), exactly the cards
    returned. ``absent``: phrases no card may contain. ``present``: phrases
    some card must contain. ``body_sites``: the ``bodySite`` texts the
    suggested orders carry (the side of a sided joint).
    """

    case: Case
    cards: dict[str, tuple[str, tuple[str, ...]]]
    absent: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    body_sites: frozenset[str] = frozenset()


def pv(case_id: str, about: str, person: Person, *records: dict) -> Case:
    return Case(case_id, "patient-view", about, person, records)


def select(case_id: str, about: str, person: Person, records: tuple, orders: tuple) -> Case:
    return Case(case_id, "order-select", about, person, records, orders)


def person(name: str, gender: str, age: int) -> Person:
    given, family = name.split()
    return Person(f"safety-{given.lower()}-{family.lower()}", given, family, gender, age)


def with_body_site(condition: dict, site: dict) -> dict:
    return {**condition, "bodySite": [site]}


SAFETY_CASES: list[Expected] = [
    # ---- 1. infection beyond osteomyelitis and septic arthritis ---------------------------------------------
    Expected(pv("s1-vertebral-osteomyelitis", "Vertebral osteomyelitis (M46.26) with BME in two lumbar vertebrae: urgent infection card.",
                person("Rafael Soto", "male", 67), cond(icd("M46.26"), onset_days=12),
                mri("spine", "IMPRESSION: Bone marrow edema in the L3 and L4 vertebral bodies with endplate irregularity.")),
             {"bme-infection": (WARNING, (INFECTION_SHEET,))}, absent=(ROUTINE_ADVICE, "Consider a work-up")),
    Expected(pv("s1-infected-knee-prosthesis", "Infected right knee prosthesis (T84.53XA), knee BME: infection card, not OA education.",
                person("Glenda Marsh", "female", 74), cond(icd("T84.53XA"), onset_days=20), cond(icd("M17.11"), onset_days=3000),
                mri("knee", "Marrow edema in the right tibial plateau around the tibial component.")),
             {"bme-infection": (WARNING, (INFECTION_SHEET,))}, absent=(ROUTINE_ADVICE,)),
    Expected(pv("s1-tuberculosis-spine", "Tuberculosis of the spine (A18.01) and vertebral BME: infection card.",
                person("Amara Nwosu", "female", 41), cond(icd("A18.01"), onset_days=40),
                mri("spine", "Bone marrow edema of the T11 and T12 vertebral bodies.")),
             {"bme-infection": (WARNING, (INFECTION_SHEET,))}),
    Expected(pv("s1-diabetic-foot-ulcer", "Diabetic foot ulcer (E11.621, L97.529) with BME under it in the foot: infection path.",
                person("Walter Kim", "male", 62), cond(icd("E11.621"), onset_days=60), cond(icd("L97.529"), onset_days=60),
                mri("foot", "Bone marrow edema in the left first metatarsal head beneath the plantar ulcer.")),
             {"bme-infection": (WARNING, (INFECTION_SHEET,))}, present=("with BME in the foot or ankle",),
             absent=(ROUTINE_ADVICE, "Consider a work-up")),
    Expected(pv("s1-foot-ulcer-knee-bme", "A foot ulcer does not make knee BME an infection: knee OA education card.",
                person("Edith Lowe", "female", 70), cond(icd("E11.621"), onset_days=60), cond(icd("M17.12"), onset_days=2000),
                mri("knee", "Bone marrow edema in the left medial femoral condyle.")),
             {"bme-secondary": (INFO, (PT, "handout|bme-osteoarthritis"))}, absent=("Treat this as urgent",)),
    Expected(pv("s1-report-cannot-exclude", "No infection on the problem list, but the report cannot exclude osteomyelitis: infection card.",
                person("Boris Petrov", "male", 58), cond(icd("E55.9"), onset_days=300),
                mri("foot", "FINDINGS: Bone marrow edema in the calcaneus with overlying soft tissue swelling.\n"
                            "IMPRESSION: Osteomyelitis cannot be excluded.")),
             {"bme-infection": (WARNING, (INFECTION_SHEET,))}, present=("osteomyelitis suspected",)),
    Expected(pv("s1-report-denies-infection", "The report asks about osteomyelitis and denies it: education card, no infection warning.",
                person("Nadia Haddad", "female", 49), cond(icd("E55.9"), onset_days=300),
                mri("foot", "INDICATION: Heel pain, rule out osteomyelitis.\n"
                            "IMPRESSION: Bone marrow edema in the calcaneus. No evidence of osteomyelitis or abscess.")),
             {"bme-secondary": (INFO, (BASICS, "handout|bme-foot-ankle", PT))}, absent=("Treat this as urgent",)),
    # ---- 2. cancer beyond AML, bone metastasis and sarcoma --------------------------------------------------
    Expected(pv("s2-breast-cancer-remission", "Breast cancer marked in remission, hip BME: oncology warning, cancer sheet, no work-up.",
                person("Helen Brooks", "female", 61), cond(icd("C50.911"), onset_days=1500, clinical="remission"),
                mri("hip", "Bone marrow edema in the right femoral neck.")),
             {"bme-cancer": (WARNING, ())}, absent=(ROUTINE_ADVICE, "Consider a work-up")),
    Expected(pv("s2-myeloma-spine", "Multiple myeloma with vertebral BME: oncology warning.",
                person("Victor Hale", "male", 69), cond(icd("C90.00"), onset_days=200),
                mri("spine", "Bone marrow edema in the L2 vertebral body.")),
             {"bme-cancer": (WARNING, ())}),
    Expected(pv("s2-prostate-history-inactive", "Personal history of prostate cancer (Z85.46), marked inactive, hip BME: oncology warning.",
                person("Frank Osborne", "male", 72), cond(icd("Z85.46"), onset_days=2500, clinical="inactive"),
                cond(OSTEOPOROSIS_SCT, onset_days=900), mri("hip", "Edema-like marrow signal in the left femoral head.")),
             {"bme-cancer": (WARNING, ())}, absent=(ROUTINE_ADVICE,)),
    Expected(pv("s2-report-marrow-replacement", "No cancer coded; the MRI reports marrow replacement suspicious for metastasis: oncology warning.",
                person("Lena Fischer", "female", 66),
                mri("hip", "IMPRESSION: Bone marrow edema in the left femoral neck. Marrow replacement in the intertrochanteric region, "
                           "suspicious for metastasis.")),
             {"bme-cancer": (WARNING, ())}, present=("report of",), absent=("Consider a work-up",)),
    Expected(pv("s2-child-leukaemia", "A 9-year-old with acute lymphoblastic leukaemia and knee BME: oncology card only, no lipids or DXA.",
                person("Mateo Ruiz", "male", 9), cond(icd("C91.00"), onset_days=100),
                mri("knee", "Bone marrow edema in the distal femoral metaphysis.")),
             {"bme-cancer": (WARNING, ())}, absent=("lipid panel", "DXA", "Consider a work-up")),
    # ---- 3. red flags change the imaging card ---------------------------------------------------------------
    Expected(pv("s3-breast-history-back-pain", "History of breast cancer (Z85.3) and new low back pain: urgent MRI card, not X-ray first.",
                person("Joan Carter", "female", 58), cond(icd("Z85.3"), onset_days=2000), cond(icd("M54.50"), onset_days=14)),
             {"imaging-red-flag": (WARNING, ("loinc|24968-0",))}, absent=(XRAY_FIRST_ADVICE, "if the pain persists, MRI")),
    Expected(pv("s3-osteomyelitis-knee-pain", "Tibial osteomyelitis, right knee pain, negative knee X-ray: urgent MRI of the right knee.",
                person("Samuel Okoro", "male", 44), cond(icd("M86.161"), onset_days=30), cond(icd("M25.561"), onset_days=20),
                xray("knee", days=10)),
             {"imaging-red-flag": (WARNING, ("loinc|24802-1",))}, body_sites=frozenset({"right knee"})),
    Expected(pv("s3-acute-back-pain-no-flag", "Acute low back pain with an ACL sprain and a tennis elbow, age 45: no imaging card at all.",
                person("Derek Stone", "male", 45), cond(icd("M54.50"), onset_days=20), cond(icd("S83.511A"), onset_days=200),
                cond(icd("M77.11"), onset_days=100)),
             {}),
    Expected(pv("s3-back-pain-osteoporosis", "Osteoporosis (fracture red flag) and low back pain without imaging: X-ray first is right.",
                person("Marta Silva", "female", 68), cond(icd("M81.0"), onset_days=1000), cond(icd("M54.50"), onset_days=10)),
             {"imaging-xray-first": (INFO, ("cpt|72100", "loinc|24972-2"))}),
    Expected(pv("s3-back-pain-age-76", "Age 76 with low back pain and nothing else on record: fracture red flag, X-ray first.",
                person("Arthur Bell", "male", 76), cond(icd("M54.50"), onset_days=10)),
             {"imaging-xray-first": (INFO, ("cpt|72100", "loinc|24972-2"))}, present=("age over 70",)),
    # ---- 4. high-risk known causes --------------------------------------------------------------------------
    Expected(pv("s4-femoral-stress-fracture", "Right femoral stress fracture (M84.351A) with femoral neck BME: urgent orthopedics, no weight bearing.",
                person("Chloe Adams", "female", 24), cond(icd("M84.351A"), onset_days=10),
                mri("hip", "Bone marrow edema in the right femoral neck with a faint linear low signal.")),
             {"bme-femoral-neck-stress-fracture": (WARNING, ())}, present=("No weight bearing",), absent=(ROUTINE_ADVICE,)),
    Expected(pv("s4-femoral-head-osteonecrosis", "Idiopathic osteonecrosis of the right femur (M87.051) with hip BME: orthopedic referral card.",
                person("Tomas Lind", "male", 46), cond(icd("M87.051"), onset_days=120),
                mri("hip", "Bone marrow edema in the right femoral head and neck.")),
             {"bme-femoral-head-osteonecrosis": (WARNING, ())}, absent=(ROUTINE_ADVICE,)),
    Expected(pv("s4-charcot-diabetes", "Diabetic neuropathic arthropathy (E11.610) with midfoot BME: offload and rule out osteomyelitis.",
                person("Ruth Ellis", "female", 63), cond(icd("E11.610"), onset_days=90),
                mri("foot", "Bone marrow edema in the navicular and medial cuneiform.")),
             {"bme-charcot-foot": (WARNING, ())}, present=("total contact cast", "osteomyelitis"), absent=(ROUTINE_ADVICE,)),
    # ---- 5. a cause counts only at its own site -------------------------------------------------------------
    Expected(pv("s5-tennis-elbow-knee-bme", "Lateral epicondylitis (elbow) and knee BME: no 'likely link', work-up instead.",
                person("Karl Meyer", "male", 44), cond(icd("M77.11"), onset_days=200),
                mri("knee", "Bone marrow edema in the lateral femoral condyle.")),
             {"bme-syndrome-workup": (INFO, WORKUP)}, absent=("Likely link",)),
    Expected(pv("s5-jaw-osteonecrosis-hip-bme", "Jaw osteonecrosis (M87.180) and thumb-base arthritis (M18.11) with hip BME: work-up.",
                person("Greta Olsen", "female", 57), cond(icd("M87.180"), onset_days=400), cond(icd("M18.11"), onset_days=800),
                mri("hip", "Bone marrow edema in the left femoral head.")),
             {"bme-syndrome-workup": (INFO, WORKUP)}, absent=("Likely link", "orthopedic referral")),
    Expected(pv("s5-patellar-tendinitis-knee-bme", "Patellar tendinitis at the knee explains knee BME: education card.",
                person("Oscar Diaz", "male", 33), cond(icd("M76.51"), onset_days=90),
                mri("knee", "Bone marrow edema at the inferior pole of the right patella.")),
             {"bme-secondary": (INFO, (BASICS, PT))}),
    Expected(select("s5-tennis-elbow-pelvis-xray", "Tennis elbow only, pelvis X-ray selected: no card, no sacroiliac MRI.",
                    person("Iris Nolan", "female", 39), (cond(icd("M77.11"), onset_days=100),),
                    (imaging_order(cpt("72170", "X-ray pelvis")),)),
             {}),
    Expected(select("s5-spondylitis-si-mri-done", "Ankylosing spondylitis with a sacroiliac MRI on record, pelvis X-ray selected: no new SI MRI.",
                    person("Henrik Dahl", "male", 35),
                    (cond(icd("M45.9"), onset_days=700), imaging_report(MRI["sacroiliac"], days=200,
                                                                         conclusion="Bilateral sacroiliitis with subchondral bone marrow edema.")),
                    (imaging_order(cpt("72170", "X-ray pelvis")),)),
             {"imaging-cannot-show-bme": (INFO, ())}),
    # ---- 6. laterality and timing of imaging ----------------------------------------------------------------
    Expected(pv("s6-xray-of-the-other-knee", "Osteoporosis, right knee pain, a negative LEFT knee X-ray: X-ray of the right knee first.",
                person("Agnes Wright", "female", 71), cond(OSTEOPOROSIS_SCT, onset_days=1500), cond(icd("M25.561"), onset_days=25),
                imaging_report(loinc("28565-0", "XR Knee left"), days=15, conclusion="IMPRESSION: No fracture. Joint spaces preserved.")),
             {"imaging-xray-first": (INFO, ("cpt|73562", "loinc|28565-0"))}, body_sites=frozenset({"right knee"}),
             absent=("MRI without contrast of the painful site is the test",)),
    Expected(pv("s6-old-xray", "Osteoporosis, knee pain this month, the only knee X-ray is three years old: X-ray first.",
                person("Peter Quinn", "male", 69), cond(OSTEOPOROSIS_SCT, onset_days=1500), cond(icd("M25.562"), onset_days=20),
                xray("knee", days=1100)),
             {"imaging-xray-first": (INFO, ("cpt|73562", "loinc|28565-0"))}, body_sites=frozenset({"left knee"})),
    Expected(pv("s6-ct-says-no-edema", "Knee BME on MRI, a later CT says no edema: CT clears nothing, the BME card stays.",
                person("Lucia Moreno", "female", 64), cond(OA_KNEE_SCT, onset_days=2000),
                mri("knee", "Bone marrow edema in the medial tibial plateau.", days=200),
                imaging_report(CT_KNEE, days=20, conclusion="No fracture. No bone marrow edema.")),
             {"bme-secondary": (INFO, (PT, "handout|bme-osteoarthritis"))}),
    Expected(pv("s6-clear-mri-other-side", "Left knee BME, a later clear MRI of the RIGHT knee: the left finding stands.",
                person("Hugo Berg", "male", 52), cond(OA_KNEE_SCT, onset_days=2000),
                mri("knee", "Bone marrow edema in the left medial femoral condyle.", days=300),
                mri("knee", "Right knee: no bone marrow edema.", days=20)),
             {"bme-secondary": (INFO, (PT, "handout|bme-osteoarthritis"))}),
    Expected(select("s6-order-select-left-knee", "Knee OA, a LEFT knee X-ray selected: the MRI offered is of the left knee.",
                    person("Anton Weiss", "male", 60), (cond(OA_KNEE_SCT, onset_days=900),),
                    ({**imaging_order(cpt("73562", "X-ray knee, 3 views")), "bodySite": [{"text": "Left knee"}]},)),
             {"imaging-cannot-show-bme": (INFO, ("cpt|73721", "loinc|30691-0"))}, body_sites=frozenset({"left knee"})),
    # ---- 7. osteoporosis with persistent pain ---------------------------------------------------------------
    Expected(pv("s7-osteoporosis-degenerative-xray", "Osteoporosis, left hip pain, X-ray: mild degenerative change, no fracture: MRI next.",
                person("Vera Novak", "female", 77), cond(icd("M81.0"), onset_days=2000), cond(icd("M25.552"), onset_days=40),
                imaging_report(XRAY["hip"], days=20, conclusion="IMPRESSION: Mild degenerative change of the left hip. No fracture.")),
             {"imaging-mri-next": (INFO, ("cpt|73721", "loinc|30687-8"))}, body_sites=frozenset({"left hip"})),
    Expected(pv("s7-osteoporosis-fracture-on-xray", "Osteoporosis, hip pain, X-ray shows a fracture: no 'MRI if it persists' card.",
                person("Irma Vogel", "female", 80), cond(icd("M81.0"), onset_days=2000), cond(icd("M25.551"), onset_days=10),
                imaging_report(XRAY["hip"], days=5, conclusion="IMPRESSION: Nondisplaced fracture of the right femoral neck.")),
             {}),
    # ---- 8. children and pregnancy --------------------------------------------------------------------------
    Expected(pv("s8-child-bme", "A 12-year-old with knee BME and nothing on record: paediatric card, no BMES work-up.",
                person("Leo Martin", "male", 12), mri("knee", "Bone marrow edema in the proximal tibial metaphysis.")),
             {"bme-child": (WARNING, ())}, present=("leukaemia", "paediatric"), absent=("Consider a work-up",)),
    Expected(pv("s8-pregnancy-hip", "Pregnant at 32 weeks with hip BME: work-up without DXA; the card says pregnancy changes the plan.",
                person("Sofia Reyes", "female", 31), cond(icd("Z3A.32"), onset_days=30), cond(icd("O26.893"), onset_days=30),
                mri("hip", "Diffuse bone marrow edema of the left femoral head and neck, transient osteoporosis of the hip.")),
             {"bme-syndrome-workup": (INFO, (CRP, ESR, LIPIDS, VITD))}, present=("Pregnancy changes the plan", "paracetamol"),
             absent=("short course of an NSAID", "DXA for bone density")),
    Expected(pv("s8-old-pregnancy-code", "A pregnancy code from two years ago left active: not pregnant now, DXA offered.",
                person("Maya Ross", "female", 36), cond(icd("Z34.90"), onset_days=730),
                mri("hip", "Bone marrow edema of the right femoral head.")),
             {"bme-syndrome-workup": (INFO, WORKUP)}, absent=("Pregnancy changes the plan",)),
    # ---- 11. codes ------------------------------------------------------------------------------------------
    Expected(pv("s11-recent-tests-other-codes", "Vitamin D as 1989-3, total cholesterol only, DXA as CPT 77080: none suggested again.",
                person("Ivan Horak", "male", 47), mri("ankle", "Bone marrow edema in the talar dome."),
                lab_result(loinc("1989-3", "25-hydroxyvitamin D3"), 18, "ng/mL", days=30),
                lab_result(loinc("2093-3", "Cholesterol total"), 230, "mg/dL", days=90),
                imaging_report(DXA_CPT, days=300, conclusion="T-score -1.2 at the lumbar spine.")),
             {"bme-syndrome-workup": (INFO, (CRP, ESR))}),
    Expected(pv("s11-ankle-mri-code-matches-label", "Osteoporosis, right ankle pain, negative ankle X-ray: MRI ankle WITHOUT contrast (30680-3).",
                person("Nora Blake", "female", 66), cond(OSTEOPOROSIS_SCT, onset_days=1000), cond(icd("M25.571"), onset_days=30),
                imaging_report(XRAY_ANKLE, days=10, conclusion="IMPRESSION: No fracture. Ankle mortise intact.")),
             {"imaging-mri-next": (INFO, ("cpt|73721", "loinc|30680-3"))}, body_sites=frozenset({"right ankle"})),
    Expected(pv("s11-snomed-pain-body-site-side", "Knee pain coded in SNOMED with a left body-site text; negative unsided X-ray: MRI of the left knee.",
                person("Olga Berg", "female", 73), cond(OSTEOPOROSIS_SCT, onset_days=1000),
                with_body_site(cond(sct("30989003", "Knee pain"), onset_days=30), {"text": "Left knee"}), xray("knee", days=10)),
             {"imaging-mri-next": (INFO, ("cpt|73721", "loinc|30691-0"))}, body_sites=frozenset({"left knee"})),
]
