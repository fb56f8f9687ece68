"""Red flags that a report states itself: suspected infection, suspected cancer, a fracture seen.

A radiologist often writes "findings concerning for osteomyelitis" or
"marrow replacement, suspicious for metastasis" before anyone codes the
diagnosis, so the content must not wait for the problem list: such a report
puts a patient with BME on the infection or oncology path. The rules are
small and err toward the warning:

- a clause that names the term and hedges ("cannot exclude", "possible",
  "suspicious for", "?", "no definite") is a flag;
- a clause that denies it ("no evidence of osteomyelitis", "metastasis is
  not seen", "no fracture, dislocation or osteomyelitis") is not;
- a bare mention ("osteomyelitis of the calcaneus", "history of breast
  cancer") is a flag;
- a question ("rule out osteomyelitis") is a flag only when no sentence of
  the report denies the term (the clinician suspected it and the report did
  not settle it).

Clauses are cut at sentence ends, semicolons, commas and contrast words, so
"No fracture, but osteomyelitis is likely" is a flag. Texts are read by
:func:`plugin.findings.report_texts` (conclusion, notes, text/plain attachments),
the same texts the BME findings come from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from plugin.findings import report_texts
from plugin.resource_fields import clinical_date, is_skipped, source_ref
from plugin.text_memo import remembered_by_digest

#: kind -> words that name it (whole words, case-insensitive).
TERMS: dict[str, str] = {
    "infection": r"osteomyelitis|spondylodiscitis|dis[ck]itis|septic (?:arthritis|joint)|infect(?:ion|ed|ive|ious)|abscess(?:es)?",
    "cancer": r"metasta\w*|tumou?rs?|neoplas\w*|malignan\w*|carcinoma\w*|sarcoma\w*|lymphoma\w*|myeloma\w*|leuka?emi\w*|cancer"
              r"|marrow[- ]replac\w*|replace\w* (?:of )?(?:the )?(?:normal )?(?:fatty )?marrow",
    "fracture": r"fractures?|fx",
}
_TERM_RES = {kind: re.compile(rf"\b(?:{words})\b", re.IGNORECASE) for kind, words in TERMS.items()}
_ANY_TERM = re.compile("|".join(rf"\b(?:{words})\b" for words in TERMS.values()), re.IGNORECASE)

_STRONG_HEDGE = re.compile(
    r"cannot (?:be )?(?:entirely |completely |definitely )?(?:excluded?|ruled? out)|can't (?:exclude|rule out)"
    r"|not (?:be )?(?:entirely |completely |definitely )?(?:excluded|ruled out)|no (?:definite|convincing|definitive|clear)\b"
    r"|\b(?:possib\w*|probab\w*|likely|unlikely|equivocal|indeterminate|questionable|differential|versus|vs|may|might|could"
    r"|presumed|early)\b|\?",
    re.IGNORECASE)
_WEAK_HEDGE = re.compile(r"\b(?:suspect\w*|suspicious|concern\w*|worrisome|suggest\w*)\b", re.IGNORECASE)
_PSEUDO = re.compile(r"\bno (?:significant |interval |definite )?(?:change|increase|decrease|progression)\b"
                     r"|\bnot (?:significantly )?changed\b", re.IGNORECASE)
_QUESTION = re.compile(r"\b(?:rule out|r/o|evaluate for|evaluation for|assess(?:ment)? for|to exclude|query)\b", re.IGNORECASE)
_DENY_BEFORE = re.compile(r"\b(?:no|not|without|negative for|free of|absence of|lack of|neither|nor|resolution of|resolved)\b",
                          re.IGNORECASE)
_DENY_AFTER = re.compile(r"\b(?:not (?:seen|identified|present|evident|demonstrated|appreciated|visible|suspected)|absent|excluded"
                         r"|ruled out|(?:has |have )?resolved|no longer)\b", re.IGNORECASE)
_SENTENCES = re.compile(r"(?<=[.!])\s+|[;\n]+")
_CONTRAST = re.compile(r"\b(?:but|however|although|though|whereas|while|except)\b", re.IGNORECASE)
_LIST_JOIN = re.compile(r"\b(?:or|nor)\b", re.IGNORECASE)
_CLAUSE_VERB = re.compile(r"\b(?:is|are|was|were|there|seen|noted|shows?|demonstrate\w*)\b", re.IGNORECASE)

STATED, SUSPECTED, QUESTIONED, DENIED = "stated", "suspected", "questioned", "denied"


class DataView(Protocol):
    """What the reader needs from the engine's per-request view."""

    def resources(self, type_name: str) -> list[dict[str, Any]]: ...


def derive_facts(view: DataView) -> dict[str, list[dict[str, Any]]]:
    """``reportRedFlags``: one entry per report that flags infection or cancer.

    Each entry: ``kind`` (``infection`` or ``cancer``), ``status``
    (``stated`` or ``suspected``; a settled question is left out), ``term``
    (the word the report used), and ``date`` and ``source`` when known.
    Every DiagnosticReport is read (imaging, and pathology too: a biopsy that
    finds metastasis is the oncology path as well).
    """
    flags = []
    for report in view.resources("DiagnosticReport"):
        if is_skipped(report):
            continue
        for kind, (status, term) in flags_in(*report_texts(report)).items():
            if kind == "fracture":
                continue
            entry = {"kind": kind, "status": status, "term": term, "date": clinical_date(report), "source": source_ref(report)}
            flags.append({key: value for key, value in entry.items() if value is not None})
    return {"reportRedFlags": flags}


def states_fracture(report: Mapping[str, Any]) -> bool:
    """True when the report itself says a fracture is there (stated, not hedged, asked or denied)."""
    found = flags_in(*report_texts(report)).get("fracture")
    return found is not None and found[0] == STATED


@remembered_by_digest
def flags_in(*texts: str) -> dict[str, tuple[str, str]]:
    """kind -> (status, term) for each kind the texts flag; the strongest status wins (stated > suspected)."""
    statuses: dict[str, list[tuple[str, str]]] = {}
    for text in texts:
        if not _ANY_TERM.search(text):
            continue
        for sentence in _SENTENCES.split(text):
            for kind, status, term in _sentence_mentions(sentence):
                statuses.setdefault(kind, []).append((status, term))
    found = {}
    for kind, mentions in statuses.items():
        denied = any(status == DENIED for status, _ in mentions)
        for wanted in (STATED, SUSPECTED, QUESTIONED):
            term = next((term for status, term in mentions if status == wanted), None)
            if term is not None and not (wanted == QUESTIONED and denied):
                found[kind] = (SUSPECTED if wanted == QUESTIONED else wanted, term)
                break
    return found


def _sentence_mentions(sentence: str) -> Iterable[tuple[str, str, str]]:
    """(kind, status, term) of each term in the sentence, read clause by clause.

    A denial that opens a clause carries over the comma list that follows it
    ("No fracture, dislocation, or osteomyelitis"), up to a clause with a verb
    of its own ("No fracture, osteomyelitis is present").
    """
    clauses = [part for piece in _CONTRAST.split(_PSEUDO.sub(" ", sentence)) for part in piece.split(",")]
    listed_denial = False
    for clause in clauses:
        own_verb = bool(_CLAUSE_VERB.search(clause))
        carried = listed_denial and not own_verb and bool(_LIST_JOIN.search(clause))
        for kind, pattern in _TERM_RES.items():
            for match in pattern.finditer(clause):
                status = _status(clause, match)
                yield kind, (DENIED if carried and status == STATED else status), match.group(0).lower()
        if _DENY_BEFORE.match(clause.strip()):
            listed_denial = True
        elif own_verb:
            listed_denial = False


def _status(clause: str, match: re.Match[str]) -> str:
    """Strong hedges first (a hedged denial is still a doubt), then a question, a denial, a weak hedge; else stated.

    "No suspicious lesion to suggest metastasis" is a denial: a weak hedge
    word ("suspicious", "concerning") after "no" is denied with it.
    """
    if _STRONG_HEDGE.search(clause):
        return SUSPECTED
    if _QUESTION.search(clause):
        return QUESTIONED
    if _DENY_BEFORE.search(clause[: match.start()]) or _DENY_AFTER.search(clause[match.end():]):
        return DENIED
    if _WEAK_HEDGE.search(clause):
        return SUSPECTED
    return STATED
