"""Benchmarks of the signal executor (see bench/README.md). Not part of the product."""
