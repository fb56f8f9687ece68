"""``bme-cds demo-data`` and ``bme-cds feedback-report``: commands for testers and for whoever watches the cards.

Registered on the main group in :mod:`cds_hooks.cli`. Heavy imports (the
content engine, matplotlib) happen inside the commands, so ``bme-cds --help``
stays fast.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import click

from cds_hooks.settings import Settings


@click.command("demo-data")
@click.argument("directory", default="demo-data", type=click.Path(file_okay=False, path_type=Path))
def demo_data(directory: Path) -> None:
    """Write the synthetic demo patients to DIRECTORY (default: ./demo-data).

    fhir/<patient>.json is each patient's chart as a FHIR transaction Bundle
    (POST it to a FHIR server's base URL to load it); hooks/<patient>.<service>.json
    is a ready hook call with its prefetch; index.json says what each call should show.
    """
    from cds_hooks.content import ServiceRegistry, load_providers
    from cds_hooks.demo.data import collect
    from cds_hooks.settings import Settings

    patients = collect(ServiceRegistry(load_providers(Settings.from_env().content)).demo_sources())
    if not patients:
        raise click.ClickException("no selected content provider ships demo patients")
    (directory / "fhir").mkdir(parents=True, exist_ok=True)
    (directory / "hooks").mkdir(exist_ok=True)
    index = []
    for patient in patients:
        bundle_file = f"fhir/{_safe(patient.id)}.json"
        _write_json(directory / bundle_file, patient.bundle)
        calls = []
        for request in patient.requests:
            call_file = f"hooks/{_safe(patient.id)}.{_safe(request.service_id)}.json"
            _write_json(directory / call_file, request.body)
            calls.append({"serviceId": request.service_id, "file": call_file, "shows": request.description})
        index.append({"patientId": patient.id, "name": patient.name, "bundle": bundle_file, "hookCalls": calls})
    _write_json(directory / "index.json", index)
    click.echo(f"wrote {len(patients)} demo patients and {sum(len(p.requests) for p in patients)} hook calls to {directory}/")


@click.command("feedback-report")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only cards issued on or after this date (YYYY-MM-DD, UTC).")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also draw a PNG chart of the last --weeks weeks.")
@click.option("--weeks", type=click.IntRange(1, 520), default=12, show_default=True, help="Weeks shown in the chart.")
def feedback_report(since: datetime | None, output_format: str, chart: Path | None, weeks: int) -> None:
    """What clinicians did with the cards: issued, accepted, overridden and why, per service and topic."""
    from cds_hooks import feedback_report as report
    from cds_hooks.store import Store, StoreUnavailable

    settings = Settings.from_env()
    store = Store.from_settings(settings)
    try:
        rows = report.topic_rows(store, since.replace(tzinfo=UTC) if since else None)
        weekly = report.weekly_counts(store, weeks, today=datetime.now(UTC).date()) if chart else None
    except StoreUnavailable:
        raise click.ClickException("the database is unavailable (check BME_CDS_DATABASE_URL and run `bme-cds db upgrade`)") from None
    finally:
        store.close()
    click.echo(report.render(rows, output_format), nl=False)
    if chart is not None and weekly is not None:
        try:
            report.draw_chart(weekly, chart)
        except report.ChartUnavailable as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"chart written to {chart}", err=True)


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _safe(name: str) -> str:
    """A file-name-safe form of an id (ids are already [A-Za-z0-9-.]; this keeps it that way)."""
    return re.sub(r"[^A-Za-z0-9.\-]", "_", name)
