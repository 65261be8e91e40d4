"""``recgan train``, ``recgan recommend``, ``recgan evaluate``."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from recgan.cli.common import (
    add_data_args,
    load_data_args,
    load_model,
    parse_id_list,
    parse_params,
    positive_int,
    read_id_file,
    write_frame,
)
from recgan.core import distributed
from recgan.data.loaders import load_interactions, read_frame
from recgan.data.splits import load_heldout
from recgan.errors import RecganError, UnknownIdError
from recgan.evaluation.evaluator import aligned_test, evaluate, evaluate_lists
from recgan.io import check_replaceable
from recgan.models.base import REGISTRY, get_model_class
from recgan.models.torch_base import TorchRecommender
from recgan.training.fitting import TrainingOptions, fit_model


def register(sub: argparse._SubParsersAction) -> None:
    import recgan.models  # noqa: F401

    p = sub.add_parser("train", help="fit a model and write a model folder",
                       description="Fit a recommender following PROTOCOL.md (tuning and early stopping on "
                                   "a validation carve of train) and write a model folder.",
                       epilog="models ('recgan models NAME' lists a model's parameters):\n" + REGISTRY.help_table(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_args(p)
    p.add_argument("--model", required=True, metavar="NAME",
                   help=f"one of: {', '.join(REGISTRY.names())} (listed below)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="hyper-parameter (repeatable); 'recgan models NAME' lists them with types and defaults")
    p.add_argument("--preset", default=None, help="named settings of the model (e.g. paper-ml100k for cfgan)")
    p.add_argument("--tune", action="store_true", help="grid-search the model's tune grid on a validation carve")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--epochs", type=positive_int, default=None, help="override the epoch count (torch models)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (torch models)")
    p.add_argument("--no-early-stopping", action="store_true", help="train the fixed epoch count on all of train")
    p.add_argument("--no-refit", action="store_true",
                   help="keep the early-stopped model fit on the carve instead of refitting on all of train")
    p.add_argument("--valid-fraction", type=float, default=0.2, help="validation carve per user (default 0.2)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N", help="checkpoint every N epochs")
    p.add_argument("--checkpoint-dir", default=None, help="checkpoint folder (default OUT.ckpt)")
    p.add_argument("--resume", default=None, metavar="DIR", help="continue from a checkpoint folder")
    p.add_argument("--tensorboard", default=None, metavar="DIR", help="also log scalars to TensorBoard")
    p.add_argument("--mlflow", default=None, metavar="EXPERIMENT",
                   help="also log params, per-epoch scalars and curves to this MLflow experiment (needs mlflow)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="model folder to write; an existing model folder there is replaced whole (atomically), "
                        "any other existing file or non-empty folder is refused")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("recommend", help="top-k lists from a model folder",
                       description="Write user<TAB>item<TAB>rank<TAB>score with original ids, seen items excluded.")
    p.add_argument("--model", required=True, metavar="DIR", help="model folder written by 'recgan train'")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--users", help="'all', comma-separated ids, or @FILE with one id per line")
    g.add_argument("--history", metavar="FILE",
                   help="fold-in: one item id per line (a user absent from training); unknown ids are reported "
                        "and skipped, a history with no known item is an error")
    p.add_argument("-k", type=positive_int, default=10, help="list length per user (default 10)")
    p.add_argument("--include-seen", action="store_true", help="do not exclude training items")
    p.add_argument("--out", default=None, help="output TSV (default: stdout)")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("evaluate", help="full-ranking evaluation per PROTOCOL.md",
                       description="Score a model folder (or a recommendation file) on a test file.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", metavar="DIR", help="model folder written by 'recgan train'")
    src.add_argument("--recs", metavar="FILE", help="recommendation TSV (user item rank [score])")
    p.add_argument("--train", default=None, help="training file whose items are excluded (default: the model's)")
    p.add_argument("--test", required=True, metavar="FILE", help="held-out interactions to score against")
    p.add_argument("-k", default="5,10,20", help="cut-offs, comma-separated (default 5,10,20)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--per-user", default=None, metavar="FILE", help="write per-user metrics TSV")
    p.set_defaults(func=cmd_evaluate)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    cls = get_model_class(args.model)
    params: dict = {}
    fit_opts = {"early_stopping": not args.no_early_stopping, "refit": not args.no_refit}
    if args.preset:
        preset = cls.preset(args.preset)
        params.update(preset.params)
        fit_opts.update({k: v for k, v in preset.fit.model_dump().items() if not v})  # a preset only turns off
    params.update(parse_params(args.param))
    params["seed"] = args.seed
    iterative = issubclass(cls, TorchRecommender)
    if args.epochs is not None:
        if not iterative:
            raise RecganError(f"--epochs: model {args.model!r} is not trained by epochs")
        params["epochs"] = args.epochs
    if args.device is not None:
        if not iterative:
            raise RecganError(f"--device: model {args.model!r} runs on numpy (CPU) only")
        params["device"] = args.device
    cls(**params)  # validate parameters before reading data
    check_replaceable(args.out, "model")  # refuse a non-model --out before any work
    t0 = time.perf_counter()
    data = load_data_args(args)
    _log(f"data: {data}  ({time.perf_counter() - t0:.1f}s)")
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        options = TrainingOptions(
            progress=not args.quiet, log_path=str(Path(tmp) / "training_log.jsonl"),
            plot_path=str(Path(tmp) / "curves.png"), tensorboard_dir=args.tensorboard,
            mlflow_experiment=args.mlflow, checkpoint_every=args.checkpoint_every or 0,
            checkpoint_dir=(args.checkpoint_dir or str(out) + ".ckpt") if args.checkpoint_every else None,
            resume=args.resume or None,
        ) if iterative else None
        res = fit_model(args.model, data, params, tune=args.tune, valid_fraction=args.valid_fraction,
                        options=options, log=_log, **fit_opts)
        extra = {p.name: p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()}
        if not distributed.is_main():  # torchrun: rank 0 writes the model folder
            distributed.barrier()
            return 0
        res.model.save(out, extra_files=extra)
        distributed.barrier()
    tr = res.model.info.get("training", {})
    solver = res.model.info.get("solver")
    if isinstance(solver, dict) and solver.get("message"):  # e.g. which EASE solver fitted the data
        _log(solver["message"])
    _log(f"trained {args.model} in {res.seconds:.2f}s" + (f" ({tr.get('epochs_run')} epochs)" if tr else "")
         + f"; params: {json.dumps(res.model.config.to_dict())}")
    _log(f"model folder: {out}")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    if args.history:
        items = read_id_file(args.history)
        try:
            df, unknown = model.recommend_for_history(items, k=args.k)
        except UnknownIdError:  # nothing to fold in: an error, never a made-up list
            raise RecganError(f"{args.history}: none of its {len(items)} item id(s) is known to the model "
                              f"(unknown: {items[:10]}); nothing to recommend from") from None
        if unknown:
            _log(f"warning: {len(unknown)} unknown item id(s) in {args.history} ignored: {unknown[:10]}")
        df.insert(0, "user", "new")
    else:
        users = parse_id_list(args.users)
        df = model.recommend_ids(users, k=args.k, exclude_seen=not args.include_seen)
    write_frame(df, args.out)
    if args.out not in (None, "-"):
        _log(f"wrote {len(df)} rows for {df['user'].nunique()} user(s) to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        ks = sorted({int(x) for x in args.k.split(",") if x.strip()})
    except ValueError:
        raise RecganError(f"-k {args.k!r}: expected comma-separated integers") from None
    if not ks or ks[0] <= 0:
        raise RecganError(f"-k {args.k!r}: cut-offs must be >= 1")
    t0 = time.perf_counter()
    if args.model:
        model = load_model(args.model)
        data = model._check_fitted()
        test = load_heldout(args.test, data)
        exclude = None
        if args.train:
            tr = load_interactions(args.train, target=data.target)
            Xt = aligned_test(data, tr.only_target())
            exclude = Xt[: data.n_users, : data.n_items]
        report = evaluate(model, test, ks, exclude=exclude)
    else:
        recs = read_frame(args.recs, columns=["user", "item", "rank", "score"])
        recs["rank"] = recs["rank"].astype(float).astype(int)
        test = load_interactions(args.test)
        report = evaluate_lists(recs, test, ks)
    seconds = time.perf_counter() - t0
    metrics = report.to_dict()
    if args.per_user:
        import pandas as pd

        df = pd.DataFrame({"user": report.users, **report.per_user})
        write_frame(df, args.per_user, header=True)
    if args.json:
        print(json.dumps({"metrics": metrics, "seconds": round(seconds, 3)}, indent=2))
    else:
        for k in sorted(metrics):
            print(f"{k:14s} {metrics[k]:.4f}")
    return 0


