"""``recgan synth fit|sample|report``: release synthetic users and measure what the release gives away."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

from recgan.cli.common import (
    add_data_args,
    load_data_args,
    nonnegative_int,
    parse_params,
    positive_int,
    write_frame,
)
from recgan.errors import RecganError
from recgan.io import check_replaceable

UTILITY_MAX_ITEMS = 20_000
"""Above this catalogue size the temperature choice skips its (informational) EASE utility column."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="synthetic user behaviour: fit a generator, sample users, report",
                       description="Release behaviour data that is useful like the real log without copying "
                                   "anyone in it.")
    ssub = p.add_subparsers(dest="synth_command", metavar="ACTION", required=True)

    from recgan.synth import REGISTRY

    q = ssub.add_parser("fit", help="fit a behaviour generator and write its folder",
                        epilog="generators ('recgan models NAME' lists a generator's parameters):\n"
                               + REGISTRY.help_table(),
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_args(q)
    q.add_argument("--generator", choices=REGISTRY.names(), default="gan",
                   help="gan (default), or another generator listed below")
    q.add_argument("--dp-epsilon", type=float, default=None, metavar="E",
                   help="user-level differential privacy with this epsilon (gan only; needs opacus)")
    q.add_argument("--dp-delta", type=float, default=None, metavar="D", help="DP delta (default 1e-5)")
    q.add_argument("--epochs", type=nonnegative_int, default=None,
                   help="override the generator's epochs (gan: adversarial epochs after its start; 0 releases the start)")
    q.add_argument("--checkpoint-every", type=nonnegative_int, default=0, metavar="N",
                   help="write a checkpoint every N epochs to --checkpoint-dir (gan, vae; not with --dp-epsilon)")
    q.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                   help="checkpoint folder (default: OUT.ckpt); DIR/last is what --resume takes")
    q.add_argument("--resume", default=None, metavar="DIR",
                   help="continue an interrupted fit from a checkpoint (DIR/last): same data, parameters and seed "
                        "end with the same weights as an uninterrupted fit")
    q.add_argument("--quiet", action="store_true", help="no progress display")
    q.add_argument("--temperature", default="auto", metavar="T|auto",
                   help="sampling temperature. auto (default for gan and vae without DP): the lowest of "
                        "1, 0.8, 0.6, 0.5, 0.4, 0.3 at which synthetic users are no closer to the training users "
                        "than held-out real users are (DCR p <= 0.5) and no planted canary user is reproduced, "
                        "chosen on a development split of the training users (one extra fit); DP runs and the "
                        "independent sampler use 1")
    q.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="hyper-parameter (repeatable)")
    q.add_argument("--plant-canaries", type=int, default=0, metavar="N",
                   help="audit aid: plant N canary users (rare unique item combinations) in training and "
                        "write them to DIR/canaries.tsv for 'synth report --canaries', with N decoys (equally rare "
                        "combinations, never planted: the chance level) in DIR/decoys.tsv for '--decoys'")
    q.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    q.add_argument("--out", required=True, metavar="DIR",
                   help="generator folder to write; an existing generator folder there is replaced whole, any "
                        "other existing file or non-empty folder is refused")
    q.set_defaults(func=cmd_fit)

    q = ssub.add_parser("sample", help="draw synthetic users from a generator folder",
                        description="Write user<TAB>item[<TAB>behaviour] with synthetic user ids (syn0000000 ...); "
                                    "the behaviour column only when the source had several behaviours.")
    q.add_argument("--model", required=True, metavar="DIR", help="generator folder written by 'synth fit'")
    q.add_argument("--n-users", type=positive_int, required=True, metavar="N", help="synthetic users to draw")
    q.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    q.add_argument("--out", required=True, metavar="FILE", help="output TSV ('-' for stdout)")
    q.set_defaults(func=cmd_sample)

    q = ssub.add_parser("report", help="fidelity / utility / privacy report of a synthetic file",
                        description="Compare a synthetic file with the real training users and a real user-level "
                                    "holdout; the two baselines (independent sampler, VAE) are fit on --train and "
                                    "shown beside it. Writes REPORT_DIR/report.json and report.html.")
    q.add_argument("--train", default=None, metavar="REAL_TRAIN",
                   help="the real users the release was fit on (required: the attacks score them as members)")
    q.add_argument("--holdout", required=True, metavar="REAL_HOLDOUT",
                   help="real users never used in training, whole profiles: a file, or the folder of "
                        "'recgan data split --method user' (its foldin.tsv + test.tsv)")
    q.add_argument("--synthetic", required=True, metavar="FILE", help="the synthetic users to report on (synth sample's output)")
    q.add_argument("--out", required=True, metavar="REPORT_DIR",
                   help="report folder to write; an existing report folder there is replaced whole, any other "
                        "existing file or non-empty folder is refused")
    q.add_argument("--model", default=None, metavar="DIR",
                   help="the generator folder that made FILE (for its DP statement; default: FILE's .json sidecar)")
    q.add_argument("--canaries", default=None, metavar="FILE", help="canary users planted in training (user<TAB>item)")
    q.add_argument("--decoys", default=None, metavar="FILE",
                   help="decoy canaries never planted (user<TAB>item; synth fit --plant-canaries writes them): "
                        "how many the synthetic users 'reproduce' is the chance level of the canary check")
    q.add_argument("--no-baselines", action="store_true", help="do not fit the two baselines")
    q.add_argument("--baseline-epochs", type=positive_int, default=None, help="epochs of the VAE baseline")
    q.add_argument("--baseline-temperature", choices=("auto", "1"), default="auto",
                   help="sampling temperature of the VAE baseline: auto (default; chosen on a development split "
                        "of --train like 'synth fit --temperature auto', one extra fit) or 1")
    q.add_argument("--target", default=None, help="target behaviour (default: buy if present, else the only one)")
    q.add_argument("--shadows", type=int, default=8, metavar="K",
                   help="shadow releases per set for the membership attack (even; 0 skips it). Each is a cheap "
                        "release of the same kind: the GAN's spectral start, the VAE at 10 epochs")
    q.add_argument("--shadow-generator", choices=("same", "gan", "vae", "independent"), default="same",
                   help="kind of the shadow releases: same (default: each set's own kind, fast version) or one kind "
                        "for every generated set (e.g. independent, the cheapest); the generator-released attack "
                        "then runs only on the sets of that kind")
    q.add_argument("--seed", type=int, default=0, help="seed of the baselines, shadows and attacks (default 0)")
    q.set_defaults(func=cmd_report)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_fit(args: argparse.Namespace) -> int:
    from recgan.core.trainable import TorchTrainable
    from recgan.core.trainer import TrainingOptions
    from recgan.synth import make_synthesizer

    check_replaceable(args.out, "synthesizer")  # before any work
    if args.resume and not (Path(args.resume) / "checkpoint.json").is_file():
        raise RecganError(f"--resume {args.resume}: no checkpoint.json there (give the checkpoint's 'last' folder)")
    from recgan.synth import REGISTRY

    cls = REGISTRY.get(args.generator)
    fields = cls.config_class.model_fields  # what a generator can do is what its typed config offers
    params = parse_params(args.param)
    params["seed"] = args.seed
    if args.epochs is not None:
        if "epochs" not in fields:
            raise RecganError(f"--epochs: generator {args.generator!r} is not trained by epochs")
        params["epochs"] = args.epochs
    if args.dp_delta is not None and args.dp_epsilon is None:
        raise RecganError("--dp-delta needs --dp-epsilon")
    if args.dp_epsilon is not None:
        if "dp_epsilon" not in fields:
            private = [n for n, c in REGISTRY.items() if "dp_epsilon" in c.config_class.model_fields]
            raise RecganError(f"--dp-epsilon: generator {args.generator!r} has no private mode; private "
                              f"generators: {', '.join(private)}")
        if args.dp_epsilon <= 0:
            raise RecganError(f"--dp-epsilon must be > 0, got {args.dp_epsilon}")
        params["dp_epsilon"] = args.dp_epsilon
        if args.dp_delta is not None:
            if not 0 < args.dp_delta < 1:
                raise RecganError(f"--dp-delta must be in (0, 1), got {args.dp_delta}")
            if "dp_delta" not in fields:
                raise RecganError(f"--dp-delta: generator {args.generator!r} takes no delta (pure epsilon-DP)")
            params["dp_delta"] = args.dp_delta
    auto = str(args.temperature).strip().lower() == "auto"
    if not auto:
        try:
            params["temperature"] = float(args.temperature)
        except ValueError:
            raise RecganError(f"--temperature must be a positive number or auto, got {args.temperature!r}") from None
        if not params["temperature"] > 0:
            raise RecganError(f"--temperature must be a positive number or auto, got {args.temperature!r}")
    auto = auto and cls.calibrates_temperature and args.dp_epsilon is None
    synth = make_synthesizer(args.generator, **params)  # validates parameters before reading data
    data = load_data_args(args)
    _log(f"data: {data}")
    canaries = None
    if args.plant_canaries > 0:
        from recgan.synth.canaries import plant_canaries

        data, canaries = plant_canaries(data, args.plant_canaries, seed=args.seed, decoys=args.plant_canaries)
        _log(f"planted {args.plant_canaries} canary users")
    t0 = time.perf_counter()
    calibration = None
    if auto:
        from recgan.reports.synth_calibration import MAX_DCR_P, TEMPERATURE_GRID, choose_temperature

        small = data.n_items <= UTILITY_MAX_ITEMS  # the utility column fits EASE (items x items)
        _log(f"plan: two fits of the {args.generator} generator: the temperature choice (a fit on 80 % of the "
             f"{data.n_users} users, then samples at {len(TEMPERATURE_GRID)} temperatures measured against the other "
             "20 %), then the fit "
             "on all users, about as long again ('--temperature 1' skips the choice)")
        chosen, table = choose_temperature(lambda: make_synthesizer(args.generator, **params), data, seed=args.seed,
                                           utility=small, log=_log)
        for row in table:
            util = f", EASE utility {row['utility_ease_ratio']:.3f}" if "utility_ease_ratio" in row else ""
            _log(f"  temperature {row['temperature']:g}: DCR p {row['dcr_p']:.3f}, canaries reproduced "
                 f"{row['canaries_reproduced']}{util} (development split of the training users)")
        if not any(r["qualifies"] for r in table):
            _log(f"WARNING: no temperature kept DCR p <= {MAX_DCR_P} with no canary reproduced on the development split; "
                 f"using {chosen:g}. This generator memorises rare profiles on this data: check the report's "
                 "canary row, and consider a smaller --param spectral_scale (the spectral start's sharpness) or fewer "
                 "epochs")
        else:
            _log(f"temperature: {chosen:g} (the lowest with DCR p <= {MAX_DCR_P} and no canary reproduced)")
        params["temperature"] = chosen
        synth = make_synthesizer(args.generator, **params)
        calibration = {"chosen": chosen, "max_dcr_p": MAX_DCR_P, "table": table}
        took = time.perf_counter() - t0
        _log(f"temperature choice took {took:.0f} s; now the fit on all {data.n_users} users, about {took:.0f} s")
    trained_by_epochs = isinstance(synth, TorchTrainable)
    if (args.checkpoint_every or args.resume) and not trained_by_epochs:
        raise RecganError(f"--checkpoint-every / --resume: generator {args.generator!r} is not trained by epochs")
    options = TrainingOptions(
        progress=not args.quiet, checkpoint_every=args.checkpoint_every,
        checkpoint_dir=(args.checkpoint_dir or str(args.out) + ".ckpt") if args.checkpoint_every else None,
        resume=args.resume or None,
    )
    synth.fit(data, options)
    if calibration is not None:
        synth.info["temperature_calibration"] = calibration
    seconds = time.perf_counter() - t0
    synth.info["fit_seconds"] = round(seconds, 3)
    out = Path(args.out)
    from recgan.io import atomic_dir

    with atomic_dir(out, "synthesizer") as tmp:  # the folder and its canary lists appear together
        synth.save(tmp)
        if canaries is not None:
            write_frame(canaries.to_frame(data.items)[["user", "item"]], str(tmp / "canaries.tsv"))
            if canaries.decoys is not None:
                write_frame(canaries.decoy_frame(data.items), str(tmp / "decoys.tsv"))
    msg = f"fitted {args.generator} in {seconds:.1f}s"
    if synth.privacy.get("dp"):
        msg += f"; user-level DP: epsilon={synth.privacy['epsilon']:.3g}, delta={synth.privacy['delta']:.3g}"
        if synth.privacy.get("releases"):
            from recgan.synth.dp import accounting_line

            _log(f"DP accounting: {accounting_line(synth.privacy)}")
    if synth.info.get("collapse_alarm"):
        msg += "; WARNING: collapse alarm raised (generated users look alike)"
    if synth.info.get("coverage_alarm"):
        msg += (f"; WARNING: coverage alarm raised (generated top-20 lists cover "
                f"{synth.info.get('coverage_ratio', 0):.0%} of the items as many real profiles cover: the long "
                "tail is lost)")
    _log(msg)
    _log(f"generator folder: {out}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from recgan.io import write_json
    from recgan.synth import load_synthesizer

    synth = load_synthesizer(args.model)
    t0 = time.perf_counter()
    df = synth.sample(args.n_users, seed=args.seed)
    seconds = time.perf_counter() - t0
    cols = ["user", "item", "behaviour"] if len(synth.behaviours) > 1 else ["user", "item"]
    if args.out not in (None, "-"):  # a sidecar never describes other data: gone before the new sample lands
        Path(str(args.out) + ".json").unlink(missing_ok=True)
    write_frame(df[cols], args.out)
    if args.out not in (None, "-"):
        write_json(str(args.out) + ".json", {
            "generator": synth.name, "model": str(Path(args.model).resolve()), "n_users": args.n_users,
            "seed": args.seed, "rows": len(df), "privacy": synth.privacy, "seconds": round(seconds, 3),
        })
        _log(f"wrote {len(df)} rows for {df['user'].nunique()} synthetic users to {args.out} "
             f"({args.n_users / max(seconds, 1e-9):.0f} users/s)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from recgan.data.interactions import Interactions
    from recgan.data.loaders import load_interactions, read_frame
    from recgan.reports.synth_report import align_frame, build_report, write_report
    from recgan.synth import IndependentSampler, VAESynthesizer, load_synthesizer

    if args.train is None:
        raise RecganError("synth report needs --train REAL_TRAIN: the real users the release was fit on (its "
                          "attacks score them as members against the --holdout users)")
    if args.shadows and (args.shadows < 2 or args.shadows % 2):
        raise RecganError(f"--shadows must be 0 or an even number >= 2, got {args.shadows}")
    check_replaceable(args.out, "synth-report")  # before any work
    train = load_interactions(args.train, target=args.target)
    hold_path = Path(args.holdout)
    if hold_path.is_dir():  # a 'recgan data split --method user' folder: held-out users = foldin + test
        parts = [hold_path / f for f in ("foldin.tsv", "test.tsv") if (hold_path / f).is_file()]
        if len(parts) < 2:
            raise RecganError(f"{hold_path}: a user-level split folder holds foldin.tsv and test.tsv")
        hold_df = pd.concat([read_frame(f) for f in parts], ignore_index=True)
    else:
        hold_df = read_frame(hold_path)
    holdout = align_frame(hold_df, train, source=str(args.holdout))
    overlap = set(map(str, holdout.users.ids)) & set(map(str, train.users.ids))
    if overlap:
        raise RecganError(f"{args.holdout}: {len(overlap)} user(s) also in {args.train}; the holdout must hold "
                          f"users never trained on (e.g. {sorted(overlap)[0]!r})")
    syn_df = read_frame(args.synthetic)
    synthetic = align_frame(syn_df, train, source=str(args.synthetic))
    meta_path = Path(str(args.synthetic) + ".json")
    name, privacy, model = "synthetic", {}, None
    if args.model:
        model = load_synthesizer(args.model)
        name, privacy = model.name, model.privacy
    elif meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        name, privacy = meta.get("generator", name), meta.get("privacy", {})
        if meta.get("model") and Path(meta["model"]).is_dir():  # the generator too: the white-box attack
            try:
                model = load_synthesizer(meta["model"])
            except RecganError as e:
                _log(f"note: {e}; the generator-released attack is skipped")
    if model is not None:
        _check_release_data(model, train, args.train)
    if privacy.get("dp"):
        name = f"{name} (DP eps={privacy['epsilon']:.3g})"
    sets: dict[str, Interactions] = {name: synthetic}
    generators = {name: model} if model is not None else {}
    statements = {name: privacy} if privacy else {}
    baselines = [] if args.no_baselines else [c for c in (IndependentSampler, VAESynthesizer) if c.name not in sets]
    shadow_sets = len(sets) + len(baselines) + 2  # + the real-holdout and copy reference rows
    vae_epochs = args.baseline_epochs or VAESynthesizer.config_class().epochs
    _log("plan: " + ("" if args.no_baselines else
                     f"the two baselines (independent sampler: seconds; VAE: {vae_epochs} epochs"
                     + (", fitted twice: its temperature choice on 80 % of the users, then all users"
                        if args.baseline_temperature == "auto" else "") + "), then ")
         + f"fidelity, utility and privacy of {shadow_sets} sets"
         + (f" with {args.shadows} shadow releases each (membership attack)" if args.shadows else "")
         + ("" if args.no_baselines else
            "; the VAE baseline is the longest part ('--baseline-temperature 1' fits it once, '--no-baselines' skips "
            "both)"))
    if not args.no_baselines:
        n = synthetic.n_users
        for cls, kw in ((IndependentSampler, {}), (VAESynthesizer, {"epochs": args.baseline_epochs} if args.baseline_epochs else {})):
            if cls.name in sets:
                continue
            t0 = time.perf_counter()
            note = ""
            if cls is VAESynthesizer and args.baseline_temperature == "auto":
                from recgan.reports.synth_calibration import choose_temperature

                make = functools.partial(VAESynthesizer, seed=args.seed, **kw)
                kw = {**kw, "temperature": choose_temperature(make, train, seed=args.seed,
                                                              log=lambda m: _log(f"baseline vae: {m}"))[0]}
                note = f" at temperature {kw['temperature']:g} (chosen like synth fit's auto)"
                took = time.perf_counter() - t0
                _log(f"baseline vae: temperature {kw['temperature']:g} chosen in {took:.0f} s; now the fit on all "
                     f"{train.n_users} users, about {took:.0f} s")
            s = cls(seed=args.seed, **kw).fit(train)
            sets[cls.name] = s.sample_interactions(n, seed=args.seed)
            generators[cls.name] = s
            _log(f"baseline {cls.name}: fitted and sampled {n} users in {time.perf_counter() - t0:.1f}s{note}")
        if privacy.get("dp") and not name.startswith("randomised-response"):  # the non-GAN DP control, same epsilon
            from recgan.synth import make_synthesizer

            eps = float(privacy.get("target_epsilon") or privacy["epsilon"])
            t0 = time.perf_counter()
            rr = make_synthesizer("randomised-response", dp_epsilon=eps, seed=args.seed).fit(train)
            rr_name = f"randomised-response (DP eps={eps:.3g})"
            sets[rr_name], generators[rr_name], statements[rr_name] = rr.sample_interactions(n, seed=args.seed), rr, rr.privacy
            _log(f"DP control {rr_name}: fitted and sampled {n} users in {time.perf_counter() - t0:.1f}s")
    canaries = None
    if args.canaries:
        cf = read_frame(args.canaries)
        cdata = align_frame(cf.assign(behaviour=train.target)[["user", "item", "behaviour"]], train,
                            source=str(args.canaries))
        canaries = cdata.X
    decoys = None
    if args.decoys:
        df = read_frame(args.decoys)
        decoys = align_frame(df.assign(behaviour=train.target)[["user", "item", "behaviour"]], train,
                             source=str(args.decoys)).X
    shadows = None
    if args.shadow_generator != "same":  # one shadow kind for every generated set (the references keep the copy)
        from recgan.reports.attacks import synthesizer_shadow
        from recgan.reports.synth_report import COPY, FRESH

        make = synthesizer_shadow(args.shadow_generator)
        shadows = {k: make for k in sets if k not in (COPY, FRESH)}
        generators = {k: g for k, g in generators.items() if g.name == args.shadow_generator}
    report = build_report(train, holdout, sets, seed=args.seed, canaries=canaries, decoys=decoys,
                          privacy=statements or None, generators=generators, shadows=shadows,
                          n_shadows=args.shadows, log=_log,
                          meta={"train": str(args.train), "holdout": str(args.holdout),
                                "synthetic": str(args.synthetic)})
    if report["meta"].get("note"):
        _log(f"note: {report['meta']['note']}")
    write_report(report, args.out)
    s = report["summary"][name]
    _log(f"{name}: utility(EASE) {s.get('utility_ease_ratio', float('nan')):.3f}, popularity spearman "
         f"{s['popularity_spearman']:.3f}, long-tail coverage {s['longtail_coverage']:.3f}, dcr_p "
         f"{s['dcr_p']:.3f}, MIA AUC {s['mia_auc']:.3f}")
    for set_name, row in report["summary"].items():
        _log(f"  attacks on {set_name}: {_attack_line(row)}")
    for set_name, stmt in statements.items():
        if stmt.get("dp") and stmt.get("releases"):
            from recgan.synth.dp import accounting_line

            _log(f"  DP accounting of {set_name}: {accounting_line(stmt)}")
    if report["meta"].get("dp_verdict"):
        _log(f"DP control: {report['meta']['dp_verdict']}")
    _log(f"report: {Path(args.out) / 'report.html'}")
    return 0


def _attack_line(row: dict) -> str:
    """The attacks' headline figures of one report row, one line."""
    parts = []
    if "lira_auc" in row:
        parts.append(f"membership (synthetic) AUC {row['lira_auc']:.3f}, TPR@1%FPR {row['lira_tpr_at_1pct_fpr']:.3f}")
    if "lira_generator_auc" in row:
        parts.append(f"membership (generator) AUC {row['lira_generator_auc']:.3f}, TPR@1%FPR "
                     f"{row['lira_generator_tpr_at_1pct_fpr']:.3f}")
    parts.append(f"attribute advantage {row['attribute_advantage']:+.3f}")
    if "canaries_reproduced" in row:
        parts.append(f"canaries {row['canaries_reproduced']} vs decoys {row.get('decoys_reproduced', '-')}")
    eps = row.get("epsilon_spent")
    parts.append("epsilon spent " + (f"{eps:.3g}" if eps is not None else "none (no DP)"))
    if "epsilon_lb" in row:
        parts.append(f"empirical epsilon >= {row['epsilon_lb']:.2f}")
    return "; ".join(parts)


def _check_release_data(model, train, train_path: str) -> None:
    """Refuse a --train that cannot be the data the release's generator was fit on (the attacks would score
    the wrong members): items it never saw, or more users than it was fit on."""
    known = set(map(str, model.items.to_list()))
    unknown = int(sum(str(i) not in known for i in train.items.to_list()))
    fitted = (model.info or {}).get("users")
    if unknown or (fitted is not None and train.n_users > int(fitted)):
        what = (f"{unknown} of its items are unknown to the generator" if unknown else
                f"it holds {train.n_users} users, the generator was fit on {fitted}")
        raise RecganError(f"{train_path}: not the release's training users ({what}); the report needs --train = the "
                          "real users the generator was fit on")
