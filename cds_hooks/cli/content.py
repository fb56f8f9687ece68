"""``bme-cds validate`` and ``bme-cds apply``: check content and try it on a patient, without a server.

Registered in the ``bme-cds`` group by :mod:`cds_hooks.cli`. Without a content directory they work
on the knowledge of the content providers the ``BME_CDS_CONTENT`` setting selects that are
``KnowledgeSource``s (see :mod:`cds_content`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from fhir_content import ContentLoadError, KnowledgeBase
from fhir_content.datacontext import bundle_resources
from fhir_content.validate import ValidationReport, check

from cds_content import KnowledgeSource
from cds_hooks.content import ContentError, knowledge_sources, load_providers
from cds_hooks.settings import Settings

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
# A bare content directory (--content) declares no languages, unlike a content package.
BARE_CONTENT_LANGUAGE = "en"


def _registered_knowledge() -> list[KnowledgeSource]:
    """The knowledge of the selected content providers; a provider whose content does not load
    is reported as a validation failure (its problems listed) and exits 1."""
    try:
        providers = load_providers(Settings.from_env().content)
    except ContentError as exc:
        cause = exc.__cause__
        if isinstance(cause, ContentLoadError):
            for problem in cause.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(cause.problems)} problem(s): the content does not load", err=True)
        else:
            click.echo(str(exc), err=True)
        sys.exit(1)
    return knowledge_sources(providers)


@click.command("validate")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def validate_command(path: Path | None) -> None:
    """Check content: every artifact validates, references resolve, FHIRPath compiles, ICD-10-CM codes exist,
    every action maps to a card. PATH is a content directory; default: every registered content package."""
    sources = [path] if path else [knowledge.knowledge_base.source for knowledge in _registered_knowledge()]
    if not sources:
        click.echo("no content packages are registered (entry point group bme_cds.content)", err=True)
        sys.exit(1)
    reports: list[ValidationReport] = [check(source) for source in sources]
    for source, report in zip(sources, reports, strict=True):
        for problem in report.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{source}: {report.summary()}")
    sys.exit(1 if any(r.problems for r in reports) else 0)


@click.command("apply")
@click.argument("plan_id")
@click.option("--data", "data_file", required=True, type=click.File("r"), help="FHIR Bundle JSON with the patient's data.")
@click.option("--hook", help="Check that the plan answers this hook (e.g. patient-view).")
@click.option("--context", "context_file", type=click.File("r"), help="Hook context JSON (e.g. draftOrders, selections).")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="Public base URL for handout links.")
@click.option("--language", help="Language of the cards (default: the content package's first language; "
              f"{BARE_CONTENT_LANGUAGE} with --content).")
@click.option("--content", "content_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Content directory to load instead of the registered content packages.")
def apply_command(
    plan_id: str,
    data_file: Any,
    hook: str | None,
    context_file: Any,
    base_url: str,
    language: str | None,
    content_dir: Path | None,
) -> None:
    """Print the cards PLAN_ID gives for the patient in --data (a hook call without a server)."""
    bundle = _read_json(data_file, "--data")
    if bundle.get("resourceType") != "Bundle":
        raise click.BadParameter("must be a FHIR Bundle", param_hint="--data")
    context = _read_json(context_file, "--context") if context_file else {}
    patients = [r for r in bundle_resources(bundle) if r.get("resourceType") == "Patient"]
    if "patientId" not in context:
        if not patients or not patients[0].get("id"):
            raise click.BadParameter("the Bundle has no Patient with an id; give context.patientId", param_hint="--data")
        context["patientId"] = patients[0]["id"]
    try:
        if content_dir:
            knowledge = [(KnowledgeBase.load(content_dir), language or BARE_CONTENT_LANGUAGE)]
        else:
            knowledge = [(k.knowledge_base, language or k.languages[0]) for k in _registered_knowledge()]
    except ContentLoadError as exc:
        raise click.ClickException(str(exc)) from None
    for kb, card_language in knowledge:
        plan = next((p for p in kb.plans() if p.id == plan_id), None)
        if plan is None:
            continue
        if hook and hook != plan.hook:
            raise click.UsageError(f"plan {plan_id} answers {plan.hook}, not {hook}")
        cards = kb.evaluate(
            plan_id, context=context, prefetch={"data": bundle}, base_url=base_url, language=card_language
        )
        click.echo(json.dumps({"cards": cards}, indent=2, ensure_ascii=False))
        return
    raise click.ClickException(f"no plan {plan_id!r} in the loaded content")


def _read_json(stream: Any, option: str) -> dict[str, Any]:
    try:
        value = json.load(stream)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=option)
    return value
