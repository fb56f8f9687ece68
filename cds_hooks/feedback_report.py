"""What clinicians did with the cards, per service and card topic: the data behind ``bme-cds feedback-report``.

Counts are of cards, from the issued-cards and feedback tables (patient ids
never appear there). A card is *accepted* when any of its suggestions was
accepted and *overridden* when it was dismissed; most cards get neither (the
clinician read them and moved on). The acceptance rate is accepted cards over
issued cards, so it falls when cards are ignored, not only when they are
dismissed; the override reasons say why cards were dismissed, and the
override categories group them by the six standard categories of CDS Hooks
3.0 (:mod:`cds_hooks.override_reasons`; uncoded overrides are not counted there).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cds_hooks.override_reasons import category
from cds_hooks.store import Store

NO_TOPIC = "(no topic)"
NO_REASON = "(no coded reason)"
COLUMNS = ("service", "topic", "issued", "accepted", "overridden", "acceptance_rate", "override_reasons", "override_categories")


@dataclass
class TopicRow:
    """One service and card topic over the report period."""

    service_id: str
    topic: str
    issued: int = 0
    accepted: int = 0
    overridden: int = 0
    override_reasons: Counter[str] = field(default_factory=Counter)
    override_categories: Counter[str] = field(default_factory=Counter)

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted cards / issued cards, or ``None`` when nothing was issued."""
        return self.accepted / self.issued if self.issued else None


@dataclass(frozen=True)
class WeekRow:
    """Cards issued in the week starting ``week_start`` (a Monday), and what became of them."""

    week_start: date
    issued: int
    accepted: int
    overridden: int


def topic_rows(store: Store, since: datetime | None = None) -> list[TopicRow]:
    """One row per service and topic, for cards issued since ``since``, sorted by service then topic."""
    rows: dict[tuple[str, str], TopicRow] = {}
    for count in store.card_outcome_counts(since):
        key = (count.service_id, count.topic or NO_TOPIC)
        row = rows.setdefault(key, TopicRow(*key))
        row.issued += count.issued
        row.accepted += count.accepted
        row.overridden += count.overridden
    for reason in store.override_reason_counts(since):
        key = (reason.service_id, reason.topic or NO_TOPIC)
        row = rows.setdefault(key, TopicRow(*key))
        row.override_reasons[reason.display or reason.code or NO_REASON] += reason.count
        if reason.code is not None:
            row.override_categories[category(reason.system, reason.code)] += reason.count
    return [rows[key] for key in sorted(rows)]


def weekly_counts(store: Store, weeks: int, today: date) -> list[WeekRow]:
    """The last ``weeks`` weeks (Monday to Sunday, the current one last), including weeks without cards."""
    first_monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first_monday, datetime.min.time(), tzinfo=UTC)
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for count in store.card_outcome_counts(since, by_day=True):
        day = count.day or first_monday  # always set when counting by day
        week = totals[day - timedelta(days=day.weekday())]
        week[0] += count.issued
        week[1] += count.accepted
        week[2] += count.overridden
    mondays = [first_monday + timedelta(weeks=i) for i in range(weeks)]
    return [WeekRow(monday, *totals[monday]) for monday in mondays]


def render(rows: list[TopicRow], output_format: str) -> str:
    """The report as ``table`` (for people), ``csv`` (for spreadsheets) or ``json`` (for programs)."""
    if output_format == "json":
        return json.dumps([_as_json(row) for row in rows], indent=2) + "\n"
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([_csv_safe(cell) for cell in _as_cells(row)] for row in rows)
        return buffer.getvalue()
    if output_format == "table":
        return _table(rows)
    raise ValueError(f"unknown report format {output_format!r}")


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed (it comes with the ``report`` extra)."""


def draw_chart(weeks: list[WeekRow], path: Path) -> None:
    """A PNG bar chart of issued, accepted and overridden cards per week (matplotlib, no display needed)."""
    try:
        import matplotlib
    except ImportError:
        raise ChartUnavailable("the chart needs matplotlib: pip install 'bme-cds[report]'") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [week.week_start.isoformat() for week in weeks]
    positions = range(len(weeks))
    width = 0.27
    figure, axes = pyplot.subplots(figsize=(max(6.0, 0.7 * len(weeks) + 2), 4.0), dpi=100)
    try:
        for offset, (name, values, colour) in enumerate((
            ("issued", [w.issued for w in weeks], "#5b8def"),
            ("accepted", [w.accepted for w in weeks], "#2e9d5b"),
            ("overridden", [w.overridden for w in weeks], "#d9822b"),
        )):
            axes.bar([p + (offset - 1) * width for p in positions], values, width, label=name, color=colour)
        axes.set_xticks(list(positions), labels, rotation=45, ha="right", fontsize=8)
        axes.set_ylabel("cards")
        axes.set_title("Cards per week (by week issued)")
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        pyplot.close(figure)


def _rate(row: TopicRow) -> str:
    rate = row.acceptance_rate
    return "" if rate is None else f"{rate:.1%}"


def _counts(counter: Counter[str]) -> str:
    return "; ".join(f"{name}: {count}" for name, count in sorted(counter.items(), key=lambda i: (-i[1], i[0])))


def _as_cells(row: TopicRow) -> list[str | int]:
    return [
        row.service_id, row.topic, row.issued, row.accepted, row.overridden, _rate(row),
        _counts(row.override_reasons), _counts(row.override_categories),
    ]


def _csv_safe(cell: str | int) -> str | int:
    """A cell a spreadsheet shows as text: one starting like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a ``'``.

    Override reasons are the clients' text, and a cell such as
    ``=HYPERLINK(...)`` would otherwise run when the CSV is opened.
    """
    if isinstance(cell, str) and cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + cell
    return cell


def _as_json(row: TopicRow) -> dict[str, object]:
    return {
        "service": row.service_id,
        "topic": row.topic,
        "issued": row.issued,
        "accepted": row.accepted,
        "overridden": row.overridden,
        "acceptanceRate": None if row.acceptance_rate is None else round(row.acceptance_rate, 4),
        "overrideReasons": dict(row.override_reasons),
        "overrideCategories": dict(row.override_categories),
    }


def _table(rows: list[TopicRow]) -> str:
    if not rows:
        return "no cards issued in this period\n"
    cells = [list(COLUMNS), *[[str(cell) for cell in _as_cells(row)] for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    numeric = {2, 3, 4, 5}
    lines = [
        "  ".join(cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"
