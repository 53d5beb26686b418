"""Benchmarks that print the tables in README (run: python -m bench.run)."""
