"""Painful sites and what imaging already covers each one: the join FHIRPath cannot write.

A coded pain condition ("pain in left knee", M25.562) names a joint and often
a side; the imaging of that joint counts for it only when it is the same
joint and side (or either states no side) and recent enough to reflect the
present pain. FHIRPath cannot compare each pain with each study (an inner
filter cannot see the outer item), so this module does the pairing once per
request and the content filters the result (``%painfulSites``): which pain
conditions are current and recent stays a rule of the content (Library
``recentPainConditions``), joined here by the condition's id.

Rules (docs/bme-content.md, "Painful sites and imaging"):

- side of a pain: a code in ``side-right`` / ``side-left`` (ICD-10-CM sided
  pain codes), a ``bodySite`` coded with a laterality qualifier, else the
  words left / right / bilateral in the code or body-site text; both sides
  give two sites;
- an X-ray or CT counts when taken at most 6 months before the pain began
  (or, for a pain with no date, in the last 6 months) or later; an undated
  study does not count;
- an MRI of the site, of any date, or a current BME finding there, means the
  site had its MRI.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Protocol

from plugin.resource_fields import as_list, concept_texts, source_ref
from plugin.report_red_flags import states_fracture

VALUE_SET_BASE = "http://bme-cds.org/fhir/ValueSet/"
PAIN_VALUE_SETS = {joint: f"{VALUE_SET_BASE}pain-{joint}" for joint in ("knee", "hip", "ankle", "foot", "spine")}
SIDE_VALUE_SETS = {"left": f"{VALUE_SET_BASE}side-left", "right": f"{VALUE_SET_BASE}side-right",
                   "bilateral": f"{VALUE_SET_BASE}side-bilateral"}
#: How long before the pain began an X-ray or CT still reflects it.
PLAIN_IMAGING_WINDOW = timedelta(days=183)
CURRENT_FINDING = frozenset({"present", "uncertain"})


class DataView(Protocol):
    """What the pairing needs from the engine's per-request view."""

    def resources(self, type_name: str) -> list[dict[str, Any]]: ...

    def resources_in(self, type_name: str, vs_url: str) -> list[dict[str, Any]]: ...

    def in_value_set(self, value: Any, vs_url: str) -> bool: ...


def derive_facts(view: DataView, facts: Mapping[str, list[dict[str, Any]]], today: date | None = None) -> dict[str, list[dict[str, Any]]]:
    """``painfulSites``: one entry per pain condition and side, with the imaging that covers it.

    ``facts`` are the findings facts (``imagingResults``, ``bmeFindings``).
    Entry keys: ``condition`` (the Condition id), ``joint``, ``laterality``
    (when stated), ``imaging`` (``mri``, ``abnormal``, ``negative``,
    ``unknown`` or ``none``: the best the site has) and ``fracture``
    (``true`` when a counted abnormal X-ray or CT report says a fracture is
    there).
    """
    today = today or date.today()
    sites = []
    reports: dict[str, Mapping[str, Any]] | None = None
    for joint, vs_url in PAIN_VALUE_SETS.items():
        for condition in view.resources_in("Condition", vs_url):
            condition_id = condition.get("id")
            if not isinstance(condition_id, str):
                continue
            began = _began(condition)
            cutoff = (began or today) - PLAIN_IMAGING_WINDOW
            for side in _sides(view, condition):
                imaging, plain_abnormal = _imaging(joint, side, cutoff, facts)
                site = {"condition": condition_id, "joint": joint, "imaging": imaging}
                if side:
                    site["laterality"] = side
                if plain_abnormal:
                    reports = reports if reports is not None else _reports_by_source(view)
                    if any(states_fracture(reports[s]) for s in plain_abnormal if s in reports):
                        site["fracture"] = True
                sites.append(site)
    return {"painfulSites": sites}


def _began(condition: Mapping[str, Any]) -> date | None:
    """When the pain began: onset (dateTime or period start), else the recorded date."""
    period = condition.get("onsetPeriod")
    for value in (condition.get("onsetDateTime"), period.get("start") if isinstance(period, Mapping) else None,
                  condition.get("recordedDate")):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None


def _sides(view: DataView, condition: Mapping[str, Any]) -> list[str | None]:
    """The sides a pain condition names: ``['left']``, ``['left', 'right']`` (bilateral), or ``[None]``."""
    coded = [c for c in (condition.get("code"), *as_list(condition.get("bodySite"))) if isinstance(c, Mapping)]
    found = {side for side, vs_url in SIDE_VALUE_SETS.items() if any(view.in_value_set(c, vs_url) for c in coded)}
    if not found:
        words = " ".join(concept_texts(coded)).lower().replace("-", " ").split()
        found = {side for side, names in (("left", {"left", "lt"}), ("right", {"right", "rt"}),
                                          ("bilateral", {"bilateral", "both"})) if names & set(words)}
    if "bilateral" in found or {"left", "right"} <= found:
        return ["left", "right"]
    return [next(iter(found))] if found else [None]


def _imaging(joint: str, side: str | None, cutoff: date, facts: Mapping[str, list[dict[str, Any]]]) -> tuple[str, list[str]]:
    """The best imaging state of one site, and the sources of its counted abnormal X-rays or CTs."""
    def same_site(entry: Mapping[str, Any]) -> bool:
        other = entry.get("laterality")
        return entry.get("joint") == joint and (side is None or other is None or other in (side, "bilateral"))

    studies = [r for r in facts.get("imagingResults", []) if same_site(r)]
    if any(r.get("modality") == "mri" for r in studies) or any(
            f.get("status") in CURRENT_FINDING for f in facts.get("bmeFindings", []) if same_site(f)):
        return "mri", []
    plain = [r for r in studies if r.get("modality") in ("xray", "ct") and _on_or_after(r.get("date"), cutoff)]
    results = {r.get("result") for r in plain}
    abnormal = [r["source"] for r in plain if r.get("result") == "abnormal" and r.get("source")]
    for state in ("abnormal", "negative", "unknown"):
        if state in results:
            return state, abnormal
    return "none", []


def _on_or_after(value: Any, cutoff: date) -> bool:
    try:
        return isinstance(value, str) and date.fromisoformat(value[:10]) >= cutoff
    except ValueError:
        return False


def _reports_by_source(view: DataView) -> dict[str, Mapping[str, Any]]:
    return {source: r for kind in ("DiagnosticReport", "Observation") for r in view.resources(kind)
            if (source := source_ref(r)) is not None}

