"""Privacy-aware choice of a synthesizer's sampling temperature, on the training users only.

Sampling below temperature 1 concentrates every synthetic profile on its generator's likelier items: the
co-occurrence structure gets sharper (utility rises) and profiles move closer to the training records (the
DCR p of the privacy report rises towards 1, where synthetic users sit nearer the training users than fresh
real users do). :func:`choose_temperature` makes that trade on a *development split of the training users*:
it fits the synthesizer on the rest, samples at each temperature of a grid, measures the DCR p against the
held-out development users (the yardstick the report uses, 0.5 = as close as fresh real users) and the EASE
utility ratio on them (fold-in, as in the report), and picks the lowest temperature whose DCR p stays at or
below ``max_dcr_p`` and at which none of a set of canary users planted in the fitting part (rare, unique item
combinations) is reproduced. The caller then fits on all training users with that temperature. The test users of a
report are never touched.

Not for DP runs: the choice reads real users outside the DP mechanism, so a private synthesizer keeps the
temperature it was given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.reports import privacy as P
from recgan.reports.utility import tstr

TEMPERATURE_GRID = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)
"""Temperatures tried, highest (safest) first."""
MAX_DCR_P = 0.5
"""Default bound on the development DCR p: synthetic users no closer to the training users than fresh ones."""


def _profiles(d: Interactions, behaviours: Sequence[str]):
    return P.profiles([d.binary(b) for b in behaviours])


def choose_temperature(
    make: Callable[[], Any], train: Interactions, *, grid: Sequence[float] = TEMPERATURE_GRID,
    max_dcr_p: float = MAX_DCR_P, dev_fraction: float = 0.2, seed: int = 0, utility: bool = True, canaries: int = 10,
    max_users: int = 5000, log: Callable[[str], None] | None = None,
) -> tuple[float, list[dict[str, float]]]:
    """(chosen temperature, table) for the synthesizer ``make()`` builds (unfitted, non-DP).

    ``train``'s users are split at random (seeded) into a fitting part and ``dev_fraction`` development users;
    one synthesizer is fitted on the fitting part and sampled (as many users as the fitting part) at every
    temperature in ``grid``. Table rows: temperature, dcr_p (synthetic vs development users, both measured
    against the fitting part), qualifies (the row meets both conditions below), canaries_reproduced (of ``canaries`` canary users of 8 rare items planted in the
    fitting part; a canary counts as reproduced when one synthetic profile holds >= 80 % of its items) and,
    with ``utility``, the EASE utility ratio on the development users. Chosen: the lowest temperature with
    dcr_p <= ``max_dcr_p`` and no canary reproduced; the highest in the grid when none qualifies. The DCR p
    compares at most ``max_users`` synthetic and development users (seeded subsamples: nearest-neighbour
    search against every training user is the costly part); canaries are checked on the whole sample.
    ``log``: called with one line per stage (the fit, each temperature, the utility column).
    """
    if not grid or min(grid) <= 0:
        raise RecganError(f"temperature grid must hold positive numbers, got {list(grid)}")
    n_dev = int(round(dev_fraction * train.n_users))
    if n_dev < 4 or train.n_users - n_dev < 4:
        raise RecganError(f"choosing a temperature needs at least 8 training users (has {train.n_users})")
    perm = np.random.default_rng([seed, 29]).permutation(train.n_users)
    fit_part, dev = train.select_users(np.sort(perm[n_dev:])), train.select_users(np.sort(perm[:n_dev]))
    synth = make()
    if getattr(synth.config, "dp_epsilon", None) is not None:
        raise RecganError("the temperature of a DP synthesizer cannot be chosen on real users (outside DP)")
    planted = None
    if canaries > 0:
        from recgan.synth.canaries import plant_canaries

        fit_with, can = plant_canaries(fit_part, n=canaries, size=8, seed=seed + 4099)
        planted = can.matrix(fit_with.n_items)
    else:
        fit_with = fit_part
    say = log or (lambda _msg: None)
    say(f"temperature choice: fitting {synth.name} on {fit_part.n_users} of the {train.n_users} training users "
        f"({n_dev} kept for development)")
    synth.fit(fit_with)
    beh = list(train.behaviours)
    T = _profiles(fit_part, beh)
    rng = np.random.default_rng([seed, 31])

    def _cap(X):
        return X[np.sort(rng.choice(X.shape[0], max_users, replace=False))] if X.shape[0] > max_users else X

    dev_dcr = 1.0 - P.nearest_jaccard(_cap(_profiles(dev, beh)), T)[:, 0]
    rows: list[dict[str, Any]] = []
    samples: dict[str, Interactions] = {}
    base_config = synth.config
    for t in sorted(set(float(x) for x in grid), reverse=True):
        synth.config = base_config.replace(temperature=t)
        S = samples[f"{t:g}"] = synth.sample_interactions(fit_part.n_users, seed=seed)
        dcr = 1.0 - P.nearest_jaccard(_cap(_profiles(S, beh)), T)[:, 0]
        row = {"temperature": t, "dcr_p": round(float(P.dcr_p(dcr, dev_dcr)), 4)}
        if planted is not None:
            row["canaries_reproduced"] = P.canary_reproduction(S.X, planted)["reproduced"]
        row["qualifies"] = row["dcr_p"] <= max_dcr_p and not row.get("canaries_reproduced")
        rows.append(row)
        say(f"temperature choice: {t:g} sampled and measured (DCR p {row['dcr_p']:.3f})")
    synth.config = base_config
    if utility:  # one call: EASE on the real fitting part is fitted once, not once per temperature
        say(f"temperature choice: EASE utility of the {len(rows)} samples")
        u = tstr(fit_part, dev, samples, {"ease": {"l2": 500.0}}, seed=seed)["ease"]
        for row in rows:
            row["utility_ease_ratio"] = round(float(u[f"{row['temperature']:g}_ratio"]), 4)
    ok = [r["temperature"] for r in rows if r["qualifies"]]
    return (min(ok) if ok else max(r["temperature"] for r in rows)), rows
