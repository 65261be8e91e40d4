"""GAN data augmentation: densify existing users, add synthetic users, and the honest controls.

One mechanism serves the GAN strategy and its controls alike:

* **densify**: for each *target* user (a real user with at most ``max_user_items`` real training
  interactions), take the top-``m`` items a *generator* scores highest among the items the user has not
  interacted with, and add them with weight ``W`` and source ``generated``. The generator is any fitted
  :class:`~recgan.models.base.Recommender` that folds in (``recommend_history``): CFGAN's conditional
  generator (user mode: the condition is the user's own purchase vector) for the GAN strategy, MostPopular
  for the popular control, ItemKNN for the ItemKNN control. Equal volume and weight by construction.
* **add-users**: a behaviour synthesizer (:mod:`recgan.synth`) samples ``n`` new users, appended after the
  real users (real users keep their internal indices) with weight ``W``.

The augmented data is an :class:`Interactions` whose target matrix holds weights (real 1.0, generated W).
Evaluation must exclude only the *real* training items: :meth:`Augmented.exclude` gives that matrix, padded
to the augmented user count, for :func:`recgan.evaluation.evaluate`.

Scarcity transforms (:func:`keep_per_user`, :func:`cold_items`) make the sparse training sets of the grid.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recgan.core.trainer import TrainingOptions
from recgan.data.ids import IdMap
from recgan.data.interactions import ITEM, USER, WEIGHT, Interactions
from recgan.data.splits import validation_carve, within_row_rank
from recgan.errors import RecganError
from recgan.io import atomic_path
from recgan.models.base import Recommender, get_model_class

SOURCE = "source"
REAL, GENERATED = "real", "generated"
GENERATORS = ("cfgan", "synth", "both")
STRATEGIES = ("densify", "add-users", "both")
CONTROL_SCORERS = {"pop": "pop", "itemknn": "itemknn", "ease-top": "ease"}
"""Control name -> registry name of the model whose top unseen items densify (equal volume and weight)."""

CFGAN_AUGMENT_PARAMS: dict[str, Any] = {
    "mode": "user", "scheme": "ZP", "zr_ratio": 0.7, "pm_ratio": 0.7, "zr_weight": 1.0,
    "g_hidden": (256,), "d_hidden": (128,), "lr": 1e-3, "lr_d": 1e-3, "batch_size": 64, "batch_size_d": 64,
    "steps_g": 1, "steps_d": 1, "epochs": 120, "eval_every": 5, "patience": 4,
}
"""CFGAN used as a densifier: user mode (its generator takes the user's purchase vector as condition and
folds in exactly), trained at most ``epochs`` epochs with early stopping on the validation carve.
``zr_weight`` 1.0: CFGAN's own validation NDCG@20 on the ml-100k-p1 n5 carve (seed 0) was 0.015 / 0.050 /
0.049 / 0.054 for zr_weight 0.03 / 0.1 / 0.3 / 1.0 (docs/augmentation.md, "what was tried")."""

SYNTH_AUGMENT_PARAMS: dict[str, Any] = {"init": "vae"}
"""Behaviour synthesizer (``gan``) settings for add-users: VAE warm start, then 10 adversarial epochs,
temperature 1 (the settings the published augmentation figures were measured with; the synthesizer's own
default start is now the spectral one, not re-measured for augmentation)."""


# ----------------------------------------------------------------------------------------- result type
@dataclass(frozen=True)
class Augmented:
    """An augmented training set.

    Attributes:
        data: target-only :class:`Interactions`, users = the real users (same internal indices) followed by
            synthetic ones; target matrix values are weights (1.0 real, ``W`` generated).
        real: the real training data (target only), ``n_real`` users.
        generated: CSR (data.n_users, n_items), 1 where an entry is generated.
        info: what was done (generator, volumes, weight, counts).
    """

    data: Interactions
    real: Interactions
    generated: sp.csr_matrix
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_real(self) -> int:
        return self.real.n_users

    def exclude(self) -> sp.csr_matrix:
        """Binary real training matrix padded with empty rows to ``data.n_users`` (what evaluation
        excludes: real items only; generated items stay candidates)."""
        return pad_rows(self.real.binary(), self.data.n_users)

    def to_frame(self) -> pd.DataFrame:
        """Long frame user, item, weight, source (original ids; synthetic users ``syn...``)."""
        X = self.data.X.tocoo()
        gen = sp.csr_matrix(self.generated, dtype=np.float32)
        flag = np.asarray(gen[X.row, X.col]).ravel() > 0
        df = pd.DataFrame({
            USER: self.data.users.original(X.row), ITEM: self.data.items.original(X.col),
            WEIGHT: X.data.astype(np.float64), SOURCE: np.where(flag, GENERATED, REAL),
        })
        return df

    def write_tsv(self, path: str | os.PathLike[str]) -> Path:
        """``user<TAB>item<TAB>weight<TAB>source`` with a header line (so loaders read the weight)."""
        path = Path(path)
        with atomic_path(path) as tmp:
            self.to_frame().to_csv(tmp, sep="\t", header=True, index=False, float_format="%.6g")
        return path


def pad_rows(m: sp.csr_matrix, n_rows: int) -> sp.csr_matrix:
    """CSR ``m`` with empty rows appended up to ``n_rows``."""
    m = sp.csr_matrix(m)
    if n_rows == m.shape[0]:
        return m
    indptr = np.concatenate([m.indptr, np.full(n_rows - m.shape[0], m.indptr[-1])])
    return sp.csr_matrix((m.data, m.indices, indptr), shape=(n_rows, m.shape[1]))


def target_only(data: Interactions) -> Interactions:
    """Target behaviour only, binary weights (the real log the augmentation starts from)."""
    return data.replace({data.target: data.binary()}, None)


def no_augmentation(train: Interactions) -> Augmented:
    real = target_only(train)
    return Augmented(real, real, sp.csr_matrix(real.X.shape, dtype=np.float32), {"strategy": "none"})


# ----------------------------------------------------------------------------------------- densify
def sparse_users(train: Interactions, max_user_items: int | None) -> np.ndarray:
    """Real users with 1 .. ``max_user_items`` training interactions (all users with any when None)."""
    n = np.diff(train.X.indptr)
    sel = n > 0
    if max_user_items is not None:
        sel &= n <= max_user_items
    return np.flatnonzero(sel)


def top_unseen(generator: Recommender, real: sp.csr_matrix, users: np.ndarray, m: int) -> sp.csr_matrix:
    """Top-``m`` unseen items per target user by ``generator``'s fold-in scores, as a CSR (real.shape)
    whose values are the 1-based ranks in the generator's list. ``real``: binary real training matrix
    (its items are excluded). One batched ``recommend_history`` call, no per-user loop."""
    if m <= 0 or len(users) == 0:
        return sp.csr_matrix(real.shape, dtype=np.float32)
    if generator.supports_fold_in:
        ids, _ = generator.recommend_history(real[users], m)
    elif generator.n_users == real.shape[0]:  # e.g. item-mode CFGAN fitted on this very log
        ids, _ = generator.recommend(users, m, exclude=real)
    else:
        raise RecganError(f"generator {generator.name!r} cannot fold in and was fitted on other users")
    rows = np.repeat(users, ids.shape[1])
    cols = ids.ravel()
    rank = np.tile(np.arange(1, ids.shape[1] + 1), len(users)).astype(np.float32)
    ok = cols >= 0
    out = sp.csr_matrix((rank[ok], (rows[ok], cols[ok])), shape=real.shape)
    out.sort_indices()
    return out


def first_m(top: sp.csr_matrix, m: int) -> sp.csr_matrix:
    """0/1 CSR of the entries of a :func:`top_unseen` matrix ranked within the first ``m``."""
    keep = top.data <= m
    rows = np.repeat(np.arange(top.shape[0]), np.diff(top.indptr))
    return sp.csr_matrix((np.ones(keep.sum(), np.float32), (rows[keep], top.indices[keep])), shape=top.shape)


def densify(
    train: Interactions, generator: Recommender, m: int, weight: float, *,
    max_user_items: int | None = None, label: str = "densify", _top: sp.csr_matrix | None = None,
) -> Augmented:
    """Add each sparse user's top-``m`` unseen items by ``generator`` with weight ``weight``.

    ``generator`` must be fitted on the same item index space and fold in (``supports_fold_in``).
    """
    _check_weight(weight)
    if generator.n_items != train.n_items:
        raise RecganError(f"generator has {generator.n_items} items, the training data {train.n_items}")
    real = target_only(train)
    R = real.X
    users = sparse_users(real, max_user_items)
    G = first_m(_top if _top is not None else top_unseen(generator, R, users, m), m)
    X = R + G * np.float32(weight)
    data = real.replace({real.target: X}, None)
    info = {"strategy": label, "m": int(m), "weight": float(weight), "max_user_items": max_user_items,
            "target_users": int(len(users)), "generated": int(G.nnz), "real": int(R.nnz)}
    return Augmented(data, real, G, info)


def _check_weight(weight: float) -> None:
    if not 0.0 < float(weight) <= 1.0:
        raise RecganError(f"weight must be in (0, 1], got {weight}")


# ----------------------------------------------------------------------------------------- add users
def add_users(base: Augmented, synth: Any, n: int, weight: float, seed: int) -> Augmented:
    """Append ``n`` users sampled from the fitted synthesizer ``synth`` with weight ``weight``.

    Real users keep their internal indices; synthetic users come after (ids ``syn0000000`` ...).
    """
    _check_weight(weight)
    if n <= 0:
        return base
    S = synth.sample_interactions(int(n), seed=seed)
    if len(S.items) != base.data.n_items or not np.array_equal(S.items.ids, base.data.items.ids):
        raise RecganError("the synthesizer was fitted on another item catalogue")
    Sx = S.binary()
    X = sp.vstack([base.data.X, Sx * np.float32(weight)], format="csr")
    G = sp.vstack([base.generated, Sx], format="csr")
    users = IdMap(np.concatenate([base.data.users.ids, S.users.ids]).astype(object), "user")
    data = Interactions({base.data.target: X}, base.data.target, users, base.data.items)
    info = {**base.info, "strategy": (base.info.get("strategy", "none") + "+add-users").replace("none+", ""),
            "n_users_added": int(n), "users_weight": float(weight), "generated": int(G.nnz)}
    return Augmented(data, base.real, G, info)


# ----------------------------------------------------------------------------------------- generators
def fit_densifier(name: str, train: Interactions, seed: int = 0, *, params: dict[str, Any] | None = None,
                  valid: Interactions | None = None, device: str = "cpu",
                  checkpoint_dir: str | None = None) -> Recommender:
    """Fit the model whose top unseen items densify: ``cfgan`` (GAN strategy, early-stopped on ``valid``
    when given), ``pop`` or ``itemknn`` (controls). Fitted on the real target data only.
    ``checkpoint_dir``: CFGAN keeps a checkpoint there after each epoch and resumes from the last one kept."""
    real = target_only(train)
    if name == "cfgan":
        cls = get_model_class("cfgan")
        model = cls(**{**CFGAN_AUGMENT_PARAMS, **(params or {}), "seed": seed, "device": device})
        return model.fit(real, valid, _resumable(checkpoint_dir))
    model = get_model_class(name)(**(params or {}))
    return model.fit(real)


def fit_baseline_densifier(name: str, train: Interactions, l2: float) -> Recommender:
    """A non-GAN densifier (``pop``, ``itemknn`` or ``ease``) fitted on the real target data; ``l2`` is EASE's
    ridge (the downstream EASE's, so EASE densifies with its own solution) and is ignored by the others."""
    return fit_densifier(name, train, params={"l2": l2} if name == "ease" else None)


def fit_synthesizer(train: Interactions, seed: int = 0, params: dict[str, Any] | None = None, *,
                    checkpoint_dir: str | None = None) -> Any:
    """The behaviour synthesizer (``gan``) fitted on the real target data, bounded epochs.
    ``checkpoint_dir``: its adversarial epochs keep a checkpoint there and resume from the last one kept."""
    from recgan.synth import make_synthesizer

    return make_synthesizer("gan", **{**SYNTH_AUGMENT_PARAMS, **(params or {}), "seed": seed}).fit(
        target_only(train), None if checkpoint_dir is None else _resumable(checkpoint_dir, progress=True))


def _resumable(checkpoint_dir: str | None, progress: bool = False) -> TrainingOptions:
    """Training options; with a folder, a checkpoint after every epoch and a resume from the last one."""
    if checkpoint_dir is None:
        return TrainingOptions(progress=progress)
    last = Path(checkpoint_dir) / "last"
    return TrainingOptions(progress=progress, checkpoint_dir=str(checkpoint_dir), checkpoint_every=1,
                           resume=str(last) if (last / "checkpoint.json").is_file() else None)


# ----------------------------------------------------------------------------------------- scarcity
def keep_per_user(train: Interactions, n: int, seed: int) -> Interactions:
    """Per user, a seeded random ``n`` of the target interactions (users with fewer keep all); target only."""
    if n < 1:
        raise RecganError(f"keep n must be >= 1, got {n}")
    X = target_only(train).X
    rank = within_row_rank(X, np.random.default_rng([seed, 101]))
    return _mask(train, rank < n)


def cold_items(train: Interactions, seed: int, fraction: float = 0.2, keep: int = 2) -> Interactions:
    """Cold-items setting: a seeded random ``fraction`` of the items with training interactions become
    *cold*: each keeps at most ``keep`` of its training interactions (random users); other items are
    untouched. Target only. The test set is not touched: cold items stay candidates and test targets."""
    X = target_only(train).X
    rng = np.random.default_rng([seed, 202])
    pop = np.diff(X.tocsc().indptr)
    cand = np.flatnonzero(pop > 0)
    cold = np.zeros(X.shape[1], bool)
    cold[rng.choice(cand, int(round(fraction * len(cand))), replace=False)] = True
    XT = X.T.tocsr()  # items x users: rank each item's interactions at random
    rank_t = within_row_rank(XT, rng)
    keep_t = (rank_t < keep) | ~cold[np.repeat(np.arange(XT.shape[0]), np.diff(XT.indptr))]
    K = sp.csr_matrix((keep_t.astype(np.float32) + 1.0, XT.indices, XT.indptr), shape=XT.shape).T.tocsr()
    K.sort_indices()
    mask = (K.data - 1.0) > 0.5
    return _mask(train, mask)


def _mask(train: Interactions, mask: np.ndarray) -> Interactions:
    X = target_only(train).X
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    Y = sp.csr_matrix((X.data[mask], (rows[mask], X.indices[mask])), shape=X.shape)
    return Interactions({train.target: Y}, train.target, train.users, train.items)


def scarcity(train: Interactions, setting: str, seed: int) -> Interactions:
    """``full`` | ``nN`` (keep N per user) | ``cold`` -> the (sparse) real training data, target only."""
    if setting == "full":
        return target_only(train)
    if setting == "cold":
        return cold_items(train, seed)
    if setting.startswith("n") and setting[1:].isdigit():
        return keep_per_user(train, int(setting[1:]), seed)
    raise RecganError(f"unknown scarcity setting {setting!r}: use full, cold or nN (e.g. n5)")


def carve(train: Interactions, seed: int) -> tuple[Interactions, Interactions]:
    """Validation carve of the real (sparse) train: per user 20 %, at least 1 item kept in train."""
    sp_ = validation_carve(target_only(train), 0.2, 12345 + seed)
    return sp_.train, sp_.test


# ----------------------------------------------------------------------------------------- selection
DEFAULT_M_GRID = (2, 5, 10)
DEFAULT_W_GRID = (0.2, 0.5, 1.0)
DEFAULT_N_GRID = (0.25, 1.0)
"""Synthetic users added, as a multiple of the number of real users."""


def validation_per_user(model_name: str | Callable[[], Recommender], params: dict[str, Any], aug: Augmented,
                        valid: Interactions, k: int = 20) -> np.ndarray:
    """Per-user NDCG@k, float (n,), of ``model_name`` (a registry name built with ``params``, or a factory
    of unfitted models) fitted on ``aug``, for the n users with validation items in ``valid`` (real users
    of the carve, in index order); only the real training items are excluded. Its mean is
    :func:`validation_ndcg`; the paired test of ``--generator auto`` compares these."""
    from recgan.metrics import hits_from_lists, ndcg_at

    model = (model_name() if callable(model_name) else get_model_class(model_name)(**params)).fit(aug.data)
    V = sp.csr_matrix(valid.X)
    users = np.flatnonzero(np.diff(V.indptr) > 0)
    if len(users) == 0:
        return np.zeros(0)
    top, _ = model.recommend(users, k, exclude=aug.exclude())
    Vu = V[users]
    return ndcg_at(hits_from_lists(top, Vu), np.diff(Vu.indptr), k)


def validation_ndcg(model_name: str | Callable[[], Recommender], params: dict[str, Any], aug: Augmented, valid: Interactions,
                    k: int = 20) -> float:
    """NDCG@k on ``valid`` (real users of the carve) of ``model_name`` fitted on ``aug``; only the real
    training items are excluded."""
    per_user = validation_per_user(model_name, params, aug, valid, k)
    return float(per_user.mean()) if len(per_user) else 0.0


@dataclass
class Selection:
    """Volume and weight chosen on the validation carve for one generator.

    Attributes:
        setting: the chosen ``{"m": .., "weight": ..}`` (densify) or ``{"n": .., "weight": ..}`` (add-users).
        score: its validation NDCG@20.
        per_user: float (n_valid_users,), its per-user validation NDCG@20 (:func:`validation_per_user`).
        table: every scored setting with its validation NDCG@20.
    """

    setting: dict[str, Any]
    score: float
    per_user: np.ndarray
    table: list[dict[str, Any]]


class _Excluding:
    """Adapter: a fitted model whose ``recommend`` excludes a given matrix instead of its training data."""

    def __init__(self, model: Recommender, exclude: sp.csr_matrix) -> None:
        self.model, self.exclude = model, exclude

    def recommend(self, users: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.model.recommend(users, k, exclude=self.exclude)


def choose_densify(
    carve_train: Interactions, carve_valid: Interactions, generator: Recommender, *,
    model_name: str | Callable[[], Recommender] = "ease", params: dict[str, Any] | None = None,
    max_user_items: int | None = None, m_grid: tuple[int, ...] = DEFAULT_M_GRID,
    w_grid: tuple[float, ...] = DEFAULT_W_GRID, log=None,
) -> Selection:
    """Choose (m, W) for densification on the validation carve: the pair whose augmented carve train gives
    the best validation NDCG@20 of ``model_name`` (EASE by default; ties keep the first pair)."""
    params = dict(params or {})
    real = target_only(carve_train)
    users = sparse_users(real, max_user_items)
    top = top_unseen(generator, real.X, users, max(m_grid))
    rows: list[dict[str, Any]] = []
    best: Selection | None = None
    for m in m_grid:
        for w in w_grid:
            aug = densify(real, generator, m, w, max_user_items=max_user_items, _top=top)
            pu = validation_per_user(model_name, params, aug, carve_valid)
            s = float(pu.mean()) if len(pu) else 0.0
            rows.append({"m": m, "weight": w, "valid_ndcg@20": round(s, 5)})
            if log:
                log(f"    select densify m={m} W={w}: valid ndcg@20 {s:.4f}")
            if best is None or s > best.score:
                best = Selection({"m": m, "weight": w}, s, pu, rows)
    assert best is not None
    return best


def select_densify(
    carve_train: Interactions, carve_valid: Interactions, generator: Recommender, *,
    model_name: str = "ease", params: dict[str, Any] | None = None, max_user_items: int | None = None,
    m_grid: tuple[int, ...] = DEFAULT_M_GRID, w_grid: tuple[float, ...] = DEFAULT_W_GRID, log=None,
) -> tuple[int, float, list[dict[str, Any]]]:
    """:func:`choose_densify` as (m, W, table)."""
    sel = choose_densify(carve_train, carve_valid, generator, model_name=model_name, params=params,
                         max_user_items=max_user_items, m_grid=m_grid, w_grid=w_grid, log=log)
    return sel.setting["m"], sel.setting["weight"], sel.table


def choose_add_users(
    carve_train: Interactions, carve_valid: Interactions, synth: Any, seed: int, *,
    model_name: str | Callable[[], Recommender] = "ease", params: dict[str, Any] | None = None,
    n_grid: tuple[float, ...] = DEFAULT_N_GRID, w_grid: tuple[float, ...] = DEFAULT_W_GRID, log=None,
) -> Selection:
    """Choose (n synthetic users, W) on the validation carve (best validation NDCG@20 of ``model_name``);
    ``setting["n"]`` is a count of the carve's users."""
    base = no_augmentation(carve_train)
    rows: list[dict[str, Any]] = []
    best: Selection | None = None
    for f in n_grid:
        n = max(1, int(round(f * base.n_real)))
        for w in w_grid:
            pu = validation_per_user(model_name, dict(params or {}), add_users(base, synth, n, w, seed),
                                     carve_valid)
            s = float(pu.mean()) if len(pu) else 0.0
            rows.append({"n": n, "weight": w, "valid_ndcg@20": round(s, 5)})
            if log:
                log(f"    select add-users n={n} W={w}: valid ndcg@20 {s:.4f}")
            if best is None or s > best.score:
                best = Selection({"n": n, "weight": w}, s, pu, rows)
    assert best is not None
    return best


def select_add_users(
    carve_train: Interactions, carve_valid: Interactions, synth: Any, seed: int, *,
    model_name: str = "ease", params: dict[str, Any] | None = None,
    n_grid: tuple[float, ...] = DEFAULT_N_GRID, w_grid: tuple[float, ...] = DEFAULT_W_GRID, log=None,
) -> tuple[int, float, list[dict[str, Any]]]:
    """:func:`choose_add_users` as (n, W, table)."""
    sel = choose_add_users(carve_train, carve_valid, synth, seed, model_name=model_name, params=params,
                           n_grid=n_grid, w_grid=w_grid, log=log)
    return sel.setting["n"], sel.setting["weight"], sel.table
