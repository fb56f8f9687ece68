"""Instructions per call, counted by valgrind's callgrind: a cost figure the machine's speed does not move.

On a shared machine the same code's timings move from one hour to the next
by far more than a small change is worth, so such a change cannot be seen in
them. Callgrind counts the instructions the process executes instead: the
same code on the same request gives almost the same count (with a fixed hash
seed), whatever else the machine is doing. A count is not a time (an instruction of the ES384
arithmetic is cheaper than one of the interpreter's), but fewer instructions
for the same work is less CPU on any machine, and a change can be judged by
its count before the load test.

The service runs in a child process under ``valgrind --tool=callgrind
--instr-atstart=no``: start-up and warm-up run uninstrumented, and the child
switches counting on, zeroes it, runs one operation's calls and dumps the
count, operation by operation (``callgrind_control``). The cost of switching
itself is measured as an empty section and taken off every other.
Operations are those of the in-process benchmark (:meth:`bench.inprocess.InProcessBench.operations`),
each call with its own input prepared before counting starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

VALGRIND = "valgrind"
CONTROL = "callgrind_control"
#: The operations counted: the in-process ones whose input can be prepared before counting starts.
OPERATIONS = ("engine", "hook", "hook_no_auth", "echo")
#: The section every count is corrected by: switching counting on and dumping, with nothing between.
OVERHEAD = "overhead"
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


class CallgrindUnavailable(RuntimeError):
    """valgrind (with callgrind_control) is not installed."""


def available() -> bool:
    """Whether this machine can count (the benchmark reports the counts as left out when it cannot)."""
    return shutil.which(VALGRIND) is not None and shutil.which(CONTROL) is not None


def under_callgrind(args: Sequence[str], workdir: Path) -> dict[str, int]:
    """Run ``python args...`` under callgrind; the instructions of each section it ran (:func:`run_sections`)."""
    if not available():
        raise CallgrindUnavailable(f"{VALGRIND} and {CONTROL} are needed (Debian: apt-get install valgrind)")
    out = workdir / "callgrind.out"
    command = [VALGRIND, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", sys.executable, *args]
    # A fixed hash seed: with Python's random one, dicts and sets probe differently in every process.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    finished = subprocess.run(command, cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"the counted process failed ({finished.returncode}):\n{finished.stderr[-2000:]}")
    counts = read_dumps(out.parent.glob(out.name + ".*"))
    overhead = counts.pop(OVERHEAD, 0)
    return {label: max(0, count - overhead) for label, count in counts.items()}


def read_dumps(paths: Iterable[Path]) -> dict[str, int]:
    """``{label: instructions}`` from callgrind's dump files (each made by ``callgrind_control --dump=label``)."""
    counts = {}
    for path in paths:
        label = total = None
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("desc: Trigger: dump "):
                    label = line.removeprefix("desc: Trigger: dump ").strip()
                elif line.startswith("summary:"):
                    total = int(line.split()[1])
                    break
        if label is not None and total is not None:
            counts[label] = total
    return counts


def run_sections(sections: Sequence[tuple[str, Callable[[], object], int]]) -> None:
    """In the counted process: run each ``(label, call, times)`` with counting on, dumping one count per label.

    An empty section comes first (:data:`OVERHEAD`): what the switching costs.
    """
    _control("--instr=on")
    for label, call, times in [(OVERHEAD, lambda: None, 0), *sections]:
        _control("--zero")
        for _ in range(times):
            call()
        _control(f"--dump={label}")
    _control("--instr=off")


def _control(option: str) -> None:
    subprocess.run([CONTROL, option, str(os.getpid())], check=True, capture_output=True)


def count(workload_names: Sequence[str], database_url: str, calls: int, warmup: int, *, quick: bool) -> list[dict[str, Any]]:
    """Instructions per call of each operation of each named workload, with ``hook / echo`` and the token check."""
    with tempfile.TemporaryDirectory(prefix="bme-cds-callgrind-") as tmp:
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"workloads": list(workload_names), "database_url": database_url,
                                    "calls": calls, "warmup": warmup, "quick": quick}), encoding="utf-8")  # fmt: skip
        counts = under_callgrind(["-m", "bench.instructions", str(spec)], Path(tmp))
    rows = []
    for index, name in enumerate(workload_names):
        per_call = {op: counts[_label(index, op)] / calls for op in OPERATIONS}
        rows.append({
            "name": name,
            "calls": calls,
            "instructions_per_call": {op: round(value) for op, value in per_call.items()},
            "hook_to_echo": round(per_call["hook"] / per_call["echo"], 2),
            "token_check_share": round(1 - per_call["hook_no_auth"] / per_call["hook"], 3),
        })
    return rows


def _label(workload_index: int, operation: str) -> str:
    """A section's dump label: callgrind_control passes it on a command line, so no spaces or punctuation."""
    return f"w{workload_index}_{operation}"


def _counted_process(spec_path: str) -> None:
    """The child of :func:`count`: build the in-process benchmark, warm every operation up, count each."""
    from bench.inprocess import in_process_bench
    from bench.workload import standard_workloads

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    by_name = {w.name: w for w in standard_workloads(quick=spec["quick"])}
    calls, warmup = spec["calls"], spec["warmup"]
    sections = []
    with tempfile.TemporaryDirectory(prefix="bme-cds-counted-") as tmp, in_process_bench(Path(tmp), spec["database_url"]) as bench:
        for index, name in enumerate(spec["workloads"]):
            operations, _ = bench.operations(by_name[name], warmup + calls)
            for op in OPERATIONS:
                timed = operations[op]
                for i in range(warmup):
                    timed.fn(timed.prepare(i))
                inputs = iter([timed.prepare(i) for i in range(warmup, warmup + calls)])
                sections.append((_label(index, op), lambda fn=timed.fn, given=inputs: fn(next(given)), calls))
        run_sections(sections)


if __name__ == "__main__":
    _counted_process(sys.argv[1])
