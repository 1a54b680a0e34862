"""Evaluation and benchmarks: golden sets, public-set adapters, metrics, reports."""
