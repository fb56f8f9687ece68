"""The golden patients: synthetic charts that exercise every BME rule, written as data.

Each :class:`Case` says in ``about`` what it covers and what a clinician should
see. Tags group cases for the behaviour tests (``infection``, ``negated`` ...).
All names, dates and reports are invented; codes are real (ICD-10-CM codes are
checked by the builder).
"""

from __future__ import annotations

from .builder import (
    Case,
    Person,
    cpt,
    icd,
    imaging_order,
    imaging_report,
    lab_result,
    loinc,
    medication_request,
    medication_statement,
    prescription,
    rx,
    sct,
)
from .builder import condition as cond

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


def pv(case_id: str, about: str, person: Person, *records: dict, tags: str = "") -> Case:
    return Case(case_id, "patient-view", about, person, records, tags=frozenset(tags.split()))


def select(case_id: str, about: str, person: Person, records: tuple, orders: tuple, unselected: int = 0, tags: str = "") -> Case:
    return Case(case_id, "order-select", about, person, records, orders, unselected, frozenset(tags.split()))


def sign(case_id: str, about: str, person: Person, records: tuple, orders: tuple, tags: str = "") -> Case:
    return Case(case_id, "order-sign", about, person, records, orders, tags=frozenset(tags.split()))


BME_KNEE = "IMPRESSION: Bone marrow edema in the medial femoral condyle of the left knee. Medial meniscus degeneration."

CASES: list[Case] = [
    # ---- patient-view: BME with a known cause -> education card -------------------------------
    pv("pv-oa-knee-snomed", "Knee OA (SNOMED) and BME on knee MRI: education card, OA handout, PT referral.",
       Person("golden-ana-ruiz", "Ana", "Ruiz", "female", 58),
       cond(OA_KNEE_SCT, onset_days=900), mri("knee", BME_KNEE), tags="bme"),
    pv("pv-oa-knee-icd-attachment", "Knee OA coded in ICD-10-CM only; the MRI text is a base64 attachment; age 71 (NSAID caution wording).",
       Person("golden-walter-briggs", "Walter", "Briggs", "male", 71),
       cond(icd("M17.12"), onset_days=1500),
       mri("knee", "FINDINGS: Subchondral bone marrow edema in the medial tibial plateau.\nIMPRESSION: Medial compartment osteoarthritis.",
           as_attachment=True), tags="bme icd-only"),
    pv("pv-osteoporosis-warfarin", "Osteoporosis with BME of the femoral head, on warfarin: osteoporosis handout, NSAID caution in the text.",
       Person("golden-helen-okafor", "Helen", "Okafor", "female", 63),
       cond(OSTEOPOROSIS_SCT, onset_days=2000), medication_request(WARFARIN_5),
       mri("hip", "IMPRESSION: Bone marrow edema of the right femoral head and neck. No fracture line."), tags="bme"),
    pv("pv-vitamin-d-icd", "Vitamin D deficiency (ICD only) and calcaneal BME: education card with the basics handout.",
       Person("golden-omar-haddad", "Omar", "Haddad", "male", 45),
       cond(icd("E55.9"), onset_days=400), mri("foot", "Marrow oedema within the calcaneus. No stress fracture line."),
       tags="bme icd-only"),
    pv("pv-ckd-mbd", "Renal hyperparathyroidism with CKD stage 5: metabolic cause, NSAID caution for kidney disease.",
       Person("golden-grace-lin", "Grace", "Lin", "female", 52),
       cond(icd("N25.81"), onset_days=700), cond(icd("N18.5"), onset_days=900),
       mri("ankle", "IMPRESSION: Bone marrow edema in the talar dome."), tags="bme icd-only"),
    pv("pv-avn-hip", "Avascular necrosis of the hip with BME: ischemic cause, education card.",
       Person("golden-marcus-bell", "Marcus", "Bell", "male", 49),
       cond(sct("397758007", "Avascular necrosis of bone"), onset_days=200),
       mri("hip", "Extensive bone marrow edema in the left femoral head adjacent to a subchondral crescent."), tags="bme"),
    pv("pv-charcot-foot", "Charcot foot (ICD only) with midfoot BME: education card.",
       Person("golden-dolores-vance", "Dolores", "Vance", "female", 66),
       cond(icd("M14.671"), onset_days=300),
       mri("foot", "IMPRESSION: Bone marrow edema in the navicular and cuboid of the right foot."), tags="bme icd-only"),
    pv("pv-rheumatoid", "Rheumatoid arthritis with knee BME: inflammatory cause, education card.",
       Person("golden-priya-nair", "Priya", "Nair", "female", 44),
       cond(sct("69896004", "Rheumatoid arthritis"), onset_days=1200), mri("knee", "Bone marrow edema in the patella."), tags="bme"),
    pv("pv-sacroiliitis-icd", "Ankylosing spondylitis and sacroiliitis (ICD) with sacral BME: education card.",
       Person("golden-tomas-eriksen", "Tomas", "Eriksen", "male", 34),
       cond(icd("M45.7"), onset_days=800), cond(icd("M46.1"), onset_days=100),
       mri("sacroiliac", "IMPRESSION: Bone marrow edema on the iliac side of the left sacroiliac joint, consistent with active sacroiliitis."),
       tags="bme icd-only"),
    pv("pv-psoriatic", "Psoriatic arthritis with ankle BME: education card.",
       Person("golden-lucia-ferrante", "Lucia", "Ferrante", "female", 39),
       cond(sct("33339001", "Psoriatic arthritis"), onset_days=600), mri("ankle", "Bone marrow edema in the distal tibia."), tags="bme"),
    pv("pv-stress-fracture", "Stress fracture with metatarsal BME: trauma cause, education card.",
       Person("golden-jordan-blake", "Jordan", "Blake", "male", 27),
       cond(sct("240197007", "Stress fracture"), onset_days=30),
       mri("foot", "IMPRESSION: Bone marrow edema in the second metatarsal shaft with a faint fracture line."), tags="bme"),
    pv("pv-acl-bone-bruise", "ACL tear (ICD with 7th character) with a bone bruise: education card.",
       Person("golden-sofia-marsh", "Sofia", "Marsh", "female", 23),
       cond(icd("S83.511A"), onset_days=14),
       mri("knee", "Complete ACL tear. Bone bruise of the lateral femoral condyle and posterolateral tibial plateau."), tags="bme icd-only"),
    pv("pv-crps", "Complex regional pain syndrome with foot BME: education card.",
       Person("golden-henry-adeyemi", "Henry", "Adeyemi", "male", 57),
       cond(sct("128200000", "Complex regional pain syndrome"), onset_days=120),
       mri("foot", "Patchy bone marrow edema throughout the tarsal bones of the right foot."), tags="bme"),
    pv("pv-uncertain-finding", "Knee OA and an MRI that only says BME is possible: education card that says the finding is uncertain.",
       Person("golden-rita-castro", "Rita", "Castro", "female", 61),
       cond(OA_KNEE_SCT, onset_days=700), mri("knee", "Possible subtle bone marrow edema in the medial tibial plateau."),
       tags="bme uncertain"),
    pv("pv-coded-conclusion", "Knee OA and a report with only a coded conclusion (ICD-10-CM M89.8X6): education card.",
       Person("golden-victor-stone", "Victor", "Stone", "male", 60),
       cond(OA_KNEE_SCT, onset_days=1000),
       imaging_report(MRI["knee"], days=25, conclusion_code=icd("M89.8X6")), tags="bme coded"),
    pv("pv-other-joint-clear", "Knee BME on MRI and a newer hip MRI without BME: the knee finding still stands, education card.",
       Person("golden-yusuf-demir", "Yusuf", "Demir", "male", 56),
       cond(OA_KNEE_SCT, onset_days=900), mri("knee", "Bone marrow edema in the lateral femoral condyle.", days=90),
       mri("hip", "No bone marrow edema. Normal hip joints.", days=10), tags="bme"),
    pv("pv-refuted-infection", "Osteomyelitis refuted, osteoarthritis current, BME on MRI: education card, no infection warning.",
       Person("golden-nina-petrov", "Nina", "Petrov", "female", 68),
       cond(sct("60168000", "Osteomyelitis"), onset_days=60, verification="refuted"),
       cond(icd("M17.11"), onset_days=1300), mri("knee", "Bone marrow edema in the lateral tibial plateau of the right knee."),
       tags="bme"),
    # ---- patient-view: warnings -------------------------------------------------------------------
    pv("pv-osteomyelitis", "Osteomyelitis with calcaneal BME: urgent warning, bone-infection handout.",
       Person("golden-samuel-greene", "Samuel", "Greene", "male", 62),
       cond(sct("60168000", "Osteomyelitis"), onset_days=10),
       mri("foot", "IMPRESSION: Marrow edema in the calcaneus beneath the heel ulcer, suspicious for osteomyelitis."), tags="bme infection"),
    pv("pv-septic-arthritis-and-oa", "Septic arthritis and OA of the same knee: the infection warning wins, no routine education.",
       Person("golden-irene-walsh", "Irene", "Walsh", "female", 74),
       cond(icd("M00.061"), onset_days=5), cond(icd("M17.11"), onset_days=2000),
       mri("knee", "Large effusion with synovitis. Bone marrow edema in the right femoral condyles."), tags="bme infection icd-only"),
    pv("pv-infection-and-cancer", "Osteomyelitis and bone metastasis: infection warning (naming the cancer too), no separate cancer card.",
       Person("golden-arthur-knox", "Arthur", "Knox", "male", 69),
       cond(icd("M86.151"), onset_days=7), cond(icd("C79.51"), onset_days=400),
       mri("hip", "Bone marrow edema in the right proximal femur with cortical breach."), tags="bme infection cancer"),
    pv("pv-aml", "Acute myeloid leukemia with pelvic BME: warning to discuss with oncology.",
       Person("golden-mei-tanaka", "Mei", "Tanaka", "female", 55),
       cond(sct("91861009", "Acute myeloid leukemia"), onset_days=150),
       mri("pelvis", "Diffuse bone marrow edema-like signal in the iliac bones and sacrum."), tags="bme cancer"),
    pv("pv-radiation-history", "Past pelvic irradiation (Z92.3) with hip BME: oncology warning.",
       Person("golden-paul-durand", "Paul", "Durand", "male", 72),
       cond(icd("Z92.3"), onset_days=1000), mri("hip", "Bone marrow edema in the left femoral neck. No discrete fracture."),
       tags="bme cancer icd-only"),
    # ---- patient-view: BME without a known cause -> work-up ------------------------------------------
    pv("pv-bmes-man-42", "Man of 42 with hip BME, hyperlipidemia and no cause: work-up card with the BMES profile, five tests.",
       Person("golden-daniel-moreau", "Daniel", "Moreau", "male", 42),
       cond(icd("E78.5"), onset_days=900),
       mri("hip", "IMPRESSION: Diffuse bone marrow edema of the left femoral head and neck, compatible with transient osteoporosis of the hip."),
       tags="bme workup"),
    pv("pv-workup-recent-labs", "Woman with knee BME and no cause, ESR and CRP done last month: work-up suggests only the missing tests.",
       Person("golden-clara-jensen", "Clara", "Jensen", "female", 50),
       mri("knee", "Bone marrow edema in the lateral femoral condyle."),
       lab_result(loinc("4537-7", "Erythrocyte sedimentation rate"), 12, "mm/h", days=30),
       lab_result(loinc("1988-5", "C reactive protein"), 2.1, "mg/L", days=30), tags="bme workup"),
    pv("pv-resolved-infection", "Osteomyelitis resolved years ago, new foot BME: no infection warning, work-up instead.",
       Person("golden-oscar-lindqvist", "Oscar", "Lindqvist", "male", 58),
       cond(sct("60168000", "Osteomyelitis"), onset_days=2500, clinical="resolved"),
       mri("foot", "Bone marrow edema in the third metatarsal head."), tags="bme workup"),
    # ---- patient-view: no BME card ------------------------------------------------------------------
    pv("pv-negated-only", "Knee OA and an MRI that says there is no BME: no card.",
       Person("golden-eva-horvat", "Eva", "Horvat", "female", 59),
       cond(OA_KNEE_SCT, onset_days=800), mri("knee", "No bone marrow edema. Mild chondral thinning of the medial compartment."),
       tags="negated no-card"),
    pv("pv-historical-only", "BME only in the clinical history of the report: no new card.",
       Person("golden-frank-osei", "Frank", "Osei", "male", 66),
       cond(OA_KNEE_SCT, onset_days=800),
       mri("knee", "CLINICAL HISTORY: Bone marrow edema of the left knee in 2023.\nFINDINGS: Mild medial cartilage thinning. No effusion."),
       tags="historical no-card"),
    pv("pv-resolved-on-follow-up", "BME on an MRI last year, none on this year's follow-up MRI: no card.",
       Person("golden-julia-brandt", "Julia", "Brandt", "female", 47),
       cond(OSTEOPOROSIS_SCT, onset_days=1500),
       mri("knee", "Bone marrow edema in the medial femoral condyle.", days=400),
       mri("knee", "The previously seen bone marrow edema has resolved. No new marrow signal abnormality.", days=20),
       tags="negated no-card"),
    pv("pv-soft-tissue-edema", "Only soft-tissue edema on MRI: no BME card.",
       Person("golden-lars-nilsen", "Lars", "Nilsen", "male", 53),
       cond(OA_KNEE_SCT, onset_days=800), mri("knee", "Prepatellar subcutaneous soft tissue edema. No fracture."),
       tags="no-card"),
    pv("pv-healthy", "No conditions and no imaging: no card.", Person("golden-amy-cho", "Amy", "Cho", "female", 35), tags="no-card"),
    # ---- patient-view: painful bone at risk -> imaging step ------------------------------------------
    pv("pv-pain-negative-xray", "Osteoporosis, left knee pain this month, negative knee X-ray: suggest MRI knee without contrast.",
       Person("golden-beatrice-ward", "Beatrice", "Ward", "female", 67),
       cond(OSTEOPOROSIS_SCT, onset_days=1800), cond(icd("M25.562"), onset_days=40), xray("knee"), tags="imaging"),
    pv("pv-pain-no-imaging", "Osteoporosis and recent hip pain (SNOMED) with no imaging: suggest the X-ray first.",
       Person("golden-carlos-mendes", "Carlos", "Mendes", "male", 70),
       cond(icd("M81.0"), onset_days=1800), cond(sct("49218002", "Hip pain"), onset_days=20), tags="imaging"),
    pv("pv-low-back-pain-spondylitis", "Ankylosing spondylitis, low back pain, negative lumbar X-ray: suggest MRI lumbar spine.",
       Person("golden-ivan-kowalski", "Ivan", "Kowalski", "male", 38),
       cond(sct("9631008", "Ankylosing spondylitis"), onset_days=900), cond(icd("M54.50"), onset_days=60), xray("spine"),
       tags="imaging"),
    pv("pv-low-back-pain-knee-oa", "Knee OA and low back pain with a negative lumbar X-ray: no red flag for the back, no card.",
       Person("golden-derek-holt", "Derek", "Holt", "male", 55),
       cond(OA_KNEE_SCT, onset_days=900), cond(icd("M54.50"), onset_days=60), xray("spine"), tags="no-card"),
    pv("pv-pain-mri-done", "Knee OA, knee pain, negative X-ray, and an MRI already done: no imaging card.",
       Person("golden-hanna-berg", "Hanna", "Berg", "female", 62),
       cond(OA_KNEE_SCT, onset_days=800), cond(icd("M25.561"), onset_days=50), xray("knee", days=90),
       mri("knee", "No bone marrow edema. Small joint effusion.", days=30), tags="no-card"),
    pv("pv-pain-long-ago", "Osteoporosis and knee pain that began two years ago with a negative X-ray: not recent, no card.",
       Person("golden-ruth-adler", "Ruth", "Adler", "female", 69),
       cond(OSTEOPOROSIS_SCT, onset_days=1800), cond(icd("M25.561"), onset_days=730), xray("knee", days=700), tags="no-card"),
    pv("pv-pain-no-risk", "Knee pain and a negative X-ray without any BME risk condition: no card.",
       Person("golden-kevin-doyle", "Kevin", "Doyle", "male", 31),
       cond(icd("M25.561"), onset_days=30), xray("knee"), tags="no-card"),
    # ---- order-select ---------------------------------------------------------------------------------
    select("os-xray-knee-cpt", "Knee OA, knee X-ray selected (CPT, as the sandbox codes it): keep the X-ray, offer MRI knee.",
           Person("golden-george-abbott", "George", "Abbott", "male", 64),
           (cond(OA_KNEE_SCT, onset_days=900),), (imaging_order(cpt("73562", "X-ray knee, 3 views")),), tags="imaging"),
    select("os-xray-hip-loinc", "Osteoporosis, hip X-ray selected (LOINC): offer MRI hip.",
           Person("golden-martha-quinn", "Martha", "Quinn", "female", 73),
           (cond(OSTEOPOROSIS_SCT, onset_days=900),), (imaging_order(XRAY["hip"]),), tags="imaging"),
    select("os-ct-ankle-bodysite", "Stress fracture, CT lower extremity with an ankle body site: offer MRI ankle.",
           Person("golden-ethan-rowe", "Ethan", "Rowe", "male", 29),
           (cond(sct("240197007", "Stress fracture"), onset_days=20),),
           (imaging_order(cpt("73700", "CT lower extremity without contrast"), body_site=sct("344001", "Ankle region structure")),),
           tags="imaging"),
    select("os-ct-no-site", "Rheumatoid arthritis, CT lower extremity with no site: offer a lower-extremity joint MRI.",
           Person("golden-fatima-rahman", "Fatima", "Rahman", "female", 48),
           (cond(icd("M06.9"), onset_days=900),), (imaging_order(cpt("73700", "CT lower extremity without contrast")),),
           tags="imaging icd-only"),
    select("os-pelvis-xray-spondylitis", "Ankylosing spondylitis, pelvis X-ray selected: offer MRI of the sacroiliac joints.",
           Person("golden-noah-fischer", "Noah", "Fischer", "male", 31),
           (cond(sct("9631008", "Ankylosing spondylitis"), onset_days=300),), (imaging_order(cpt("72170", "X-ray pelvis")),),
           tags="imaging"),
    select("os-known-bme-foot", "No risk condition but BME on a foot MRI; foot X-ray selected: card, no MRI offered again.",
           Person("golden-zoe-palmer", "Zoe", "Palmer", "female", 36),
           (mri("foot", "Bone marrow edema in the navicular.", days=60),), (imaging_order(cpt("73630", "X-ray foot, complete")),),
           tags="imaging"),
    select("os-no-risk", "Knee X-ray selected for a patient without risk or finding: no card.",
           Person("golden-leo-grant", "Leo", "Grant", "male", 26), (), (imaging_order(cpt("73562", "X-ray knee, 3 views")),),
           tags="no-card"),
    select("os-mri-selected", "Knee OA with an MRI knee selected: no card.",
           Person("golden-iris-young", "Iris", "Young", "female", 60),
           (cond(OA_KNEE_SCT, onset_days=900),), (imaging_order(cpt("73721", "MRI lower extremity joint without contrast")),),
           tags="no-card"),
    select("os-xray-drafted-not-selected", "Knee OA; a knee X-ray is drafted but the selection is an ESR: no card.",
           Person("golden-max-weber", "Max", "Weber", "male", 59),
           (cond(OA_KNEE_SCT, onset_days=900),),
           (imaging_order(loinc("4537-7", "Erythrocyte sedimentation rate")), imaging_order(cpt("73562", "X-ray knee, 3 views"))),
           unselected=1, tags="no-card"),
    # ---- order-sign -------------------------------------------------------------------------------------
    sign("sign-ibuprofen-warfarin", "Ibuprofen product ordered while on warfarin: NSAID warning, paracetamol offered.",
         Person("golden-harold-finch", "Harold", "Finch", "male", 58), (medication_request(WARFARIN_5),),
         (prescription(IBUPROFEN_600),), tags="nsaid"),
    sign("sign-naproxen-low-egfr", "Naprosyn ordered, latest eGFR 24 (an older one was 45): NSAID warning for kidney function.",
         Person("golden-lydia-moss", "Lydia", "Moss", "female", 55),
         (lab_result(EGFR, 45, "mL/min/{1.73_m2}", days=400), lab_result(EGFR, 24, "mL/min/{1.73_m2}", days=10)),
         (prescription(NAPROSYN_250),), tags="nsaid"),
    sign("sign-egfr-recovered", "Naproxen ordered, an old eGFR of 25 but the latest is 55: no card.",
         Person("golden-adam-pierce", "Adam", "Pierce", "male", 50),
         (lab_result(EGFR, 25, "mL/min/{1.73_m2}", days=500), lab_result(EGFR, 55, "mL/min/{1.73_m2}", days=15)),
         (prescription(rx("198014", "Naproxen 500 MG Oral Tablet")),), tags="no-card"),
    sign("sign-celecoxib-past-ulcer", "Celecoxib ordered, gastric ulcer with bleeding resolved years ago: NSAID warning (ulcer history).",
         Person("golden-bianca-romano", "Bianca", "Romano", "female", 52),
         (cond(icd("K25.4"), onset_days=1900, clinical="resolved"),), (prescription(CELECOXIB_200),), tags="nsaid icd-only"),
    sign("sign-meloxicam-heart-failure", "Meloxicam ordered with heart failure (SNOMED): NSAID warning.",
         Person("golden-russell-hayes", "Russell", "Hayes", "male", 61),
         (cond(sct("84114007", "Heart failure"), onset_days=700),), (prescription(MELOXICAM_15),), tags="nsaid"),
    sign("sign-ibuprofen-age-78", "Ibuprofen ordered for a 78-year-old with no other caution: NSAID warning (Beers).",
         Person("golden-edith-clarke", "Edith", "Clarke", "female", 78), (), (prescription(IBUPROFEN_600),), tags="nsaid"),
    sign("sign-ibuprofen-steroids", "Ibuprofen ordered with long-term systemic steroids (Z79.52): NSAID warning.",
         Person("golden-miguel-santos", "Miguel", "Santos", "male", 46),
         (cond(icd("Z79.52"), onset_days=300),), (prescription(IBUPROFEN_600),), tags="nsaid icd-only"),
    sign("sign-ibuprofen-z7901", "Ibuprofen ordered with long-term anticoagulant use coded as Z79.01 only: NSAID warning.",
         Person("golden-olga-ivanova", "Olga", "Ivanova", "female", 57),
         (cond(icd("Z79.01"), onset_days=300),), (prescription(IBUPROFEN_600),), tags="nsaid icd-only"),
    sign("sign-apixaban-statement", "Meloxicam ordered; apixaban recorded as a MedicationStatement: NSAID warning.",
         Person("golden-peter-lund", "Peter", "Lund", "male", 60),
         (medication_statement(APIXABAN_5),), (prescription(MELOXICAM_15),), tags="nsaid"),
    sign("sign-ckd-stage-4", "Celecoxib ordered with CKD stage 4 (ICD): NSAID warning.",
         Person("golden-susan-drake", "Susan", "Drake", "female", 59),
         (cond(icd("N18.4"), onset_days=600),), (prescription(CELECOXIB_200),), tags="nsaid icd-only"),
    sign("sign-ingredient-code", "Order coded with the ibuprofen ingredient, patient on warfarin: NSAID warning.",
         Person("golden-tony-marino", "Tony", "Marino", "male", 64), (medication_request(WARFARIN_5),),
         (prescription(rx("5640", "ibuprofen")),), tags="nsaid"),
    sign("sign-anticoagulant-same-session", "Apixaban and ibuprofen drafted together: NSAID warning.",
         Person("golden-wendy-shaw", "Wendy", "Shaw", "female", 54), (),
         (prescription(APIXABAN_5), prescription(IBUPROFEN_600)), tags="nsaid"),
    sign("sign-no-caution", "Ibuprofen for a 40-year-old with nothing on record: no card.",
         Person("golden-ryan-cole", "Ryan", "Cole", "male", 40), (), (prescription(IBUPROFEN_600),), tags="no-card"),
    sign("sign-stopped-warfarin", "Ibuprofen ordered; warfarin was stopped: no card.",
         Person("golden-alice-hart", "Alice", "Hart", "female", 48), (medication_request(WARFARIN_5, status="stopped"),),
         (prescription(IBUPROFEN_600),), tags="no-card"),
    sign("sign-not-an-nsaid", "Paracetamol ordered for a patient on warfarin: no card.",
         Person("golden-hugo-vidal", "Hugo", "Vidal", "male", 66), (medication_request(WARFARIN_5),),
         (prescription(ACETAMINOPHEN),), tags="no-card"),
]
