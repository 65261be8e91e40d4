"""Where the approximate EASE solver loses accuracy on Gowalla (benchmarks/results/92-ease-approx.md).

    python benchmarks/ease_approx_probe.py truncate MODEL 1024,2048,4096
        test NDCG@20 of an exact EASE model folder (``recgan train --model ease --param l2=50``) and of the same
        weights keeping only each column's KEEP largest magnitudes: what the sparsification alone costs
    OMP_NUM_THREADS=1 python benchmarks/ease_approx_probe.py approx NEIGHBOURS KEEP [GROUP]
        one approximate fit (l2 = 50) through recgan.models.ease.ease_weights_approx_grid: test NDCG@20 as a
        fraction of exact EASE's 0.14548 (the exact model above), fit wall / CPU s, the process's peak RSS
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

SPLIT = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "splits" / "gowalla"
RESULTS = Path(__file__).resolve().parent / "results"
JSON, MD = RESULTS / "92-ease-approx.json", RESULTS / "92-ease-approx.md"
EXACT_NDCG20 = 0.14548403  # exact EASE, l2 = 50, on this split (benchmarks/results/91-gowalla.md)


def record(key: str, row: dict) -> None:
    """Keep one measured row in the section's JSON and rewrite the section."""
    rows = json.loads(JSON.read_text()) if JSON.exists() else {}
    rows[key] = {**row, "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 "command": "python benchmarks/ease_approx_probe.py " + " ".join(sys.argv[1:])}
    JSON.write_text(json.dumps(rows, indent=1) + "\n")
    lines = [f"| {r['what']} | {r['ndcg@20']:.5f} | {100 * r['ndcg@20'] / EXACT_NDCG20:.1f} % | {r['recall@20']:.5f} | "
             f"{r.get('fit_wall_s', '-')} | {r.get('fit_cpu_s', '-')} | {r.get('peak_rss_gb', '-')} | `{r['command']}` |"
             for r in sorted(rows.values(), key=lambda r: -r["ndcg@20"])]
    MD.write_text(f"""## Approximate EASE on Gowalla: where the accuracy goes

Gowalla (LightGCN's split, 40,981 items), EASE at l2 = 50 (the ridge `recgan train --model ease --tune` chooses on
the validation carve), test NDCG@20 / Recall@20 read by recgan's `evaluate` (full ranking, train items
excluded), as a fraction of exact EASE's NDCG@20 ({EXACT_NDCG20:.5f}). "exact, top-k per column": the exact
weights with all but each column's k largest magnitudes set to zero, i.e. what the approximate solver's
sparsification alone costs. "approx": `ease_weights_approx_grid` (each group's EASE columns solved exactly over
its `neighbours` co-occurring items, then the `keep` largest weights per column kept). Fit seconds and the
process's peak RSS (which includes the evaluation) on the 2-core box, one thread, the other core running one
other job. The issue asks for >= 97 % of exact NDCG@20 at <= 4 GB: the defaults were set to 16,384 / 4,096 from
these rows. The exact model folder of the `truncate` rows: `recgan train --train
../shared/benchmarks/splits/gowalla/train.tsv --model ease --param l2=50 --out /tmp/recgan-gowalla/exact50`. The
rows dated 2026-12-02 20:16-20:39 UTC ran as scratch scripts with this file's code before it was moved here (the
same functions and arguments). The CLI run of the defaults (`recgan train ... --param solver=approx`) is the
`ease-approx` row of the Gowalla section.

| what | NDCG@20 | of exact | Recall@20 | fit wall s | fit CPU s | peak RSS GB | command |
|---|---|---|---|---|---|---|---|
{chr(10).join(lines)}
""")


def truncate(model: str, keeps: list[int]) -> None:
    from recgan.data.splits import load_heldout
    from recgan.evaluation import evaluate
    from recgan.models.base import Recommender

    m = Recommender.load(model)
    test = load_heldout(SPLIT / "test.tsv", m.data_)
    W = m.W_
    r = evaluate(m, test, [20])
    print(f"exact: recall@20 {r.metrics['recall@20']:.5f} ndcg@20 {r.metrics['ndcg@20']:.5f}", flush=True)
    record("exact", {"what": "exact", "ndcg@20": r.metrics["ndcg@20"], "recall@20": r.metrics["recall@20"]})
    n = W.shape[0]
    for keep in keeps:
        rows, cols, vals = [], [], []
        for c0 in range(0, n, 2048):
            S = torch.from_numpy(np.array(W[:, c0:c0 + 2048]))
            idx = torch.topk(S.abs(), keep, dim=0, sorted=False).indices
            rows.append(idx.numpy().ravel())
            cols.append(np.broadcast_to(np.arange(c0, c0 + S.shape[1]), idx.shape).ravel())
            vals.append(torch.gather(S, 0, idx).numpy().ravel())
        m.W_ = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n),
                             dtype=np.float32)
        t = evaluate(m, test, [20])
        print(f"exact keeping {keep} per column: recall@20 {t.metrics['recall@20']:.5f} ndcg@20 "
              f"{t.metrics['ndcg@20']:.5f} ({t.metrics['ndcg@20'] / r.metrics['ndcg@20']:.4f} of exact)", flush=True)
        record(f"top{keep}", {"what": f"exact, top-{keep} per column", "ndcg@20": t.metrics["ndcg@20"],
                              "recall@20": t.metrics["recall@20"]})
        m.W_ = W


def approx(neighbours: int, keep: int, group: int | None) -> None:
    from recgan.data.loaders import load_interactions
    from recgan.data.splits import load_heldout
    from recgan.evaluation import evaluate
    from recgan.models.ease import EASE, ease_weights_approx_grid

    train = load_interactions(SPLIT / "train.tsv")
    test = load_heldout(SPLIT / "test.tsv", train)
    t, w = time.process_time(), time.perf_counter()
    W = ease_weights_approx_grid(train.X, [50.0], neighbours=neighbours, keep=keep, group=group)[0]
    cpu, wall = time.process_time() - t, time.perf_counter() - w
    m = EASE(l2=50.0)
    m.data_, m.W_ = train, W
    r = evaluate(m, test, [20])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"neighbours {neighbours} keep {keep} group {group}: ndcg@20 {r.metrics['ndcg@20']:.5f} "
          f"({r.metrics['ndcg@20'] / EXACT_NDCG20:.4f} of exact) recall@20 {r.metrics['recall@20']:.5f} "
          f"fit {wall:.0f} s wall {cpu:.0f} CPU s peak {peak:.2f} GB", flush=True)
    record(f"approx-{neighbours}-{keep}-{group}", {
        "what": f"approx, neighbours {neighbours}, keep {keep}" + (f", groups of {group}" if group else ""),
        "ndcg@20": r.metrics["ndcg@20"], "recall@20": r.metrics["recall@20"], "fit_wall_s": round(wall),
        "fit_cpu_s": round(cpu), "peak_rss_gb": round(peak, 2)})


if __name__ == "__main__":
    if sys.argv[1:2] == ["truncate"]:
        truncate(sys.argv[2], [int(x) for x in sys.argv[3].split(",")])
    elif sys.argv[1:2] == ["approx"]:
        approx(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
    else:
        raise SystemExit(__doc__)
