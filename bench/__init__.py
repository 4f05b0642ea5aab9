"""Benchmarks: `python -m bench [--quick] [--out FILE]` measures what users feel, each figure against a baseline in the same run."""
