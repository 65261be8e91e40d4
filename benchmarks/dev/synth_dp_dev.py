"""Development runs for utility under user-level DP (docs/privacy.md, "The DP control" and the DP research
notes), on the development split of a data set's training users (benchmarks/synth.py's user split, then a
second one inside train; the benchmark's holdout is never read). Each entry of the JSON list is a generator
name and its parameters; prints the EASE utility ratio on the development users (fit on 80 % of train, as
many synthetic users) and the epsilon spent:

    python benchmarks/dev/synth_dp_dev.py --dataset ml-1m --runs '[["gan", {"epochs": 0, "dp_epsilon": 3}]]'
    python benchmarks/dev/synth_dp_dev.py --runs '[["randomised-response", {"dp_epsilon": 3, "max_items": 16}]]'
    python benchmarks/dev/synth_dp_dev.py --runs '[["gan", {"epochs": 0, "dp_epsilon": 3}, {"cooc": "renorm"}]]'
"""

from __future__ import annotations

import argparse
import json
import time

import _paths  # noqa: F401  (benchmarks/ on sys.path: the `synth` module)
import numpy as np
import scipy.sparse as sp
import torch
from synth import load, user_split

from recgan.reports.utility import tstr
from recgan.synth import make_synthesizer, spectral


def _variant(original, variant: dict):
    """The spectral start's co-occurrence release, as is or in a development variant (never in the product
    until measured): ``{"cooc": "renorm"}`` normalises each profile to unit L2 norm *within* the released items
    (the default normalises over the whole catalogue, so mass on other items is lost); ``{"cooc": "cap", "cap":
    c}`` keeps at most c random released items per user, each pair weighted 1 / c. Both keep each user's term
    at Frobenius norm <= 1 (the release's L2 sensitivity). ``"offdiag": true`` (with renorm) releases the
    off-diagonal part only, scaled by sqrt 2: a user's upper triangle then has L2 norm sqrt(1 - 1 / k) <= 1, the
    same noise buys half the variance (the diagonal the spectral start adds noise to is then pure noise)."""
    if not variant:
        return original

    def cooc(mats, items, **_product_options):  # the variant decides (the product's DP options ignored)
        x = sp.csc_matrix(spectral.union_profiles(mats))[:, np.asarray(items)].tocsr().astype(np.float64)
        if variant["cooc"] == "cap":
            c = int(variant["cap"])
            row = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
            rng = np.random.default_rng(0)
            order = np.lexsort((rng.random(x.nnz), row))
            rank = np.empty(x.nnz, np.int64)
            rank[order] = np.arange(x.nnz) - x.indptr[row[order]]
            keep = rank < c
            x = sp.csr_matrix((np.full(int(keep.sum()), 1.0 / np.sqrt(c)), (row[keep], x.indices[keep])), shape=x.shape)
        else:
            x = sp.diags(1.0 / np.sqrt(np.maximum(np.diff(x.indptr), 1))) @ x
        c = (x.T @ x).toarray()
        if variant.get("offdiag"):  # the diagonal is not released: the upper triangle's sensitivity falls to
            np.fill_diagonal(c, 0.0)  # sqrt((k - 1) / 2k) < 1 / sqrt 2, so scaling by sqrt 2 keeps it <= 1
            c *= np.sqrt(2.0)
        return c

    return cooc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ml-1m", choices=["ml-100k", "ml-1m"])
    ap.add_argument("--runs", required=True, help='JSON list of [generator, {params}[, {variant}]]')
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="generator seeds (the DP noise draws)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, _holdout = user_split(load(args.dataset), 0)
    fit, dev = user_split(train, 100)
    original = spectral.cooccurrence
    for run in json.loads(args.runs):
        kind, params = run[0], run[1]
        variant = run[2] if len(run) > 2 else {}
        spectral.cooccurrence = _variant(original, variant)
        t = time.perf_counter()
        utils = []
        for seed in args.seeds:
            s = make_synthesizer(kind, **{"seed": seed, **params}).fit(fit)
            syn = s.sample_interactions(fit.n_users, seed=seed)
            utils.append(tstr(fit, dev, {"syn": syn}, {"ease": {"l2": 500.0}})["ease"]["syn_ratio"])
        print(f"{kind} {json.dumps(params)} {json.dumps(variant) if variant else ''}: EASE utility "
              f"{np.mean(utils):.3f} (seeds {args.seeds}: {', '.join(f'{u:.3f}' for u in utils)}), epsilon "
              f"{s.privacy.get('epsilon')}, {time.perf_counter() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
