"""Persistence: issued cards, feedback and seen JWT ids (SQLite by default, PostgreSQL in production)."""

from cds_hooks.store.errors import StoreError, StoreUnavailable, UnknownCard, UnknownSuggestion
from cds_hooks.store.records import FeedbackItem, OverrideReason
from cds_hooks.store.store import Store

__all__ = [
    "FeedbackItem",
    "OverrideReason",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownCard",
    "UnknownSuggestion",
]
