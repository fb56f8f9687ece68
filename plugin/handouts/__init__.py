"""Patient handouts (English and Spanish) for the BME content: the data files in this folder.

They are rendered by the generic :mod:`cds_content.handouts`; the service
serves the pages at ``/handouts/{id}?lang=en|es`` and cards link to them by id.
"""

from importlib.resources import files
from pathlib import Path

from cds_content.handouts import Handouts

DIRECTORY = Path(str(files(__package__)))


def bme_handouts() -> Handouts:
    """The BME handouts, every page rendered."""
    return Handouts(DIRECTORY)
