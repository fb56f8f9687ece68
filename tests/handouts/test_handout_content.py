"""The bundled handouts: every sheet in both languages, parallel, safe, self-contained and escaped."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from handout_html import HANDOUT_IDS, LANGUAGES, parse
from cds_content.handouts import HandoutError, Handouts
from plugin.handouts import bme_handouts

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "plugin" / "handouts"
PAGES = [(handout_id, language) for handout_id in HANDOUT_IDS for language in LANGUAGES]

DISCLAIMER = {
    "en": "This sheet does not replace advice from your care team.",
    "es": "Esta hoja no reemplaza los consejos de su equipo médico.",
}
# The safety net every sheet must give: come back if symptoms return, worsen or do not improve.
FOLLOW_UP = {
    "en": "if your symptoms come back, get worse or do not get better",
    "es": "si sus síntomas vuelven, empeoran o no mejoran",
}
X_RAY = {"en": "X-ray", "es": "radiografía"}


@pytest.fixture(scope="module")
def handouts() -> Handouts:
    return bme_handouts()


@pytest.fixture
def handout_copy(tmp_path) -> Path:
    """A writable copy of the handout files, for tests that break one on purpose."""
    target = tmp_path / "handouts"
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_every_linked_handout_exists(handouts):
    assert set(HANDOUT_IDS) <= set(handouts.handout_ids())


@pytest.mark.parametrize(("handout_id", "language"), PAGES)
def test_page_is_marked_with_its_language_and_title(handouts, handout_id, language):
    page = parse(handouts.render_handout(handout_id, language))
    assert page.html_lang == language
    assert page.title.strip()
    assert DISCLAIMER[language] in page.text


@pytest.mark.parametrize(("handout_id", "language"), PAGES)
def test_page_shows_review_date_and_version(handouts, handout_id, language):
    page = parse(handouts.render_handout(handout_id, language))
    data = json.loads((PACKAGE_DIR / f"{handout_id}.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["reviewed"])
    assert data["reviewed"] in page.text
    assert data["version"] in page.text


@pytest.mark.parametrize("handout_id", HANDOUT_IDS)
def test_english_and_spanish_have_the_same_sections_paragraphs_and_list_items(handouts, handout_id):
    english = parse(handouts.render_handout(handout_id, "en")).outline
    spanish = parse(handouts.render_handout(handout_id, "es")).outline
    assert len(english) >= 3
    assert english == spanish


@pytest.mark.parametrize(("handout_id", "language"), PAGES)
def test_every_sheet_says_to_come_back_if_symptoms_return_worsen_or_persist(handouts, handout_id, language):
    page = parse(handouts.render_handout(handout_id, language))
    assert FOLLOW_UP[language] in page.section_texts["when-to-call"]


@pytest.mark.parametrize(("handout_id", "language"), PAGES)
def test_sheets_that_explain_tests_say_an_x_ray_comes_first(handouts, handout_id, language):
    page = parse(handouts.render_handout(handout_id, language))
    test_sections = [key for key in ("tests", "x-ray-first") if key in page.section_texts]
    for key in test_sections:
        assert X_RAY[language] in page.section_texts[key]


@pytest.mark.parametrize("language", LANGUAGES)
def test_infection_sheet_is_urgent_and_opens_with_when_to_get_care_now(handouts, language):
    page = parse(handouts.render_handout("bone-infection", language))
    html = handouts.render_handout("bone-infection", language)
    assert page.outline[0][0] == "get-care-now"
    assert re.search(r'<section id="get-care-now" class="emphasis">', html)
    assert {"en": "urgent", "es": "urgente"}[language] in page.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_nsaid_sheet_names_who_should_be_careful_and_the_alternatives(handouts, language):
    text = parse(handouts.render_handout("nsaid-safety", language)).section_texts
    careful = text["who-should-be-careful"]
    expected = {
        "en": ["blood thinner", "warfarin", "kidney", "ulcer", "heart failure", "65", "steroid"],
        "es": ["anticoagulante", "warfarina", "riñones", "úlcera", "insuficiencia cardíaca", "65", "corticoides"],
    }[language]
    assert [word for word in expected if word not in careful] == []
    alternatives = text["other-options"]
    assert {"en": "acetaminophen", "es": "acetaminofén"}[language] in alternatives
    assert {"en": "Paracetamol", "es": "paracetamol"}[language] in alternatives
    assert {"en": "gels or creams", "es": "cremas"}[language] in alternatives


@pytest.mark.parametrize("language", LANGUAGES)
def test_mri_sheet_covers_radiation_noise_metal_and_duration(handouts, language):
    text = parse(handouts.render_handout("mri-knee-hip", language)).text
    expected = {
        "en": ["does not use radiation", "loud", "metal", "20 to 45 minutes"],
        "es": ["no usa radiación", "ruidos fuertes", "metal", "entre 20 y 45 minutos"],
    }[language]
    assert [phrase for phrase in expected if phrase not in text] == []


@pytest.mark.parametrize(("handout_id", "language"), PAGES)
def test_page_loads_nothing_from_outside(handouts, handout_id, language):
    html = handouts.render_handout(handout_id, language)
    page = parse(html)
    assert page.tags.isdisjoint({"script", "link", "img", "iframe", "object", "embed"})
    assert "http:" not in html and "https:" not in html
    for tag, name, value in page.attributes:
        if name in ("href", "src"):
            assert not value.startswith("//"), (tag, value)
    assert "@import" not in page.css and "url(" not in page.css


@pytest.mark.parametrize(("handout_id", "language"), PAGES)
def test_related_links_stay_in_the_same_language_and_point_to_existing_sheets(handouts, handout_id, language):
    page = parse(handouts.render_handout(handout_id, language))
    for tag, name, value in page.attributes:
        if tag == "a" and name == "href" and value not in ("./",):
            target, _, query = value.partition("?lang=")
            assert target == handout_id or handouts.render_handout(target, query) is not None, value


def test_pages_link_to_the_other_language(handouts):
    html = handouts.render_handout("bme-basics", "en")
    assert '<a href="bme-basics?lang=es" hreflang="es" lang="es">Español</a>' in html


def test_print_stylesheet_hides_navigation_and_prints_black_on_white(handouts):
    css = parse(handouts.render_handout("bme-basics", "en")).css
    print_rules = css[css.index("@media print") :]
    assert re.search(r"nav\s*\{\s*display:\s*none", print_rules)
    assert "color: #000" in print_rules and "background: #fff" in print_rules
    assert "break-inside: avoid" in print_rules
    assert "attr(href)" in print_rules


def test_unknown_handout_or_language_gives_none(handouts):
    assert handouts.render_handout("no-such-sheet", "en") is None
    assert handouts.render_handout("bme-basics", "fr") is None


def test_text_is_html_escaped(handout_copy):
    _edit(handout_copy / "bme-basics.json", lambda d: d["title"].update(en="Edema <script>alert(1)</script> & you"))
    html = Handouts(handout_copy).render_handout("bme-basics", "en")
    assert "<script>" not in html
    assert "Edema &lt;script&gt;alert(1)&lt;/script&gt; &amp; you" in html


def test_a_missing_translation_is_refused_naming_file_and_place(handout_copy):
    _edit(handout_copy / "bme-syndrome.json", lambda d: d["sections"][1]["blocks"][0]["p"].pop("es"))
    with pytest.raises(HandoutError, match=r"bme-syndrome\.json: sections\[1\]\.blocks\[0\]\.p: needs exactly \['en', 'es'\]"):
        Handouts(handout_copy)


def test_a_link_to_an_unknown_sheet_is_refused(handout_copy):
    _edit(handout_copy / "mri-knee-hip.json", lambda d: d["related"].append("bme-typo"))
    with pytest.raises(HandoutError, match=r"mri-knee-hip\.json: related: 'bme-typo' is not another handout of the catalog"):
        Handouts(handout_copy)


def test_a_missing_field_is_refused_with_its_place(handout_copy):
    _edit(handout_copy / "nsaid-safety.json", lambda d: d["sections"][2].pop("heading"))
    with pytest.raises(HandoutError, match=r"nsaid-safety\.json: sections\[2\]: missing 'heading'"):
        Handouts(handout_copy)
