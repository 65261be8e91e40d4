"""``recgan augment``: write a GAN-augmented training log, optionally train and evaluate downstream models;
``recgan augment --report`` runs the augmentation grid and writes its report."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from recgan.cli.common import add_data_args, load_data_args, parse_params
from recgan.errors import RecganError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "augment", help="GAN data augmentation with measured uplift against controls",
        description="Augment a training log with generated behaviour (CFGAN densifies sparse users, the "
                    "behaviour synthesizer adds synthetic users, or both) and write DIR/augmented_train.tsv "
                    "(user, item, weight, source) plus the trained generator(s). Volume and weight default to "
                    "the values chosen on a validation carve of the training log (docs/augmentation.md). "
                    "With --report: run the augmentation grid (datasets x scarcity x seeds x strategies x "
                    "downstream models, with controls) and write its report.")
    add_data_args(p, required=False)
    p.add_argument("--generator", choices=("cfgan", "synth", "both", "pop", "itemknn", "ease"), default="cfgan",
                   help="cfgan (densify), synth (add users), both; or a non-GAN densifier: pop, itemknn, ease "
                        "(top unseen items of MostPopular / ItemKNN / EASE; in the grid these matched or beat "
                        "CFGAN, docs/augmentation.md)")
    p.add_argument("--strategy", choices=("densify", "add-users", "both"), default=None,
                   help="densify (with cfgan), add-users (with synth), both (with both); default: the "
                        "generator's own")
    p.add_argument("--volume", default=None, metavar="M[,N]",
                   help="generated items per sparse user (densify) and/or synthetic users (add-users): "
                        "'5' (densify), 'n=500' (add-users), '5,500' (both); default: chosen on a validation carve")
    p.add_argument("--weight", type=float, default=None, metavar="W",
                   help="weight of generated interactions in (0, 1] (real ones weigh 1); default: chosen on "
                        "a validation carve")
    p.add_argument("--max-user-items", type=int, default=20, metavar="K",
                   help="densify only users with at most K real training interactions (default 20; 0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--generator-param", action="append", default=[], metavar="KEY=VALUE",
                   help="CFGAN parameter for the densifier (repeatable), e.g. epochs=60")
    p.add_argument("--synth-param", action="append", default=[], metavar="KEY=VALUE",
                   help="behaviour-synthesizer parameter (repeatable), e.g. epochs=20")
    p.add_argument("--device", default="cpu", help="torch device for the generators (cpu, cuda, auto)")
    p.add_argument("--downstream", default=None, metavar="MODEL[,MODEL]",
                   help="train these models on the augmented log (ease, itemknn, rp3beta, bpr, multvae)")
    p.add_argument("--test", default=None, metavar="FILE", help="evaluate the downstream models on this test log")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    g = p.add_argument_group("grid report (--report)")
    g.add_argument("--report", action="store_true", help="run the augmentation grid and write the report")
    g.add_argument("--datasets", default="ml-100k-p1", help="comma list of ml-100k-p1, ml-1m, tmall")
    g.add_argument("--settings", default="full,n2,n5,n10,cold", help="comma list of full, cold, nN")
    g.add_argument("--seeds", default="0,1,2", help="comma list of seeds")
    g.add_argument("--models", default="ease,itemknn,rp3beta,bpr,multvae", help="downstream models of the grid")
    g.add_argument("--synth", action="store_true", help="also run the synthesizer strategies in the grid")
    g.add_argument("--data-root", default="../shared", help="shared data root (default ../shared)")
    g.add_argument("--results", default=None, metavar="FILE",
                   help="report Markdown file (a PNG and JSON are written beside it); default DIR/report.md "
                        "(the repository's benchmark passes benchmarks/results/60-augmentation.md)")
    g.add_argument("--report-only", action="store_true", help="rebuild the report from finished grid units")
    g.add_argument("--preamble", default=None, metavar="FILE",
                   help="Markdown inserted after the report's title (e.g. the grid commands and scope notes)")
    p.set_defaults(func=cmd_augment)


def _volume(spec: str | None) -> tuple[int | None, int | None]:
    if spec is None:
        return None, None
    m = n = None
    for part in (s.strip() for s in spec.split(",") if s.strip()):
        key, _, val = part.rpartition("=")
        try:
            v = int(val)
        except ValueError:
            raise RecganError(f"--volume {spec!r}: {val!r} is not an integer") from None
        if v < 1:
            raise RecganError(f"--volume {spec!r}: volumes must be >= 1")
        if key in ("n", "users") or (key == "" and m is not None):
            n = v
        elif key in ("", "m", "items"):
            m = v
        else:
            raise RecganError(f"--volume {spec!r}: unknown key {key!r} (use m=..., n=...)")
    return m, n


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_augment(args: argparse.Namespace) -> int:
    if args.report or args.report_only:
        return _cmd_report(args)
    if not args.train:
        raise RecganError("--train FILE is required (or --report to run the grid)")
    from recgan.augment.pipeline import PAIRING, augment_log

    strategy = args.strategy or PAIRING[args.generator]
    if args.weight is not None and not 0 < args.weight <= 1:
        raise RecganError(f"--weight must be in (0, 1], got {args.weight}")
    m, n = _volume(args.volume)
    if strategy == "add-users" and m is not None and n is None:
        m, n = None, m  # a single number is the synthetic-user count for add-users
    train = load_data_args(args)
    out = Path(args.out)
    res = augment_log(train, generator=args.generator, strategy=strategy, m=m, n_users=n, weight=args.weight,
                      seed=args.seed, max_user_items=args.max_user_items or None, device=args.device, log=_log,
                      cfgan_params=parse_params(args.generator_param), synth_params=parse_params(args.synth_param))
    out.mkdir(parents=True, exist_ok=True)  # only once there is something to write
    res.augmented.write_tsv(out / "augmented_train.tsv")
    for name, generator in res.generators.items():
        generator.save(out / f"generator-{name}")
    summary = {"info": res.augmented.info, "selection": res.selection}
    if args.downstream:
        summary["downstream"] = _downstream(args, train, res.augmented)
    (out / "augment.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    info = res.augmented.info
    print(f"wrote {out / 'augmented_train.tsv'}: {info.get('real', train.nnz)} real + {info.get('generated', 0)} "
          f"generated interactions ({info.get('strategy')})")
    for name, r in summary.get("downstream", {}).items():
        if "metrics" in r:
            print(f"  {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items()))
    return 0


def _downstream(args: argparse.Namespace, train, aug) -> dict:
    from recgan.augment.grid import FIXED_EPOCHS
    from recgan.data.splits import load_heldout
    from recgan.evaluation import evaluate
    from recgan.models.base import get_model_class

    test = load_heldout(args.test, train) if args.test else None
    l2 = None
    out = {}
    for name in [s.strip() for s in args.downstream.split(",") if s.strip()]:
        cls = get_model_class(name)
        params = {}
        if name == "ease":
            from recgan.augment.core import carve
            from recgan.augment.pipeline import tune_ease

            if l2 is None:
                l2, _ = tune_ease(*carve(aug.real, args.seed))
            params = {"l2": l2}
        elif name in FIXED_EPOCHS:
            params = {**FIXED_EPOCHS[name], "seed": args.seed, "device": args.device}
        model = cls(**params)
        model.driver_options = {"progress": False}
        model.fit(aug.data)
        model.save(Path(args.out) / f"model-{name}")
        entry: dict = {"params": params}
        if test is not None:
            rep = evaluate(model, test, exclude=aug.exclude())
            entry["metrics"] = {k: rep.metrics[k] for k in ("ndcg@10", "recall@20", "precision@20", "ndcg@20")}
        out[name] = entry
    return out


def _cmd_report(args: argparse.Namespace) -> int:
    from recgan.augment.grid import GridSpec, run_grid
    from recgan.augment.report import write_report

    spec = GridSpec(
        datasets=[s.strip() for s in args.datasets.split(",") if s.strip()],
        settings=[s.strip() for s in args.settings.split(",") if s.strip()],
        seeds=[int(s) for s in args.seeds.split(",") if s.strip()],
        models=[s.strip() for s in args.models.split(",") if s.strip()],
        synth=args.synth, max_user_items=args.max_user_items or None, device=args.device,
        cfgan_params=parse_params(args.generator_param), synth_params=parse_params(args.synth_param),
    )
    if not args.report_only:
        run_grid(spec, args.out, args.data_root, log=_log)
    command = "recgan " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "recgan augment --report"
    header = (f"## GAN data augmentation (issue 5)\n\nReport command: `{command}` "
              f"(2-core CPU shared with other jobs; torch and BLAS on one thread).\n\n")
    if args.preamble:
        header += Path(args.preamble).read_text().rstrip() + "\n\n"
    results = args.results or str(Path(args.out) / "report.md")
    write_report(args.out, results, command, header=header)
    print(f"wrote {results}")
    return 0
