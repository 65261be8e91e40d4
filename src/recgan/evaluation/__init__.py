"""Evaluation layer: PROTOCOL.md metrics, the full-ranking evaluator and paired significance tests."""

from recgan.evaluation.evaluator import KS, Report, evaluate, evaluate_lists, metrics_from_lists, paired_test

__all__ = ["KS", "Report", "evaluate", "evaluate_lists", "metrics_from_lists", "paired_test"]
