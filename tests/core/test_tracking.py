"""Optional MLflow / TensorBoard tracking of the training loop, tested with a fake ``mlflow`` module (the real
package is large and not a test dependency)."""

from __future__ import annotations

import sys
import types

import pytest

from recgan.cli.main import main as cli_main
from recgan.core import tracking
from recgan.core.trainer import TrainingOptions
from recgan.data.simulate import simulate, write_log
from recgan.testing import tiny_data
from recgan.training.fitting import fit_model

PARAMS = {"factors": 8, "epochs": 4, "eval_every": 1, "patience": 0, "batch_size": 64, "seed": 0}


class FakeMlflow(types.ModuleType):
    """Records every call the tracker makes."""

    def __init__(self) -> None:
        super().__init__("mlflow")
        self.calls: list[tuple[str, tuple, dict]] = []
        for name in ("set_experiment", "start_run", "log_params", "log_metrics", "log_artifact", "end_run"):
            setattr(self, name, self._recorder(name))

    def _recorder(self, name: str):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return object()

        return record

    def named(self, name: str) -> list[tuple[tuple, dict]]:
        return [(a, k) for n, a, k in self.calls if n == name]


@pytest.fixture
def fake_mlflow(monkeypatch):
    fake = FakeMlflow()
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    return fake


def test_mlflow_run_gets_params_epochs_best_metric_and_curves(fake_mlflow, tmp_path):
    png = tmp_path / "curves.png"
    res = fit_model("bpr", tiny_data(), PARAMS, refit=False,
                    options=TrainingOptions(**{"progress": False, "mlflow_experiment": "demo-exp", "plot_path": str(png)}),
                    log=lambda m: None)
    names = [n for n, _, _ in fake_mlflow.calls]
    assert names[:3] == ["set_experiment", "start_run", "log_params"] and names[-1] == "end_run"
    assert fake_mlflow.named("set_experiment")[0][0] == ("demo-exp",)
    assert fake_mlflow.named("start_run")[0][1]["run_name"] == "bpr (validation carve)"
    params = fake_mlflow.named("log_params")[0][0][0]
    assert params["factors"] == "8" and params["epochs"] == "4"
    per_epoch = [(a[0], k["step"]) for a, k in fake_mlflow.named("log_metrics") if "step" in k]
    assert [step for _, step in per_epoch] == [1, 2, 3, 4]
    assert all("val_ndcg_at_20" in m and "loss" in m for m, _ in per_epoch)
    final = [a[0] for a, k in fake_mlflow.named("log_metrics") if "step" not in k]
    assert final[0]["best_val_ndcg_at_20"] == pytest.approx(res.model.info["training"]["best_val"])
    assert fake_mlflow.named("log_artifact")[0][0] == (str(png),) and png.is_file()
    assert fake_mlflow.named("end_run")[0][1] == {"status": "FINISHED"}


def test_recgan_train_mlflow_flag_logs_the_carve_and_the_refit(fake_mlflow, tmp_path, capsys):
    data = write_log(simulate(60, 30, 900, seed=1), tmp_path / "log.tsv")
    rc = cli_main(["train", "--train", str(data), "--model", "bpr", "--epochs", "2", "--param", "factors=8",
                   "--param", "eval_every=1", "--quiet", "--mlflow", "cli-exp", "--out", str(tmp_path / "m")])
    assert rc == 0, capsys.readouterr().err
    runs = [k["run_name"] for _, k in fake_mlflow.named("start_run")]
    assert runs == ["bpr (validation carve)", "bpr (all of train)"]
    assert len(fake_mlflow.named("end_run")) == 2 and len(fake_mlflow.named("log_artifact")) == 2


def test_a_failing_epoch_ends_the_run_as_failed(fake_mlflow, monkeypatch):
    from recgan.models.bpr import BPR

    def boom(self, epoch):
        raise RuntimeError("boom")

    monkeypatch.setattr(BPR, "train_epoch", boom)
    with pytest.raises(RuntimeError, match="boom"):
        fit_model("bpr", tiny_data(), PARAMS, options=TrainingOptions(**{"progress": False, "mlflow_experiment": "x"}),
                  log=lambda m: None)
    assert fake_mlflow.named("end_run")[-1][1] == {"status": "FAILED"}


def test_mlflow_missing_warns_once_and_training_continues(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    monkeypatch.setattr(tracking, "_WARNED", set())
    for _ in range(2):
        res = fit_model("bpr", tiny_data(), PARAMS, options=TrainingOptions(**{"progress": False, "mlflow_experiment": "x"}),
                        log=lambda m: None)
        assert res.model.info["training"]["epochs_run"] >= 1
    err = capsys.readouterr().err
    assert err.count("mlflow package is not installed") == 1 and "training continues" in err


def test_names_are_made_acceptable_to_mlflow():
    assert tracking.mlflow_name("val_ndcg@20") == "val_ndcg_at_20"
    assert tracking.mlflow_name("a(b)") == "a_b_"
    assert tracking.scalars({"epoch": 3, "loss": 0.5, "n": 2, "nan_in": ["loss"], "x": "s"}) == {"loss": 0.5, "n": 2}
    assert tracking.open_trackers(None, None, "run", {}) == []


def test_tensorboard_and_mlflow_get_the_same_scalars(fake_mlflow, monkeypatch, tmp_path):
    written: list[tuple[str, float, int]] = []

    class Writer:
        def __init__(self, folder):
            self.folder = folder

        def add_scalar(self, key, value, step):
            written.append((key, value, step))

        def close(self):
            written.append(("closed", 0.0, 0))

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    fit_model("bpr", tiny_data(), PARAMS, refit=False, log=lambda m: None,
              options=TrainingOptions(**{"progress": False, "mlflow_experiment": "x", "tensorboard_dir": str(tmp_path)}))
    assert written[-1][0] == "closed"
    tb = {(tracking.mlflow_name(k), step): v for k, v, step in written[:-1]}
    ml = {(k, kw["step"]): v for a, kw in fake_mlflow.named("log_metrics") if "step" in kw for k, v in a[0].items()}
    assert tb == ml and len(tb) > 8
