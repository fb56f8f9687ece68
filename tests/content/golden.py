"""Run golden patients through the real engine and reduce the cards to what must not change silently.

A card's summary of record is its topic code, its indicator and the codes it
suggests (sorted). Free text and uuids are left out on purpose: wording may be
improved without touching the golden file, but a card that appears, vanishes,
changes severity or suggests a different order shows up as a diff.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fhir_content import KnowledgeBase

from cds_content.demo import Case

GOLDEN_FILE = Path(__file__).with_name("golden.json")
BASE_URL = "https://cds.example.org"
PLAN_FOR_HOOK = {"patient-view": "bme-patient-view", "order-select": "bme-order-select", "order-sign": "bme-order-sign"}
SYSTEM_NAMES = {
    "http://loinc.org": "loinc",
    "http://www.ama-assn.org/go/cpt": "cpt",
    "http://snomed.info/sct": "sct",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
}


def prefetch_templates(kb: KnowledgeBase, hook: str) -> dict[str, str]:
    plan_id = PLAN_FOR_HOOK[hook]
    return next(plan.prefetch for plan in kb.plans() if plan.id == plan_id)


def cards_for(kb: KnowledgeBase, case: Case, language: str = "en") -> list[dict[str, Any]]:
    """The cards the service computes for ``case`` (engine + plugin, no HTTP)."""
    request = case.hook_request(prefetch_templates(kb, case.hook))
    return kb.evaluate(PLAN_FOR_HOOK[case.hook], context=request["context"], prefetch=request["prefetch"],
                       base_url=BASE_URL, language=language)


def suggested_codes(suggestion: Mapping[str, Any]) -> list[str]:
    """``system|code`` of each suggested resource; a handout request is named by its handout id."""
    codes = []
    for action in suggestion.get("actions", []):
        resource = action.get("resource", {})
        if resource.get("resourceType") == "CommunicationRequest":
            for payload in resource.get("payload", []):
                url = payload.get("contentAttachment", {}).get("url", "")
                codes.append("handout|" + urlparse(url).path.rsplit("/", 1)[-1])
            continue
        concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
        codes.extend(f"{SYSTEM_NAMES.get(c['system'], c['system'])}|{c['code']}" for c in concept.get("coding", []))
    return codes


def summarize(cards: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    summary = [
        {
            "topic": card["source"]["topic"]["code"],
            "indicator": card["indicator"],
            "suggests": sorted(code for s in card.get("suggestions", []) for code in suggested_codes(s)),
        }
        for card in cards
    ]
    return sorted(summary, key=lambda item: item["topic"])


def observe(kb: KnowledgeBase, cases: Iterable[Case]) -> dict[str, Any]:
    """Case id -> hook and card summaries, for every case."""
    return {case.id: {"hook": case.hook, "cards": summarize(cards_for(kb, case))} for case in cases}


def read_golden() -> dict[str, Any]:
    return json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))


def write_golden(observed: Mapping[str, Any]) -> None:
    GOLDEN_FILE.write_text(json.dumps(observed, indent=2, sort_keys=True) + "\n", encoding="utf-8")
