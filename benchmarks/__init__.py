"""Benchmarks of qualcode at study scale (not part of the test run): see benchmarks/README.md."""
