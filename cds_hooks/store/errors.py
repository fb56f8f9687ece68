"""What can go wrong when storing, in terms the HTTP layer can map to a status code."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every storage error."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is not migrated: the caller should answer 503."""


class UnknownCard(StoreError):
    """Feedback names a card uuid that this service never issued (answer 400).

    ``index`` is the position of the offending item in the feedback array.
    """

    def __init__(self, card_uuid: str, index: int):
        super().__init__(f"card {card_uuid!r} was never issued by this service")
        self.card_uuid = card_uuid
        self.index = index


class UnknownSuggestion(StoreError):
    """Feedback accepts a suggestion uuid that the card never offered (answer 400)."""

    def __init__(self, suggestion_uuid: str, index: int, suggestion_index: int):
        super().__init__(f"suggestion {suggestion_uuid!r} was not offered by this card")
        self.suggestion_uuid = suggestion_uuid
        self.index = index
        self.suggestion_index = suggestion_index
