"""The augmentation API behind ``recgan augment``: train the generator(s), choose volume and weight on a
validation carve of the training log (never on test), and return the augmented log.

Generators are trained on the carve's train part (its validation part early-stops CFGAN and scores the
candidate volumes / weights), then applied to the whole training log: CFGAN densifies by fold-in (its
generator's condition is the user's purchase vector, so it conditions on the user's full history), the
cheap densifiers (MostPopular, ItemKNN, EASE) are refitted on the whole log, and the synthesizer samples new
users.

``generator="auto"`` (the default) scores every registered densifier (:mod:`recgan.augment.densifiers`) and
*no augmentation* on the same carve with the same downstream model, each densifier at its own best volume
and weight, and keeps the best; no augmentation wins unless that best candidate beats it beyond the carve's
noise (:data:`AUTO_ALPHA`), and among candidates within the noise of the best, the simplest wins.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recgan.augment.checkpoint import AugmentCheckpoint
from recgan.augment.core import (
    DEFAULT_M_GRID,
    DEFAULT_N_GRID,
    DEFAULT_W_GRID,
    Augmented,
    Selection,
    add_users,
    carve,
    choose_add_users,
    choose_densify,
    densify,
    no_augmentation,
    target_only,
    validation_ndcg,
    validation_per_user,
)
from recgan.augment.densifiers import Densifier, densifier_names, get_densifier
from recgan.data.interactions import Interactions
from recgan.errors import RecganError

AUTO, NONE, BOTH = "auto", "none", "both"
AUTO_ALPHA = 0.05
"""``generator="auto"`` keeps no augmentation unless the candidate with the best validation NDCG@20 beats it
with a paired two-sided Wilcoxon signed-rank test over the carve's validation users
(:func:`recgan.evaluation.paired_test` on per-user NDCG@20) at p < AUTO_ALPHA, with a positive mean
difference; a simpler candidate (:attr:`~recgan.augment.densifiers.Densifier.cost`) that also beats no
augmentation so and is not below the best at p < AUTO_ALPHA is preferred to the best."""

EASE_L2_GRID = (50.0, 200.0, 500.0, 1000.0, 2000.0)


def generator_choices() -> list[str]:
    """Every value ``--generator`` accepts: ``auto``, each registered densifier, and ``both``."""
    return [AUTO, *densifier_names(), BOTH]


def strategy_of(generator: str) -> str | None:
    """The strategy a generator implements (None for ``auto``: any)."""
    if generator == AUTO:
        return None
    if generator == BOTH:
        return "both"
    return get_densifier(generator).strategy


@dataclass
class AugmentResult:
    augmented: Augmented
    generators: dict[str, Any] = field(default_factory=dict)
    """Fitted generators by name ("cfgan": Recommender, "synth": Synthesizer, controls); empty when
    ``generator="auto"`` chose no augmentation."""
    selection: dict[str, Any] = field(default_factory=dict)
    """Chosen volume / weight and the validation tables they were chosen from; ``selection["auto"]``: every
    candidate's carve score, the choice and why."""
    candidates: dict[str, Candidate] = field(default_factory=dict)
    """Every candidate scored on the carve by name (only with ``keep_candidates=True``; their generators are
    the carve-fitted ones, e.g. to compare each candidate on another set without refitting it)."""

    @property
    def chosen(self) -> str:
        """The generator that augmented the log (``none`` when nothing was added)."""
        return str(self.augmented.info.get("generator", NONE))


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


def check_pairing(generator: str, strategy: str | None) -> str | None:
    """The strategy to run ``generator`` with (``strategy`` or the generator's own); a one-line error when
    they do not pair or the generator is unknown."""
    if generator not in (AUTO, BOTH) and generator not in densifier_names():
        raise RecganError(f"--generator must be one of {', '.join(generator_choices())}, got {generator!r}")
    own = strategy_of(generator)
    if strategy is None:
        return own
    if generator == AUTO:
        if strategy not in ("densify", "add-users"):
            raise RecganError(f"generator 'auto' takes strategy densify or add-users (its candidates' kind), "
                              f"not {strategy!r}")
        return strategy
    if own != strategy:
        raise RecganError(f"generator {generator!r} implements strategy {own!r}, not {strategy!r} "
                          "(cfgan densifies existing users, synth adds users, both does both)")
    return strategy


# ----------------------------------------------------------------------------------------- shared carve
@dataclass
class _Carve:
    """What every candidate shares: one carve, one tuning of the downstream model, no augmentation's score."""

    real: Interactions
    train: Interactions
    valid: Interactions
    l2: float
    """EASE's ridge tuned on the un-augmented carve (the downstream EASE's, and EASE-top's)."""
    model: Callable[[], Any]
    """Factory of the unfitted downstream model that scores candidates."""
    none: np.ndarray
    """Per-user validation NDCG@20 without augmentation."""


def _prepare(real: Interactions, seed: int, downstream: str, select_params: dict[str, Any] | None, device: str,
             sel: dict[str, Any], log, ckpt: AugmentCheckpoint | None = None) -> _Carve:
    from recgan.augment.downstream import downstream_model

    ctr, cva = carve(real, seed)
    kept = ckpt.load_carve() if ckpt is not None else None
    if select_params is None:
        if kept is not None:
            sel["ease_l2"] = kept["selection"]["ease_l2"]
            l2 = sel["ease_l2"]["chosen"]
            if log:
                log(f"    EASE l2 on the carve: {l2} (kept in the checkpoint)")
        else:
            l2, table = tune_ease(ctr, cva, log)
            sel["ease_l2"] = {"chosen": l2, "table": table}

        def model() -> Any:
            return downstream_model(downstream, l2, seed, device)
    else:  # fixed scoring parameters (tests, experiments that tuned elsewhere)
        l2 = float(select_params.get("l2", 500.0))
        from recgan.models.base import get_model_class

        def model() -> Any:
            return get_model_class(downstream)(**select_params)
    if kept is not None:
        none = kept["none"]
    else:
        none = validation_per_user(model, {}, no_augmentation(ctr), cva)
        if ckpt is not None:
            ckpt.save_carve({k: sel[k] for k in ("ease_l2",) if k in sel}, none)
    return _Carve(real, ctr, cva, l2, model, none)


def _params_for(d: Densifier, target: str, generator_params: dict[str, Any] | None,
                synth_params: dict[str, Any] | None) -> dict[str, Any] | None:
    """A densifier's parameters: ``synth_params`` for the add-users kind, ``generator_params`` for the
    ``target`` densifier (the named generator; CFGAN under ``auto`` and ``both``), none otherwise."""
    if d.strategy == "add-users":
        return synth_params or None
    return (generator_params or None) if d.name == target and d.takes_params else None


@dataclass
class Candidate:
    """One densifier scored on the validation carve (``augment_log(..., keep_candidates=True)`` returns them)."""

    name: str
    strategy: str
    """``densify`` or ``add-users``."""
    generator: Any
    """The generator fitted on the carve's train part (CFGAN early-stopped on its validation part)."""
    selection: Selection
    """Its volume and weight chosen on the carve, with its per-user validation NDCG@20."""
    seconds: float
    """Wall seconds to fit it and choose its volume and weight."""


def _score(name: str, c: _Carve, *, seed: int, m: int | None, n_users: int | None, weight: float | None,
           max_user_items: int | None, params: dict[str, Any] | None, device: str, log,
           ckpt: AugmentCheckpoint | None = None) -> Candidate:
    """Fit densifier ``name`` on the carve's train part and choose its volume and weight on its validation
    part (or score the given ones); with a checkpoint, a kept candidate is loaded and a new one kept."""
    t0 = time.perf_counter()
    d = get_densifier(name)

    def fit(checkpoint_dir: str | None = None) -> Any:
        resumable = checkpoint_dir is not None and "checkpoint_dir" in inspect.signature(d.fit).parameters
        return d.fit(c.train, seed=seed, valid=c.valid, l2=c.l2, params=params, device=device,
                     **({"checkpoint_dir": checkpoint_dir} if resumable else {}))

    if ckpt is not None and (kept := ckpt.load_candidate(name, d, fit, device)) is not None:
        if log:
            log(f"  {name}: scored before (kept in the checkpoint): valid ndcg@20 {kept[1].score:.4f}")
        return Candidate(name, d.strategy, *kept)
    if log:
        log(f"  {name}: fitting on the carve and choosing its volume and weight")
        if ckpt is not None and (epoch := ckpt.trained_epochs(name)) is not None:
            log(f"  {name}: its training continues from epoch {epoch}, kept in the checkpoint")
    g = fit(None if ckpt is None else str(ckpt.train_dir(name)))
    wg = (weight,) if weight is not None else DEFAULT_W_GRID
    if d.strategy == "densify":
        mg = (m,) if m is not None else DEFAULT_M_GRID
        s = choose_densify(c.train, c.valid, g, model_name=c.model, max_user_items=max_user_items, m_grid=mg,
                           w_grid=wg, log=log)
    else:
        ng = (n_users / max(c.real.n_users, 1),) if n_users is not None else DEFAULT_N_GRID
        s = choose_add_users(c.train, c.valid, g, seed, model_name=c.model, n_grid=ng, w_grid=wg, log=log)
    cand = Candidate(name, d.strategy, g, s, time.perf_counter() - t0)
    if ckpt is not None:
        ckpt.save_candidate(name, d, g, s, cand.seconds)
    return cand


def _apply(cand: Candidate, aug: Augmented, c: _Carve, *, seed: int, n_users: int | None,
           max_user_items: int | None, params: dict[str, Any] | None, device: str) -> tuple[Augmented, Any, dict]:
    """Apply a scored candidate at its chosen setting to the whole real log (on top of ``aug``)."""
    d = get_densifier(cand.name)
    g = d.fit(c.real, seed=seed, l2=c.l2, params=params, device=device) if d.refit_on_full else cand.generator
    st = dict(cand.selection.setting)
    if cand.strategy == "densify":
        return densify(c.real, g, st["m"], st["weight"], max_user_items=max_user_items, label=cand.name), g, st
    if n_users is None:  # same share of users on all of train as on the carve
        st["n"] = max(1, round(st["n"] / max(c.train.n_users, 1) * c.real.n_users))
    else:
        st["n"] = int(n_users)
    return add_users(aug, g, st["n"], st["weight"], seed), g, st


def _record(cand: Candidate, setting: dict[str, Any]) -> dict[str, Any]:
    return {**setting, "valid_ndcg@20": round(cand.selection.score, 5), "table": cand.selection.table}


def _paired(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Paired two-sided Wilcoxon test of per-user validation NDCG@20 ``a`` against ``b`` (same users)."""
    from recgan.evaluation import Report, paired_test

    users = np.arange(len(a))
    t = paired_test(Report({}, {"ndcg@20": a}, users), Report({}, {"ndcg@20": b}, users), "ndcg@20")
    return {"diff": t["diff"], "p_value": t["p_value"]}


# ----------------------------------------------------------------------------------------- the API
def augment_log(
    train: Interactions, *, generator: str = AUTO, strategy: str | None = None, m: int | None = None,
    n_users: int | None = None, weight: float | None = None, seed: int = 0, max_user_items: int | None = None,
    downstream: str = "ease", select_params: dict[str, Any] | None = None,
    generator_params: dict[str, Any] | None = None, cfgan_params: dict[str, Any] | None = None,
    synth_params: dict[str, Any] | None = None, alpha: float = AUTO_ALPHA, device: str = "cpu",
    keep_candidates: bool = False, checkpoint: str | os.PathLike[str] | None = None, log=None,
) -> AugmentResult:
    """Augment ``train`` (its target behaviour) with the chosen generator and strategy.

    Args:
        generator: ``auto`` (every registered densifier and no augmentation compete on the carve; see the
            module docstring), a densifier name (:func:`recgan.augment.densifiers.densifier_names`), or
            ``both`` (CFGAN densifies, then the synthesizer adds users).
        strategy: ``densify`` / ``add-users`` / ``both``; None = the generator's own (``auto``: every kind;
            ``auto`` with ``densify`` or ``add-users``: the candidates of that kind only).
        m: generated items per sparse user (densify); None = chosen on the validation carve.
        n_users: synthetic users to add (add-users); None = chosen on the validation carve.
        weight: weight of generated interactions in (0, 1]; None = chosen on the validation carve.
        max_user_items: densify only users with at most this many real training interactions (None = all).
        downstream: the model whose validation NDCG@20 on the carve scores every candidate (EASE at the l2
            tuned on the un-augmented carve; torch models at the fixed budgets of
            :data:`recgan.augment.downstream.FIXED_EPOCHS`; others at their defaults).
        select_params: fixed parameters of the scoring model (default: EASE's l2 tuned on the carve).
        generator_params: parameters of the named generator (CFGAN's under ``auto`` and ``both``);
            ``cfgan_params`` is the older name of the same thing.
        synth_params: parameters of the behaviour synthesizer (add-users).
        alpha: significance level of ``auto``'s test against no augmentation.
        keep_candidates: also return every scored candidate (:attr:`AugmentResult.candidates`), not only
            the applied one; off by default, as they hold every candidate's fitted generator in memory.
        checkpoint: folder that keeps each finished step (the carve's tuning, every scored candidate, a
            trained generator's last epoch) as it ends; a rerun with the same log and settings resumes from
            it with the same result (:mod:`recgan.augment.checkpoint`). A folder of another run is refused.
    """
    strategy = check_pairing(generator, strategy)
    gparams = {**(cfgan_params or {}), **(generator_params or {})}
    target = "cfgan" if generator in (AUTO, BOTH) else generator
    if gparams and generator not in (AUTO, BOTH) and not get_densifier(generator).takes_params:
        raise RecganError(f"generator {generator!r} takes none of the generator parameters given (they are for "
                          f"trained generators such as cfgan)")
    real = target_only(train)
    sel: dict[str, Any] = {"downstream": downstream}
    ckpt = None
    if checkpoint is not None:
        ckpt = AugmentCheckpoint(checkpoint, real, {
            "generator": generator, "strategy": strategy, "m": m, "n_users": n_users, "weight": weight,
            "seed": seed, "max_user_items": max_user_items, "downstream": downstream,
            "select_params": select_params, "generator_params": gparams, "synth_params": synth_params})
    c = _prepare(real, seed, downstream, select_params, device, sel, log, ckpt)
    none_score = float(c.none.mean()) if len(c.none) else 0.0
    sel["none"] = {"valid_ndcg@20": round(none_score, 5)}
    if generator == AUTO:
        names = densifier_names(strategy, auto_only=True)  # type: ignore[arg-type]
    elif generator == BOTH:
        names = ["cfgan", "synth"]
    else:
        names = [generator]
    cands: list[Candidate] = []
    for name in names:
        d = get_densifier(name)
        cands.append(_score(name, c, seed=seed, m=m, n_users=n_users, weight=weight, max_user_items=max_user_items,
                            params=_params_for(d, target, gparams, synth_params), device=device, log=log,
                            ckpt=ckpt))
    if generator == AUTO:
        chosen, why = _decide(c, cands, alpha, sel, log)
        apply = [x for x in cands if x.name == chosen]
    else:
        apply = cands
        for x in cands:
            if x.selection.score <= none_score:
                msg = (f"{x.name}'s best setting scored {x.selection.score:.5f} valid NDCG@20 on the carve, not above "
                       f"no augmentation's {none_score:.5f}; --generator auto would not augment")
                sel.setdefault("warnings", []).append(msg)
                if log:
                    log(f"warning: {msg}")
    aug = no_augmentation(real)
    gens: dict[str, Any] = {}
    for x in sorted(apply, key=lambda x: x.strategy != "densify"):  # densify first, then added users
        d = get_densifier(x.name)
        aug, g, setting = _apply(x, aug, c, seed=seed, n_users=n_users, max_user_items=max_user_items,
                                 params=_params_for(d, target, gparams, synth_params), device=device)
        gens[x.name] = g
        sel["densify" if x.strategy == "densify" else "add_users"] = _record(x, setting)
    if ckpt is not None:
        sel["checkpoint"] = {"loaded": ckpt.loaded}  # not the folder: no path of this machine in augment.json
    info = {**aug.info, "generator": "+".join(gens) or NONE}
    if generator == AUTO:
        info["auto_reason"] = why
    return AugmentResult(Augmented(aug.data, aug.real, aug.generated, info), gens, sel,
                         {x.name: x for x in cands} if keep_candidates else {})


def _decide(c: _Carve, cands: list[Candidate], alpha: float, sel: dict[str, Any], log) -> tuple[str, str]:
    """``auto``'s choice. No augmentation wins unless the best-scoring candidate beats it significantly; else
    the winner is the simplest candidate (lowest :attr:`Densifier.cost`) that beats no augmentation
    significantly and is not significantly below the best (the best itself when none other is)."""
    none_score = float(c.none.mean()) if len(c.none) else 0.0
    rows = [{"candidate": NONE, "strategy": NONE, "valid_ndcg@20": round(none_score, 5)}]
    best = max(cands, key=lambda x: x.selection.score, default=None)
    stats: dict[str, dict[str, float]] = {}
    for x in cands:
        tn = _paired(x.selection.per_user, c.none)
        tb = _paired(best.selection.per_user, x.selection.per_user) if best is not None and x is not best else None
        stats[x.name] = {"diff_none": tn["diff"], "p_none": tn["p_value"],
                         "p_best": 1.0 if tb is None else tb["p_value"],
                         "diff_best": 0.0 if tb is None else -tb["diff"]}
        rows.append({"candidate": x.name, "strategy": x.strategy, **x.selection.setting,
                     "valid_ndcg@20": round(x.selection.score, 5), "diff_vs_none": round(tn["diff"], 5),
                     "p_vs_none": tn["p_value"], "diff_vs_best": round(stats[x.name]["diff_best"], 5),
                     "p_vs_best": None if tb is None else tb["p_value"], "seconds": round(x.seconds, 1)})
    if best is None:
        chosen, why = NONE, "no candidate densifier"
    elif stats[best.name]["diff_none"] <= 0:
        chosen, why = NONE, (f"no candidate scored above no augmentation on the validation carve (best: "
                             f"{best.name} {best.selection.score:.5f} vs none {none_score:.5f})")
    elif stats[best.name]["p_none"] >= alpha:
        chosen, why = NONE, (f"the best candidate, {best.name} ({best.selection.score:.5f} vs none "
                             f"{none_score:.5f}), is not above no augmentation beyond the carve's noise (paired "
                             f"Wilcoxon p = {stats[best.name]['p_none']:.3g} >= {alpha})")
    else:
        ok = [x for x in cands if x is best or (stats[x.name]["p_best"] >= alpha and stats[x.name]["p_none"] < alpha
                                                and stats[x.name]["diff_none"] > 0)]
        win = min(ok, key=lambda x: (get_densifier(x.name).cost, x.name))
        chosen = win.name
        why = (f"{best.name} scored best on the validation carve ({best.selection.score:.5f} vs none "
               f"{none_score:.5f}, paired Wilcoxon p = {stats[best.name]['p_none']:.3g} < {alpha})")
        if win is not best:
            why = (f"{win.name} ({win.selection.score:.5f}) beats no augmentation (p = "
                   f"{stats[win.name]['p_none']:.3g}) and is within the carve's noise of the best, {best.name} "
                   f"({best.selection.score:.5f}, p = {stats[win.name]['p_best']:.3g} >= {alpha}); the simpler "
                   f"densifier is preferred on such a tie")
    sel["auto"] = {"candidates": rows, "choice": chosen, "why": why, "alpha": alpha,
                   "n_valid_users": int(len(c.none)),
                   "rule": "no augmentation wins unless the candidate with the best validation NDCG@20 (each at "
                           "its own best volume and weight) beats it with a paired two-sided Wilcoxon test over the "
                           "carve's validation users at p < alpha; otherwise the simplest candidate (densifier "
                           "cost: pop, itemknn, ease, synth, cfgan) that beats no augmentation at p < alpha and is "
                           "not below the best at p < alpha wins"}
    if log:
        for r in rows:
            vs_best = "the best" if r.get("p_vs_best") is None else f"p {r['p_vs_best']:.3g} vs best"
            extra = "" if r["candidate"] == NONE else (f"  {r['diff_vs_none']:+.5f} (p {r['p_vs_none']:.3g}) vs "
                                                      f"none, {vs_best}, {r['seconds']:.0f} s")
            log(f"  auto: {r['candidate']:<8} valid ndcg@20 {r['valid_ndcg@20']:.5f}{extra}")
        log(f"  auto: chose {chosen}: {why}")
    return chosen, why
