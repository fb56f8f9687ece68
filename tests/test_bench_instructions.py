"""The instruction counts must be what they claim: repeatable, proportional to the work, and read correctly.

Runs real processes under valgrind's callgrind (slow, so on tiny loops), and
checks the reading of callgrind's dump files on files of its format.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from bench import instructions, report

pytestmark = pytest.mark.bench
needs_valgrind = pytest.mark.skipif(
    not instructions.available(), reason="needs valgrind (Debian: apt-get install valgrind; ./dev bench installs it)"
)

# A counted process with two sections, one doing twice the other's work.
_TWO_LOOPS = textwrap.dedent(
    """
    from bench.instructions import run_sections

    def loop(steps):
        total = 0
        for i in range(steps):
            total += i * i
        return total

    run_sections([("small", lambda: loop(20_000), 5), ("large", lambda: loop(40_000), 5)])
    """
)


@needs_valgrind
def test_counts_are_repeatable_and_grow_with_the_work(tmp_path):
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    first = instructions.under_callgrind(["-c", _TWO_LOOPS], first_dir)
    second = instructions.under_callgrind(["-c", _TWO_LOOPS], second_dir)

    assert set(first) == {"small", "large"}  # the switching cost is taken off, not reported
    assert 1.95 < first["large"] / first["small"] < 2.05
    for label in first:
        assert abs(first[label] - second[label]) / first[label] < 0.001


@needs_valgrind
def test_the_switching_cost_is_taken_off_each_section(tmp_path):
    nothing = "from bench.instructions import run_sections\nrun_sections([('nothing', lambda: None, 0)])"
    counts = instructions.under_callgrind(["-c", nothing], tmp_path)
    # An empty section costs what the overhead section cost, give or take a few thousand instructions.
    assert counts["nothing"] < 50_000


@needs_valgrind
def test_a_failing_counted_process_is_reported_with_its_error(tmp_path):
    try:
        instructions.under_callgrind(["-c", "raise SystemExit('no such workload')"], tmp_path)
    except RuntimeError as exc:
        assert "no such workload" in str(exc)
    else:
        raise AssertionError("a failed counted process must not give counts")


def test_dump_files_give_one_count_per_label_and_the_final_dump_is_ignored(tmp_path):
    def dump(name, trigger, summary):
        (tmp_path / name).write_text(
            f"# callgrind format\nversion: 1\ndesc: Trigger: {trigger}\n\npositions: line\nevents: Ir\nsummary: {summary}\n\nfn=(1) x\n0 5\n"
        )

    dump("callgrind.out.1", "dump w0_hook", 19320847)
    dump("callgrind.out.2", "dump overhead", 4000)
    dump("callgrind.out", "Program termination", 18446744073564985722)

    assert instructions.read_dumps(sorted(tmp_path.iterdir())) == {"w0_hook": 19320847, "overhead": 4000}


def test_the_report_shows_counts_in_millions_with_the_ratio_to_the_echo():
    row = {
        "name": "patient-view N=10",
        "calls": 30,
        "instructions_per_call": {"engine": 7_260_000, "hook": 20_790_000, "hook_no_auth": 13_450_000, "echo": 4_870_000},
        "hook_to_echo": 4.27,
        "token_check_share": 0.353,
    }
    results = {"date": report.now(), "machine": report.machine(), "instructions": {"database": "sqlite", "rows": [row]}}

    text = report.terminal(results)

    assert "Instructions per call" in text
    line = next(line for line in text.splitlines() if line.startswith("patient-view N=10"))
    assert re.split(r"\s{2,}", line) == ["patient-view N=10", "7.26 M", "20.79 M", "13.45 M", "4.87 M", "4.27x", "35%"]


def test_without_valgrind_the_report_says_the_counts_were_left_out():
    results = {"date": report.now(), "machine": report.machine(), "instructions": {"skipped": "valgrind not installed"}}

    assert "Instructions per call: left out (valgrind not installed)." in report.terminal(results)
