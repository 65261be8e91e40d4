"""GPU smoke check in one process: every torch model of recgan trains a few epochs on the device (fp32, and
bf16 autocast for CFGAN and Mult-VAE), is saved, loaded back and scored; the behaviour synthesizer fits,
samples, saves and reloads. One PASS / FAIL line per case; exit status 1 when any case fails.

A case fails when training or scoring raises, when the reloaded model scores differently from the trained
one, or when a bf16 case reaches less than 0.9 x the NDCG@10 of its fp32 twin (the check that found the
stale-weight bug of bf16 autocast, docs/scaling.md). One process, because on the H200 the shell version
(benchmarks/gpu_smoke.sh) paid ~25 s of process start and CUDA initialisation per case. Nothing in CI runs
it (CI has no GPU); ``--device cpu`` dry-runs the same cases anywhere.

    python benchmarks/gpu_smoke.py [--device cuda] [--splits ../shared/benchmarks/splits] [--out FILE.json]
    python benchmarks/gpu_smoke.py --device cpu --cpu-bf16     # the dry run, bf16 cases under CPU autocast
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from recgan.core.trainer import TrainingOptions

HERE = Path(__file__).resolve().parent

# (case, model, parameters); "-bf16" cases are compared with the case of the same name without the suffix
CASES: list[tuple[str, str, dict]] = [
    ("cfgan", "cfgan", {"preset": "paper-ml100k", "epochs": 5}),
    ("cfgan-bf16", "cfgan", {"preset": "paper-ml100k", "epochs": 5, "precision": "bf16"}),
    ("cfgan-user", "cfgan", {"mode": "user", "noise_dim": 16, "epochs": 3}),
    ("cfgan-large", "cfgan-large", {"epochs": 3}),
    ("bpr", "bpr", {"epochs": 3}),
    ("apr", "apr", {"epochs": 3, "pretrain_epochs": 2}),
    ("irgan", "irgan", {"epochs": 2, "g_pretrain_epochs": 1, "d_pretrain_epochs": 1}),
    ("multvae", "multvae", {"epochs": 3}),
    ("multvae-bf16", "multvae", {"epochs": 3, "precision": "bf16"}),
    ("ease-gan", "ease-gan", {"epochs": 3}),
]


def _params(model: str, params: dict) -> dict:
    from recgan.models.base import get_model_class

    params = dict(params)
    preset = params.pop("preset", None)
    if preset:
        base = {k: v for k, v in get_model_class(model).presets[preset].items() if not k.startswith("_")}
        params = {**base, **params}
    return params


def run_case(model: str, params: dict, device: str, train, test, folder: Path) -> dict:
    from recgan.evaluation.evaluator import evaluate
    from recgan.models.base import Recommender
    from recgan.training.fitting import fit_model

    t0 = time.perf_counter()
    res = fit_model(model, train, {**_params(model, params), "device": device, "seed": 0}, early_stopping=False,
                    options=TrainingOptions(**{"progress": False}), log=lambda m: None)
    loaded = Recommender.load(res.model.save(folder))
    users = np.arange(min(50, train.n_users))
    same = bool(np.allclose(res.model.score(users), loaded.score(users), atol=1e-5))
    ndcg = float(evaluate(loaded, test, (10,)).metrics["ndcg@10"])
    return {"ndcg@10": ndcg, "reload_same": same, "seconds": round(time.perf_counter() - t0, 1)}


def run_synth(device: str, train, work: Path) -> dict:
    from recgan.synth import load_synthesizer, make_synthesizer

    t0 = time.perf_counter()
    syn = make_synthesizer("gan", device=device, epochs=2, seed=0).fit(train)
    frame = syn.sample(500, seed=1)
    again = load_synthesizer(syn.save(work / "synth")).sample(500, seed=1)
    return {"rows": len(frame), "reload_same": bool(frame.equals(again)), "seconds": round(time.perf_counter() - t0, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--splits", default=str(HERE.parent.parent / "shared" / "benchmarks" / "splits"))
    ap.add_argument("--out", default="", help="also write the results as JSON here")
    ap.add_argument("--cpu-bf16", action="store_true",
                    help="with --device cpu: run the bf16 cases under CPU bf16 autocast (the CUDA path's logic)")
    args = ap.parse_args()
    import torch

    if args.cpu_bf16:
        import contextlib

        from recgan.models.torch_base import TorchRecommender, bf16_autocast

        TorchRecommender.autocast = lambda self: (bf16_autocast("cpu") if self.config.precision == "bf16"
                                                  else contextlib.nullcontext())

    from recgan.data.splits import load_split

    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            print("gpu_smoke: CUDA is not available", file=sys.stderr)
            return 2
        print(f"device: {torch.cuda.get_device_name(0)} | torch {torch.__version__}", flush=True)
    split = load_split(Path(args.splits) / "ml-100k-p1")
    results: dict[str, dict] = {}
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for case, model, params in CASES:
            try:
                r = run_case(model, params, args.device, split.train, split.test, work / case)
            except Exception as e:  # one failing case must not hide the others
                r = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=4)}
            twin = results.get(case.removesuffix("-bf16"), {}) if case.endswith("-bf16") else {}
            problems = ([r["error"]] if "error" in r else []) + (
                ["reloaded model scores differently"] if r.get("reload_same") is False else []) + (
                [f"ndcg@10 {r['ndcg@10']:.4f} < 0.9 x fp32's {twin['ndcg@10']:.4f}"]
                if "ndcg@10" in r and "ndcg@10" in twin and r["ndcg@10"] < 0.9 * twin["ndcg@10"] else [])
            fails += bool(problems)
            results[case] = {**r, "ok": not problems}
            print(f"{'FAIL' if problems else 'PASS'} {case} ({r.get('seconds', '-')} s): "
                  + ("; ".join(problems) if problems else f"ndcg@10 {r['ndcg@10']:.4f}"), flush=True)
            if "trace" in r:
                print(r["trace"], flush=True)
        try:
            r = run_synth(args.device, split.train, work)
            ok = r["reload_same"] and r["rows"] > 0
        except Exception as e:
            r, ok = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=4)}, False
        fails += not ok
        results["synth-gan"] = {**r, "ok": ok}
        print(f"{'PASS' if ok else 'FAIL'} synth-gan ({r.get('seconds', '-')} s): "
              + (f"sampled {r['rows']} rows, reload gives the same sample" if ok else r.get("error", "reload differs")))
    print(f"gpu_smoke: {fails} failure(s)")
    if args.out:
        Path(args.out).write_text(json.dumps({"device": args.device, "results": results}, indent=1))
    return int(fails > 0)


if __name__ == "__main__":
    sys.exit(main())
