"""A tiny augmentation grid unit end to end (benchmarks/harness/augment_grid.py), and the report built from it
(benchmarks/harness/augment_report.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.harness.augment_grid import GridSpec, bucket_of, complete_unit, run_unit
from benchmarks.harness.augment_grid import main as grid_main
from benchmarks.harness.augment_report import analyse, issue_targets, write_report
from benchmarks.harness.augment_report import main as report_main
from recgan.data import RandomHoldout
from recgan.testing import tiny_data


def test_tiny_grid_and_report(tmp_path):
    s = RandomHoldout(0.2, 0).split(tiny_data(60, 40, empty_user=False))
    spec = GridSpec(models=["ease", "itemknn"], cfgan_params={"epochs": 4, "g_hidden": (16,), "d_hidden": (8,)},
                    max_user_items=None)
    units = tmp_path / "grid" / "units"
    units.mkdir(parents=True)
    for setting in ("n5", "full"):
        for seed in (0, 1):
            res = run_unit("tiny", setting, seed, s.train, s.test, spec, log=lambda m: None)
            assert set(res["runs"]) == {f"{m}|{st}" for m in spec.models
                                        for st in ("none", "pop", "itemknn", "ease-top", "cfgan")}
            vols = {k: v["generated"] for k, v in res["runs"].items() if not k.endswith("none")}
            assert len(set(vols.values())) == 1  # controls at equal volume
            (units / f"tiny__{setting}__s{seed}.json").write_text(json.dumps(res))
    md = tmp_path / "60-augmentation.md"
    js = write_report(tmp_path / "grid", md, "python benchmarks/augment_report.py (test)")
    text = md.read_text()
    assert "| n5 | ease |" in text and "Verdict per cell" in text
    assert md.with_suffix(".png").stat().st_size > 1000
    cf = [r for r in js["rows"] if r["strategy"] == "cfgan"]
    assert cf and all(0 <= r["p_none_ndcg@10"] <= 1 and "helps" in r for r in cf)
    md2 = tmp_path / "cli.md"
    pre = tmp_path / "pre.md"
    pre.write_text("Scope notes.\n")
    assert report_main(["--grid", str(tmp_path / "grid"), "--results", str(md2), "--preamble", str(pre)]) == 0
    assert md2.read_text().startswith("## GAN data augmentation (issue 5)\n\nReport command: `python "
                                      "benchmarks/augment_report.py --grid ")
    assert "Scope notes.\n\nAcceptance checks" in md2.read_text()
    assert report_main(["--grid", str(tmp_path / "grid")]) == 0  # default: inside DIR
    assert (tmp_path / "grid" / "report.md").read_text().startswith("## GAN data augmentation")
    t1 = issue_targets(js["rows"], js["buckets"], dataset="tiny")[0]
    assert "better of the issue's controls (pop" in t1 or "better of the issue's controls (itemknn" in t1


def test_complete_unit_adds_a_missing_control_as_a_fresh_unit_would():
    """A unit written before ``ease-top`` existed gets exactly the runs a fresh unit has for it."""
    s = RandomHoldout(0.2, 0).split(tiny_data(60, 40, empty_user=False))
    spec = GridSpec(models=["ease", "itemknn"], cfgan_params={"epochs": 2, "g_hidden": (16,), "d_hidden": (8,)})
    fresh = run_unit("tiny", "full", 0, s.train, s.test, spec, log=lambda m: None)
    old = json.loads(json.dumps(fresh))
    for m in spec.models:
        del old["runs"][f"{m}|ease-top"]
    old["spec"] = {"models": spec.models, "synth": False, "max_user_items": spec.max_user_items}
    assert complete_unit(old, s.train, s.test, spec, log=lambda m: None)
    for m in spec.models:
        a, b = old["runs"][f"{m}|ease-top"], fresh["runs"][f"{m}|ease-top"]
        assert a["generated"] == b["generated"] > 0
        np.testing.assert_allclose(a["ndcg@10"], b["ndcg@10"], atol=1e-5)
    assert not complete_unit(old, s.train, s.test, spec, log=lambda m: None)  # nothing left to add


def test_bucket_labels():
    assert list(bucket_of(np.array([1, 5, 6, 20, 21, 101]))) == ["1-5", "1-5", "6-10", "11-20", "21-50", ">100"]


def test_the_grid_cli_refuses_a_missing_data_root(tmp_path):
    import pytest

    from recgan.errors import RecganError

    with pytest.raises(RecganError, match=r"no such file \(give the shared data root with --data-root\)"):
        grid_main(["--out", str(tmp_path / "g"), "--data-root", str(tmp_path / "nowhere"), "--settings", "n5",
                   "--seeds", "0"])


@pytest.mark.slow
def test_auto_column_is_augment_log_auto_and_reuses_its_cfgan(tmp_path):
    """``--auto``: the unit's ``auto`` run is what ``augment_log(generator="auto")`` gives on the unit's sparse
    train; the grid's CFGAN strategy is auto's CFGAN candidate at its own (m, W); the report states the checks."""
    from benchmarks.harness.augment_report import auto_table, collect
    from recgan.augment.core import scarcity
    from recgan.augment.pipeline import augment_log

    s = RandomHoldout(0.2, 0).split(tiny_data(60, 40, empty_user=False))
    cf, sy = {"epochs": 4, "g_hidden": (16,), "d_hidden": (8,)}, {"epochs": 2, "pretrain_epochs": 3}
    spec = GridSpec(models=["ease"], cfgan_params=cf, synth_params=sy, auto=True)
    units = []
    for seed in (0, 1):
        units.append(run_unit("tiny", "n5", seed, s.train, s.test, spec, log=lambda m: None))
        units[-1]["seconds"] = 1.0
    u = units[0]
    assert set(u["runs"]) == {f"ease|{st}" for st in ("none", "pop", "itemknn", "ease-top", "cfgan", "synth", "auto")}
    ref = augment_log(scarcity(s.train, "n5", 0), generator="auto", seed=0, downstream="ease", generator_params=cf,
                      synth_params=sy, keep_candidates=True)
    assert u["selection"]["auto"]["chosen"] == ref.chosen
    assert u["runs"]["ease|auto"]["generated"] == ref.augmented.generated.nnz
    cs = ref.candidates["cfgan"].selection.setting
    assert (u["selection"]["m"], u["selection"]["weight"]) == (cs["m"], cs["weight"])
    rows = analyse(collect(units))
    t = auto_table(rows, units)[0]
    assert t["seeds"] == [0, 1] and len(t["rel_vs_none"]) == 2 and t["best"] != "auto"
    assert t["best_std"] == float(np.std(t["best_values"], ddof=1))
    md = tmp_path / "auto.md"
    grid = tmp_path / "grid" / "units"
    grid.mkdir(parents=True)
    for x in units:
        (grid / f"tiny__n5__s{x['seed']}.json").write_text(json.dumps(x))
    write_report(tmp_path / "grid", md, "test")
    text = md.read_text()
    assert "- tiny n5 (2 seeds, EASE NDCG@10): auto vs no augmentation seed 0: " in text and "| auto |" in text


def test_an_interrupted_auto_unit_resumes_from_its_checkpoint(tmp_path):
    """A unit killed after some of auto's candidates were scored resumes from DIR/checkpoints/ and gives the
    runs of an uninterrupted unit."""
    from recgan.augment.core import scarcity
    from recgan.augment.pipeline import augment_log

    s = RandomHoldout(0.2, 0).split(tiny_data(60, 40, empty_user=False))
    cf, sy = {"epochs": 4, "g_hidden": (16,), "d_hidden": (8,)}, {"epochs": 2, "pretrain_epochs": 3}
    spec = GridSpec(models=["ease"], cfgan_params=cf, synth_params=sy, auto=True)
    plain = run_unit("tiny", "n5", 0, s.train, s.test, spec, log=lambda m: None)
    ckpt = tmp_path / "checkpoints" / "tiny__n5__s0"
    augment_log(scarcity(s.train, "n5", 0), generator="auto", seed=0, downstream="ease", generator_params=cf,
                synth_params=sy, checkpoint=ckpt)  # what the killed unit had kept ...
    for name in ("cfgan", "synth"):  # ... before these two candidates ended
        (ckpt / "candidates" / name / "candidate.json").unlink()
    lines: list[str] = []
    resumed = run_unit("tiny", "n5", 0, s.train, s.test, spec, log=lines.append, checkpoint=ckpt)
    assert sum("kept in the checkpoint" in x for x in lines) == 6  # the carve, ease, itemknn, pop; cfgan and
    assert sum("training continues from epoch" in x for x in lines) == 2  # synth from their last epochs
    assert resumed["selection"]["auto"]["resumed"] == ["carve", "ease", "itemknn", "pop"]
    for key, run in plain["runs"].items():
        assert {k: v for k, v in resumed["runs"][key].items() if k != "seconds"} == \
               {k: v for k, v in run.items() if k != "seconds"}
