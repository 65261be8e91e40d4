"""Foundation speed figures: EASE fit + recommend on ml-100k-p1, and full-ranking evaluation of every
ml-1m-p1 user (6,040 x 3,706) with EASE scores. Writes benchmarks/results/11-speed-baselines.md.

    python benchmarks/speed_baselines.py
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from recgan.data import load_split
from recgan.evaluation import evaluate
from recgan.models import EASE

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ROOT.parent / "shared" / "benchmarks" / "splits"


def best_of(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def main() -> None:
    s1 = load_split(SPLITS / "ml-100k-p1")
    fit_rec = best_of(lambda: EASE(l2=500).fit(s1.train).recommend_ids(None, k=50))
    s2 = load_split(SPLITS / "ml-1m-p1")
    t = time.perf_counter()
    m = EASE(l2=1000).fit(s2.train)
    fit1m = time.perf_counter() - t
    ev = best_of(lambda: evaluate(m, s2.test))
    r = evaluate(m, s2.test)
    lines = [
        "## Foundation speed (EASE, evaluation)",
        "",
        "Command: `python benchmarks/speed_baselines.py` "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores; best / median of 3)",
        "",
        "| what | best s | median s | target |",
        "|---|---|---|---|",
        f"| EASE fit + top-50 for all users, ml-100k-p1 (lambda 500) | {fit_rec[0]:.2f} | {fit_rec[1]:.2f} | < 2 s |",
        f"| EASE fit, ml-1m-p1 (lambda 1000) | {fit1m:.2f} | - | (anchor 2.7 s) |",
        f"| full-ranking evaluation of all 6,040 ml-1m-p1 users (scoring + top-k + metrics) | {ev[0]:.2f} | {ev[1]:.2f} | < 5 s |",
        "",
        f"EASE on ml-1m-p1 with lambda 1000: NDCG@20 {r['ndcg@20']:.4f}, P@20 {r['precision@20']:.4f}, "
        f"R@20 {r['recall@20']:.4f} (anchor 0.4212 / 0.3197 / 0.2751).",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "11-speed-baselines.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
