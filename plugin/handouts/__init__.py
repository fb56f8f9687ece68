"""Patient handouts (English and Spanish) for the BME content.

``Handouts`` implements the ``HandoutSource`` protocol of ``cds_hooks.content``:
the service serves its pages at ``/handouts/{id}?lang=en|es`` and cards link to
them by id.
"""

from plugin.handouts.library import Handouts, HandoutError

__all__ = ["Handouts", "HandoutError"]
