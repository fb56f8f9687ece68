"""What the hostile suites tried in this run, counted as it happens and printed at the end.

The numbers come from the run itself (a test counts an attack only after
asserting it was refused, a fault only after the service survived it), so the
summary line at the end of ``pytest`` is a measurement, not a claim.
"""

from __future__ import annotations

import threading
from collections import Counter

ATTACKS_REFUSED = "attacks tried and refused"
FUZZ_CASES = "fuzz cases run without a server error"
FAULTS_SURVIVED = "faults injected and survived"

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def count(kind: str, amount: int = 1) -> None:
    with _lock:
        _counts[kind] += amount


def counts() -> dict[str, int]:
    with _lock:
        return dict(_counts)
