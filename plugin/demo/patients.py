"""The demo patients: synthetic charts for trying the service by hand (sandbox, ``/preview``, curl).

Each :class:`DemoPatient` is one person with one chart and the hook calls a
tester would make for them (:class:`Visit`), each saying in plain words what a
clinician should see and which card topics that means. Together they show
every card the BME content can give, plus patients who must get no card.

All names, dates and reports are invented; dates are relative to today so
"recent" stays recent. The codes are real and the records are built with the
same builder as the golden patients of the content tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cds_content.demo import Case, Person, Resource, cpt, icd, imaging_order, lab_result, medication_request, prescription, sct
from cds_content.demo import condition as cond
from plugin.demo.codes import EGFR, IBUPROFEN_600, NAPROSYN_250, OA_KNEE_SCT, OSTEOPOROSIS_SCT, WARFARIN_5, mri, xray


@dataclass(frozen=True)
class Visit:
    """One hook call for a demo patient: the hook, its draft orders, and what should come back."""

    hook: str
    shows: str
    expected_topics: tuple[str, ...] = ()
    orders: Sequence[Resource] = ()


@dataclass(frozen=True)
class DemoPatient:
    """A synthetic person with a chart, and the hook calls worth trying for them."""

    person: Person
    story: str
    records: Sequence[Resource]
    visits: Sequence[Visit]

    @property
    def id(self) -> str:
        return self.person.id

    @property
    def name(self) -> str:
        return f"{self.person.given} {self.person.family}"

    def case(self, visit: Visit) -> Case:
        """The builder's view of one visit (all visits of a patient share one chart and its ids)."""
        return Case(self.id, visit.hook, visit.shows, self.person, self.records, visit.orders)


def _pv(shows: str, *topics: str) -> Visit:
    return Visit("patient-view", shows, topics)


X_RAY_KNEE_CPT = cpt("73562", "X-ray knee, 3 views")

DEMO_PATIENTS: list[DemoPatient] = [
    DemoPatient(
        Person("demo-margaret-chen", "Margaret", "Chen", "female", 67),
        "Knee osteoarthritis for years; last month's knee MRI shows bone marrow edema. Today ibuprofen is being prescribed.",
        [cond(OA_KNEE_SCT, onset_days=1400),
         mri("knee", "IMPRESSION: Bone marrow edema in the medial femoral condyle of the right knee. "
                     "Medial compartment cartilage thinning.", days=28)],
        [_pv("Education card: BME linked to knee osteoarthritis, with a physical therapy referral and the osteoarthritis handout.",
             "bme-secondary"),
         Visit("order-sign", "Warning: NSAID caution because she is 65 or older; paracetamol is offered instead.",
               ("nsaid-caution",), (prescription(IBUPROFEN_600),))],
    ),
    DemoPatient(
        Person("demo-robert-alvarez", "Robert", "Alvarez", "male", 61),
        "Osteomyelitis of the heel bone under a foot ulcer; this week's foot MRI shows marrow edema in the calcaneus.",
        [cond(sct("60168000", "Osteomyelitis"), onset_days=9),
         mri("foot", "IMPRESSION: Marrow edema in the calcaneus beneath the heel ulcer, suspicious for osteomyelitis.", days=8)],
        [_pv("Warning (not routine education): BME with a bone infection on record, treat as urgent; bone-infection handout.",
             "bme-infection")],
    ),
    DemoPatient(
        Person("demo-linda-okonkwo", "Linda", "Okonkwo", "female", 58),
        "Cancer with a known bone metastasis; the hip MRI shows marrow edema in the femoral neck.",
        [cond(icd("C79.51", "Secondary malignant neoplasm of bone"), onset_days=420),
         mri("hip", "Bone marrow edema in the left femoral neck. No discrete fracture line.", days=12)],
        [_pv("Warning: BME with a cancer on record, to be discussed with oncology.", "bme-cancer")],
    ),
    DemoPatient(
        Person("demo-david-kowalczyk", "David", "Kowalczyk", "male", 44),
        "Hip MRI shows diffuse edema of the femoral head; high cholesterol is the only condition on record.",
        [cond(icd("E78.5", "Hyperlipidemia, unspecified"), onset_days=1100),
         mri("hip", "IMPRESSION: Diffuse bone marrow edema of the right femoral head and neck, compatible with "
                    "transient osteoporosis of the hip.", days=15)],
        [_pv("Work-up card: BME with no known cause, fits the bone marrow edema syndrome profile; "
             "offers ESR, CRP, vitamin D, lipid panel and DXA.", "bme-syndrome-workup")],
    ),
    DemoPatient(
        Person("demo-patricia-nguyen", "Patricia", "Nguyen", "female", 69),
        "Osteoporosis; left knee pain for five weeks; the knee X-ray three weeks ago was negative.",
        [cond(OSTEOPOROSIS_SCT, onset_days=2100), cond(icd("M25.562", "Pain in left knee"), onset_days=35), xray("knee", days=21)],
        [_pv("Imaging card: the X-ray was negative and the pain goes on, so MRI of the knee without contrast is suggested.",
             "imaging-mri-next")],
    ),
    DemoPatient(
        Person("demo-james-oconnor", "James", "O'Connor", "male", 72),
        "Osteoporosis; new hip pain this month and no imaging yet.",
        [cond(icd("M81.0", "Age-related osteoporosis without current pathological fracture"), onset_days=1900), cond(sct("49218002", "Hip pain"), onset_days=18)],
        [_pv("Imaging card: start with an X-ray of the hip (never skip it); MRI comes next only if it is negative.",
             "imaging-xray-first")],
    ),
    DemoPatient(
        Person("demo-aisha-rahman", "Aisha", "Rahman", "female", 46),
        "Rheumatoid arthritis; a knee X-ray is being ordered for a painful knee.",
        [cond(sct("69896004", "Rheumatoid arthritis"), onset_days=1300)],
        [_pv("No card: nothing in the chart calls for one today."),
         Visit("order-select", "Info card when the knee X-ray is selected: keep the X-ray; X-ray cannot show BME, "
               "so MRI of the knee is offered for later.", ("imaging-cannot-show-bme",), (imaging_order(X_RAY_KNEE_CPT),))],
    ),
    DemoPatient(
        Person("demo-thomas-becker", "Thomas", "Becker", "male", 63),
        "Atrial fibrillation, on warfarin; naproxen is being prescribed.",
        [cond(icd("I48.91", "Unspecified atrial fibrillation"), onset_days=1600), medication_request(WARFARIN_5)],
        [_pv("No card: no BME, imaging or pain finding on record."),
         Visit("order-sign", "Critical: avoid the NSAID, an anticoagulant is on record (bleeding risk); paracetamol is offered instead.",
               ("nsaid-caution",), (prescription(NAPROSYN_250),))],
    ),
    DemoPatient(
        Person("demo-susan-park", "Susan", "Park", "female", 55),
        "Chronic kidney disease stage 4; the latest eGFR is 24 (it was 41 a year ago). Ibuprofen is being prescribed.",
        [cond(icd("N18.4", "Chronic kidney disease, stage 4 (severe)"), onset_days=700),
         lab_result(EGFR, 41, "mL/min/{1.73_m2}", days=380), lab_result(EGFR, 24, "mL/min/{1.73_m2}", days=9)],
        [Visit("order-sign", "Critical: avoid the NSAID, kidney disease stage 4 and latest eGFR below 30.",
               ("nsaid-caution",), (prescription(IBUPROFEN_600),))],
    ),
    DemoPatient(
        Person("demo-elena-rossi", "Elena", "Rossi", "female", 62),
        "Knee osteoarthritis; the knee MRI explicitly found no bone marrow edema.",
        [cond(OA_KNEE_SCT, onset_days=900),
         mri("knee", "No bone marrow edema. Mild chondral thinning of the medial compartment.", days=40)],
        [_pv("No card: the MRI says there is no BME (a negated finding never gives a BME card).")],
    ),
    DemoPatient(
        Person("demo-kevin-walsh", "Kevin", "Walsh", "male", 38),
        "Nothing on record; ibuprofen is being prescribed.",
        [],
        [_pv("No card."),
         Visit("order-sign", "No card: no NSAID caution applies.", (), (prescription(IBUPROFEN_600),))],
    ),
    DemoPatient(
        Person("demo-sofia-marquez", "Sofia", "Marquez", "female", 24),
        "Right ACL sprain two weeks ago; the knee MRI shows an ACL tear and a bone bruise.",
        [cond(icd("S83.511A", "Sprain of anterior cruciate ligament of right knee, initial encounter"), onset_days=14),
         mri("knee", "Complete ACL tear. Bone bruise of the lateral femoral condyle and posterolateral tibial plateau.",
             days=6)],
        [_pv("Education card: BME (bone bruise) linked to the knee injury.", "bme-secondary")],
    ),
    DemoPatient(
        Person("demo-grace-whitfield", "Grace", "Whitfield", "female", 63),
        "Breast cancer treated eight years ago; new low back pain for three weeks, no imaging yet.",
        [cond(icd("Z85.3", "Personal history of malignant neoplasm of breast"), onset_days=2900), cond(icd("M54.50", "Low back pain, unspecified"), onset_days=21)],
        [_pv("Warning: new back pain with a history of cancer is a red flag; MRI of the lumbar spine now, "
             "not X-ray first and wait.", "imaging-red-flag")],
    ),
    DemoPatient(
        Person("demo-samuel-ortiz", "Samuel", "Ortiz", "male", 58),
        "Type 2 diabetes with neuropathic arthropathy (Charcot foot); the foot MRI shows midfoot marrow edema.",
        [cond(icd("E11.610", "Type 2 diabetes mellitus with diabetic neuropathic arthropathy"), onset_days=120),
         mri("foot", "IMPRESSION: Bone marrow edema in the navicular, cuboid and cuneiforms of the left foot.", days=9)],
        [_pv("Warning: active Charcot foot; offload now (total contact cast) and rule out osteomyelitis.",
             "bme-charcot-foot")],
    ),
]
