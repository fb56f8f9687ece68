"""Content problems: what is wrong, in which file, at which JSON path.

Every check of the engine (model validation, references, expressions,
terminology, card mapping) reports into one :class:`Problems` list, so
``bme-cds validate`` and :meth:`KnowledgeBase.load` show the author every
problem at once instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one artifact; ``path`` is a JSON path such as ``$.action[0].title``."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class ContentLoadError(Exception):
    """Content could not be loaded; ``problems`` lists every reason, each naming file and JSON path."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        listing = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} content problem(s):\n{listing}")


def json_path(base: str, *parts: str | int) -> str:
    """Extend a JSON path: ``json_path("$", "action", 0, "title") == "$.action[0].title"``."""
    path = base
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


class Problems:
    """An append-only list of problems, filled by every load step."""

    def __init__(self) -> None:
        self._items: list[Problem] = []

    def add(self, file: str, path: str, message: str) -> None:
        self._items.append(Problem(file, path, message))

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def as_list(self) -> list[Problem]:
        return list(self._items)
