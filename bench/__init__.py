"""Benchmarks: each prints what it measured and its target. Run with `make bench`."""
