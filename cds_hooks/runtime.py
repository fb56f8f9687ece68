"""The objects one app instance shares across requests, built once in the app factory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from cds_hooks.content import ServiceRegistry
from cds_hooks.settings import Settings

if TYPE_CHECKING:
    from cds_hooks.auth import Authenticator
    from cds_hooks.store import Store

EXTENSION_KEY = "bme_cds"


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    registry: ServiceRegistry
    store: Store
    authenticator: Authenticator


def current_runtime() -> Runtime:
    """The runtime of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]
