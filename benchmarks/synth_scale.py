"""Behaviour-synthesizer epoch time against the catalogue size: dense vs sampled outputs (src/recgan/synth/gan.py,
``outputs``) on generated logs of 200,000 users x 20M interactions over 10^4 .. 10^5 items. Writes
benchmarks/results/82-synth-scale.md from the runs cached in WORK/results.json (runs can be added one at a time).

Two kinds of run, each its own process under ``/usr/bin/time -v``:

* ``--steps N``: the synthesizer is fitted in-process with its defaults (plus ``--outputs``) and its first
  epoch is cut after N discriminator steps (the batch iterator is wrapped; nothing else changes); the epoch
  time is *extrapolated* as seconds per step x steps per epoch (floor(users / train_batch)). Wall and CPU
  seconds of those steps are both recorded.
* ``--full``: one whole epoch, ``recgan synth fit --train LOG --generator gan --epochs 1 --temperature 1 --param outputs=...``
  (temperature 1: no temperature choice, which would be a second fit),
  its fit seconds from synth.json.

    OMP_NUM_THREADS=1 python benchmarks/synth_scale.py --log 50000=/tmp/big.parquet --outputs sampled --steps 300
    OMP_NUM_THREADS=1 python benchmarks/synth_scale.py --log 50000=/tmp/big.parquet --outputs sampled --full

Logs: ``recgan data simulate --users 200000 --items I --interactions 20000000 --seed 0 --out LOG``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from harness.timing import timed

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "82-synth-scale.md"
RECGAN = str(Path(sys.executable).with_name("recgan"))


def one(log: str, outputs: str, steps: int) -> None:
    """In the child process: fit with the first epoch cut after ``steps`` steps; print one JSON line."""
    import numpy as np
    import torch

    from recgan.core.trainer import TrainingOptions
    from recgan.data.loaders import load_interactions
    from recgan.synth import gan

    data = load_interactions(log)
    orig, timing = gan._shuffled_batches, {}

    def cut(n, batch, rng):
        epoch = orig(n, batch, rng)

        def first_steps():
            timing.update(t=time.perf_counter(), c=time.process_time(), batch=batch, n=n)
            for i, b in enumerate(epoch()):
                if i == steps:
                    break
                yield b
            timing.update(wall=time.perf_counter() - timing["t"], cpu=time.process_time() - timing["c"],
                          load=os.getloadavg()[0])
        return first_steps

    gan._shuffled_batches = cut
    s = gan.BehaviourSynthesizer(epochs=1, outputs=outputs, diag_every=10**6)
    t0 = time.perf_counter()
    s.fit(data, TrainingOptions(progress=False))
    per_epoch = timing["n"] // timing["batch"]
    print(json.dumps({
        "users": int(data.n_users), "items": int(data.n_items), "outputs": s.info["outputs"],
        "candidates": s.info.get("candidates"), "steps": steps, "steps_per_epoch": per_epoch,
        "step_wall_s": timing["wall"] / steps, "step_cpu_s": timing["cpu"] / steps,
        "epoch_wall_s_extrapolated": timing["wall"] / steps * per_epoch,
        "epoch_cpu_s_extrapolated": timing["cpu"] / steps * per_epoch,
        "load_average": round(timing["load"], 1), "threads": torch.get_num_threads(),
        "fit_s_with_cut_epoch": round(time.perf_counter() - t0, 1), "numpy": np.__version__}), flush=True)


def utility(seed: int, outputs: str, candidates: int) -> dict:
    """ml-1m EASE utility of the default GAN (temperature 1, what benchmarks/synth.py chose on every seed)
    with the given outputs, in benchmarks/synth.py's setting: its seeded user split, its canaries planted, the
    GAN fitted on the planted training users, as many synthetic users as training users, EASE (l2 500)
    NDCG@10 on the held-out users by fold-in, as a ratio to EASE on the real training users."""
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth import load, user_split

    from recgan.core.trainer import TrainingOptions
    from recgan.reports.synth_report import align_frame
    from recgan.reports.utility import tstr
    from recgan.synth import BehaviourSynthesizer
    from recgan.synth.canaries import plant_canaries

    torch.set_num_threads(1)
    train, holdout = user_split(load("ml-1m"), seed)
    train_ref, _ = plant_canaries(train, n=10, size=8, seed=seed, decoys=10)
    train_fit, _ = plant_canaries(train_ref, n=100, size=5, seed=seed + 1000, fresh_items=True, plant_fraction=0.5)
    t0, c0 = time.perf_counter(), time.process_time()
    g = BehaviourSynthesizer(seed=seed, temperature=1.0, outputs=outputs, candidates=candidates)
    g.fit(train_fit, TrainingOptions(progress=False))
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    syn = align_frame(g.sample(train.n_users, seed=seed), train_ref)
    u = tstr(train_ref, holdout, {"gan": syn}, {"ease": {"l2": 500.0}}, seed=seed)["ease"]
    return {"seed": seed, "outputs": g.info["outputs"], "candidates": g.info.get("candidates"),
            "items": int(train.n_items), "fit_s": round(fit_s, 1), "fit_cpu_s": round(fit_cpu, 1),
            "ease_real": u["real"], "ease_gan": u["gan"], "utility_ease_ratio": u["gan_ratio"],
            "load_average": round(os.getloadavg()[0], 1)}


def gowalla_report(folder: Path) -> None:
    """``recgan synth report``'s report (:func:`recgan.reports.synth_report.build_report`) for FOLDER/synthetic.tsv
    against FOLDER/usplit (``recgan data split --method user``), with ItemKNN as the only utility model (exact
    EASE at 40,981 items costs ~n^3 flops per fit, and the report fits it twice) and no shadow attack.
    Writes FOLDER/report-itemknn.json and prints the summary."""
    from recgan.data.loaders import load_interactions, read_frame
    from recgan.reports.synth_report import align_frame, build_report, json_ready
    from recgan.reports.utility import DEFAULT_MODELS

    t0 = time.perf_counter()
    train = load_interactions(folder / "usplit" / "train.tsv")
    hold = pd_concat([read_frame(folder / "usplit" / f) for f in ("foldin.tsv", "test.tsv")])
    holdout = align_frame(hold, train)
    syn = align_frame(read_frame(folder / "synthetic.tsv"), train)
    rep = build_report(train, holdout, {"gan": syn}, seed=0, utility_models={"itemknn": DEFAULT_MODELS["itemknn"]},
                       n_shadows=0, log=lambda m: print(m, flush=True))
    (folder / "report-itemknn.json").write_text(json.dumps(json_ready(rep), indent=1, default=float))
    print(json.dumps(json_ready(rep["summary"]), default=float))
    print("report seconds", round(time.perf_counter() - t0, 1))


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def write_section(res: dict, work: Path) -> None:
    rows = sorted(res.values(), key=lambda r: (r["kind"], r["items_requested"], r["outputs"]))
    lines = [
        "## Behaviour synthesizer at scale: dense vs sampled outputs (issue 23)", "",
        "Logs: `recgan data simulate --users 200000 --items I --interactions 20000000 --seed 0` (view / cart / "
        "buy). Synthesizer defaults (spectral start, WGAN-GP, pac 2, train_batch 64: 3,125 discriminator steps "
        "per epoch over 200,000 users) with `outputs` dense or sampled (candidates 4096). `steps` rows time the "
        "first N steps of the epoch and **extrapolate** the epoch (s / step x 3,125); `full` rows run one whole "
        "epoch through the CLI (fit s = the synthesizer's own fit time from synth.json: activity model, "
        "popularity prior, spectral start, the epoch, collapse check; process wall adds loading and saving). "
        "Wall seconds on the shared 2-core box at the load average given; CPU seconds are the process's "
        "user + system time (steps rows: CPU time of the timed steps only). Command per row.", "",
        "| items | users | outputs | kind | steps timed | s / step (wall) | s / step (CPU) | epoch s (wall) | "
        "epoch s (CPU) | fit s | process wall s | peak RSS GB | threads | load avg | command |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] == "steps":
            lines.append(
                f"| {r['items']:,} | {r['users']:,} | {r['outputs']} | steps | {r['steps']} | {r['step_wall_s']:.3f} | "
                f"{r['step_cpu_s']:.3f} | {r['epoch_wall_s_extrapolated']:.0f} (extrapolated) | "
                f"{r['epoch_cpu_s_extrapolated']:.0f} (extrapolated) | – | {r['wall_s']} | {r['peak_rss_gb']} | "
                f"{r['threads']} | {r['load_average']} | `{r['cmd']}` |")
        else:
            lines.append(
                f"| {r['items']:,} | {r['users']:,} | {r['outputs']} | full | {r.get('steps_per_epoch', '–')} | – | – | "
                f"{r.get('epoch_s', '–')} | – | {r.get('fit_s', '–')} | {r['wall_s']} (CPU {r['cpu_s']}) | "
                f"{r['peak_rss_gb']} | {r['threads']} | {r['load_average']} | `{r['cmd']}` |")
    steps = {(r["items_requested"], r["outputs"]): r for r in rows if r["kind"] == "steps" and r["threads"] == 1}
    sizes = sorted({i for i, _ in steps})
    if sizes:
        lines += ["", "Epoch time against the catalogue (CPU seconds of one thread, extrapolated from the steps rows "
                  "above; the wall seconds of this loaded box are about twice these):", "",
                  "| items | dense epoch CPU s | sampled epoch CPU s | dense / sampled |", "|---|---|---|---|"]
        for i in sizes:
            d, sm = steps.get((i, "dense")), steps.get((i, "sampled"))
            dv = f"{d['epoch_cpu_s_extrapolated']:,.0f}" if d else "–"
            sv = f"{sm['epoch_cpu_s_extrapolated']:,.0f}" if sm else "–"
            ratio = f"{d['epoch_cpu_s_extrapolated'] / sm['epoch_cpu_s_extrapolated']:.1f}x" if d and sm else "–"
            lines.append(f"| {i:,} | {dv} | {sv} | {ratio} |")
    util_file = work / "utility.json"
    util = json.loads(util_file.read_text()) if util_file.exists() else {}
    if util:
        import numpy as np

        lines += ["", "ml-1m EASE utility (benchmarks/synth.py's setting: seeded 80/20 user split, canaries planted, "
                  "default GAN = spectral start + 10 adversarial epochs, temperature 1 as chosen there on every seed; "
                  "EASE l2 500 NDCG@10 on the held-out users by fold-in over EASE on the real training users). "
                  "Today's default on ml-1m (3,706 items) is dense; sampled is forced with `outputs=sampled`. "
                  "Command: `OMP_NUM_THREADS=1 python benchmarks/synth_scale.py --utility 0 1 2 --outputs dense` "
                  "(and `--outputs sampled`). candidates = draws per step: on ml-1m twice the largest profile exceeds 4,096, "
                  "so a step draws as many items as the catalogue holds (4,206 with the canaries' fresh items) with "
                  "replacement, about 45 % of them distinct (1,702 of 3,706 for 3,706 draws from ml-1m's prior, "
                  "mean of 20 draws). On ml-1m the adversarial epochs move utility less than the seed spread "
                  "(benchmarks/results/40-synth.md, gan-no-adv), so this checks that sampled training does not "
                  "damage the generator, not that it learns as much as dense training would.", "",
                  "| outputs | candidates | seed | utility EASE | EASE NDCG@10 synthetic / real | fit s | fit CPU s | load avg |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(util.values(), key=lambda r: (r["outputs"], r["seed"])):
            lines.append(f"| {r['outputs']} | {r['candidates'] or '–'} | {r['seed']} | {r['utility_ease_ratio']:.3f} | "
                         f"{r['ease_gan']:.4f} / {r['ease_real']:.4f} | {r['fit_s']} | {r['fit_cpu_s']} | {r['load_average']} |")
        for o in sorted({r["outputs"] for r in util.values()}):
            v = [r["utility_ease_ratio"] for r in util.values() if r["outputs"] == o]
            sd = f" ± {np.std(v, ddof=1):.3f}" if len(v) > 1 else ""
            lines.append(f"| {o} | | mean of {len(v)} | {np.mean(v):.3f}{sd} | | | | |")
    extra = work / "gowalla.md"  # the Gowalla run's figures, written by hand from its logs (commands inside)
    if extra.exists():
        lines += ["", extra.read_text().strip()]
    OUT.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=False, metavar="ITEMS=FILE", help="the generated log for a catalogue size")
    ap.add_argument("--outputs", default="sampled", choices=["dense", "sampled", "auto"])
    ap.add_argument("--steps", type=int, default=0, help="time this many steps and extrapolate the epoch")
    ap.add_argument("--full", action="store_true", help="one whole epoch through the CLI")
    ap.add_argument("--work", default="/tmp/recgan-synth-scale")
    ap.add_argument("--markdown-only", action="store_true")
    ap.add_argument("--gowalla-report", metavar="FOLDER", help="see gowalla_report()")
    ap.add_argument("--utility", type=int, nargs="*", metavar="SEED",
                    help="ml-1m EASE utility over these seeds with --outputs (see utility())")
    ap.add_argument("--candidates", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch / BLAS threads of every run (default: $OMP_NUM_THREADS, else all cores)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads:
        os.environ["OMP_NUM_THREADS"] = str(a.threads)
    if a.gowalla_report:
        gowalla_report(Path(a.gowalla_report))
        return
    if a.child:
        one(a.child[0], a.child[1], int(a.child[2]))
        return
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "results.json"
    res = json.loads(cache.read_text()) if cache.exists() else {}
    if a.utility:
        util_file = work / "utility.json"
        util = json.loads(util_file.read_text()) if util_file.exists() else {}
        for seed in a.utility:
            r = utility(seed, a.outputs, a.candidates)
            util[f"{a.outputs}-{a.candidates}-s{seed}"] = r
            util_file.write_text(json.dumps(util, indent=1))
            print(json.dumps(r), flush=True)
    elif not a.markdown_only:
        items, log = a.log.split("=", 1)
        if not Path(log).exists():  # the section's logs: 200,000 users x 20M interactions, seed 0
            sim = [RECGAN, "data", "simulate", "--users", "200000", "--items", items, "--interactions",
                   "20000000", "--seed", "0", "--out", log]
            print("$", shlex.join(sim), flush=True)
            subprocess.run(sim, check=True)
        threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
        if a.full:
            out = work / f"synth-{items}-{a.outputs}"
            cmd = [RECGAN, "synth", "fit", "--train", log, "--generator", "gan", "--epochs", "1",
                   "--temperature", "1", "--param", f"outputs={a.outputs}", "--out", str(out)]
            r = timed(cmd, work / f"full-{items}-{a.outputs}.log", text=True)
            r["load_average"] = round(os.getloadavg()[0], 1)
            if r["rc"]:
                raise SystemExit(r.pop("text")[-3000:])
            meta = json.loads((out / "synth.json").read_text())["info"]
            r.update(kind="full", items_requested=int(items), outputs=meta["outputs"], users=meta["users"],
                     items=int(json.loads((out / "synth.json").read_text())["n_items"]), threads=threads,
                     fit_s=meta["fit_seconds"], steps_per_epoch=meta["discriminator_steps"],
                     epoch_s=round(meta["history"][0]["seconds"], 1) if meta["history"] and "seconds" in
                     meta["history"][0] else None)
            r["cmd"] = f"OMP_NUM_THREADS={threads} " + shlex.join(["recgan", *cmd[1:]])
            key = f"full-{items}-{a.outputs}-t{threads}"
        else:
            cmd = [sys.executable, __file__, "--child", log, a.outputs, str(a.steps)]
            r = timed(cmd, work / f"steps-{items}-{a.outputs}.log", text=True)
            if r["rc"]:
                raise SystemExit(r.pop("text")[-3000:])
            child = json.loads([x for x in r["text"].splitlines() if x.startswith("{")][-1])
            r.update(child, kind="steps", items_requested=int(items))
            r["cmd"] = (f"OMP_NUM_THREADS={threads} python benchmarks/synth_scale.py --log {a.log} "
                        f"--outputs {a.outputs} --steps {a.steps}")
            key = f"steps-{items}-{a.outputs}-t{threads}"
        r.pop("text", None)
        res[key] = r
        cache.write_text(json.dumps(res, indent=1))
        print(json.dumps(r), flush=True)
    write_section(res, work)


if __name__ == "__main__":
    main()
