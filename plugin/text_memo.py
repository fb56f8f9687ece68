"""What was read in report texts, remembered per process by a digest of the texts: no text is kept.

An EHR sends a patient's reports again on every hook call of a visit
(patient-view, then order-select for each order, then order-sign), and
report templates repeat whole texts across patients ("Normal radiographs of
the chest."). Reading a text with regular expressions is most of the cost of
the derived facts (far more than computing the text's digest), and what is
read depends on the text alone. The memo is keyed by a SHA-256 digest so that no report text stays in
memory after its request; what it holds is what was read (a mention's
status, term, site, joint, laterality; a study's result or modality), which
says nothing of whose report it was.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import TypeVar

from cachetools import LRUCache, cached

#: Distinct texts (or groups of texts) whose reading one memo remembers: a few hundred bytes each.
TEXTS_REMEMBERED = 16384

T = TypeVar("T")


def digest(*texts: str) -> bytes:
    """SHA-256 of the texts, each prefixed by its length, so ``("ab",)`` and ``("a", "b")`` differ."""
    hasher = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.digest()


def remembered_by_digest(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` of texts (positional strings) with its results remembered by :func:`digest` of them.

    Least recently used out first, at most :data:`TEXTS_REMEMBERED`; safe
    across threads (two threads reading one new text at once both read it,
    and one result stays). The wrapper's ``cache`` is the memo itself.
    """
    return cached(LRUCache(maxsize=TEXTS_REMEMBERED), key=digest, lock=threading.Lock())(function)
