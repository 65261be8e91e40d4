"""Cost of the behaviour GAN's spectral start on a large catalogue (docs/scaling.md): a generated log of
``--users`` users x ``--items`` items with ``--nnz`` interactions (Zipf item popularity, log-normal user
activity), the co-occurrence matrix over the ``--top`` most popular items and its top-64 eigenpairs, without
and with the DP noise. Prints seconds and peak RSS.

    python benchmarks/dev/synth_spectral_scale.py --users 200000 --items 50000 --nnz 20000000
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import scipy.sparse as sp

from recgan.synth.spectral import spectral_basis


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--nnz", type=int, default=20_000_000)
    ap.add_argument("--top", type=int, default=4096)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    p_item = 1.0 / np.arange(1, args.items + 1) ** 0.9
    act = rng.lognormal(0.0, 1.0, args.users)
    rows = rng.choice(args.users, args.nnz, p=act / act.sum())
    cols = rng.choice(args.items, args.nnz, p=p_item / p_item.sum())
    x = sp.csr_matrix((np.ones(args.nnz, np.float32), (rows, cols)), shape=(args.users, args.items))
    x.data[:] = 1.0
    print(f"log: {args.users:,} users x {args.items:,} items, {x.nnz:,} distinct interactions "
          f"(generated in {time.perf_counter() - t0:.1f} s)", flush=True)
    top = np.argsort(-np.asarray(x.sum(0)).ravel(), kind="stable")[: args.top]
    for sigma in (0.0, 0.7):
        t0 = time.perf_counter()
        v, lam = spectral_basis([x], rank=64, items=top, sigma=sigma, rng=np.random.default_rng(1))
        print(f"spectral start, noise {sigma}: {time.perf_counter() - t0:.1f} s, V {v.shape}, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB", flush=True)


if __name__ == "__main__":
    main()
