"""Gowalla product benchmark: recgan on LightGCN's public Gowalla split (29,858 users x 40,981 items), beside
LightGCN's published figure. Each model is one ``recgan train`` (``--tune``: the model's grid on a validation
carve of train, PROTOCOL.md) and one ``recgan recommend --users all -k 50``, each under ``/usr/bin/time -v``
(wall seconds, peak RSS of the whole process); the top-50 lists are then scored against test.tsv by
PROTOCOL.md (full ranking, train items excluded, binary relevance). Writes benchmarks/results/91-gowalla.md.

    python benchmarks/gowalla.py --models ease,ease-approx,itemknn,rp3beta --work /tmp/recgan-gowalla
    python benchmarks/gowalla.py --models ease --fixed --param ease:l2=500 --work /tmp/recgan-gowalla

Runs are cached in WORK/results.json (one entry per model and settings), so models can be added one at a
time; the section is rewritten from all cached runs after each one.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path

from harness.timing import timed

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "91-gowalla.md"
SPLIT = ROOT.parent / "shared" / "benchmarks" / "splits" / "gowalla"
RECGAN = str(Path(sys.executable).with_name("recgan"))
ITERATIVE = {"bpr", "multvae", "cfgan-large", "ease-gan"}  # torch models trained under a fixed epoch budget
PUBLISHED = {"LightGCN (paper, best epoch chosen on test)": (0.1830, 0.1554)}
ACCEPT_MARK = "### Acceptance run"
"""Heading of the part benchmarks/gowalla_accept.py writes; write_section keeps it."""
NOTES_MARK = "### Measurements beside the table"
"""Heading of hand-written measurements (each with its command) between the verdict and the acceptance part;
write_section keeps it."""
MODELS = {  # name -> recgan train arguments
    "ease": ["--model", "ease"],
    "ease-approx": ["--model", "ease", "--param", "solver=approx"],
    "itemknn": ["--model", "itemknn"],
    "rp3beta": ["--model", "rp3beta"],
    "multvae": ["--model", "multvae"],
    "bpr": ["--model", "bpr"],
    "cfgan-large": ["--model", "cfgan-large"],
    "ease-gan": ["--model", "ease-gan"],
}


def score(recs: Path, test: Path) -> dict:
    """PROTOCOL.md metrics of a ``recgan recommend`` TSV (user item rank score) against ``test``."""
    from recgan.data.loaders import load_interactions, read_frame
    from recgan.evaluation.evaluator import evaluate_lists

    df = read_frame(recs, columns=["user", "item", "rank", "score"])
    df["rank"] = df["rank"].astype(float).astype(int)  # as `recgan evaluate --recs` reads it
    rep = evaluate_lists(df, load_interactions(test))
    return {k: round(rep[k], 4) for k in ("recall@20", "ndcg@20", "precision@20", "recall@10", "ndcg@10")}


def run(work: Path, name: str, params: list[str], tune: bool, extra: list[str] | None = None) -> dict:
    """One model: train (``extra``: further ``recgan train`` arguments, e.g. ``--no-refit``), recommend, score."""
    extra = extra or []
    tag = (name + ("" if not params else ":" + ",".join(params)) + (":tune" if tune else "")
           + ("" if not extra else ":" + ",".join(extra)))
    folder = work / re.sub(r"[^\w.=-]+", "_", tag)
    model, recs = folder / "model", folder / "recs.tsv"
    folder.mkdir(parents=True, exist_ok=True)
    train = [RECGAN, "train", "--train", str(SPLIT / "train.tsv"), *MODELS[name],
             *[a for p in params for a in ("--param", p)], *(["--tune"] if tune else []), *extra, "--out", str(model)]
    r = {"model": name, "params": params, "tune": tune, "extra": extra, "train": timed(train, folder / "train.log")}
    text = (folder / "train.log").read_text()
    m = re.search(r"params: (\{.*\})", text)
    r["chosen"] = json.loads(m.group(1)) if m else None
    m = re.search(r"EASE solver: (\w+)", text)
    r["solver"] = m.group(1) if m else None
    r["tuning"] = re.findall(r"tune \S+ (\{.*?\}): valid ndcg@20 = ([\d.]+)", text)
    r["carve"] = carve_selection(model)
    if r["train"]["rc"] == 0:
        r["recommend"] = timed([RECGAN, "recommend", "--model", str(model), "--users", "all", "-k", "50",
                                "--out", str(recs)], folder / "recommend.log")
        if r["recommend"]["rc"] == 0:
            r["test"] = score(recs, SPLIT / "test.tsv")
    return {tag: r}


def carve_selection(model: Path) -> dict | None:
    """The carve's early-stopping record of an iterative model's folder (best epoch, its validation NDCG@20,
    epochs run), or None for a model without one."""
    cfg = model / "config.json"
    if not cfg.exists():
        return None
    info = json.loads(cfg.read_text()).get("info", {})
    sel = info.get("selection", {}).get("valid") or info.get("training")
    if not sel or sel.get("best_val") is None:
        return None
    return {k: sel.get(k) for k in ("best_epoch", "best_val", "epochs_run")}


def carve_note(r: dict) -> str:
    """Settings-cell note of a run's carve selection; says so when the carve kept epoch 0 (the model's start)."""
    c = r.get("carve")
    if not c:
        return ""
    note = (f"; carve: best epoch {c['best_epoch']} of {c['epochs_run']} run, valid NDCG@20 "
            f"{c['best_val']:.4f}")
    if c["best_epoch"] == 0:
        note += " (no trained epoch beat the start, so the final model is the start"
        note += ": the EASE base)" if r["model"] == "ease-gan" else ")"
    return note


def settings_cell(r: dict) -> str:
    """The table's settings cell of a cached run (without the carve note): how kept rows are matched."""
    chosen = {k: v for k, v in (r.get("chosen") or {}).items() if k != "seed"}
    return (f"{'tuned' if r['tune'] else 'fixed'}: {json.dumps(chosen) if chosen else ' '.join(r['params']) or '-'}"
            f"{''.join(' ' + a for a in r.get('extra', []))}")


def kept_rows(res: dict) -> list[tuple[str, float | None, float | None, str]]:
    """Rows of the committed section with no run in ``res`` (runs of earlier sessions, whose work folders are
    gone): a scored row is kept unless ``res`` has a run of its model with the same settings, a "not run" row
    unless ``res`` has any run of its model. (model, Recall@20, NDCG@20, the row's line), kept verbatim."""
    if not OUT.exists():
        return []
    text = OUT.read_text()
    text = text[:text.index(ACCEPT_MARK)] if ACCEPT_MARK in text else text
    have = {r["model"] for r in res.values()}
    same = {(r["model"], settings_cell(r)) for r in res.values() if not r.get("not_run")}
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 4 or cells[1] in ("settings", "published") or \
                set(cells[0]) <= set("-"):
            continue
        model = cells[0].split(" (")[0]
        num = [float(c) if c.replace(".", "", 1).isdigit() else None for c in cells[2:4]]
        if (model in have and num[1] is None) or (model, cells[1].split("; carve:")[0]) in same:
            continue
        out.append((model, num[0], num[1], line))
    return out


def _same_run(command: str) -> tuple[str, ...]:
    """A benchmark command without its environment prefix and the default ``--work``: what it runs."""
    words = shlex.split(command)
    while words and "=" in words[0] and not words[0].startswith("-"):
        words = words[1:]
    text = " ".join(words).replace(" --work /tmp/recgan-gowalla", "")
    return tuple(text.split())


def write_section(res: dict, invocations: list[str]) -> None:
    rows = []
    kept = kept_rows(res)
    for _tag, r in sorted(res.items(), key=lambda kv: -(kv[1].get("test", {}).get("ndcg@20") or 0)):
        if r.get("not_run"):
            rows.append(f"| {r['model']} | not run: {r['not_run']} | - | - | | | | | | | |")
            continue
        t, tr, rc = r.get("test", {}), r["train"], r.get("recommend", {})
        status = "" if tr["rc"] == 0 else f" (train exit {tr['rc']})"
        rows.append(
            f"| {r['model']}{' (' + r['solver'] + ')' if r.get('solver') else ''}{status} | "
            f"{settings_cell(r)}{carve_note(r)} | "
            f"{t.get('recall@20', '-')} | {t.get('ndcg@20', '-')} | {tr['wall_s']} | {tr['cpu_s']} | "
            f"{tr['peak_rss_gb']} | {rc.get('wall_s', '-')} | {rc.get('cpu_s', '-')} | {rc.get('peak_rss_gb', '-')} | "
            f"`{tr['cmd']}` then `{rc.get('cmd', '-')}` |")
    pub = "\n".join(f"| {k} | published | {a:.4f} | {b:.4f} | | | | | | | |" for k, (a, b) in PUBLISHED.items())
    scored = [(r["test"]["ndcg@20"], r["test"]["recall@20"], r["model"] + (f" ({r['solver']})" if r.get("solver") else ""))
              for r in res.values() if r.get("test")]
    scored += [(nd, rc, line.split("|")[1].strip()) for _m, rc, nd, line in kept if nd is not None]
    rows = [line for _nd, line in sorted(
        [((r.get("test") or {}).get("ndcg@20") or 0.0, line) for r, line in zip(
            [r for _t, r in sorted(res.items(), key=lambda kv: -(kv[1].get("test", {}).get("ndcg@20") or 0))],
            rows, strict=True)] + [(nd or 0.0, line) for _m, _rc, nd, line in kept], key=lambda x: -x[0])]
    def rank(x: tuple) -> tuple:  # ties go to the non-iterative (simpler) model
        return (x[0], x[1], x[2].split(" (")[0] not in ITERATIVE)

    best = max(scored, key=rank) if scored else None
    lg = PUBLISHED["LightGCN (paper, best epoch chosen on test)"]
    verdict = (f"Best recgan run in this table: **{best[2]}**, NDCG@20 {best[0]:.4f} / Recall@20 {best[1]:.4f}, "
               f"{100 * (best[0] / lg[1] - 1):+.1f} % / {100 * (best[1] / lg[0] - 1):+.1f} % against LightGCN's "
               f"published {lg[1]} / {lg[0]}." if best else "No run scored yet.")
    at_start = {r["model"] for r in res.values() if (r.get("carve") or {}).get("best_epoch") == 0}
    for m in sorted(at_start):
        verdict += (f" {m} kept epoch 0 on the carve (no trained epoch beat its start), so its row repeats its "
                    f"start's figures and is not counted as a trained model below.")
    trained = [x for x in scored if x[2].split(" (")[0] in ITERATIVE and x[2].split(" (")[0] not in at_start]
    if trained:
        tb = max(trained, key=rank)
        verdict += (f" Best of the iterative models (BPR-MF, Mult-VAE, cfgan-large, EASE-GAN; fixed CPU budgets, "
                    f"not tuned): **{tb[2]}**, NDCG@20 {tb[0]:.4f} / Recall@20 {tb[1]:.4f}, "
                    f"{100 * (tb[0] / lg[1] - 1):+.1f} % / {100 * (tb[1] / lg[0] - 1):+.1f} % against LightGCN.")
    old = OUT.read_text() if OUT.exists() else ""
    accept = "\n" + old[old.index(ACCEPT_MARK):] if ACCEPT_MARK in old else ""  # gowalla_accept.py's part
    if NOTES_MARK in old:
        end = old.index(ACCEPT_MARK) if ACCEPT_MARK in old else len(old)
        accept = "\n" + old[old.index(NOTES_MARK):end].rstrip() + "\n" + accept
    commands = ", ".join(f"`{c}`" for c in invocations) + "."
    if kept and "Commands: " in old:  # the committed line (hand-tidied) plus this run's new invocations
        line = old[old.index("Commands: ") + len("Commands: "):].split("\n", 1)[0]
        have = {_same_run(c) for c in re.findall(r"`([^`]*)`", line)}
        new = [c for c in invocations if _same_run(c) not in have]
        commands = line if not new else line.rstrip(".") + ", " + ", ".join(f"`{c}`" for c in new) + "."
    OUT.write_text(f"""## Gowalla: recgan on LightGCN's public split (29,858 users x 40,981 items)

Commands: {commands}

Train = `../shared/benchmarks/splits/gowalla/train.tsv` (810,128 interactions), test = its test.tsv (217,242),
read once after training. `--tune` chooses the model's grid point on a validation carve of train (20 % per
user, PROTOCOL.md); the final model is fitted on all of train. The iterative models (BPR-MF, Mult-VAE,
cfgan-large, EASE-GAN) are not tuned here (2 shared cores): each runs a fixed, stated budget (epoch cap,
evaluation interval, patience) with early stopping on the same carve, the epoch kept being the carve's best;
`--no-refit` in the settings column: the test lists come from that carve-fitted model (80 % of each user's
train items) instead of a refit on all of train. Lists: `recgan recommend --users all -k 50`
(full ranking over the 40,981 train items, train items excluded), scored by recgan's `evaluate_lists`
(binary relevance, users with a test item). Wall s and peak RSS GB: `/usr/bin/time -v` of each whole
process; CPU s = its user + system seconds. The machine is the shared 2-core box with
24 GB, with other jobs running (load average 4-15 during these runs): wall seconds are upper bounds, CPU
seconds tell the work. LightGCN's figure is the paper's, with the best epoch chosen on test.

| model | settings | Recall@20 | NDCG@20 | train wall s | train CPU s | train peak RSS GB | recommend wall s | recommend CPU s | recommend peak RSS GB | commands |
|---|---|---|---|---|---|---|---|---|---|---|
{pub}
{chr(10).join(rows)}

{verdict}
{accept}""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="ease,ease-approx,itemknn,rp3beta", help=f"comma list of {sorted(MODELS)}")
    ap.add_argument("--param", action="append", default=[], metavar="MODEL:KEY=VALUE", help="a fixed setting")
    ap.add_argument("--fixed", action="store_true", help="no --tune: the defaults plus --param settings")
    ap.add_argument("--train-arg", action="append", default=[], metavar="MODEL:ARG",
                    help="a further recgan train argument for one model, e.g. multvae:--no-refit")
    ap.add_argument("--not-run", action="append", default=[], metavar="MODEL:REASON",
                    help="record a model as not run, with the reason, as a row of the table")
    ap.add_argument("--work", default="/tmp/recgan-gowalla")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "results.json"
    res = json.loads(cache.read_text()) if cache.exists() else {}
    inv_path = work / "invocations.json"
    invocations = json.loads(inv_path.read_text()) if inv_path.exists() else []
    invocation = "python benchmarks/gowalla.py " + shlex.join(sys.argv[1:])
    if invocation not in invocations:
        invocations.append(invocation)
    inv_path.write_text(json.dumps(invocations))
    for name in [m for m in args.models.split(",") if m]:
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r}; known: {sorted(MODELS)}")
        params = [p.split(":", 1)[1] for p in args.param if p.split(":", 1)[0] == name]
        extra = [a.split(":", 1)[1] for a in args.train_arg if a.split(":", 1)[0] == name]
        new = run(work, name, params, not args.fixed, extra)
        res = json.loads(cache.read_text()) if cache.exists() else {}  # runs of other invocations meanwhile
        res.update(new)
        cache.write_text(json.dumps(res, indent=1))
        write_section(res, invocations)
    for name, reason in (a.split(":", 1) for a in args.not_run):
        res = json.loads(cache.read_text()) if cache.exists() else {}
        res[name + ":not-run"] = {"model": name, "not_run": reason}
        cache.write_text(json.dumps(res, indent=1))
        write_section(res, invocations)
    if not args.models and not args.not_run:  # --models '': re-score the cached runs' lists, rewrite the section
        for r in res.values():
            if r.get("not_run"):
                continue
            tag = (r["model"] + ("" if not r["params"] else ":" + ",".join(r["params"])) + (":tune" if r["tune"] else "")
                   + ("" if not r.get("extra") else ":" + ",".join(r["extra"])))
            recs = work / re.sub(r"[^\w.=-]+", "_", tag) / "recs.tsv"
            if r.get("test") and recs.exists():
                r["test"] = score(recs, SPLIT / "test.tsv")
            if (recs.parent / "model").exists():
                r["carve"] = carve_selection(recs.parent / "model")
        cache.write_text(json.dumps(res, indent=1))
        write_section(res, invocations[:-1])


if __name__ == "__main__":
    main()
