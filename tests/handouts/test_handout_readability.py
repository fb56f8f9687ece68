"""Reading level of every handout page, measured on the visible body text.

Targets: English Flesch-Kincaid grade <= 8; Spanish Fernandez-Huerta >= 60.
textstat 0.7.8 keeps the language in a module-wide singleton (``set_lang``),
so the Spanish fixture always restores the default for the tests that follow.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import textstat

from handout_html import HANDOUT_IDS, parse
from cds_content.handouts import Handouts
from plugin.handouts import bme_handouts

MAX_ENGLISH_GRADE = 8.0
MIN_SPANISH_EASE = 60.0
TEXTSTAT_DEFAULT_LANG = "en_US"


@pytest.fixture(scope="module")
def handouts() -> Handouts:
    return bme_handouts()


@pytest.fixture
def spanish_textstat() -> Iterator[None]:
    textstat.set_lang("es")
    try:
        yield
    finally:
        textstat.set_lang(TEXTSTAT_DEFAULT_LANG)


@pytest.mark.parametrize("handout_id", HANDOUT_IDS)
def test_english_page_reads_at_grade_8_or_below(handouts, handout_id):
    text = parse(handouts.render_handout(handout_id, "en")).text
    assert textstat.lexicon_count(text) > 200  # a real page, not an empty shell
    assert textstat.flesch_kincaid_grade(text) <= MAX_ENGLISH_GRADE


@pytest.mark.parametrize("handout_id", HANDOUT_IDS)
def test_spanish_page_scores_60_or_more_on_fernandez_huerta(handouts, handout_id, spanish_textstat):
    text = parse(handouts.render_handout(handout_id, "es")).text
    assert textstat.lexicon_count(text) > 200
    assert textstat.fernandez_huerta(text) >= MIN_SPANISH_EASE

