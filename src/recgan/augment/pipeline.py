"""The augmentation API behind ``recgan augment``: train the generator(s), choose volume and weight on a
validation carve of the training log (never on test), and return the augmented log.

Generators are trained on the carve's train part (its validation part early-stops CFGAN and scores the
candidate volumes / weights), then applied to the whole training log: CFGAN densifies by fold-in (its
generator's condition is the user's purchase vector, so it conditions on the user's full history) and the
synthesizer samples new users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recgan.augment.core import (
    DEFAULT_M_GRID,
    DEFAULT_N_GRID,
    DEFAULT_W_GRID,
    Augmented,
    add_users,
    carve,
    densify,
    fit_baseline_densifier,
    fit_densifier,
    fit_synthesizer,
    no_augmentation,
    select_add_users,
    select_densify,
    target_only,
    validation_ndcg,
)
from recgan.data.interactions import Interactions
from recgan.errors import RecganError

PAIRING = {"cfgan": "densify", "synth": "add-users", "both": "both", "pop": "densify", "itemknn": "densify",
           "ease": "densify"}
"""Generator -> the strategy it implements (CFGAN densifies existing users, the synthesizer adds users).
``pop``, ``itemknn`` and ``ease`` densify with a non-GAN model's top unseen items (the grid's controls; EASE
at the l2 tuned on the carve); in the grid they matched or beat CFGAN (docs/augmentation.md)."""
BASELINE_DENSIFIERS = ("pop", "itemknn", "ease")

EASE_L2_GRID = (50.0, 200.0, 500.0, 1000.0, 2000.0)


@dataclass
class AugmentResult:
    augmented: Augmented
    generators: dict[str, Any] = field(default_factory=dict)
    """Fitted generators by name ("cfgan": Recommender, "synth": Synthesizer, controls)."""
    selection: dict[str, Any] = field(default_factory=dict)
    """Chosen volume / weight and the validation table they were chosen from."""


def tune_ease(carve_train: Interactions, carve_valid: Interactions, log=None) -> tuple[float, list[dict]]:
    """EASE's ridge strength on the (un-augmented) validation carve; held fixed for every strategy so a
    gain cannot come from a changed effective regularisation."""
    base = no_augmentation(carve_train)
    rows = []
    for l2 in EASE_L2_GRID:
        rows.append({"l2": l2, "valid_ndcg@20": round(validation_ndcg("ease", {"l2": l2}, base, carve_valid), 5)})
    best = max(rows, key=lambda r: r["valid_ndcg@20"])
    if log:
        log(f"    EASE l2 on the carve: {best['l2']} (valid ndcg@20 {best['valid_ndcg@20']:.4f})")
    return best["l2"], rows


def check_pairing(generator: str, strategy: str) -> None:
    if generator not in PAIRING:
        raise RecganError(f"--generator must be one of {sorted(PAIRING)}, got {generator!r}")
    if PAIRING[generator] != strategy:
        raise RecganError(f"generator {generator!r} implements strategy {PAIRING[generator]!r}, not {strategy!r} "
                          "(cfgan densifies existing users, synth adds users, both does both)")


def augment_log(
    train: Interactions, *, generator: str = "cfgan", strategy: str = "densify", m: int | None = None,
    n_users: int | None = None, weight: float | None = None, seed: int = 0, max_user_items: int | None = None,
    select_params: dict[str, Any] | None = None, cfgan_params: dict[str, Any] | None = None,
    synth_params: dict[str, Any] | None = None, device: str = "cpu", log=None,
) -> AugmentResult:
    """Augment ``train`` (its target behaviour) with the chosen generator and strategy.

    Args:
        m: generated items per sparse user (densify); None = chosen on the validation carve.
        n_users: synthetic users to add (add-users); None = chosen on the validation carve.
        weight: weight of generated interactions in (0, 1]; None = chosen on the validation carve.
        max_user_items: densify only users with at most this many real training interactions (None = all).
        select_params: EASE parameters used to score candidates (default: l2 tuned on the carve).
    """
    check_pairing(generator, strategy)
    if generator in BASELINE_DENSIFIERS and cfgan_params:
        raise RecganError(f"generator parameters are for cfgan; {generator!r} takes none")
    real = target_only(train)
    ctr, cva = carve(real, seed)
    sel: dict[str, Any] = {}
    if select_params is None:
        l2, table = tune_ease(ctr, cva, log)
        select_params = {"l2": l2}
        sel["ease_l2"] = {"chosen": l2, "table": table}
    gens: dict[str, Any] = {}
    aug = no_augmentation(real)
    if strategy in ("densify", "both"):
        name = generator if generator in BASELINE_DENSIFIERS else "cfgan"
        l2 = select_params.get("l2", 500.0)
        if name == "cfgan":
            g = fit_densifier("cfgan", ctr, seed, params=cfgan_params, valid=cva, device=device)
        else:  # fitted on the carve's train like CFGAN, so the carve scores its (m, W) honestly
            g = fit_baseline_densifier(name, ctr, l2)
        gens[name] = g
        mg = (m,) if m is not None else DEFAULT_M_GRID
        wg = (weight,) if weight is not None else DEFAULT_W_GRID
        if len(mg) * len(wg) > 1:
            m_, w_, table = select_densify(ctr, cva, g, params=select_params, max_user_items=max_user_items,
                                           m_grid=mg, w_grid=wg, log=log)
            sel["densify"] = {"m": m_, "weight": w_, "table": table}
        else:
            m_, w_ = mg[0], wg[0]
            sel["densify"] = {"m": m_, "weight": w_, "table": []}
        if name != "cfgan":  # the chosen (m, W) apply to a densifier refitted on all of the real log
            g = gens[name] = fit_baseline_densifier(name, real, l2)
        aug = densify(real, g, m_, w_, max_user_items=max_user_items, label=name)
    if strategy in ("add-users", "both"):
        s = fit_synthesizer(ctr, seed, synth_params)
        gens["synth"] = s
        ng = (n_users / max(real.n_users, 1),) if n_users is not None else DEFAULT_N_GRID
        wg = (weight,) if weight is not None else DEFAULT_W_GRID
        if len(ng) * len(wg) > 1:
            n_, wn, table = select_add_users(ctr, cva, s, seed, params=select_params, n_grid=ng, w_grid=wg,
                                             log=log)
            n_ = max(1, round(n_ / max(ctr.n_users, 1) * real.n_users))  # same share of users on all of train
            sel["add_users"] = {"n": n_, "weight": wn, "table": table}
        else:
            n_, wn = int(n_users), wg[0]
            sel["add_users"] = {"n": n_, "weight": wn, "table": []}
        aug = add_users(aug, s, n_, wn, seed)
    return AugmentResult(aug, gens, sel)
