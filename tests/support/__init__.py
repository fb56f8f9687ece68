"""Test-only content providers and helpers for the CDS Hooks protocol tests."""
