"""Benchmarks and load runs for the B-ALL CDS service (not installed; run from the repository)."""
