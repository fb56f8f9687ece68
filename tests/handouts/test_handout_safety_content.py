"""Safety content of the sheets: the full "when to get help" list, the cancer and site sheets, the NSAID sheet, neutral Spanish.

Phrases are checked on the rendered page (what the patient reads), per language.
"""

from __future__ import annotations

import re

import pytest

from handout_html import HANDOUT_IDS, LANGUAGES, parse
from cds_content.handouts import Handouts
from plugin.handouts import bme_handouts

PAGES = [(handout_id, language) for handout_id in HANDOUT_IDS for language in LANGUAGES]
# Every sheet: cannot bear weight, pain at night, weight loss, fever.
HELP = {
    "en": ["You cannot put weight on your leg.", "pain at night", "You lose weight without trying.", "fever"],
    "es": ["No puede apoyar el peso del cuerpo en la pierna.", "dolor de noche", "Baja de peso sin querer.", "fiebre"],
}
# Spine and cancer sheets: signs of pressure on the spinal cord or its nerves, which need an emergency room.
NERVE = {
    "en": ["emergency room right away", "New weakness in one leg or both legs.", "Numbness in your groin", "pass urine or stool"],
    "es": ["sala de emergencias", "Debilidad nueva en una pierna", "Adormecimiento en la ingle", "al orinar o al evacuar"],
}
NERVE_SHEETS = ("bme-spine", "bme-cancer")
# Words used in Spain but not in Latin American Spanish (the sheets are for US patients), and vosotros forms.
SPAIN_ONLY = re.compile(r"\b(ordenador|zumo|vosotros|vosotras|vuestr[oa]s?|os|coger|gafas|móvil|coche|patata|melocotón|tirita|"
                        r"posos|horquillas|gilipollas|vale|sentar mejor|\w+áis|\w+éis)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def handouts() -> Handouts:
    return bme_handouts()


def sections(handouts: Handouts, handout_id: str, language: str) -> dict[str, str]:
    return parse(handouts.render_handout(handout_id, language)).section_texts


@pytest.mark.parametrize(("handout_id", "language"), PAGES)
def test_every_sheet_lists_the_signs_that_need_care_the_same_day(handouts, handout_id, language):
    help_text = sections(handouts, handout_id, language)["when-to-call"]
    assert [phrase for phrase in HELP[language] if phrase not in help_text] == []
    has_nerve_signs = all(phrase in help_text for phrase in NERVE[language])
    assert has_nerve_signs == (handout_id in NERVE_SHEETS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_cancer_sheet_sends_the_patient_to_the_cancer_team_and_never_says_it_goes_away(handouts, language):
    page = parse(handouts.render_handout("bme-cancer", language))
    why = page.section_texts["why-your-cancer-team"]
    expected = {"en": ["spread to the bone", "radiation", "Tell your cancer team", "Do not wait"],
                "es": ["llegaron al hueso", "radioterapia", "Cuéntele a su equipo de cáncer", "No espere"]}[language]
    assert [phrase for phrase in expected if phrase not in why] == []
    assert re.search({"en": r"on its own|goes away|settles|harmless", "es": r"por sí sol[oa]|desaparece|se calma|inofensiv"}[language],
                     page.text, re.IGNORECASE) is None
    assert "biops" in page.section_texts["tests"]


@pytest.mark.parametrize(("handout_id", "site"), [("bme-spine", {"en": "back", "es": "espalda"}),
                                                   ("bme-foot-ankle", {"en": "ankle", "es": "tobillo"})])
@pytest.mark.parametrize("language", LANGUAGES)
def test_site_sheets_are_about_their_own_site(handouts, handout_id, site, language):
    page = parse(handouts.render_handout(handout_id, language))
    assert site[language] in page.title.lower() + " " + page.text
    assert {"en": "X-ray", "es": "radiografía"}[language] in page.section_texts["tests"]


def test_foot_sheet_warns_about_the_diabetic_foot(handouts):
    assert "Charcot" in sections(handouts, "bme-foot-ankle", "en")["causes"]
    assert "You have diabetes and your foot gets red, warm or swollen" in sections(handouts, "bme-foot-ankle", "en")["when-to-call"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_nsaid_sheet_names_pregnancy_aspirin_and_the_other_blood_thinners(handouts, language):
    careful = sections(handouts, "nsaid-safety", language)["who-should-be-careful"]
    expected = {"en": ["pregnant", "20 weeks", "aspirin, even a low dose", "clopidogrel", "heparin", "dialysis"],
                "es": ["embarazada", "20 semanas", "aspirina, aunque sea una dosis baja", "clopidogrel", "heparina", "diálisis"]}[language]
    assert [phrase for phrase in expected if phrase not in careful] == []


def test_nsaid_sheet_gives_dose_advice_only_to_those_cleared_to_take_one(handouts):
    how = sections(handouts, "nsaid-safety", "en")["how-to-take"]
    assert how.index("If your care team says an NSAID is safe for you") < how.index("lowest dose")


@pytest.mark.parametrize("handout_id", HANDOUT_IDS)
def test_spanish_uses_neutral_latin_american_words(handouts, handout_id):
    text = parse(handouts.render_handout(handout_id, "es")).text
    assert SPAIN_ONLY.findall(text) == []
