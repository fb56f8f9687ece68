"""CDS Hooks 2.0.1 protocol service. Knows nothing about any clinical topic."""

from cds_hooks.app import create_app

__all__ = ["create_app"]
