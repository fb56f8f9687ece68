"""Card detail text with ``{{ fhirpath }}`` placeholders, compiled at load.

A placeholder's results are rendered as text and joined with ", ", so
``{{ %conditions.code.text }}`` lists every match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhir_content.expressions import Expression, ExpressionCompiler, Scope

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class TextTemplate:
    parts: tuple[str | Expression, ...]

    @classmethod
    def compile(cls, text: str, compiler: ExpressionCompiler, file: str, path: str) -> TextTemplate | None:
        """Split ``text`` into literal text and compiled placeholders; ``None`` if any placeholder fails."""
        parts: list[str | Expression] = []
        position, ok = 0, True
        for match in _PLACEHOLDER.finditer(text):
            parts.append(text[position : match.start()])
            expression = compiler.compile(match[1].strip(), file, path)
            ok = ok and expression is not None
            parts.append(expression)  # type: ignore[arg-type]
            position = match.end()
        parts.append(text[position:])
        return cls(tuple(p for p in parts if p != "")) if ok else None

    def render(self, scope: Scope) -> str:
        return "".join(p if isinstance(p, str) else ", ".join(p.strings(scope)) for p in self.parts)
