"""Benchmarks of bme-cds: ``python -m bench`` or ``./dev bench``; results in bench/results/, see docs/performance.md."""
