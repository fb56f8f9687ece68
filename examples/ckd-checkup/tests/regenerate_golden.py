"""Rewrite golden.json from the current content: run, then review the diff before committing.

``python tests/regenerate_golden.py`` from the package folder.
"""

from __future__ import annotations

import json

from cases import CASES
from ckd_checkup import provider
from test_golden import GOLDEN, cards_for

if __name__ == "__main__":
    ckd = provider()
    golden = {case.id: cards_for(ckd, case) for case in CASES}
    GOLDEN.write_text(json.dumps(golden, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
