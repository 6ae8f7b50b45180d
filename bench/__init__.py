"""Benchmarks: one script per benchmark (`python -m bench.<name>`), results in bench/results/."""
