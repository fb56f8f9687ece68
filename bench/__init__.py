"""Benchmarks of bme-cds (issue 7): ``python -m bench`` or ``./dev bench``; see docs/performance.md."""
