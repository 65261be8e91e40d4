"""Probe (not a product path): how much EASE utility does a *spectral* generator keep, with and without a
differentially private release of the item-item co-occurrence matrix? (docs/privacy.md, "DP is the gap").

On the development split of ml-1m's training users (the same split as benchmarks/dev/synth_dev.py; the
benchmark's holdout is not touched): each user's profile x is scaled to unit L2 norm, the co-occurrence matrix
C = sum_u x_u x_u^T / |x_u|^2 is released with symmetric Gaussian noise of std sigma per entry (each user
changes C by at most 1 in Frobenius norm, so this is the Gaussian mechanism with L2 sensitivity 1; sigma 1.0
is epsilon 4.75 and sigma 0.5 epsilon 10.8 at delta 1e-5 by the RDP accountant), its top-r eigenpairs
(lambda, V) give synthetic profiles p = z V^T with z ~ N(0, diag(lambda / n)), and each synthetic user takes
the top-k of a * p / std(p) + Gumbel noise, k drawn from the real activity sizes (not noised here, a small
flattery). Prints the EASE utility ratio on the development users.

    python benchmarks/dev/synth_spectral_probe.py
    python benchmarks/dev/synth_spectral_probe.py --canaries 10   # also: are planted canaries reproduced?

With --canaries N, N canary users (8 rare items each, as in `synth fit`'s temperature choice) are planted in
the fitting users before C is computed, and each line also gives how many of them one synthetic profile
reproduces (>= 80 % of the canary's items).
"""

from __future__ import annotations

import argparse

import _paths  # noqa: F401  (benchmarks/ on sys.path: the `synth` and `harness` modules)
import numpy as np
import scipy.sparse as sp
import torch
from synth import load, user_split

from recgan.data.ids import IdMap
from recgan.data.interactions import Interactions
from recgan.reports import privacy as P
from recgan.reports.utility import tstr
from recgan.synth.base import synthetic_ids
from recgan.synth.canaries import plant_canaries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--canaries", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, _holdout = user_split(load("ml-1m"), 0)
    fit, dev = user_split(train, 100)
    source, planted = fit, None
    if args.canaries:
        source, can = plant_canaries(fit, n=args.canaries, size=8, seed=4099)
        planted = can.matrix(source.n_items)
    x = source.binary(source.target).tocsr().astype(np.float64)
    n, m = x.shape
    norms = np.sqrt(np.asarray(x.sum(1)).ravel())
    norms[norms == 0] = 1.0
    xh = sp.diags(1.0 / norms) @ x
    c0 = (xh.T @ xh).toarray()
    sizes = np.maximum(np.asarray(x.getnnz(axis=1)), 1)
    ref = P.profiles([fit.binary(fit.target)])
    dev_dcr = 1.0 - P.nearest_jaccard(P.profiles([dev.binary(dev.target)]), ref)[:, 0]
    rng = np.random.default_rng(0)
    for sigma in (0.0, 0.5, 1.0):
        noise = np.triu(rng.normal(0.0, sigma, (m, m)))
        lam, vec = np.linalg.eigh(c0 + noise + np.triu(noise, 1).T)
        order = np.argsort(lam)[::-1]
        for r in (8, 32, 128):
            lam_r, v_r = np.clip(lam[order[:r]], 0.0, None), vec[:, order[:r]]
            p = (rng.normal(size=(n, r)) * np.sqrt(lam_r / n)) @ v_r.T
            p /= p.std()
            for a in (4, 8, 16):
                logits = a * p - np.log(-np.log(rng.random((n, m))))
                k = rng.permutation(sizes)
                kth = -np.sort(-logits, axis=1)[np.arange(n), k - 1]  # each user's k-th largest
                chosen = sp.csr_matrix((logits >= kth[:, None]).astype(np.float32))
                extra = ""
                if planted is not None:
                    extra = f", canaries reproduced {P.canary_reproduction(chosen, planted)['reproduced']}"
                    chosen = chosen[: fit.n_users]
                syn = Interactions({fit.target: chosen}, fit.target, IdMap(synthetic_ids(0, chosen.shape[0]), "user"), fit.items)
                u = tstr(fit, dev, {"syn": syn}, {"ease": {"l2": 500.0}})
                dcr_p = P.dcr_p(1.0 - P.nearest_jaccard(P.profiles([chosen]), ref)[:, 0], dev_dcr)
                print(f"sigma {sigma} rank {r} a {a}: EASE utility {u['ease']['syn_ratio']:.3f}, DCR p {dcr_p:.3f}"
                      f"{extra}",
                      flush=True)


if __name__ == "__main__":
    main()
