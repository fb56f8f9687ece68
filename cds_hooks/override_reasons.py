"""Override reasons by standard category, for cross-organisation analytics of why cards are dismissed.

CDS Hooks 3.0 points to the HL7 non-adherence reason codes
(:data:`NON_ADHERENCE`): six top categories with children. Cards offer
those codes where one fits; the project's own codes (:data:`PROJECT`) remain
for reasons no standard code says, and feedback may carry either (or any
other system). :func:`category` maps a stored reason to its top category: a
standard child to its parent, a project code to the category it belongs to,
anything else to :data:`OTHER`. Only codes the 3.0 ballot names are listed.
"""

from __future__ import annotations

from collections.abc import Mapping

NON_ADHERENCE = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
PROJECT = "http://bme-cds.org/fhir/CodeSystem/override-reason"
OTHER = "other"

# Top category -> the child codes the 3.0 ballot names for it.
CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "cds-not-applicable": (
        "patient-ineligible", "indication-order-exists", "action-completed", "action-unsuccessful", "action-not-priority",
    ),
    "cds-suboptimal-context": ("limited-time", "wrong-time-workflow", "need-more-info"),
    "recipient-disagrees-evidence": ("does-not-align-latest-evidence", "expert-contradicts", "policy-contradicts"),
    "recipient-concerns-outcomes": ("risk-benefit-ratio", "mitigate-risk-negative-outcome", "patient-contraindication"),
    "does-not-align-preferences": ("prefers-alternative", "patient-refuses"),
    "not-convenient-feasible": ("service-not-available", "too-costly-uncovered"),
}
_STANDARD = {code: top for top, children in CATEGORIES.items() for code in (top, *children)}
# The project's own codes: the two still offered (a risk the clinician has already lowered), and the four
# replaced by standard codes, so feedback stored before the change is still counted where it belongs.
_PROJECT = {
    "short-course": "recipient-concerns-outcomes",
    "gastroprotection-in-place": "recipient-concerns-outcomes",
    "already-addressed": "cds-not-applicable",
    "not-relevant": "cds-not-applicable",
    "benefit-outweighs-risk": "recipient-concerns-outcomes",
    "patient-declined-alternative": "does-not-align-preferences",
}


def category(system: str | None, code: str | None) -> str:
    """The standard top category of a coded override reason; :data:`OTHER` when it has none."""
    if system == NON_ADHERENCE:
        return _STANDARD.get(code or "", OTHER)
    if system == PROJECT:
        return _PROJECT.get(code or "", OTHER)
    return OTHER
