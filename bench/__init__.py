"""Benchmarks for Khooshe (run ``python -m bench.updates``); see bench/README.md."""
