"""Secrets generated on first use into the instance directory (dev signing key, patient-hash key).

Several gunicorn workers may start at the same moment and all find the file
missing. Each writes its candidate to a private temporary file and hard-links
it into place: ``os.link`` is atomic and fails if the name exists, so exactly
one candidate wins, nobody ever reads a half-written file, and the losers read
the winner's secret.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

SECRET_FILE_MODE = 0o600


def read_or_create_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """Return the bytes of ``path``, creating it (mode 0600) from ``make()`` if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, SECRET_FILE_MODE)
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(make())
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            pass  # another process won the race; use its secret
    finally:
        os.unlink(tmp_name)
    return path.read_bytes()
