"""Rewrite tests/content/golden.json from what the engine and content produce now.

Run it on purpose, after a content change whose effect on the cards you have
checked, then review the diff of golden.json before committing::

    .venv/bin/python tests/content/regenerate_goldens.py

(``tests`` is not importable as a package here - an installed distribution
ships a top-level ``tests`` - so the script puts ``tests/`` on the path and
imports this directory as the ``content`` package, as pytest does.)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from content.golden import GOLDEN_FILE, observe, write_golden  # noqa: E402
from content.patients import CASES  # noqa: E402

from plugin import provider  # noqa: E402


def main() -> None:
    observed = observe(provider().knowledge_base, CASES)
    write_golden(observed)
    with_cards = sum(1 for entry in observed.values() if entry["cards"])
    print(f"wrote {GOLDEN_FILE} ({len(observed)} patients, {with_cards} with cards)")


if __name__ == "__main__":
    main()
