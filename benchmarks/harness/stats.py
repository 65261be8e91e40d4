"""The benchmark harness's statistics, one definition each (every benchmark table calls these).

* :func:`mean_std` / :func:`fmt_mean_std`: mean and **sample** standard deviation over seeds (``ddof=1``,
  the unbiased variance; a single seed has no spread and reports std 0.0, shown as the bare mean).
* :func:`seed_average` / :func:`seed_averaged_test`: the seed-averaged paired test. Each side's per-user
  metric is averaged over its seeds (the test users are the same real users in every seed), then
  :func:`recgan.evaluation.paired_test` (two-sided Wilcoxon signed-rank over the users both sides share,
  ``p = 1`` when the two sides are identical) compares the averages. A side run once (a deterministic model
  such as EASE) is a one-seed side.

The product's own table (``recgan run`` of a ``kind: recommenders`` file) uses the same rules: ddof 1 and
``paired_test`` on seed-averaged per-user values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from recgan.evaluation import Report, paired_test

DDOF = 1
"""Delta degrees of freedom of every std over seeds in the benchmark tables: the sample std."""

_M = "m"  # the metric's key inside the Reports built here


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """(mean, sample std with ddof 1) of per-seed values; std is 0.0 for a single value.

    Raises ValueError for no values."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        raise ValueError("mean_std of no values")
    return float(v.mean()), float(v.std(ddof=DDOF)) if v.size > 1 else 0.0


def fmt_mean_std(values: Iterable[float | None], digits: int = 4, empty: str = "pending") -> str:
    """``"mean ± std"`` (:func:`mean_std`) with ``digits`` decimals, the bare mean for one value and
    ``empty`` for none; ``None`` entries (a figure a run did not produce) are left out."""
    v = [x for x in values if x is not None]
    if not v:
        return empty
    m, s = mean_std(v)
    return f"{m:.{digits}f}" if len(v) == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"


def seed_average(per_seed: Sequence[Any], users: Sequence[Any]) -> Report:
    """A :class:`recgan.evaluation.Report` whose per-user values are the mean over seeds.

    ``per_seed``: one array of shape (n_users,) per seed, each aligned with ``users`` (n_users,)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in per_seed]
    if not arrays:
        raise ValueError("seed_average of no seeds")
    if len({a.shape for a in arrays}) != 1 or arrays[0].shape != (len(users),):
        raise ValueError(f"per-seed arrays of shapes {sorted({a.shape for a in arrays})} for {len(users)} users")
    per = np.mean(arrays, axis=0)
    return Report({_M: float(per.mean())}, {_M: per}, np.asarray(users, dtype=object))


def seed_averaged_test(a: Sequence[Any], a_users: Sequence[Any], b: Sequence[Any],
                       b_users: Sequence[Any]) -> dict[str, float]:
    """Paired Wilcoxon test of side ``a`` against side ``b`` on seed-averaged per-user values.

    ``a`` / ``b``: one per-user array per seed, aligned with ``a_users`` / ``b_users`` (the sides may list
    the users in different orders; only shared users are compared). Returns :func:`recgan.evaluation.paired_test`'s
    dict: ``mean_a``, ``mean_b``, ``diff`` (mean of a - b), ``p_value`` (two-sided), ``n_users``."""
    return paired_test(seed_average(a, a_users), seed_average(b, b_users), _M)

