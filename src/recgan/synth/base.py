"""The synthesizer contract, the generator network the GAN and the VAE share, and the folder format.

A synthesizer learns from an :class:`~recgan.data.interactions.Interactions` (every behaviour) and releases
*new* users: ``fit(data) -> self``, ``sample(n_users, seed) -> DataFrame`` with columns ``user``, ``item``,
``behaviour`` (original item ids, behaviour names of the source, synthetic user ids ``syn0000000`` ...).

Every generator here is "a distribution over the catalogue per behaviour channel" plus the shared sampler
(:mod:`recgan.synth.sampler`) that draws each profile's sizes from the activity model and turns the
distribution into discrete, funnel-consistent item sets. Nothing of size users x items is ever dense beyond
one batch; item columns are never one-hot encoded (a profile is one row over the catalogue).

Folder (:mod:`recgan.core.folder`, written atomically; loading never executes code, no pickle):
  ``synth.json``         generator name, typed config, behaviours, funnel, privacy statement, training info
  ``items.json``         original item ids in index order
  ``activity.npz``       the activity model (histograms of per-user sizes)
  ``weights.safetensors`` (torch generators) or ``weights.npz`` (numpy ones): the generator only
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from pydantic import Field
from torch import nn

from recgan.core.config import Config, make_config
from recgan.core.folder import header, read_json, read_npz, read_state, write_folder
from recgan.core.registry import Registry
from recgan.core.trainer import TrainingOptions
from recgan.data.ids import IdMap
from recgan.data.interactions import BEHAVIOUR, ITEM, USER, Interactions
from recgan.errors import RecganError
from recgan.synth.sampler import ActivityModel, Funnel, sample_profiles

SYNTH_FILE = "synth.json"
REGISTRY: Registry[type[Synthesizer]] = Registry("generator")
"""Every synthesizer by name (``recgan synth fit --generator NAME``)."""


def register(cls: type[Synthesizer]) -> type[Synthesizer]:
    return REGISTRY.add(cls)


def synthetic_ids(start: int, n: int) -> np.ndarray:
    """``syn0000000``-style user ids for rows ``start .. start + n - 1``."""
    return np.array([f"syn{i:07d}" for i in range(start, start + n)], dtype=object)


class SynthConfig(Config):
    funnel: str = "auto"
    """Funnel order, broadest first, e.g. ``"view>cart>buy"``: a child behaviour's items are drawn inside its
    parent's. ``auto``: detected from the data (>= 90 % containment); under DP only the public name order
    view>cart>buy is used. ``none``: channels independent."""
    batch_size: int = Field(1024, ge=1)
    """Profiles generated at once by ``sample`` (memory O(batch x items))."""
    temperature: float = Field(1.0, gt=0)
    """Sampling temperature: items are drawn from softmax(logits / temperature). Below 1 each synthetic
    profile concentrates on its generator's likelier items (sharper co-occurrence, fewer stray items)."""


class Synthesizer(ABC):
    """Base of every behaviour generator.

    Subclasses implement ``_fit(data, counts)`` (learn the item distributions; the activity model and funnel
    are already fitted) and ``_logits(n, cond, gen)`` -> float32 tensor (n, channels, items) of unnormalised
    log-probabilities for ``n`` new profiles, and ``_state()`` / ``_set_state(state)`` for the weights.
    """

    name: ClassVar[str] = "base"
    config_class: ClassVar[type[SynthConfig]] = SynthConfig
    calibrates_temperature: ClassVar[bool] = True
    """``synth fit --temperature auto`` chooses this generator's sampling temperature on a development split
    (False for generators whose samples do not sharpen with a temperature, or whose release is private)."""

    def __init__(self, config: SynthConfig | None = None, **params: Any) -> None:
        if config is None:
            config = make_config(self.config_class, params)
        elif params:
            config = config.replace(**params)
        self.config = config
        self.items: IdMap | None = None
        self.behaviours: list[str] = []
        self.target: str = ""
        self.activity: ActivityModel | None = None
        self.funnel: Funnel | None = None
        self.info: dict[str, Any] = {}
        self.privacy: dict[str, Any] = {"dp": False}
        self.training_options: TrainingOptions | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, data: Interactions, options: TrainingOptions | None = None) -> Synthesizer:
        """Learn the activity model, the funnel and the item distributions from ``data`` (all behaviours).
        ``options``: how the trainer runs the epochs of generators trained by epochs (progress, checkpoints,
        resume, tracking); None keeps what was set on the synthesizer (default: ``TrainingOptions()``)."""
        if options is not None:
            self.training_options = options
        if data.nnz == 0 and all(m.nnz == 0 for m in data.matrices.values()):
            raise RecganError("cannot fit a synthesizer on data without interactions")
        self.items = data.items
        self.behaviours = list(data.behaviours)
        self.target = data.target
        mats = [data.binary(b) for b in self.behaviours]
        counts = np.stack([np.diff(m.indptr) for m in mats], axis=1)
        keep = counts.sum(1) > 0  # ids without any interaction are not users
        if keep.sum() < 2:
            raise RecganError("need at least 2 users with interactions to fit a synthesizer")
        if not keep.all():
            mats = [m[keep] for m in mats]
            counts = counts[keep]
        self.funnel = Funnel.resolve(self.config.funnel, self.behaviours, mats, private=self._private())
        self._fit(mats, counts)
        return self

    def _private(self) -> bool:
        return False

    def _fit_activity(self, counts: np.ndarray) -> ActivityModel:
        """The activity model on the broadest root channel of the funnel."""
        roots = [c for c, p in enumerate(self.funnel.parent) if p is None]
        totals = counts.sum(0)
        base = roots[0] if self._private() else max(roots, key=lambda c: totals[c])
        self.activity = ActivityModel.fit(counts, len(self.items), base)
        return self.activity

    @abstractmethod
    def _fit(self, mats: list[sp.csr_matrix], counts: np.ndarray) -> None:
        """``mats``: per behaviour (in ``self.behaviours`` order) binary CSR (users, items); ``counts``
        (users, channels) their row sizes. Must set ``self.activity``."""

    @abstractmethod
    def _logits(self, sizes: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        """Log-probabilities (n, channels, items) for profiles of the given ``sizes`` (n, channels)."""

    # ------------------------------------------------------------------ sample
    def _temperature(self) -> float:
        t = float(self.config.temperature)
        if not (t > 0 and np.isfinite(t)):
            raise RecganError(f"temperature must be a positive number, got {self.config.temperature}")
        return t

    def _check_fitted(self) -> None:
        if self.items is None or self.activity is None:
            raise RecganError(f"synthesizer {self.name!r} is not fitted")

    def sample_matrices(self, n_users: int, seed: int = 0) -> list[sp.csr_matrix]:
        """``n_users`` synthetic profiles as one binary CSR (n_users, items) per behaviour."""
        self._check_fitted()
        if n_users < 1:
            raise RecganError(f"n_users must be >= 1, got {n_users}")
        gen = torch.Generator().manual_seed(int(seed))
        rng = np.random.default_rng([int(seed), 7])
        sizes = self.activity.sample(n_users, rng, self.funnel)
        parts: list[list[sp.csr_matrix]] = [[] for _ in self.behaviours]
        bs = max(1, self.config.batch_size)
        with torch.no_grad():
            for lo in range(0, n_users, bs):
                sz = sizes[lo : lo + bs]
                logits = self._logits(sz, gen) / self._temperature()
                for c, m in enumerate(sample_profiles(logits, sz, self.funnel, gen)):
                    parts[c].append(m)
        return [sp.vstack(p, format="csr") for p in parts]

    def item_marginals(self, n: int = 2048, seed: int = 0) -> np.ndarray:
        """(channels, items) mean over ``n`` generated profiles of softmax(logits): how much probability the
        generator puts on each item (the white-box score of the canary audit)."""
        self._check_fitted()
        gen = torch.Generator().manual_seed(int(seed))
        sizes = self.activity.sample(n, np.random.default_rng([int(seed), 11]), self.funnel)
        total = None
        with torch.no_grad():
            for lo in range(0, n, max(1, self.config.batch_size)):
                lg = self._logits(sizes[lo : lo + self.config.batch_size], gen).float() / self._temperature()
                p = torch.softmax(lg, -1).sum(0)
                total = p if total is None else total + p
        return (total / n).numpy()

    def sample(self, n_users: int, seed: int = 0) -> pd.DataFrame:
        """``n_users`` synthetic users as a long frame: user (``syn0000000`` ...), item (original ids),
        behaviour. Deterministic for a given ``seed``."""
        mats = self.sample_matrices(n_users, seed)
        return to_frame(mats, self.behaviours, self.items)

    def sample_interactions(self, n_users: int, seed: int = 0) -> Interactions:
        """The same sample as an :class:`Interactions` in the training item space."""
        mats = self.sample_matrices(n_users, seed)
        users = IdMap(synthetic_ids(0, n_users), "user")
        return Interactions(dict(zip(self.behaviours, mats, strict=True)), self.target, users, self.items)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:  # noqa: B027  (stateless generators keep it)
        return None

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the synthesizer folder atomically (:mod:`recgan.core.folder`; the device is not saved)."""
        self._check_fitted()
        meta = header("generator", self.name, self.config, behaviours=self.behaviours, target=self.target,
                      funnel=self.funnel.to_json(), n_items=len(self.items), privacy=self.privacy, info=self.info)
        return write_folder(folder, json_files={SYNTH_FILE: meta, "items.json": self.items.to_list()},
                            npz_files={"activity.npz": self.activity.to_arrays()}, state=self._state())

    @classmethod
    def _from_meta(cls, meta: dict, folder: Path) -> Synthesizer:
        params = {k: v for k, v in meta["config"].items() if k != "device"}  # older folders saved it
        obj = cls(make_config(cls.config_class, params))
        obj.items = IdMap(np.asarray(read_json(folder, "items.json"), dtype=object), "item")
        obj.behaviours = list(meta["behaviours"])
        obj.target = meta["target"]
        obj.funnel = Funnel.from_json(meta["funnel"], obj.behaviours)
        obj.activity = ActivityModel.from_arrays(read_npz(folder, "activity.npz"))
        obj.privacy = meta.get("privacy", {"dp": False})
        obj.info = meta.get("info", {})
        obj._set_state(read_state(folder))
        return obj

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


def to_frame(mats: list[sp.csr_matrix], behaviours: list[str], items: IdMap, start: int = 0) -> pd.DataFrame:
    """Per-behaviour CSR profiles -> long frame user, item, behaviour (synthetic user ids)."""
    frames = []
    for b, m in zip(behaviours, mats, strict=True):
        m = sp.csr_matrix(m)
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        frames.append(pd.DataFrame({USER: rows, ITEM: m.indices, BEHAVIOUR: b}))
    df = pd.concat(frames, ignore_index=True).sort_values([USER, BEHAVIOUR, ITEM], kind="stable")
    ids = synthetic_ids(start, max(m.shape[0] for m in mats))
    df[USER] = ids[df[USER].to_numpy()]
    df[ITEM] = items.original(df[ITEM].to_numpy())
    return df.reset_index(drop=True)


def load_synthesizer(path: str | os.PathLike[str]) -> Synthesizer:
    """Load a synthesizer folder written by :meth:`Synthesizer.save`. ``path`` may also be a model folder
    holding it as ``synth/`` (what the HTTP service is given)."""
    import recgan.synth  # noqa: F401  (registers every generator)

    folder = Path(path)
    if not (folder / SYNTH_FILE).is_file() and (folder / "synth" / SYNTH_FILE).is_file():
        folder = folder / "synth"
    meta_path = folder / SYNTH_FILE
    if not meta_path.is_file():
        raise RecganError(f"{path}: not a synthesizer folder (no {SYNTH_FILE})")
    meta = read_json(folder, SYNTH_FILE)
    name = meta.get("generator") if isinstance(meta, dict) else None
    if name not in REGISTRY:
        raise RecganError(f"{meta_path}: unknown generator {name!r}; known: {', '.join(REGISTRY.names())}")
    try:
        return REGISTRY[name]._from_meta(meta, folder)
    except (KeyError, RuntimeError, ValueError) as e:
        raise RecganError(f"{folder}: damaged synthesizer folder: {type(e).__name__}: {e}") from None


# ---------------------------------------------------------------------------------------- networks
class ProfileDecoder(nn.Module):
    """Noise (+ an activity-level condition) -> per-channel logits over the catalogue.

    ``z (n, z_dim) ++ onehot(level) (n, n_levels) -> MLP -> h (n, channels, emb) -> h @ E^T + b_c``: the
    output layer is factorised through one item-embedding table ``E`` (items x emb) shared by the channels,
    so a catalogue of 10^5 items costs 10^5 x emb parameters, not hidden x items per channel.

    With ``skip``, a linear path from z is added to the body's output, ``h = body(z, level) + z W^T``
    (W (channels x emb, z_dim), initialised to zero): the GAN's spectral start puts its linear generator there
    (:mod:`recgan.synth.spectral`) and adversarial training refines both paths.
    """

    def __init__(self, n_items: int, n_channels: int, n_levels: int, z_dim: int = 64, hidden: int = 256,
                 emb: int = 64, skip: bool = False) -> None:
        super().__init__()
        self.n_items, self.n_channels, self.n_levels, self.z_dim, self.emb = n_items, n_channels, n_levels, z_dim, emb
        self.body = nn.Sequential(
            nn.Linear(z_dim + n_levels, hidden), nn.LeakyReLU(0.2), nn.LayerNorm(hidden),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.LayerNorm(hidden),
            nn.Linear(hidden, n_channels * emb),
        )
        self.item_emb = nn.Parameter(torch.randn(n_items, emb) * (1.0 / emb**0.5))
        self.bias = nn.Parameter(torch.zeros(n_channels, n_items))
        self.skip = nn.Linear(z_dim, n_channels * emb, bias=False) if skip else None
        if self.skip is not None:
            nn.init.zeros_(self.skip.weight)

    def forward(self, z: torch.Tensor, level: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """(n, channels, items) logits; with ``items`` (m,) int64, the logits of those catalogue items only,
        (n, channels, m), at O(n x m) cost, the item table's gradient sparse (only those rows)."""
        cond = nn.functional.one_hot(level.long(), self.n_levels).to(z.dtype)
        h = self.body(torch.cat([z, cond], 1))
        if self.skip is not None:
            h = h + self.skip(z)
        h = h.view(-1, self.n_channels, self.emb)
        if items is not None:
            return h @ nn.functional.embedding(items, self.item_emb, sparse=True).T + self.bias[:, items]
        return h @ self.item_emb.T + self.bias  # (n, channels, items)

    def shape_args(self) -> dict[str, int]:
        return {"n_items": self.n_items, "n_channels": self.n_channels, "n_levels": self.n_levels,
                "z_dim": self.z_dim, "emb": self.emb, "hidden": self.body[0].out_features,
                "skip": self.skip is not None}


def log_popularity(mats: list[sp.csr_matrix], smoothing: float = 0.5) -> np.ndarray:
    """(channels, items) log of smoothed item frequencies per channel (the decoder's initial bias)."""
    pop = np.stack([np.asarray(m.sum(0)).ravel() for m in mats]).astype(np.float64) + smoothing
    return np.log(pop / pop.sum(1, keepdims=True)).astype(np.float32)
