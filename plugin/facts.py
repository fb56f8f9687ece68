"""Every derived fact of the BME content, computed together once per request.

The painful sites are paired with the imaging that :mod:`plugin.findings`
reads, so the three readers run in one function that hands the findings on,
instead of reading the reports twice.
"""

from __future__ import annotations

from typing import Any

from plugin import findings, pain_sites, report_red_flags


def derive_facts(view: Any) -> dict[str, list[dict[str, Any]]]:
    """``bmeFindings``, ``imagingResults`` (findings), ``painfulSites`` and ``reportRedFlags``."""
    facts = findings.derive_facts(view)
    return {**facts, **pain_sites.derive_facts(view, facts), **report_red_flags.derive_facts(view)}
