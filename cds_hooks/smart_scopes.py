"""What ``fhirAuthorization.scope`` lets the service read: SMART App Launch v1 and v2 scopes.

CDS Hooks 2.0.1 clients send SMART v1 scopes (``patient/Observation.read``,
``user/*.read``, ``patient/*.*``); CDS Hooks 3.0 moves to SMART v2
(``patient/Observation.rs``: ``r`` read, ``s`` search), which may be granular
(``patient/Observation.rs?category=laboratory``: only searches restricted to
that category). Before a prefetch fallback fetch the service asks
:meth:`Scopes.missing_for` whether the scope covers the template; if not, the
key is not fetched at all (a 412 names the scope it lacks), so the service
never asks the EHR for data the clinician's token was not given. Scopes that
grant no FHIR reads (``launch``, ``openid``, ``*.write``, ...) are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|c?r?u?d?s?)(?:\?(.+))?")
_TEMPLATE = re.compile(r"/?([A-Z][A-Za-z]{1,63})([/?].*)?", re.DOTALL)


@dataclass(frozen=True)
class Grant:
    """One scope that allows reading: which resource type (``*`` = all), reads and/or searches, and search limits."""

    resource_type: str
    read: bool
    search: bool
    limits: tuple[tuple[str, frozenset[str]], ...] = ()

    def allows(self, resource_type: str, query: dict[str, list[str]] | None) -> bool:
        """Whether this grant covers a read (``query`` None) or a search with these parameters of ``resource_type``."""
        if self.resource_type not in ("*", resource_type):
            return False
        if query is None:
            return self.read and not self.limits
        return self.search and all(_within(query.get(name), allowed) for name, allowed in self.limits)


@dataclass(frozen=True)
class Scopes:
    """The read grants of one ``fhirAuthorization.scope``."""

    grants: tuple[Grant, ...]

    def missing_for(self, template: str) -> str | None:
        """``None`` when a prefetch template's read or search is granted; else the scope it would need."""
        match = _TEMPLATE.fullmatch(template.strip())
        if match is None:
            return None  # not a FHIR read or search this module can judge; the fetch itself will refuse it
        resource_type, rest = match.group(1), match.group(2) or ""
        query = None
        if rest.startswith("?") or not rest.strip("/"):
            query = {}
            for name, value in parse_qsl(rest.lstrip("?"), keep_blank_values=True):
                query.setdefault(name, []).extend(value.split(","))
        if any(grant.allows(resource_type, query) for grant in self.grants):
            return None
        needed = f"patient/{resource_type}.{'r' if query is None else 's'}"
        limited = [g for g in self.grants if g.resource_type in ("*", resource_type) and g.limits]
        if limited:
            needed += " (granted only for " + ", ".join(_describe(g.limits) for g in limited) + ")"
        return needed


@lru_cache(maxsize=64)
def parse(scope: str) -> Scopes:
    """The read grants of a space-separated SMART scope string (v1 and v2 syntax alike)."""
    grants = []
    for item in scope.split():
        match = _SCOPE.fullmatch(item)
        if match is None:
            continue
        _, resource_type, permissions, query = match.groups()
        if permissions in ("read", "*"):
            read = search = True
        elif permissions == "write":
            continue
        else:
            read, search = "r" in permissions, "s" in permissions
        limits = tuple(
            (name, frozenset(value.split(","))) for name, value in parse_qsl(query or "", keep_blank_values=True)
        )
        if read or search:
            grants.append(Grant(resource_type, read, search, limits))
    return Scopes(tuple(grants))


def _within(values: list[str] | None, allowed: frozenset[str]) -> bool:
    """A search parameter stays inside a granular limit: present, and each value allowed (``system|code`` or code)."""
    if not values:
        return False
    return all(value in allowed or value.rpartition("|")[2] in allowed for value in values)


def _describe(limits: tuple[tuple[str, frozenset[str]], ...]) -> str:
    return "&".join(f"{name}={','.join(sorted(allowed))}" for name, allowed in limits)
