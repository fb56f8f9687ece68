"""A watch on every log line of the test run: no token, patient id or patient name may reach a log.

``tests/conftest.py`` puts :data:`LOG_GUARD` on the root logger for the whole
session, so it sees every record any logger emits (the service's loggers,
werkzeug's request lines when a test serves the app in-process, library
loggers), and checks them all when the session ends. Output of subprocess
servers (gunicorn's stderr) is handed to :meth:`LogGuard.add_output`.

What counts as a leak:

* any JWT (``eyJ...``.``eyJ...``.``...``): the service never has a reason to
  log one, so every token of every test is covered without registering it;
* any value a test registered with :func:`register_secret` - the patient ids,
  names and FHIR access tokens the hostile suites send.

The stub FHIR and JWKS servers of pytest-httpserver log their own request
lines through werkzeug's logger; those are the stub's logs (a FHIR server
legitimately sees patient ids in its URLs), not the service's, and are
skipped. They run in pytest-httpserver's server thread, whose default name
ends in ``(thread_target)``; the service served in-process by the tests runs
its requests in ``process_request_thread`` threads and is checked.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_STUB_SERVER_THREAD = "(thread_target)"
_MIN_SECRET_LENGTH = 6  # shorter values would match ordinary words and numbers


@dataclass(frozen=True)
class Leak:
    source: str
    what: str
    line: str


class LogGuard(logging.Handler):
    """Keeps the text of every record (and of captured process output) until the session's check."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._lines: list[tuple[str, str]] = []
        self._secrets: set[str] = set()
        self._lock_lines = threading.Lock()
        self.records = 0
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "werkzeug" and (record.threadName or "").endswith(_STUB_SERVER_THREAD):
            return
        parts = [record.getMessage()]
        fields = getattr(record, "fields", None)
        if fields:
            parts.append(json.dumps(fields, default=str))
        if record.exc_info:
            parts.append(self._formatter.formatException(record.exc_info))
        with self._lock_lines:
            self.records += 1
            self._lines.append((record.name, "\n".join(parts)))

    def add_output(self, source: str, text: str) -> None:
        """Check a subprocess's output too (one entry per line)."""
        with self._lock_lines:
            self._lines.extend((source, line) for line in text.splitlines())

    def register_secret(self, *values: str) -> None:
        for value in values:
            if len(value) < _MIN_SECRET_LENGTH:
                raise ValueError(f"secret {value!r} is too short to search logs for reliably")
            self._secrets.add(value)

    @property
    def line_count(self) -> int:
        with self._lock_lines:
            return len(self._lines)

    def lines(self, since: int = 0) -> list[tuple[str, str]]:
        """``(logger or source, text)`` of every line from line number ``since`` on."""
        with self._lock_lines:
            return self._lines[since:]

    def leaks(self, since: int = 0) -> list[Leak]:
        """Every line (from line number ``since`` on) holding a JWT or a registered secret."""
        secrets = sorted(self._secrets)
        found = []
        with self._lock_lines:
            lines = self._lines[since:]
        for source, line in lines:
            if JWT.search(line):
                found.append(Leak(source, "a JWT", line))
            found.extend(Leak(source, f"registered secret {secret!r}", line) for secret in secrets if secret in line)
        return found


LOG_GUARD = LogGuard()


def register_secret(*values: str) -> None:
    """Values that must never appear in any log line of this run (patient ids, names, access tokens)."""
    LOG_GUARD.register_secret(*values)
