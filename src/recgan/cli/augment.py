"""``recgan augment``: write a GAN-augmented training log, optionally train and evaluate downstream models.
(The augmentation grid and its report are the repository's benchmark harness: benchmarks/augment_grid.py.)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from recgan.cli.common import add_data_args, load_data_args, parse_params
from recgan.errors import RecganError
from recgan.io import atomic_dir, check_replaceable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "augment", help="GAN data augmentation with measured uplift against controls",
        description="Augment a training log with generated behaviour (a densifier adds items to sparse users, "
                    "the behaviour synthesizer adds synthetic users) and write DIR/augmented_train.tsv "
                    "(user, item, weight, source), the trained generator and DIR/augment.json. By default "
                    "(--generator auto) every densifier and no augmentation compete on a validation carve of the "
                    "training log and the log is augmented only when that helps beyond the carve's noise; "
                    "volume and weight default to the values chosen on the carve (docs/augmentation.md).")
    add_data_args(p, required=False)
    from recgan.augment.densifiers import DENSIFIERS, densifier_names

    gens = densifier_names()
    p.add_argument("--generator", choices=("auto", *gens, "both"), default="auto",
                   help="auto (default): every densifier below and no augmentation compete on a validation carve "
                        "of the training log, each at its own best volume and weight, scored by the first "
                        "--downstream model; no augmentation wins unless the best beats it with a paired test "
                        "(p < 0.05); "
                        + "; ".join(f"{n}: {' '.join((DENSIFIERS[n].__doc__ or '').split()).rstrip('.')}"
                                    for n in gens)
                        + "; both: cfgan densifies, then synth adds users")
    p.add_argument("--strategy", choices=("densify", "add-users", "both"), default=None,
                   help="densify (existing users get generated items), add-users (synthetic users), both (with "
                        "--generator both); default: the generator's own (auto: every kind; auto with densify or "
                        "add-users: the candidates of that kind)")
    p.add_argument("--volume", default=None, metavar="M[,N]",
                   help="generated items per sparse user (densify) and/or synthetic users (add-users): "
                        "'5' (densify), 'n=500' (add-users), '5,500' (both); default: chosen on a validation carve")
    p.add_argument("--weight", type=float, default=None, metavar="W",
                   help="weight of generated interactions in (0, 1] (real ones weigh 1); default: chosen on "
                        "a validation carve")
    p.add_argument("--max-user-items", type=int, default=20, metavar="K",
                   help="densify only users with at most K real training interactions (default 20; 0 = all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the carve, the generators and sampling (default 0)")
    p.add_argument("--generator-param", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter of the generator (CFGAN's under auto and both; repeatable), e.g. epochs=60")
    p.add_argument("--synth-param", action="append", default=[], metavar="KEY=VALUE",
                   help="behaviour-synthesizer parameter (repeatable), e.g. epochs=20")
    p.add_argument("--device", default="cpu", help="torch device for the generators (cpu, cuda, auto)")
    p.add_argument("--downstream", default=None, metavar="MODEL[,MODEL]",
                   help="the model(s) the augmented log is for: the first scores volumes, weights and (auto) "
                        "densifiers on the validation carve (default ease); when given, each is also trained on "
                        "the augmented log (ease, itemknn, rp3beta, bpr, multvae)")
    p.add_argument("--test", default=None, metavar="FILE", help="evaluate the downstream models on this test log")
    p.add_argument("--checkpoint", default=None, metavar="CKPT",
                   help="keep each finished step in folder CKPT (the carve's tuning, every scored candidate, a "
                        "trained generator's last epoch); the same command run again resumes from it with the "
                        "same output. A folder of another run is refused; give one outside --out")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output folder; an existing 'recgan augment' folder there is replaced, any other existing "
                        "file or non-empty folder is refused")
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


def _plan(args: argparse.Namespace, strategy: str | None, m: int | None, n: int | None, nnz: int,
          downstream: str) -> str:
    """One line saying what augment is about to do (candidates, settings scored, the long part)."""
    from recgan.augment.core import CFGAN_AUGMENT_PARAMS, DEFAULT_M_GRID, DEFAULT_N_GRID, DEFAULT_W_GRID
    from recgan.augment.densifiers import get_densifier
    from recgan.augment.densifiers.base import densifier_names

    if args.generator == "auto":
        names = densifier_names(None if strategy in (None, "both") else strategy, auto_only=True)
    else:
        names = ["cfgan", "synth"] if args.generator == "both" else [args.generator]
    n_w = 1 if args.weight is not None else len(DEFAULT_W_GRID)
    settings = {name: n_w * (1 if (m if get_densifier(name).strategy == "densify" else n) is not None else
                             len(DEFAULT_M_GRID if get_densifier(name).strategy == "densify" else DEFAULT_N_GRID))
                for name in names}
    line = (f"plan: {len(names)} candidate(s) ({', '.join(f'{k}: {v} settings' for k, v in settings.items())}), each "
            f"fitted on a validation carve of the {nnz} training interactions and scored with one {downstream} fit "
            "per volume x weight setting" + (", against no augmentation" if args.generator == "auto" else ""))
    if "cfgan" in names:
        epochs = parse_params(args.generator_param).get("epochs", CFGAN_AUGMENT_PARAMS["epochs"])
        line += f"; cfgan trains up to {epochs} epochs with early stopping on the carve, the longest part"
    return line + "; then the chosen setting is applied to the whole log"


def cmd_augment(args: argparse.Namespace) -> int:
    if not args.train:
        raise RecganError("--train FILE is required")
    check_replaceable(args.out, "augment")  # before any work
    if args.checkpoint is not None and Path(args.checkpoint).resolve().is_relative_to(Path(args.out).resolve()):
        raise RecganError(f"--checkpoint {args.checkpoint}: inside --out {args.out}, which is replaced; give a "
                          "folder outside it")
    from recgan.augment.pipeline import augment_log, check_pairing

    strategy = check_pairing(args.generator, args.strategy)
    if args.weight is not None and not 0 < args.weight <= 1:
        raise RecganError(f"--weight must be in (0, 1], got {args.weight}")
    m, n = _volume(args.volume)
    if strategy == "add-users" and m is not None and n is None:
        m, n = None, m  # a single number is the synthetic-user count for add-users
    train = load_data_args(args)
    out = Path(args.out)
    downstream = [s.strip() for s in (args.downstream or "ease").split(",") if s.strip()] or ["ease"]
    _log(_plan(args, strategy, m, n, train.nnz, downstream[0]))
    res = augment_log(train, generator=args.generator, strategy=strategy, m=m, n_users=n, weight=args.weight,
                      seed=args.seed, max_user_items=args.max_user_items or None, device=args.device, log=_log,
                      downstream=downstream[0], generator_params=parse_params(args.generator_param),
                      synth_params=parse_params(args.synth_param), checkpoint=args.checkpoint)
    summary = {"info": res.augmented.info, "selection": res.selection}
    with atomic_dir(out, "augment") as tmp:  # the folder appears whole or not at all
        if args.downstream:
            summary["downstream"] = _downstream(args, train, res.augmented, tmp)
        res.augmented.write_tsv(tmp / "augmented_train.tsv")
        for name, generator in res.generators.items():
            generator.save(tmp / f"generator-{name}")
        (tmp / "augment.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    info = res.augmented.info
    if res.chosen == "none":
        print(f"no augmentation: {info.get('auto_reason', 'nothing was generated')}; "
              f"{out / 'augmented_train.tsv'} holds the real log only ({train.nnz} interactions, 0 generated); "
              f"every candidate's carve score: {out / 'augment.json'}")
    else:
        print(f"wrote {out / 'augmented_train.tsv'}: {info.get('real', train.nnz)} real + "
              f"{info.get('generated', 0)} generated interactions ({info.get('strategy')})")
        if "auto_reason" in info:
            print(f"  auto chose {res.chosen}: {info['auto_reason']}")
    for msg in res.selection.get("warnings", []):
        print(f"warning: {msg}", file=sys.stderr)
    for name, r in summary.get("downstream", {}).items():
        if "metrics" in r:
            print(f"  {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items()))
    return 0


def _downstream(args: argparse.Namespace, train, aug, folder: Path) -> dict:
    """Train each ``--downstream`` model on the augmented log (saved to ``folder/model-NAME``) and evaluate it
    on ``--test`` when given."""
    from recgan.augment.downstream import FIXED_EPOCHS
    from recgan.core.trainer import TrainingOptions
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
        model.fit(aug.data, options=TrainingOptions(progress=False))
        model.save(folder / f"model-{name}")
        entry: dict = {"params": params}
        if test is not None:
            rep = evaluate(model, test, exclude=aug.exclude())
            entry["metrics"] = {k: rep.metrics[k] for k in ("ndcg@10", "recall@20", "precision@20", "ndcg@20")}
        out[name] = entry
    return out
