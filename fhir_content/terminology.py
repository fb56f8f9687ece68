"""ValueSet expansion and code membership, all computed once at load.

Every ValueSet is expanded when the content loads (enumerated concepts,
``include.valueSet``, ICD-10-CM ``is-a`` / ``descendent-of`` filters through
``simple_icd_10_cm``, ``exclude``) into a reverse index
``(system, code) -> value sets``. A request then answers "is this coding in
that value set?" with one dict lookup.

Codes from EHRs arrive in many spellings, so systems and codes are normalised
on both sides: OIDs and SNOMED edition URIs map to the canonical system URL,
and ICD-10(-CM) codes are upper-cased with the dot inserted after the third
character (``m1711`` matches ``M17.11``).

``simple_icd_10_cm`` is imported only when an ICD-10-CM code must be looked
up: its code tables take seconds to load and much memory in every process.
A ValueSet that carries a *stored expansion* (``ValueSet.expansion`` whose
``identifier`` is the :func:`fingerprint <Expander.fingerprint>` of its compose, written by
``python -m fhir_content.expansions``) is read from it instead of being
expanded, so content whose ICD-10-CM value sets are all stored loads without
the package. A stored expansion whose fingerprint does not match is ignored
(the value set is expanded from its compose, as if there were none);
``bme-cds validate`` re-expands every stored expansion and reports any that is
out of date or differs.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from fhir_content.loader import Artifact, ArtifactIndex
from fhir_content.problems import Problems, json_path
from fhir_content.systems import ICD10, ICD10CM, LOINC, RXNORM, SNOMED


_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
}
_ICD_SYSTEMS = (ICD10CM, ICD10)
_ICD_FILTER_OPS = ("is-a", "descendent-of")
_LOOKUP_MEMO_LIMIT = 100_000  # distinct raw codings remembered; bounded so memory stays flat
ICD10CM_PACKAGE = "simple-icd-10-cm"
FINGERPRINT_PREFIX = "urn:bme-cds:expansion:sha256:"

log = logging.getLogger(__name__)


class UnknownValueSet(KeyError):
    """A value set URL that names no loaded ValueSet (a content error, found at run time)."""

    def __str__(self) -> str:
        return f"unknown value set {self.args[0]}"


def normalize_system(system: str) -> str:
    """The canonical URL of a code system given any of its usual spellings.

    ICD-10 (WHO) and ICD-10-CM stay distinct: they are different code systems.
    """
    s = system.strip().rstrip("/")
    if s.startswith(SNOMED + "/") or s == SNOMED:
        return SNOMED
    return _SYSTEM_ALIASES.get(s.lower(), s)


def normalize_code(system: str, code: str) -> str:
    """Normalise a code of a normalised system (ICD-10 codes: upper case, dot after 3 characters)."""
    code = code.strip()
    if system in _ICD_SYSTEMS:
        code = code.upper()
        if len(code) > 3 and "." not in code and "-" not in code:
            code = f"{code[:3]}.{code[3:]}"
    return code


def coding_key(system: Any, code: Any) -> tuple[str, str] | None:
    """The reverse-index key of a Coding's system and code, or ``None`` if either is missing."""
    if not isinstance(system, str) or not isinstance(code, str) or not system or not code:
        return None
    s = normalize_system(system)
    return s, normalize_code(s, code)


@dataclass(frozen=True)
class Concept:
    system: str
    code: str
    display: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.system, self.code

    def as_json(self) -> dict[str, str]:
        item = {"system": self.system, "code": self.code}
        if self.display:
            item["display"] = self.display
        return item


@functools.cache
def _icd10cm() -> ModuleType:
    """The ICD-10-CM code tables, imported on first use (see the module docstring)."""
    return importlib.import_module("simple_icd_10_cm")


@functools.cache
def icd10cm_version() -> str:
    """The installed simple-icd-10-cm version, read without importing its code tables."""
    try:
        return version(ICD10CM_PACKAGE)
    except PackageNotFoundError:
        return "not installed"


def _icd10cm_exists(code: str) -> bool:
    """ICD-10-CM codes are checked with ``simple_icd_10_cm.is_valid_item``, which accepts the
    dotted and undotted forms (``M17.11``, ``M1711``) and block ranges (``M15-M19``)."""
    return _icd10cm().is_valid_item(code)


def _icd10cm_display(code: str) -> str | None:
    return _icd10cm().get_description(code) if _icd10cm_exists(code) else None


class Expander:
    """Expands every ValueSet of an index once, memoised, reporting problems as it goes.

    With ``use_stored`` a value set whose stored expansion is current is read
    from it; ``stored`` then names the keys of those value sets.
    """

    def __init__(self, index: ArtifactIndex, problems: Problems, *, use_stored: bool = True):
        self.index = index
        self.problems = problems
        self.use_stored = use_stored
        self.done: dict[str, tuple[Concept, ...]] = {}
        self.stored: set[str] = set()
        self._in_progress: set[str] = set()
        self._fingerprints: dict[str, str | None] = {}

    def expand(self, artifact: Artifact) -> tuple[Concept, ...]:
        if artifact.key in self.done:
            return self.done[artifact.key]
        if artifact.key in self._in_progress:
            self.problems.add(artifact.file, "$.compose", f"value set {artifact.key} includes itself (cycle)")
            return ()
        stored = self._stored(artifact) if self.use_stored else None
        if stored is not None:
            self.stored.add(artifact.key)
            self.done[artifact.key] = stored
            return stored
        self._in_progress.add(artifact.key)
        reported = len(self.problems)
        compose = artifact.resource.get("compose") or {}
        included: dict[tuple[str, str], Concept] = {}
        for i, part in enumerate(compose.get("include") or []):
            for concept in self._part(artifact, json_path("$.compose.include", i), part):
                included.setdefault(concept.key, concept)
        for i, part in enumerate(compose.get("exclude") or []):
            for concept in self._part(artifact, json_path("$.compose.exclude", i), part):
                included.pop(concept.key, None)
        if not included and len(self.problems) == reported:
            self.problems.add(artifact.file, "$.compose", "the value set expands to no codes")
        self._in_progress.discard(artifact.key)
        result = tuple(sorted(included.values(), key=lambda c: c.key))
        self.done[artifact.key] = result
        return result

    def _part(self, artifact: Artifact, path: str, part: Mapping[str, Any]) -> list[Concept]:
        """One include/exclude entry: the intersection of its system content and its value sets."""
        selections: list[dict[tuple[str, str], Concept]] = []
        if part.get("system"):
            selections.append({c.key: c for c in self._system_content(artifact, path, part)})
        for j, canonical in enumerate(part.get("valueSet") or []):
            target = self.index.resolve(canonical, "ValueSet")
            if target is None:
                self.problems.add(artifact.file, json_path(path, "valueSet", j), f"unresolved value set {canonical}")
                return []
            selections.append({c.key: c for c in self.expand(target)})
        if not selections:
            self.problems.add(artifact.file, path, "needs a system or a valueSet")
            return []
        first, *rest = selections
        return [c for key, c in first.items() if all(key in other for other in rest)]

    def fingerprint(self, artifact: Artifact) -> str | None:
        """What a stored expansion of this value set must be named: a hash of its ``compose``, the
        fingerprints of the value sets it includes or excludes, and the simple-icd-10-cm version.

        ``None`` when an included value set is unresolved or includes itself (nothing to store).
        """
        if artifact.key in self._fingerprints:
            return self._fingerprints[artifact.key]
        self._fingerprints[artifact.key] = None  # a cycle finds None
        compose = artifact.resource.get("compose") or {}
        included = []
        for part in (compose.get("include") or []) + (compose.get("exclude") or []):
            for canonical in part.get("valueSet") or []:
                target = self.index.resolve(canonical, "ValueSet")
                included.append(self.fingerprint(target) if target else None)
        if None in included:
            return None
        text = json.dumps({"compose": compose, "included": included, ICD10CM_PACKAGE: icd10cm_version()}, sort_keys=True)
        result = FINGERPRINT_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()
        self._fingerprints[artifact.key] = result
        return result

    def _stored(self, artifact: Artifact) -> tuple[Concept, ...] | None:
        """The stored expansion's concepts when it is current; ``None`` (expand the compose) otherwise."""
        expansion = artifact.resource.get("expansion")
        if not isinstance(expansion, Mapping):
            return None
        if expansion.get("identifier") != self.fingerprint(artifact):
            log.warning("ValueSet %s: stored expansion is out of date and ignored; run python -m fhir_content.expansions", artifact.id)
            return None
        concepts: dict[tuple[str, str], Concept] = {}
        for item in expansion.get("contains") or []:
            key = coding_key(item.get("system"), item.get("code"))
            if key is None:
                return None
            concepts.setdefault(key, Concept(*key, item.get("display")))
        return tuple(sorted(concepts.values(), key=lambda c: c.key))

    def _system_content(self, artifact: Artifact, path: str, part: Mapping[str, Any]) -> list[Concept]:
        system = normalize_system(part["system"])
        concepts, filters = part.get("concept"), part.get("filter")
        if concepts and filters:
            self.problems.add(artifact.file, path, "use either concept or filter in one include, not both")
            return []
        if concepts:
            return [c for j, item in enumerate(concepts) if (c := self._concept(artifact, json_path(path, "concept", j), system, item))]
        if filters:
            return self._filtered(artifact, path, system, filters)
        self.problems.add(
            artifact.file, path, "a whole code system cannot be expanded: list the concepts or use an ICD-10-CM is-a filter"
        )
        return []

    def _concept(self, artifact: Artifact, path: str, system: str, item: Mapping[str, Any]) -> Concept | None:
        code = normalize_code(system, item["code"])
        display = item.get("display")
        if system == ICD10CM:
            if not _icd10cm_exists(code):
                self.problems.add(artifact.file, json_path(path, "code"), f"{item['code']} is not an ICD-10-CM code")
                return None
            display = display or _icd10cm_display(code)
        return Concept(system, code, display)

    def _filtered(self, artifact: Artifact, path: str, system: str, filters: list[Mapping[str, Any]]) -> list[Concept]:
        """ICD-10-CM hierarchy filters; several filters in one include all apply (intersection)."""
        codes: set[str] | None = None
        for j, flt in enumerate(filters):
            fpath = json_path(path, "filter", j)
            if system != ICD10CM or flt.get("property") != "concept" or flt.get("op") not in _ICD_FILTER_OPS:
                self.problems.add(
                    artifact.file, fpath, "only ICD-10-CM filters with property 'concept' and op is-a or descendent-of are supported"
                )
                return []
            value = normalize_code(system, flt["value"])
            if not _icd10cm_exists(value):
                self.problems.add(artifact.file, json_path(fpath, "value"), f"{flt['value']} is not an ICD-10-CM code")
                return []
            selected = {normalize_code(system, c) for c in _icd10cm().get_descendants(value)}
            if flt["op"] == "is-a":
                selected.add(value)
            codes = selected if codes is None else codes & selected
        return [Concept(system, code, _icd10cm_display(code)) for code in sorted(codes or ())]


class Terminology:
    """Pre-expanded value sets and the reverse index ``(system, code) -> value-set keys``.

    A value set is named by its canonical ``url`` (the latest version),
    ``url|version`` or its ``id``; internally by its ``url|version`` key.
    """

    def __init__(self, index: ArtifactIndex, expansions: Mapping[str, tuple[Concept, ...]]):
        self._index = index
        self._expansions = dict(expansions)
        reverse: dict[tuple[str, str], set[str]] = {}
        for key, concepts in self._expansions.items():
            for concept in concepts:
                reverse.setdefault(concept.key, set()).add(key)
        self._reverse = {k: frozenset(v) for k, v in reverse.items()}
        self._lookups: dict[tuple[Any, Any], frozenset[str]] = {}
        self._resolved: dict[str, str] = {}
        self._expanded_at = datetime.now(UTC).isoformat(timespec="seconds")

    @classmethod
    def build(cls, index: ArtifactIndex, problems: Problems) -> Terminology:
        """Expand every ValueSet of the index (current stored expansions are read, not re-expanded)."""
        expander = Expander(index, problems)
        for artifact in index.all("ValueSet"):
            expander.expand(artifact)
        return cls(index, expander.done)

    def _artifact(self, url_or_id: str) -> Artifact:
        artifact = self._index.resolve(url_or_id, "ValueSet") or self._index.get("ValueSet", url_or_id)
        if artifact is None or artifact.key not in self._expansions:
            raise UnknownValueSet(url_or_id)
        return artifact

    def resolve(self, url_or_id: str) -> str:
        """The ``url|version`` key of a value set; raises :class:`UnknownValueSet`.

        Called for every value-set test of a request, so names that resolved
        are remembered (a few per loaded value set: the memo cannot grow with
        traffic, and unknown names are never stored).
        """
        key = self._resolved.get(url_or_id)
        if key is None:
            key = self._resolved[url_or_id] = self._artifact(url_or_id).key
        return key

    def title(self, url_or_id: str) -> str:
        """The value set's title (its name, else its URL), for text a clinician reads."""
        resource = self._artifact(url_or_id).resource
        return resource.get("title") or resource.get("name") or url_or_id

    def knows(self, url_or_id: str) -> bool:
        try:
            self._artifact(url_or_id)
        except UnknownValueSet:
            return False
        return True

    def concepts(self, url_or_id: str) -> tuple[Concept, ...]:
        return self._expansions[self.resolve(url_or_id)]

    def keys_for(self, system: Any, code: Any) -> frozenset[str]:
        """Keys of every value set holding this coding (empty for an unknown or malformed coding).

        Answers are memoised by the raw (system, code) as sent, so the
        normalisation runs once per distinct spelling, not once per resource.
        """
        raw = (system, code)
        try:
            return self._lookups[raw]
        except KeyError:
            pass
        except TypeError:  # unhashable junk in a coding
            return frozenset()
        key = coding_key(system, code)
        found = self._reverse.get(key, frozenset()) if key else frozenset()
        if len(self._lookups) >= _LOOKUP_MEMO_LIMIT:
            self._lookups.clear()
        self._lookups[raw] = found
        return found

    def contains(self, vs_url: str, system: str, code: str) -> bool:
        return self.resolve(vs_url) in self.keys_for(system, code)

    def value_sets_for(self, system: str, code: str) -> frozenset[str]:
        """Canonicals of the value sets holding a coding: ``url|version``, plus ``url`` when latest."""
        names: set[str] = set()
        for key in self.keys_for(system, code):
            names.add(key)
            artifact = self._index.resolve(key)
            if artifact is not None and self._index.is_latest(artifact):
                names.add(artifact.url)
        return frozenset(names)

    def expand(self, url_or_id: str) -> dict[str, Any]:
        """The ValueSet resource with its ``expansion`` (a copy, ready to serialise)."""
        artifact = self._artifact(url_or_id)
        concepts = self._expansions[artifact.key]
        resource = copy.deepcopy(artifact.resource)
        resource["expansion"] = {
            "timestamp": self._expanded_at,
            "total": len(concepts),
        }
        if concepts:
            resource["expansion"]["contains"] = [c.as_json() for c in concepts]
        return resource


def check_icd10cm_codings(artifact: Artifact, problems: Problems) -> None:
    """Report every ICD-10-CM Coding (``system`` + ``code``) anywhere in an artifact that does not exist.

    ValueSet concepts carry their system on the include and are checked during expansion; a
    stored expansion is checked by re-expanding it (``bme-cds validate``), not code by code.
    """

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            system, code = value.get("system"), value.get("code")
            if isinstance(system, str) and isinstance(code, str) and normalize_system(system) == ICD10CM:
                if not _icd10cm_exists(normalize_code(ICD10CM, code)):
                    problems.add(artifact.file, json_path(path, "code"), f"{code} is not an ICD-10-CM code")
            for key, item in value.items():
                if path == "$" and key == "expansion" and artifact.type == "ValueSet":
                    continue
                walk(item, json_path(path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, json_path(path, i))

    walk(artifact.resource, "$")
