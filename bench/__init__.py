"""Benchmarks that print their figures (see ../shared/docs/benchmarks.md)."""
