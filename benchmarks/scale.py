"""Scale benchmark (issue 8, item 1): one cfgan-large epoch on generated logs of 200,000 users x 20 million
interactions over catalogues of 10^4 .. 5x10^4 items, each run as its own ``recgan train`` process under
``/usr/bin/time -v`` (peak RSS of the whole process: loading, model, training, saving), plus optionally
the behaviour synthesizer on a user subsample. Writes benchmarks/results/80-scale.md.

    nice -n 10 python benchmarks/scale.py --items 10000,20000,50000 --work /tmp/recgan-scale
    nice -n 10 python benchmarks/scale.py --items 50000 --reuse-log 50000=/tmp/big.parquet

Logs are made by ``recgan data simulate --users U --items I --interactions N --seed 0`` (kept in --work and
reused). Every run's figures are cached in WORK/results.json, so runs can be added one at a time; the section
is rewritten from all cached runs after each one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from harness.timing import timed

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "80-scale.md"
RECGAN = str(Path(sys.executable).with_name("recgan"))
LIMIT_GB = 16.0

# cfgan-large settings for the big runs: every behaviour (view, cart, buy = 20M entries) is the condition,
# buy is the target; large batches so that the per-step costs over the catalogue-sized layers amortise
TRAIN_PARAMS = ["condition_behaviours=all", "g_hidden=128", "d_hidden=64", "batch_size=4096",
                "batch_size_d=8192", "neg_per_pos=2", "zr_per_pos=2", "min_neg=8", "lr=1e-3", "lr_d=1e-3"]


def ensure_log(work: Path, users: int, items: int, n: int, reuse: dict[int, str]) -> tuple[Path, str]:
    if items in reuse:
        return Path(reuse[items]), f"(reused) recgan data simulate --users {users} --items {items} " \
                                   f"--interactions {n} --seed 0 --out {reuse[items]}"
    path = work / f"sim-u{users}-i{items}-n{n}.parquet"
    cmd = [RECGAN, "data", "simulate", "--users", str(users), "--items", str(items), "--interactions", str(n),
           "--seed", "0", "--out", str(path)]
    if not path.exists():
        r = timed(cmd, work / f"simulate-{items}.log")
        if r["rc"]:
            raise SystemExit(f"simulate failed, see {work}/simulate-{items}.log")
    return path, shlex.join(["recgan", *cmd[1:]])


def run_cfgan(work: Path, log: Path, items: int, extra: list[str]) -> dict:
    model = work / f"cfgan-large-i{items}"
    cmd = [RECGAN, "train", "--train", str(log), "--model", "cfgan-large", "--epochs", "1", "--no-early-stopping",
           "--quiet", *[a for p in TRAIN_PARAMS + extra for a in ("--param", p)], "--out", str(model)]
    r = timed(cmd, work / f"train-{items}.log")
    text = (work / f"train-{items}.log").read_text()
    m = re.search(r"data: Interactions\((.*?)\)\s+\(([\d.]+)s\)", text)
    r["data"], r["load_s"] = (m.group(1), float(m.group(2))) if m else (None, None)
    tl = model / "training_log.jsonl"
    if r["rc"] == 0 and tl.exists():
        r["epoch_s"] = round(json.loads(tl.read_text().splitlines()[0])["seconds"], 1)
    return r


def run_load_only(work: Path, log: Path, items: int, extra: list[str]) -> dict:
    """The cfgan-large command of :func:`run_cfgan`, stopped once it has printed its ``data: ... (Ns)`` line:
    the load time of that very command (reading the log, ids, CSR matrices), without the epoch."""
    model = work / f"cfgan-large-i{items}"
    cmd = [RECGAN, "train", "--train", str(log), "--model", "cfgan-large", "--epochs", "1", "--no-early-stopping",
           "--quiet", *[a for p in TRAIN_PARAMS + extra for a in ("--param", p)], "--out", str(model)]
    print("$", shlex.join(cmd), "(stopped after loading)", flush=True)
    load1 = os.getloadavg()[0]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    out = {"cmd": shlex.join(["recgan", *cmd[1:]]), "load_s": None, "data": None}
    for line in proc.stderr:
        m = re.search(r"data: Interactions\((.*?)\)\s+\(([\d.]+)s\)", line)
        if m:
            out["data"], out["load_s"] = m.group(1), float(m.group(2))
            break
    proc.terminate()
    proc.wait()
    out["load_average"] = round(max(load1, os.getloadavg()[0]), 1)
    return out


def run_synth(work: Path, log: Path, items: int, users: int, extra: list[str]) -> dict:
    """The behaviour synthesizer for one epoch on the first ``users`` users of the log (subsample)."""
    import pandas as pd

    sub = work / f"sub-u{users}-i{items}.parquet"
    if not sub.exists():
        df = pd.read_parquet(log, filters=[("user", "<", users)])
        df.to_parquet(sub, index=False)
    cmd = [RECGAN, "synth", "fit", "--train", str(sub), "--generator", "gan", "--epochs", "1",
           *[a for p in extra for a in ("--param", p)], "--out", str(work / f"synth-i{items}-u{users}")]
    r = timed(cmd, work / f"synth-{items}-{users}.log")
    text = (work / f"synth-{items}-{users}.log").read_text()
    m = re.search(r"data: Interactions\((.*?)\)", text)
    r["data"] = m.group(1) if m else None
    info = work / f"synth-i{items}-u{users}" / "synth.json"
    if r["rc"] == 0 and info.exists():
        meta = json.loads(info.read_text())
        r["fit_s"] = (meta.get("info") or meta.get("training") or {}).get("fit_seconds")
    return r


SPLITS = ROOT.parent / "shared" / "benchmarks" / "splits"
ACC_COMMON = ["g_hidden=400", "d_hidden=125", "lr=1e-3", "lr_d=1e-3", "batch_size=32", "batch_size_d=64"]
ACC_MODELS = {"cfgan": ["mode=user", "scheme=ZP", "zr_ratio=0.7", "pm_ratio=0.7", "zr_weight=0.03"],
              "cfgan-large": ["scheme=ZP", "neg_per_pos=8", "zr_per_pos=8", "min_neg=32", "zr_weight=0.1"]}


def run_accuracy(work: Path, epochs: int, seed: int) -> dict:
    """cfgan (user mode, dense) and cfgan-large with the same networks and epochs on ml-100k-p1; test metrics."""
    out = {}
    split = SPLITS / "ml-100k-p1"
    for name, params in ACC_MODELS.items():
        model = work / f"acc-{name}-s{seed}"
        cmd = [RECGAN, "train", "--train", str(split / "train.tsv"), "--model", name, "--epochs", str(epochs),
               "--no-early-stopping", "--quiet", "--seed", str(seed),
               *[a for p in ACC_COMMON + params for a in ("--param", p)], "--out", str(model)]
        r = timed(cmd, work / f"acc-{name}-s{seed}.log")
        ev = subprocess.run([RECGAN, "evaluate", "--model", str(model), "--test", str(split / "test.tsv"), "--json"],
                            capture_output=True, text=True)
        r["metrics"] = json.loads(ev.stdout)["metrics"] if ev.returncode == 0 else None
        tl = [json.loads(x) for x in (model / "training_log.jsonl").read_text().splitlines()] if r["rc"] == 0 else []
        r["epoch_s"] = round(sum(e["seconds"] for e in tl) / max(1, len(tl)), 2)
        out[name] = r
        print(name, r["metrics"], flush=True)
    return out


def write_section(res: dict, users: int, n: int) -> None:
    rows, synth, acc = [], [], []
    for key in sorted(res, key=lambda k: (k.split(":")[0], -int((k.split(":") + ["0", "0"])[2]),
                                          int(k.split(":")[1]))):
        r = res[key]
        if key.startswith("acc"):
            for name, a in r.items():
                if name == "invocation":
                    continue
                m = a.get("metrics") or {}
                acc.append(f"| {name} | {key.split(':')[1]} | " + " | ".join(
                    f"{m.get(x, float('nan')):.4f}" for x in ("precision@5", "precision@20", "recall@20",
                                                               "ndcg@20")) + f" | {a['epoch_s']} | `{a['cmd']}` |")
            continue
        ok = r.get("peak_rss_gb") is not None and r["peak_rss_gb"] <= LIMIT_GB and r["rc"] == 0
        if key.startswith("cfgan"):
            rows.append(f"| {int(key.split(':')[1]):,} | {r.get('data')} | {r.get('load_s')} | {r.get('epoch_s')} | "
                        f"{r['wall_s']} | {r['peak_rss_gb']} | {'yes' if ok else 'NO'} | `{r['cmd']}` |")
        else:
            params = (key.split(":") + ["defaults"])[3]
            synth.append(f"| {int(key.split(':')[1]):,} | {int(key.split(':')[2]):,} | {params} | {r.get('data')} | "
                         f"{r.get('fit_s')} | {r['wall_s']} | {r['peak_rss_gb']} | {'yes' if ok else 'NO'} | "
                         f"`{r['cmd']}` |")
    sims = sorted({r["simulate"] for r in res.values() if r.get("simulate")})
    invocations = sorted({r["invocation"] for r in res.values() if r.get("invocation")})
    lines = [
        "## Scale: cfgan-large on 200,000 users x 20M generated interactions, and how it grows (issue 8)",
        "",
        "Commands (runs accumulate in WORK/results.json, so the section holds the runs of several invocations; "
        "each row also gives its own `recgan` command): "
        + ", ".join(f"`{c}`" for c in invocations) + ". Machine: the project's 2-core CPU box with 24 GB RAM, shared with several other "
        "engineers' jobs while this ran (load average well above 2), so seconds are upper bounds of what an idle "
        "2-core machine gives. Peak RSS = `Maximum resident set size` from `/usr/bin/time -v` of the whole "
        "`recgan train` process (loading the Parquet log, building the CSR matrices, the model, one epoch, "
        f"writing the model folder). Limit: {LIMIT_GB:.0f} GB.",
        "",
        "Logs (view / cart / buy; `data` gives the distinct (user, item, behaviour) entries after loading) were "
        "made by",
        *[f"`{s}`" + ("" if j == len(sims) - 1 else ",") for j, s in enumerate(sims)],
        "",
        "cfgan-large settings: " + ", ".join(TRAIN_PARAMS) + " (condition = all three behaviours, "
        "C x items sparse inputs; target = buy; ZP sampling per positive). One epoch = one discriminator pass "
        "and one generator pass over all users of the log. The 20,000-user logs show how time and memory grow "
        "with the catalogue at a fixed number of users and interactions (10x fewer than the big log).",
        "",
        "| items | data | load s | epoch s | process wall s | peak RSS GB | <= 16 GB | command |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if acc:
        lines += [
            "Accuracy check on ml-100k-p1 (test set, full ranking, training items excluded): the dense user-based "
            "CFGAN and cfgan-large with the same networks (G 400, D 125), optimiser, batches and a fixed epoch "
            "count on all of train (no validation carve: the same budget for both, test read once); dense CFGAN "
            "samples 70 % of each row's unobserved items for ZR and for PM, cfgan-large 8 per positive "
            "(at least 32) for each. One seed (time).",
            "",
            "| model | seed | P@5 | P@20 | R@20 | NDCG@20 | s / epoch | command |",
            "|---|---|---|---|---|---|---|---|",
            *acc,
            "",
        ]
    if synth:
        lines += [
            "Behaviour synthesizer (`recgan synth fit --generator gan`, src/recgan/synth/gan.py), one epoch over "
            "the users of the log (users = how many of its user ids; 200,000 = the whole 20M log). It densifies "
            "every batch to (batch, channels, items) and nothing bigger, so memory is bounded by the batch and "
            "the model, while its time per user grows linearly with the catalogue. fit s = the synthesizer's "
            "own fit time (activity model, popularity prior, one epoch, collapse check); process wall s adds "
            "loading the log and writing the folder. Run with OMP_NUM_THREADS=1 (one torch thread) while "
            "other jobs used the second core:",
            "",
            "| items | users | parameters | data | fit s | process wall s | peak RSS GB | <= 16 GB | command |",
            "|---|---|---|---|---|---|---|---|---|",
            *synth,
            "",
        ]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", default="10000,20000,50000", help="catalogue sizes (comma list)")
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--interactions", type=int, default=20_000_000)
    ap.add_argument("--work", default="/tmp/recgan-scale")
    ap.add_argument("--reuse-log", action="append", default=[], metavar="ITEMS=FILE",
                    help="use an existing simulated log for this catalogue size")
    ap.add_argument("--param", action="append", default=[], help="extra cfgan-large parameter")
    ap.add_argument("--synth-users", type=int, default=0, help="also fit the synthesizer on this many users")
    ap.add_argument("--synth-param", action="append", default=[], help="synthesizer parameter")
    ap.add_argument("--no-cfgan", action="store_true")
    ap.add_argument("--load-only", action="store_true",
                    help="run the cfgan-large command only until it has loaded the log; print the load time")
    ap.add_argument("--accuracy-epochs", type=int, default=0,
                    help="also compare cfgan (user) and cfgan-large on ml-100k-p1 for this many epochs")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    reuse = {int(k): v for k, v in (s.split("=", 1) for s in args.reuse_log)}
    cache = work / "results.json"
    invocation = "python benchmarks/scale.py " + shlex.join(sys.argv[1:])
    res = json.loads(cache.read_text()) if cache.exists() else {}
    if args.accuracy_epochs:
        res[f"acc:{args.seed}"] = {**run_accuracy(work, args.accuracy_epochs, args.seed), "invocation": invocation}
        cache.write_text(json.dumps(res, indent=1))
        write_section(res, args.users, args.interactions)
    for items in [int(x) for x in args.items.split(",") if x]:
        log, sim_cmd = ensure_log(work, args.users, items, args.interactions, reuse)
        if args.load_only:
            print(json.dumps({**run_load_only(work, log, items, args.param), "simulate": sim_cmd}), flush=True)
            continue
        if not args.no_cfgan:
            r = run_cfgan(work, log, items, args.param)
            res[f"cfgan:{items}:{args.users}"] = {**r, "simulate": sim_cmd, "invocation": invocation}
            print(json.dumps(r), flush=True)
            cache.write_text(json.dumps(res, indent=1))
            write_section(res, args.users, args.interactions)
        if args.synth_users:
            r = run_synth(work, log, items, args.synth_users, args.synth_param)
            tag = ",".join(args.synth_param) or "defaults"
            res[f"synth:{items}:{args.synth_users}:{tag}"] = {**r, "simulate": sim_cmd, "invocation": invocation}
            print(json.dumps(r), flush=True)
            cache.write_text(json.dumps(res, indent=1))
            write_section(res, args.users, args.interactions)


if __name__ == "__main__":
    main()
