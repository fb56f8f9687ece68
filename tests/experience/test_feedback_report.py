"""``bme-cds feedback-report``: counts from real hook calls and feedback, in every format, and the weekly PNG chart."""

from __future__ import annotations

import csv
import io
import json
import struct
from datetime import UTC, datetime, timedelta

import pytest

from cds_hooks import feedback_report
from cds_hooks.settings import Settings
from cds_hooks.store import Store

from .clinic import PATIENTS, cards, send_feedback

SHORT_COURSE = {"system": "http://bme-cds.org/fhir/CodeSystem/override-reason", "code": "short-course",
                "display": "Short course at the lowest dose"}


@pytest.fixture
def charted(make_feedback_app, store_settings, bme):
    """A database after a morning clinic: 4 info cards on bme-secondary, 1 NSAID warning; some accepted, some dismissed."""
    client = make_feedback_app(store_settings.with_overrides(auth_enabled=False), providers=[bme]).test_client()
    margaret, sofia = PATIENTS["demo-margaret-chen"], PATIENTS["demo-sofia-marquez"]
    (first,) = cards(client, bme, margaret)
    send_feedback(client, "bme-patient-view", first, "accepted")
    (second,) = cards(client, bme, margaret)
    send_feedback(client, "bme-patient-view", second, "overridden")
    (third,) = cards(client, bme, sofia)
    send_feedback(client, "bme-patient-view", third, "accepted")
    send_feedback(client, "bme-patient-view", third, "accepted")  # a card accepted twice counts once
    cards(client, bme, sofia)  # read and left alone
    (warning,) = cards(client, bme, PATIENTS["demo-thomas-becker"], "order-sign")
    send_feedback(client, "bme-order-sign", warning, "overridden", SHORT_COURSE)
    return store_settings.database_url


def test_json_report_counts_cards_per_service_and_topic(charted, cli_runner):
    result = cli_runner(["feedback-report", "--format", "json"], database_url=charted)
    assert result.exit_code == 0, result.output
    rows = {(row["service"], row["topic"]): row for row in json.loads(result.output)}
    assert rows[("bme-patient-view", "bme-secondary")] == {
        "service": "bme-patient-view", "topic": "bme-secondary", "issued": 4, "accepted": 2, "overridden": 1,
        "acceptanceRate": 0.5, "overrideReasons": {"Does not apply to this patient": 1},
        "overrideCategories": {"cds-not-applicable": 1},
    }
    assert rows[("bme-order-sign", "nsaid-caution")]["overridden"] == 1
    assert rows[("bme-order-sign", "nsaid-caution")]["overrideCategories"] == {"recipient-concerns-outcomes": 1}
    assert rows[("bme-order-sign", "nsaid-caution")]["acceptanceRate"] == 0.0


def test_csv_report_has_a_header_and_one_row_per_topic(charted, cli_runner):
    result = cli_runner(["feedback-report", "--format", "csv"], database_url=charted)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["service"], r["topic"]) for r in rows] == [("bme-order-sign", "nsaid-caution"), ("bme-patient-view", "bme-secondary")]
    assert rows[1]["issued"] == "4" and rows[1]["acceptance_rate"] == "50.0%"
    assert rows[1]["override_reasons"] == "Does not apply to this patient: 1"
    assert rows[1]["override_categories"] == "cds-not-applicable: 1"


def test_table_report_is_aligned_for_reading(charted, cli_runner):
    result = cli_runner(["feedback-report"], database_url=charted)
    assert result.exit_code == 0, result.output
    header, rule, *lines = result.output.splitlines()
    assert header.split()[:6] == ["service", "topic", "issued", "accepted", "overridden", "acceptance_rate"]
    assert set(rule.replace(" ", "")) == {"-"}
    (secondary,) = [line for line in lines if "bme-secondary" in line]
    assert secondary.split()[2:6] == ["4", "2", "1", "50.0%"]
    issued_end = header.index("issued") + len("issued")
    assert all(line[issued_end - 1].isdigit() and line[issued_end] == " " for line in lines), "numbers are right-aligned"


def test_since_leaves_out_cards_issued_before(charted, cli_runner):
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    result = cli_runner(["feedback-report", "--since", tomorrow, "--format", "json"], database_url=charted)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    assert cli_runner(["feedback-report", "--since", tomorrow], database_url=charted).output == "no cards issued in this period\n"


def test_chart_is_a_png_of_the_last_weeks(charted, cli_runner, tmp_path):
    chart = tmp_path / "weekly.png"
    result = cli_runner(["feedback-report", "--format", "csv", "--chart", str(chart), "--weeks", "6"], database_url=charted)
    assert result.exit_code == 0, result.output
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 0 and height > 0
    assert len(data) > 1000


def test_weekly_counts_put_todays_cards_in_the_last_week(charted):
    store = Store.from_settings(Settings(database_url=charted))
    try:
        weeks = feedback_report.weekly_counts(store, 3, today=datetime.now(UTC).date())
    finally:
        store.close()
    assert [w.week_start.weekday() for w in weeks] == [0, 0, 0]
    assert [(w.issued, w.accepted, w.overridden) for w in weeks] == [(0, 0, 0), (0, 0, 0), (5, 2, 2)]


def test_an_unreachable_database_is_a_clear_error(cli_runner, tmp_path):
    result = cli_runner(["feedback-report"], database_url=f"sqlite:///{tmp_path / 'missing' / 'no.sqlite3'}")
    assert result.exit_code != 0
    assert "database is unavailable" in result.output



def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_made_text():
    row = feedback_report.TopicRow("svc", "=cmd|' /C calc'!A0", issued=1, overridden=1)
    row.override_reasons["@SUM(1+1)"] = 1
    (parsed,) = csv.DictReader(io.StringIO(feedback_report.render([row], "csv")))
    assert parsed["topic"] == "'=cmd|' /C calc'!A0"
    assert parsed["override_reasons"] == "'@SUM(1+1): 1"
    for formula_like in ("+1", "-1", "\tx"):
        (parsed,) = csv.DictReader(io.StringIO(feedback_report.render([feedback_report.TopicRow("svc", formula_like)], "csv")))
        assert parsed["topic"] == "'" + formula_like
