"""Deterministic hook requests shaped like real charts, for the benchmarks.

A real chart is mostly data the BME content does not care about
(hypertension, diabetes, vital signs, routine labs, chest X-rays) with a few
records that matter. Each request here is built the same way: a handful of
fixed BME-relevant records, so that cards fire and the whole card path runs,
and the rest drawn with a seeded :class:`random.Random` from tables of real,
irrelevant codes. The same ``(size, seed, today)`` always gives the same
request; dates are relative to ``today`` because the content compares them
with ``today()`` (recent pain, recent labs).

Codes are real, never made up. ICD-10-CM codes are checked with
``simple_icd_10_cm`` by the smoke test (tests/test_bench_smoke.py), which
also checks that the "irrelevant" codes sit in no value set of the content.
The imaging, eGFR and ESR LOINC codes, CPT 73560 and the RxNorm products come
from the content's own value sets and plugin/data; the rest are well-known
LOINC vitals, labs and panels (chest X-ray 36643-5) and RxNorm 861007
(metformin 500 MG oral tablet). Names of LOINC and CPT codes are given as
``text`` only, never as a coding ``display``.
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fhir_content.systems import CPT, ICD10CM, LOINC, RXNORM

UCUM = "http://unitsofmeasure.org"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"

# Systems whose names in the tables below are the official displays; for the others the name is only text.
_OFFICIAL_DISPLAYS = (ICD10CM, RXNORM)

PATIENT_ID = "bench-patient"
PATIENT_SIZES = (10, 100, 1000)
ORDER_COUNTS = (1, 10, 50)
#: The chart behind every order-select / order-sign request.
ORDER_CHART_SIZE = 100
#: The chart without BME-relevant records, measured at one size.
PLAIN_CHART_SIZE = 100
DEFAULT_SEED = 7

#: Conditions common in primary care that no BME rule looks at (ICD-10-CM).
IRRELEVANT_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E11.65", "Type 2 diabetes mellitus with hyperglycemia"),
    ("J45.909", "Unspecified asthma, uncomplicated"),
    ("E03.9", "Hypothyroidism, unspecified"),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis"),
    ("F41.1", "Generalized anxiety disorder"),
    ("F32.9", "Major depressive disorder, single episode, unspecified"),
    ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    ("G47.33", "Obstructive sleep apnea (adult) (pediatric)"),
    ("E66.9", "Obesity, unspecified"),
    ("I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris"),
    ("I48.91", "Unspecified atrial fibrillation"),
    ("N39.0", "Urinary tract infection, site not specified"),
    ("R51.9", "Headache, unspecified"),
    ("J30.9", "Allergic rhinitis, unspecified"),
    ("M10.9", "Gout, unspecified"),
    ("D64.9", "Anemia, unspecified"),
    ("E87.6", "Hypokalemia"),
    ("Z00.00", "Encounter for general adult medical examination without abnormal findings"),
)

#: The BME-relevant conditions every chart has (a cause of BME and recent joint pain).
RELEVANT_CONDITIONS: tuple[tuple[str, str, int], ...] = (
    ("M17.11", "Unilateral primary osteoarthritis, right knee", 1100),
    ("M25.561", "Pain in right knee", 30),
    ("M25.551", "Pain in right hip", 20),
)

#: Vital signs and routine labs (LOINC): code, display, category, UCUM unit, low, high.
IRRELEVANT_OBSERVATIONS: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("8867-4", "Heart rate", "vital-signs", "/min", 55, 100),
    ("8480-6", "Systolic blood pressure", "vital-signs", "mm[Hg]", 105, 165),
    ("8462-4", "Diastolic blood pressure", "vital-signs", "mm[Hg]", 60, 100),
    ("8310-5", "Body temperature", "vital-signs", "Cel", 36.1, 37.6),
    ("9279-1", "Respiratory rate", "vital-signs", "/min", 12, 20),
    ("29463-7", "Body weight", "vital-signs", "kg", 60, 110),
    ("8302-2", "Body height", "vital-signs", "cm", 160, 190),
    ("39156-5", "Body mass index (BMI) [Ratio]", "vital-signs", "kg/m2", 19, 38),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "laboratory", "%", 5.0, 9.5),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", 70, 220),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", 0.6, 1.5),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "laboratory", "g/dL", 11, 17),
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "laboratory", "U/L", 10, 60),
    ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "laboratory", "U/L", 10, 50),
    ("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", 7, 25),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "laboratory", "mmol/L", 3.4, 5.2),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "laboratory", "mmol/L", 134, 146),
)

#: Lab panels reported as DiagnosticReports (LOINC).
LAB_PANELS: tuple[tuple[str, str], ...] = (
    ("58410-2", "CBC panel - Blood by Automated count"),
    ("24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma"),
    ("57698-3", "Lipid panel with direct LDL - Serum or Plasma"),
)
LAB_CONCLUSIONS = (
    "All results within the reference range.",
    "Mildly raised glucose; other results within the reference range.",
    "Hemoglobin slightly below the reference range. Platelets normal.",
    "Results reviewed; no critical values.",
)

CHEST_XRAY = ("36643-5", "Chest X-ray, 2 views")
CHEST_FINDINGS = (
    "The lungs are clear.",
    "No focal consolidation.",
    "No pleural effusion or pneumothorax.",
    "Heart size is within normal limits.",
    "Mild degenerative change of the thoracic spine.",
    "Healed rib fracture on the left.",
)
CHEST_IMPRESSIONS = ("No acute cardiopulmonary process.", "No active disease in the chest.", "Stable chest.")

MRI_KNEE = ("30691-0", "MRI of the knee without contrast")
XRAY_KNEE = ("28565-0", "X-ray of the knee")
MRI_KNEE_TEXT = (
    "MRI RIGHT KNEE WITHOUT CONTRAST\n"
    "FINDINGS: Bone marrow edema in the medial femoral condyle of the right knee. "
    "Medial meniscus degeneration without a displaced tear. Small joint effusion.\n"
    "IMPRESSION: Bone marrow edema of the medial femoral condyle with medial compartment osteoarthritis."
)
XRAY_KNEE_TEXT = "FINDINGS: No acute fracture or dislocation. Mild medial joint space narrowing.\nIMPRESSION: Mild degenerative change."

EGFR = ("98979-8", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)")
ESR = ("4537-7", "Erythrocyte sedimentation rate by Westergren method")

#: Medicines (RxNorm products): plugin/data lists, plus metformin 500 MG oral tablet.
METFORMIN_500 = ("861007", "metformin hydrochloride 500 MG Oral Tablet")
APIXABAN_5 = ("1364445", "apixaban 5 MG Oral Tablet")
IBUPROFEN_600 = ("197806", "Ibuprofen 600 MG Oral Tablet")

#: Orders that no order rule looks at: routine lab orders (LOINC) and a metformin prescription.
LAB_ORDERS = LAB_PANELS + (("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),)
XRAY_KNEE_ORDER = ("73560", "Radiologic examination, knee; 1 or 2 views")


@dataclass(frozen=True)
class Workload:
    """One benchmark request: what it is called, which service it calls, its JSON body and its size.

    ``fires`` says whether cards must come back (the run checks it, so a
    workload cannot silently stop exercising the card path).
    """

    name: str
    service_id: str
    size: int
    body: dict[str, Any]
    fires: bool = True


def patient_view(n: int, *, seed: int = DEFAULT_SEED, today: date | None = None, relevant: bool = True) -> dict[str, Any]:
    """A patient-view call for a chart of ``n`` Conditions, ``2n`` Observations, ``n // 5`` DiagnosticReports.

    Without ``relevant`` the chart has no BME finding and no BME-related
    condition (most charts): no card fires, and the cost is what every other
    patient pays.
    """
    chart = _Chart(n, random.Random(f"patient-view/{n}/{seed}/{relevant}"), today or date.today(), relevant=relevant)
    return _request(
        chart.rng,
        "patient-view",
        {"userId": "Practitioner/bench-clinician", "patientId": PATIENT_ID},
        {
            "patient": chart.patient(),
            "conditions": _bundle(chart.conditions()),
            "observations": _bundle(chart.observations()),
            "diagnosticReports": _bundle(chart.reports()),
            "medicationRequests": _bundle(chart.medication_requests()),
        },
    )


def order_select(orders: int, *, seed: int = DEFAULT_SEED, today: date | None = None) -> dict[str, Any]:
    """An order-select call: ``orders`` draft orders, the first (a knee X-ray) just selected."""
    chart = _Chart(ORDER_CHART_SIZE, random.Random(f"order-select/{orders}/{seed}"), today or date.today())
    drafts = [chart.service_request("draft-0", CPT, XRAY_KNEE_ORDER)]
    drafts += [chart.irrelevant_order(f"draft-{i}") for i in range(1, orders)]
    context = {
        "userId": "Practitioner/bench-clinician",
        "patientId": PATIENT_ID,
        "selections": [f"{drafts[0]['resourceType']}/{drafts[0]['id']}"],
        "draftOrders": _bundle(drafts),
    }
    prefetch = {
        "patient": chart.patient(),
        "conditions": _bundle(chart.conditions()),
        "observations": _bundle(chart.observations()),
        "diagnosticReports": _bundle(chart.reports()),
    }
    return _request(chart.rng, "order-select", context, prefetch)


def order_sign(orders: int, *, seed: int = DEFAULT_SEED, today: date | None = None) -> dict[str, Any]:
    """An order-sign call: ``orders`` draft orders, the first an ibuprofen prescription for a patient on apixaban."""
    chart = _Chart(ORDER_CHART_SIZE, random.Random(f"order-sign/{orders}/{seed}"), today or date.today())
    drafts = [chart.medication_request("draft-0", IBUPROFEN_600, status="draft")]
    drafts += [chart.irrelevant_order(f"draft-{i}") for i in range(1, orders)]
    context = {"userId": "Practitioner/bench-clinician", "patientId": PATIENT_ID, "draftOrders": _bundle(drafts)}
    prefetch = {
        "patient": chart.patient(),
        "conditions": _bundle(chart.conditions()),
        "medicationRequests": _bundle(chart.medication_requests()),
        "medicationStatements": _bundle([]),
        # The service's template asks the EHR for eGFR results only.
        "observations": _bundle([o for o in chart.observations() if o["code"]["coding"][0]["code"] == EGFR[0]]),
    }
    return _request(chart.rng, "order-sign", context, prefetch)


def standard_workloads(*, quick: bool = False, seed: int = DEFAULT_SEED, today: date | None = None) -> list[Workload]:
    """Every benchmark request: patient-view at each chart size, a chart with nothing BME-relevant, and
    order-select and order-sign at each order count.

    ``quick`` leaves out the largest chart and order count.
    """
    sizes = PATIENT_SIZES[:-1] if quick else PATIENT_SIZES
    counts = ORDER_COUNTS[:-1] if quick else ORDER_COUNTS
    workloads = [Workload(f"patient-view N={n}", "bme-patient-view", n, patient_view(n, seed=seed, today=today)) for n in sizes]
    workloads.append(
        Workload(f"plain chart N={PLAIN_CHART_SIZE} (patient-view)", "bme-patient-view", PLAIN_CHART_SIZE,
                 patient_view(PLAIN_CHART_SIZE, seed=seed, today=today, relevant=False), fires=False)
    )
    for hook, build in (("order-select", order_select), ("order-sign", order_sign)):
        workloads += [Workload(f"{hook} orders={k}", f"bme-{hook}", k, build(k, seed=seed, today=today)) for k in counts]
    return workloads


class _Chart:
    """Resources of one synthetic patient; ``rng`` decides everything that is not fixed."""

    def __init__(self, n: int, rng: random.Random, today: date, *, relevant: bool = True):
        self.n = n
        self.rng = rng
        self.today = today
        self.relevant = relevant
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def _day(self, days_ago: int) -> str:
        return (self.today - timedelta(days=days_ago)).isoformat()

    def patient(self) -> dict[str, Any]:
        born = self.today.replace(year=self.today.year - 52, day=1) - timedelta(days=40)
        return {
            "resourceType": "Patient",
            "id": PATIENT_ID,
            "gender": "male",
            "birthDate": born.isoformat(),
            "name": [{"family": "Benchmark", "given": ["Synthetic"]}],
        }

    def conditions(self) -> list[dict[str, Any]]:
        if "conditions" not in self._cache:
            relevant = [self.condition(f"c{i}", code, display, days) for i, (code, display, days) in enumerate(RELEVANT_CONDITIONS)]
            relevant = relevant if self.relevant else []
            others = []
            for i in range(len(relevant), self.n):
                code, display = self.rng.choice(IRRELEVANT_CONDITIONS)
                status = "resolved" if self.rng.random() < 0.2 else "active"
                others.append(self.condition(f"c{i}", code, display, self.rng.randrange(30, 3650), status))
            self._cache["conditions"] = relevant + others
        return self._cache["conditions"]

    def condition(self, rid: str, code: str, display: str, days_ago: int, status: str = "active") -> dict[str, Any]:
        return {
            "resourceType": "Condition",
            "id": rid,
            "clinicalStatus": {"coding": [{"system": CLINICAL_STATUS, "code": status}]},
            "verificationStatus": {"coding": [{"system": VERIFICATION_STATUS, "code": "confirmed"}]},
            "code": _concept(ICD10CM, code, display),
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "onsetDateTime": self._day(days_ago),
            "recordedDate": self._day(days_ago),
        }

    def observations(self) -> list[dict[str, Any]]:
        if "observations" not in self._cache:
            relevant = [
                self.observation("o0", EGFR, "laboratory", 55, "mL/min/{1.73_m2}", 90),
                self.observation("o1", ESR, "laboratory", 18, "mm/h", 400),
            ]
            others = []
            for i in range(len(relevant), 2 * self.n):
                code, display, category, unit, low, high = self.rng.choice(IRRELEVANT_OBSERVATIONS)
                value = round(self.rng.uniform(low, high), 1)
                others.append(self.observation(f"o{i}", (code, display), category, value, unit, self.rng.randrange(1, 1500)))
            self._cache["observations"] = relevant + others
        return self._cache["observations"]

    def observation(self, rid: str, code: tuple[str, str], category: str, value: float, unit: str, days_ago: int) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
            "code": _concept(LOINC, *code),
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "effectiveDateTime": self._day(days_ago),
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        }

    def reports(self) -> list[dict[str, Any]]:
        if "reports" not in self._cache:
            reports = [
                self.report("r0", MRI_KNEE, "RAD", 40, text=MRI_KNEE_TEXT),
                self.report("r1", XRAY_KNEE, "RAD", 75, text=XRAY_KNEE_TEXT),
            ]
            reports = reports if self.relevant else []
            for i in range(len(reports), max(len(reports), self.n // 5)):
                days_ago = self.rng.randrange(1, 2500)
                if self.rng.random() < 0.6:
                    panel = self.rng.choice(LAB_PANELS)
                    reports.append(self.report(f"r{i}", panel, "LAB", days_ago, conclusion=self.rng.choice(LAB_CONCLUSIONS)))
                else:
                    reports.append(self.report(f"r{i}", CHEST_XRAY, "RAD", days_ago, text=self.chest_text(days_ago)))
            self._cache["reports"] = reports
        return self._cache["reports"]

    def chest_text(self, days_ago: int) -> str:
        findings = " ".join(self.rng.sample(CHEST_FINDINGS, 3))
        comparison = self._day(days_ago + self.rng.randrange(200, 900))
        return f"CHEST, PA AND LATERAL\nCOMPARISON: {comparison}.\nFINDINGS: {findings}\nIMPRESSION: {self.rng.choice(CHEST_IMPRESSIONS)}"

    def report(
        self, rid: str, code: tuple[str, str], category: str, days_ago: int, *, text: str | None = None, conclusion: str | None = None
    ) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "id": rid,
            "status": "final",
            "category": [{"coding": [{"system": REPORT_CATEGORY, "code": category}]}],
            "code": _concept(LOINC, *code),
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "effectiveDateTime": self._day(days_ago),
            "issued": f"{self._day(days_ago)}T12:00:00Z",
        }
        if conclusion:
            resource["conclusion"] = conclusion
        if text:
            data = base64.b64encode(text.encode("utf-8")).decode("ascii")
            resource["presentedForm"] = [{"contentType": "text/plain; charset=utf-8", "data": data, "title": code[1]}]
        return resource

    def medication_requests(self) -> list[dict[str, Any]]:
        medicines = [self.medication_request("m0", METFORMIN_500)]
        return medicines + [self.medication_request("m1", APIXABAN_5)] if self.relevant else medicines

    def medication_request(self, rid: str, product: tuple[str, str], status: str = "active") -> dict[str, Any]:
        return {
            "resourceType": "MedicationRequest",
            "id": rid,
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": _concept(RXNORM, *product),
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
        }

    def service_request(self, rid: str, system: str, code: tuple[str, str]) -> dict[str, Any]:
        return {
            "resourceType": "ServiceRequest",
            "id": rid,
            "status": "draft",
            "intent": "order",
            "code": _concept(system, *code),
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
        }

    def irrelevant_order(self, rid: str) -> dict[str, Any]:
        if self.rng.random() < 0.25:
            return self.medication_request(rid, METFORMIN_500, status="draft")
        return self.service_request(rid, LOINC, self.rng.choice(LAB_ORDERS))


def _request(rng: random.Random, hook: str, context: dict[str, Any], prefetch: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "context": context,
        "prefetch": prefetch,
    }


def _concept(system: str, code: str, text: str) -> dict[str, Any]:
    """A CodeableConcept; the text doubles as the coding's display only where it is the code system's own
    name for the code (ICD-10-CM from simple_icd_10_cm, RxNorm from plugin/data)."""
    coding = {"system": system, "code": code}
    if system in _OFFICIAL_DISPLAYS:
        coding["display"] = text
    return {"coding": [coding], "text": text}


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources), "entry": [{"resource": r} for r in resources]}
