"""Which prefetch templates discovery advertises: CDS Hooks 2.0 (default) or 3.0 with ``today()`` bounds.

CDS Hooks 3.0 lets a template bound a search by date with ``today()``
arithmetic (``date=ge{{today() - 730 days}}``). A service cannot tell whether a
client resolves those tokens (the sandbox does; a 2.0 client drops the key and
the service fetches it), so 2.0 templates stay the default and a site opts in
with ``BME_CDS_PREFETCH_STYLE=3.0``. Then every search of a type in
:data:`LOOKBACK` gains the bound, at startup, and the prefetch fallback
resolves the same tokens (:func:`cds_hooks.prefetch.render`). Reads and
searches that already constrain that parameter are left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from urllib.parse import parse_qsl

from cds_content import ServiceDefinition

STYLES = ("2.0", "3.0")
# Resource type -> (its date search parameter, days back) bounded in 3.0 style: two years of observations.
LOOKBACK = {"Observation": ("date", 730)}


def restyler(style: str) -> Callable[[ServiceDefinition], ServiceDefinition]:
    """What turns a provider's (2.0) service definition into the one advertised in ``style``."""
    if style not in STYLES:
        raise ValueError(f"BME_CDS_PREFETCH_STYLE must be one of {', '.join(STYLES)}, not {style!r}")
    if style == "2.0":
        return lambda service: service
    return _bounded_service


def bounded(template: str) -> str:
    """A 2.0 template with its 3.0 date bound added (unchanged when its type has none or it is a read)."""
    resource_type, question, query = template.partition("?")
    if not question or resource_type not in LOOKBACK:
        return template
    param, days = LOOKBACK[resource_type]
    if any(name.split(":")[0] == param for name, _ in parse_qsl(query, keep_blank_values=True)):
        return template
    return f"{template}&{param}=ge{{{{today() - {days} days}}}}"


def _bounded_service(service: ServiceDefinition) -> ServiceDefinition:
    return dataclasses.replace(service, prefetch={key: bounded(t) for key, t in service.prefetch.items()})
