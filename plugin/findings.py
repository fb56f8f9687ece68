"""Derived facts for the BME content: what the patient's imaging showed.

The engine calls :func:`derive_facts` once per hook request with a read-only
data view and merges the result into the FHIRPath variables, so the content
can say ``%bmeFindings.where(status = 'present')`` or ``%imagingResults.where(
modality = 'xray' and result = 'negative')`` instead of parsing reports in
FHIRPath.

Only imaging reports are read: DiagnosticReports and Observations whose code
is in one of the imaging value sets (or whose category says radiology/imaging),
plus Observations coded with a BME finding. Everything here is dict walking
and value-set lookups; the report text is read by :mod:`plugin.report_text`,
whose regular expressions are compiled at import.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fhir_content.datacontext import codings
from fhir_content.systems import LOINC, SNOMED
from plugin.report_text import (
    HISTORICAL,
    NEGATED,
    PRESENT,
    UNCERTAIN,
    Mention,
    Reading,
    find_anatomy,
    find_mentions,
    first_joint,
    laterality_in,
    read,
)
from plugin.resource_fields import as_list, clinical_date, concept_texts, is_skipped, source_ref
from plugin.text_memo import remembered_by_digest

VALUE_SET_BASE = "http://bme-cds.org/fhir/ValueSet/"


def _imaging_value_sets() -> tuple[tuple[str, str, str | None], ...]:
    joints = {
        "mri": ("knee", "hip", "ankle", "foot", "spine", "pelvis", "sacroiliac"),
        "xray": ("knee", "hip", "ankle", "foot", "spine", "pelvis"),
        "ct": ("knee", "hip", "ankle", "foot", "spine", "pelvis"),
    }
    by_joint = tuple((f"{VALUE_SET_BASE}imaging-{m}-{j}", m, j) for m, js in joints.items() for j in js)
    # Codes that name no joint (CPT 73721 "MRI any joint of lower extremity"): the joint comes
    # from bodySite or the report text.
    site_in_text = (
        (f"{VALUE_SET_BASE}imaging-mri-lower-extremity-joint", "mri", None),
        (f"{VALUE_SET_BASE}imaging-mri-lower-extremity", "mri", None),
        (f"{VALUE_SET_BASE}imaging-ct-lower-extremity", "ct", None),
    )
    return by_joint + site_in_text


#: (value set URL, modality, joint or None when the code names no joint).
IMAGING_VALUE_SETS: tuple[tuple[str, str, str | None], ...] = _imaging_value_sets()

#: (value set URL, joint) for bodySite codings.
BODY_SITE_VALUE_SETS: tuple[tuple[str, str], ...] = tuple(
    (f"{VALUE_SET_BASE}body-site-{joint}", joint) for joint in ("knee", "hip", "ankle", "foot", "spine")
)

#: Coded BME findings (Observation.code / value, DiagnosticReport.conclusionCode).
BME_FINDING_VALUE_SET = f"{VALUE_SET_BASE}bme-finding"

#: Category codings that mark a report as imaging when its code is in no imaging value set.
IMAGING_CATEGORIES: frozenset[tuple[str, str]] = frozenset({
    ("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD"),  # Radiology
    (LOINC, "LP29684-5"),  # Radiology (LOINC part used for report category)
    ("http://terminology.hl7.org/CodeSystem/observation-category", "imaging"),
})

#: conclusionCode values read as the study's overall result (SNOMED CT qualifier values,
#: checked against a published expansion: 17621005 Normal, 263654008 Abnormal).
RESULT_CODES: Mapping[tuple[str, str], str] = {
    (SNOMED, "17621005"): "negative",
    (SNOMED, "263654008"): "abnormal",
}

#: Modality words for reports whose code is in no imaging value set.
MODALITY_WORDS: tuple[tuple[str, str], ...] = (
    ("mri", r"\bMRI\b|(?-i:\bMR\b)|magnetic\s+resonance"),
    ("xray", r"radiograph\w*|\bx-?\s?rays?\b|(?-i:\bXR\b)"),
    ("ct", r"(?-i:\bCT\b)|computed\s+tomograph\w*|\bCAT\s+scan"),
)
_MODALITY_RES = tuple((modality, re.compile(pattern, re.IGNORECASE)) for modality, pattern in MODALITY_WORDS)

#: Largest report text read (characters after decoding); radiology reports are a few KB.
MAX_TEXT_CHARS = 100_000
_MAX_BASE64_CHARS = (MAX_TEXT_CHARS * 4 // 3) // 4 * 4

#: The resource types that can be imaging reports.
REPORT_TYPES = ("DiagnosticReport", "Observation")

_NOT_CODED = (None, None)


class DataView(Protocol):
    """What derive_facts needs from the engine's per-request view."""

    def resources(self, type_name: str) -> list[dict[str, Any]]: ...

    def resources_in(self, type_name: str, vs_url: str) -> list[dict[str, Any]]: ...

    def in_value_set(self, value: Any, vs_url: str) -> bool: ...


#: (modality, joint or None) of the resources whose code is in an imaging value set, keyed by id(resource).
CodedModalities = Mapping[int, tuple[str, str | None]]


@dataclass(frozen=True)
class _Report:
    """One imaging resource, reduced to what the facts need."""

    source: str | None
    date: str | None
    modality: str | None
    joint: str | None
    laterality: str | None
    texts: tuple[str, ...]
    conclusion: str | None
    resource: Mapping[str, Any]


def derive_facts(view: DataView) -> dict[str, list[dict[str, Any]]]:
    """``bmeFindings`` and ``imagingResults`` for the content's FHIRPath (newest first).

    See docs/findings.md for the schema of each entry.
    """
    findings: list[dict[str, Any]] = []
    mri_negations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    coded = _coded_modalities(view)
    for report in _imaging_reports(view, coded):
        readings = {text: read(text) for text in report.texts}
        if report.modality:
            results.append(_imaging_result(view, report, readings))
        entries = _unique(_finding(m, report) for reading in readings.values() for m in reading.mentions)
        findings.extend(entries)
        if report.modality == "mri":
            mri_negations.extend(e for e in entries if e["status"] == NEGATED)
    findings.extend(_coded_findings(view, coded))
    return {
        "bmeFindings": _newest_first(_cleared_by_newer(findings, mri_negations)),
        "imagingResults": _newest_first(results),
    }


# ---------------------------------------------------------------------------
# Which resources are imaging reports
# ---------------------------------------------------------------------------


def _imaging_reports(view: DataView, coded: CodedModalities) -> Iterator[_Report]:
    """Every report that is imaging, by its code (``coded``) or its category.

    One loop with the cheap tests inline: it runs over every Observation and
    DiagnosticReport of the chart, and most of them are vitals and labs that
    leave at the category test.
    """
    for resource_type in REPORT_TYPES:
        for resource in view.resources(resource_type):
            if is_skipped(resource):
                continue
            modality, joint = coded.get(id(resource), _NOT_CODED)
            if modality is None and not _has_category(resource):
                continue
            yield _as_report(view, resource, modality, joint)


def _as_report(view: DataView, resource: Mapping[str, Any], modality: str | None, joint: str | None) -> _Report:
    """The imaging report ``resource`` is, with its modality and joint when its code already said them."""
    texts = tuple(report_texts(resource))
    described = _described(" ".join(_titles(resource)), *texts)
    if modality is None:
        modality = described.modality
    if joint is None:
        joint = _joint_from_body_site(view, resource) or described.joint
    return _Report(
        source=source_ref(resource),
        date=clinical_date(resource),
        modality=modality,
        joint=joint,
        laterality=described.laterality,
        texts=texts,
        conclusion=_capped(resource.get("conclusion")),
        resource=resource,
    )


@dataclass(frozen=True)
class _Described:
    """What a report's title and texts say of the study: for reports whose code does not say it."""

    modality: str | None
    joint: str | None
    laterality: str | None


@remembered_by_digest
def _described(title: str, *texts: str) -> _Described:
    """The modality and joint named first in the title, else in the texts; the title's laterality."""
    joined = " ".join(texts)
    return _Described(
        modality=_modality_from_text(title) or _modality_from_text(joined),
        joint=first_joint(title) or first_joint(joined),
        laterality=laterality_in(title) if title else None,
    )


def _coded_modalities(view: DataView) -> CodedModalities:
    """Which reports are coded as imaging, from one value-set index lookup per imaging value set.

    Asking each Observation and DiagnosticReport about each of the imaging
    value sets in turn cost most of a request on a large chart (most
    Observations are vitals and labs). The first value set in
    ``IMAGING_VALUE_SETS`` order that holds a resource's code wins.
    """
    found: dict[int, tuple[str, str | None]] = {}
    for resource_type in REPORT_TYPES:
        for url, modality, joint in IMAGING_VALUE_SETS:
            for resource in view.resources_in(resource_type, url):
                found.setdefault(id(resource), (modality, joint))
    return found


def _has_category(resource: Mapping[str, Any]) -> bool:
    """Does a category coding say radiology or imaging?

    Asked of every Observation and DiagnosticReport of a request, so the usual
    shape (a list of CodeableConcepts, each with a list of Codings) is read
    with plain loops and anything else goes through :func:`codings`. A
    (system, code) pair that is not two strings is in no set of pairs of
    strings, or cannot be hashed (a malformed coding).
    """
    category = resource.get("category")
    if type(category) is not list:
        return category is not None and _any_imaging(codings(category))
    for concept in category:
        inner = concept.get("coding") if type(concept) is dict else None
        if type(inner) is not list:
            if _any_imaging(codings(concept)):
                return True
            continue
        for coding in inner:
            if type(coding) is dict and _is_imaging_coding(coding):
                return True
    return False


def _any_imaging(found: Iterable[Mapping[str, Any]]) -> bool:
    return any(_is_imaging_coding(coding) for coding in found)


def _is_imaging_coding(coding: Mapping[str, Any]) -> bool:
    try:
        return (coding.get("system"), coding.get("code")) in IMAGING_CATEGORIES
    except TypeError:
        return False


def _modality_from_text(text: str) -> str | None:
    """The modality named first in the text."""
    found = [(m.start(), modality) for modality, regex in _MODALITY_RES if (m := regex.search(text))]
    return min(found)[1] if found else None


def _joint_from_body_site(view: DataView, resource: Mapping[str, Any]) -> str | None:
    body_site = resource.get("bodySite")
    if not body_site:
        return None
    for url, joint in BODY_SITE_VALUE_SETS:
        if view.in_value_set(body_site, url):
            return joint
    return first_joint(" ".join(concept_texts(body_site)))


# ---------------------------------------------------------------------------
# Text of a report
# ---------------------------------------------------------------------------


def _key(coding: Mapping[str, Any]) -> tuple[str, str] | None:
    """(system, code) of a well-formed Coding."""
    system, code = coding.get("system"), coding.get("code")
    return (system, code) if isinstance(system, str) and isinstance(code, str) else None


def _capped(value: Any) -> str | None:
    """A string element cut to the size we read; None for anything else."""
    return value[:MAX_TEXT_CHARS] if isinstance(value, str) else None


def _titles(resource: Mapping[str, Any]) -> Iterator[str]:
    """Where a report says what was imaged: code, bodySite, attachment titles."""
    yield from concept_texts(resource.get("code"))
    yield from concept_texts(resource.get("bodySite"))
    for form in as_list(resource.get("presentedForm")):
        if isinstance(form, Mapping) and isinstance(form.get("title"), str):
            yield form["title"]


def report_texts(resource: Mapping[str, Any]) -> Iterator[str]:
    """Free text that may report findings, each capped in size."""
    for key in ("conclusion", "valueString"):
        text = _capped(resource.get(key))
        if text:
            yield text
    for note in as_list(resource.get("note")):
        text = _capped(note.get("text")) if isinstance(note, Mapping) else None
        if text:
            yield text
    for form in as_list(resource.get("presentedForm")):
        text = _plain_text_attachment(form)
        if text:
            yield text


def _plain_text_attachment(form: Any) -> str | None:
    """Decode an inline text/plain attachment; other types and URLs are not read."""
    if not isinstance(form, Mapping) or not isinstance(form.get("data"), str):
        return None
    content_type = str(form.get("contentType") or "")
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "text/plain":
        return None
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        raw = base64.b64decode(form["data"][:_MAX_BASE64_CHARS])
    except (binascii.Error, ValueError):
        return None
    try:
        return raw.decode(charset, errors="replace")[:MAX_TEXT_CHARS]
    except LookupError:
        return raw.decode("utf-8", errors="replace")[:MAX_TEXT_CHARS]


# ---------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------


def _imaging_result(view: DataView, report: _Report, readings: Mapping[str, Reading]) -> dict[str, Any]:
    """One imagingResults entry: modality, joint, laterality, negative/abnormal/unknown."""
    return _compact({
        "modality": report.modality,
        "joint": report.joint,
        "laterality": report.laterality,
        "result": _result(view, report, readings),
        "source": report.source,
        "date": report.date,
    })


def _result(view: DataView, report: _Report, readings: Mapping[str, Reading]) -> str:
    """Coded conclusion first (a BME code or SNOMED Normal/Abnormal), then the report text.

    The text read is the conclusion when there is one (it is the
    radiologist's summary), else every other text of the report.
    """
    conclusion_code = report.resource.get("conclusionCode")
    if conclusion_code and view.in_value_set(conclusion_code, BME_FINDING_VALUE_SET):
        return "abnormal"
    coded = {RESULT_CODES[key] for c in codings(conclusion_code) if (key := _key(c)) in RESULT_CODES}
    if len(coded) == 1:
        return coded.pop()
    texts = [report.conclusion] if report.conclusion else list(report.texts)
    results = {readings[text].result for text in texts}
    for result in ("abnormal", "negative"):
        if result in results:
            return result
    return "unknown"


def _finding(mention: Mention, report: _Report, coded: bool = False) -> dict[str, Any]:
    """A bmeFindings entry. A mention without a place takes the report's joint (a knee MRI's
    "no bone marrow edema" is about the knee); the report's laterality applies when the
    mention is about the report's joint and states none."""
    joint = mention.joint or (None if mention.site else report.joint)
    laterality = mention.laterality
    if laterality is None and (joint is None or joint == report.joint):
        laterality = report.laterality
    return _compact({
        "status": mention.status,
        "site": mention.site,
        "joint": joint,
        "laterality": laterality,
        "term": mention.term,
        "source": report.source,
        "date": report.date,
        "coded": True if coded else None,
    })


def _coded_findings(view: DataView, coded: CodedModalities) -> Iterator[dict[str, Any]]:
    """Findings recorded as codes: Observation.code or value, DiagnosticReport.conclusionCode.

    Observation.code is the element the data view indexes, so its candidates
    come from one value-set lookup instead of a test per Observation.
    """
    for element, candidates in (("code", view.resources_in("Observation", BME_FINDING_VALUE_SET)),
                                ("valueCodeableConcept", view.resources("Observation")),
                                ("conclusionCode", view.resources("DiagnosticReport"))):
        for resource in candidates:
            value = resource.get(element)
            if not value or is_skipped(resource):
                continue
            if not view.in_value_set(value, BME_FINDING_VALUE_SET):
                continue
            report = _coded_report(view, resource, coded)
            status = NEGATED if element == "code" and resource.get("valueBoolean") is False else PRESENT
            mention = Mention(status, _coded_term(value), *_coded_place(view, resource))
            yield _finding(mention, report, coded=True)


def _coded_report(view: DataView, resource: Mapping[str, Any], coded: CodedModalities) -> _Report:
    modality, joint = coded.get(id(resource), _NOT_CODED)
    if modality is not None or _has_category(resource):
        return _as_report(view, resource, modality, joint)
    return _Report(source_ref(resource), clinical_date(resource), None, None, None, (), None, resource)


def _coded_place(view: DataView, resource: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """site, joint and laterality from Observation.bodySite, when it is given."""
    body_site = resource.get("bodySite")
    if not body_site:
        return None, None, None
    text = " ".join(concept_texts(body_site))
    anatomy = find_anatomy(text)
    precise = next((a for a in anatomy if a.site or a.joint), None)
    joint = _joint_from_body_site(view, resource)
    site = precise.site if precise else None
    return site, joint or (precise.joint if precise else None), laterality_in(text) if text else None


def _coded_term(value: Any) -> str:
    """The normalised term of a coded finding, read from its display (default: bone marrow edema)."""
    for mention in find_mentions(" ".join(concept_texts(value))):
        return mention.term
    return "bone marrow edema"


def _compact(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Drop absent values: the facts never carry nulls or empty strings."""
    return {k: v for k, v in entry.items() if v is not None and v != ""}


def _unique(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per distinct finding in a report (the impression often repeats the findings)."""
    seen: dict[tuple, dict[str, Any]] = {}
    for entry in entries:
        seen.setdefault(tuple(sorted(entry.items())), entry)
    return list(seen.values())


def _cleared_by_newer(findings: list[dict[str, Any]], mri_negations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A present or uncertain finding is historical once a later MRI finds no BME at the same
    joint and side ("has resolved", "no longer seen", or a clear follow-up MRI).

    Only an MRI clears: X-ray and CT cannot show BME, so their "no edema" says nothing about
    it (nor does a coded absence whose study is unknown). Only dated entries compare, the laterality must be the same (both unstated counts as the
    same), and a negation that names a bone clears only that bone's site (one of the joint
    itself, "no BME in the left knee", clears all of it): an undated or one-sided statement
    never removes a finding, so a warning is not lost to a guess.
    """
    latest: dict[tuple[str, str | None, str | None], str] = {}  # (joint, laterality, site or None) -> newest date
    for entry in mri_negations:
        if "date" in entry and "joint" in entry:
            site = entry.get("site")
            key = (entry["joint"], entry.get("laterality"), None if site == entry["joint"] else site)
            latest[key] = max(latest.get(key, ""), entry["date"])
    if not latest:
        return findings
    return [{**entry, "status": HISTORICAL} if _is_cleared(entry, latest) else entry for entry in findings]


def _is_cleared(entry: Mapping[str, Any], latest: Mapping[tuple[str, str | None, str | None], str]) -> bool:
    if entry["status"] not in (PRESENT, UNCERTAIN) or "date" not in entry or "joint" not in entry:
        return False
    joint, laterality = entry["joint"], entry.get("laterality")
    newest = max(latest.get((joint, laterality, None), ""), latest.get((joint, laterality, entry.get("site")), ""))
    return newest > entry["date"]


def _newest_first(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dated entries newest first, then undated ones, each group in input order."""
    dated = sorted((e for e in entries if "date" in e), key=lambda e: e["date"], reverse=True)
    return dated + [e for e in entries if "date" not in e]
