"""From generator outputs to discrete interaction sets: the activity model, the funnel and the sampler.

* :class:`ActivityModel`: how many items each synthetic user gets per behaviour. The broadest behaviour's
  size follows a histogram of the real sizes (width-1 bins up to 10, then bins 15 % wider each step); every
  other behaviour's size follows a histogram conditioned on the broad size's level, so sizes stay jointly
  realistic (heavy viewers buy more). Under DP the histograms are released with the Gaussian mechanism.
* :class:`Funnel`: which behaviour's items must lie inside which (buy => carted => viewed).
* :func:`sample_profiles`: Gumbel-top-k per row (sampling *without* replacement from softmax(logits)) with
  each row's own size, parents before children, a child restricted to its parent's drawn items. Batched on
  tensors: no per-user loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from recgan.errors import RecganError

LEVEL_EDGES = np.array([0, 1, 3, 6, 12, 25, 50, 100, 200, 400, 800, np.iinfo(np.int64).max], dtype=np.int64)
"""Activity levels (the generator's condition): level l holds sizes in [LEVEL_EDGES[l], LEVEL_EDGES[l+1])."""
N_LEVELS = len(LEVEL_EDGES) - 1
PUBLIC_FUNNEL = ("view", "pv", "click", "cart", "buy")
"""Behaviour names whose funnel order is public knowledge (used under DP instead of measuring containment)."""


def size_edges(n_items: int) -> np.ndarray:
    """Bin edges for profile sizes 0 .. n_items: width 1 up to 10, then geometric (x1.15). Depends only on
    the catalogue size (public), never on the data."""
    edges = list(range(0, min(11, n_items + 1)))
    while edges[-1] < n_items:
        edges.append(min(n_items, max(edges[-1] + 1, int(np.ceil(edges[-1] * 1.15)))))
    edges.append(n_items + 1)
    return np.unique(np.asarray(edges, dtype=np.int64))


def level_of(sizes: np.ndarray) -> np.ndarray:
    return np.searchsorted(LEVEL_EDGES, np.asarray(sizes), side="right") - 1


def _draw_bins(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise inverse-CDF draw: ``weights`` (n, bins) non-negative, ``u`` (n,) uniform -> bin (n,)."""
    cdf = np.cumsum(weights, 1)
    tot = cdf[:, -1:]
    cdf = np.divide(cdf, tot, out=np.zeros_like(cdf), where=tot > 0)
    return np.minimum((cdf < u[:, None]).sum(1), weights.shape[1] - 1)


@dataclass
class ActivityModel:
    """Joint distribution of per-user sizes over behaviour channels (see module docstring)."""

    edges: np.ndarray
    """Size bin edges (bins [e_j, e_j+1))."""
    base: int
    """Channel whose size is drawn first (the broadest behaviour)."""
    hist: np.ndarray
    """(channels, levels, bins) counts: row ``base`` has the base channel's histogram in every level row;
    other rows hold each channel's size histogram per level of the base size."""

    @classmethod
    def fit(cls, counts: np.ndarray, n_items: int, base: int) -> ActivityModel:
        counts = np.asarray(counts, dtype=np.int64)
        edges = size_edges(n_items)
        n_ch = counts.shape[1]
        bins = np.searchsorted(edges, counts, side="right") - 1
        lev = level_of(counts[:, base])
        hist = np.zeros((n_ch, N_LEVELS, len(edges) - 1))
        for c in range(n_ch):
            if c == base:
                hist[c] = np.bincount(bins[:, c], minlength=len(edges) - 1)[None, :]
            else:
                np.add.at(hist[c], (lev, bins[:, c]), 1.0)
        return cls(edges, base, hist)

    def privatise(self, noise_std: float, rng: np.random.Generator, threshold: float = 2.0) -> None:
        """Gaussian mechanism: add N(0, noise_std^2) to every released cell, then (post-processing) zero the
        cells below ``threshold x noise_std``, so that noise alone does not fill the many empty cells (e.g.
        profiles of thousands of items). One user occupies one cell per channel, so the L2 sensitivity is
        sqrt(channels): pass noise_std = sigma * sqrt(C)."""
        noisy = self.hist.copy()
        for c in range(noisy.shape[0]):
            if c == self.base:
                noisy[c] = (noisy[c, 0] + rng.normal(0.0, noise_std, noisy.shape[2]))[None, :]
            else:
                noisy[c] = noisy[c] + rng.normal(0.0, noise_std, noisy[c].shape)
        clipped = np.clip(noisy, 0.0, None)
        noisy[noisy < threshold * noise_std] = 0.0
        empty = noisy.sum((1, 2)) == 0  # a channel with nothing above the threshold keeps its clipped counts
        noisy[empty] = clipped[empty]
        self.hist = noisy

    def sample(self, n: int, rng: np.random.Generator, funnel: Funnel | None = None) -> np.ndarray:
        """(n, channels) int64 sizes, a funnel child never larger than its parent; no row is empty in every
        channel."""
        n_ch = self.hist.shape[0]
        out = np.zeros((n, n_ch), dtype=np.int64)
        todo = np.arange(n)
        for _ in range(20):
            draw = self._draw(len(todo), rng)
            if funnel is not None:
                for c in funnel.order:
                    if funnel.parent[c] is not None:
                        draw[:, c] = np.minimum(draw[:, c], draw[:, funnel.parent[c]])
            out[todo] = draw
            todo = todo[out[todo].sum(1) == 0]
            if not len(todo):
                break
        if len(todo):  # a degenerate (e.g. very noisy) histogram: give the base channel one item
            out[todo, self.base] = 1
        return out

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        n_ch, _, n_bins = self.hist.shape
        lo, hi = self.edges[:-1], self.edges[1:]
        out = np.zeros((n, n_ch), dtype=np.int64)
        b = _draw_bins(np.broadcast_to(self.hist[self.base, 0], (n, n_bins)), rng.random(n))
        out[:, self.base] = rng.integers(lo[b], hi[b])
        lev = level_of(out[:, self.base])
        for c in range(n_ch):
            if c == self.base:
                continue
            w = self.hist[c][lev]
            empty = w.sum(1) == 0
            if empty.any():  # a level never seen for this channel: its marginal
                w = w.copy()
                w[empty] = self.hist[c].sum(0)
            b = _draw_bins(w, rng.random(n))
            out[:, c] = rng.integers(lo[b], hi[b])
        return np.minimum(out, self.edges[-1] - 1)

    def levels(self, sizes: np.ndarray) -> np.ndarray:
        """Condition of each profile: the level of its base-channel size."""
        return level_of(np.asarray(sizes)[:, self.base])

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"edges": self.edges, "base": np.array(self.base), "hist": self.hist}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> ActivityModel:
        return cls(np.asarray(a["edges"], dtype=np.int64), int(a["base"]), np.asarray(a["hist"], dtype=np.float64))


@dataclass
class Funnel:
    """``parent[c]``: the channel whose drawn items channel ``c``'s items must lie in (None = free)."""

    parent: list[int | None]

    @property
    def order(self) -> list[int]:
        """Channels with every parent before its children."""
        done: list[int] = []
        while len(done) < len(self.parent):
            for c, p in enumerate(self.parent):
                if c not in done and (p is None or p in done):
                    done.append(c)
        return done

    @property
    def edges(self) -> list[tuple[int, int]]:
        """(child, parent) pairs."""
        return [(c, p) for c, p in enumerate(self.parent) if p is not None]

    @classmethod
    def resolve(cls, spec: str, behaviours: list[str], mats: list[sp.csr_matrix], private: bool) -> Funnel:
        n = len(behaviours)
        parent: list[int | None] = [None] * n
        if spec == "none" or n == 1:
            return cls(parent)
        if spec != "auto":
            chain = [s.strip() for s in spec.split(">") if s.strip()]
            bad = [s for s in chain if s not in behaviours]
            if bad or len(chain) < 2:
                raise RecganError(f"funnel {spec!r}: expected 'a>b[>c]' over behaviours {behaviours}")
            for a, b in zip(chain[:-1], chain[1:], strict=True):
                parent[behaviours.index(b)] = behaviours.index(a)
            return cls(parent)
        if private:  # no data-dependent choice under DP: the public order of well-known names only
            chain = [b for b in PUBLIC_FUNNEL if b in behaviours]
            if chain and chain[0] not in ("view", "pv", "click"):
                chain = []  # e.g. Tmall's cart is far smaller than its buy: no public order to assume
            for a, b in zip(chain[:-1], chain[1:], strict=True):
                parent[behaviours.index(b)] = behaviours.index(a)
            return cls(parent)
        nnz = [m.nnz for m in mats]
        for c in range(n):  # the tightest parent: fewest interactions among those holding >= 90 % of c
            cands = [p for p in range(n) if p != c and nnz[p] > nnz[c] > 0
                     and mats[c].multiply(mats[p]).nnz / nnz[c] >= 0.9]
            parent[c] = min(cands, key=lambda p: nnz[p]) if cands else None
        return cls(parent)

    def to_json(self) -> list[int | None]:
        return list(self.parent)

    @classmethod
    def from_json(cls, parent: list, behaviours: list[str]) -> Funnel:
        if len(parent) != len(behaviours):
            raise ValueError("funnel does not match behaviours")
        return cls([None if p is None else int(p) for p in parent])

    def describe(self, behaviours: list[str]) -> str:
        return json.dumps({behaviours[c]: behaviours[p] for c, p in self.edges}) if self.edges else "none"


def gumbel(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    u = torch.rand(shape, generator=gen).clamp_(1e-10, 1 - 1e-7)
    return -torch.log(-torch.log(u))


def draw_masks(logits: torch.Tensor, sizes: np.ndarray | torch.Tensor, funnel: Funnel,
               gen: torch.Generator) -> list[torch.Tensor]:
    """Bool masks (n, items) per channel: row u of channel c holds ``sizes[u, c]`` items drawn without
    replacement from softmax(logits[u, c]) (Gumbel-top-k), inside the parent's items for a funnel child."""
    n, n_ch, n_items = logits.shape
    sizes = torch.as_tensor(np.asarray(sizes), dtype=torch.long).clamp(0, n_items)
    masks: list[torch.Tensor | None] = [None] * n_ch
    noise = gumbel((n, n_ch, n_items), gen).to(logits.device)
    for c in funnel.order:
        keys = logits[:, c].detach().float() + noise[:, c]
        k = sizes[:, c].to(logits.device)
        p = funnel.parent[c]
        if p is not None:
            keys = keys.masked_fill(~masks[p], float("-inf"))
            k = torch.minimum(k, masks[p].sum(1))
        kmax = int(k.max()) if n else 0
        m = torch.zeros(n, n_items, dtype=torch.bool, device=logits.device)
        if kmax > 0:
            top = torch.topk(keys, kmax, dim=1).indices
            valid = torch.arange(kmax, device=logits.device)[None, :] < k[:, None]
            m.scatter_(1, top, valid)
        masks[c] = m
    return masks  # type: ignore[return-value]


def sample_profiles(logits: torch.Tensor, sizes: np.ndarray, funnel: Funnel, gen: torch.Generator) -> list[sp.csr_matrix]:
    """:func:`draw_masks` as binary float32 CSR (n, items) per channel."""
    out = []
    for m in draw_masks(logits, sizes, funnel, gen):
        rows, cols = torch.nonzero(m, as_tuple=True)
        r, c = rows.cpu().numpy(), cols.cpu().numpy()
        out.append(sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=tuple(m.shape)))
    return out
