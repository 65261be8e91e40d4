"""``recgan run`` with the default experiment kind (recommenders): still the format of examples/baselines.yaml."""

from __future__ import annotations

import json

import pytest

from recgan.cli.main import main as cli_main
from recgan.data.interactions import Interactions
from recgan.data.simulate import simulate, write_log
from recgan.errors import RecganError
from recgan.reports.experiment import Experiment, load_experiment, run_experiment

YAML = """
name: Tiny
output: {out}
datasets:
  - name: shop
    source: {log}
    split: {{method: random, fraction: 0.2, seed: 0}}
models:
  - {{name: pop, label: MostPopular}}
  - {{name: ease, label: EASE, params: {{l2: 50.0}}}}
reference: EASE
seeds: [0]
metrics: [ndcg@10, recall@20]
"""


def test_recommenders_kind_is_the_default_and_runs_end_to_end(tmp_path, capsys):
    log = write_log(simulate(80, 40, 1500, seed=2), tmp_path / "log.tsv")
    f = tmp_path / "exp.yaml"
    f.write_text(YAML.format(out=tmp_path / "section.md", log=log))
    exp = load_experiment(f)
    assert isinstance(exp, Experiment) and exp.kind == "recommenders"
    assert cli_main(["run", str(f)]) == 0
    text = (tmp_path / "section.md").read_text()
    assert text.startswith("## Tiny") and "| MostPopular |" in text and "p vs EASE" in text
    assert (tmp_path / "section.json").exists() and "| EASE |" in capsys.readouterr().out


@pytest.mark.parametrize("edit, field", [
    (("name: Tiny", "name: Tiny\ncolour: red"), "'colour'"),
    (("reference: EASE", "reference: EASE\nkind: recommender"), "'kind'"),
    (("{name: pop, label: MostPopular}", "{name: pop, lable: x}"), "models.0.lable"),
])
def test_bad_recommender_files_name_the_field(tmp_path, edit, field):
    f = tmp_path / "exp.yaml"
    f.write_text(YAML.format(out="s.md", log="log.tsv").replace(*edit))
    with pytest.raises(RecganError, match=field):
        load_experiment(f)


AUGMENTED = YAML.replace("    split: {{method: random, fraction: 0.2, seed: 0}}",
                         "    split: {{method: random, fraction: 0.2, seed: 0}}\n    augment: {gen}")


def test_augment_key_augments_train_before_the_models(tmp_path):
    log = write_log(simulate(80, 40, 1500, seed=2), tmp_path / "log.tsv")
    f = tmp_path / "exp.yaml"
    f.write_text(AUGMENTED.format(out=tmp_path / "section.md", log=log, gen="pop"))
    assert cli_main(["run", str(f)]) == 0
    text = (tmp_path / "section.md").read_text()
    assert "Train augmented before fitting (generator pop, seed 0): pop, " in text and "| EASE |" in text
    summary = json.loads((tmp_path / "section.json").read_text())["augmented"]["shop"]
    assert summary["chosen"] == "pop" and summary["generated"] > 0 and summary["densify"]["m"] >= 1


def test_augmented_train_is_what_augment_log_gives_and_test_excludes_real_items_only(tmp_path):
    from recgan.augment.pipeline import augment_log
    from recgan.reports.experiment import augment_train

    data = Interactions.from_frame(simulate(80, 40, 1500, seed=2), target="buy")
    train, exclude, summary = augment_train(data, "itemknn", 0, log=lambda m: None)
    ref = augment_log(data, generator="itemknn", seed=0, max_user_items=20).augmented
    assert (train.X != ref.data.X).nnz == 0 and summary["generated"] == ref.generated.nnz > 0
    assert (exclude != ref.real.binary()).nnz == 0 and exclude.nnz < train.X.nnz


@pytest.mark.parametrize("edit, message", [
    (("{name: ease, label: EASE, params: {l2: 50.0}}", "{name: ease, label: EASE, tune: true}"), "tune: true"),
    (("{name: pop, label: MostPopular}", "{name: bpr, label: BPR}"), "early_stopping"),
])
def test_augmented_data_sets_refuse_a_carve_of_their_train(tmp_path, edit, message):
    log = write_log(simulate(80, 40, 1500, seed=2), tmp_path / "log.tsv")
    f = tmp_path / "exp.yaml"
    f.write_text(AUGMENTED.format(out=tmp_path / "s.md", log=log, gen="auto").replace(*edit))
    with pytest.raises(RecganError, match=message):
        run_experiment(load_experiment(f), tmp_path, "recgan run exp.yaml", log=lambda m: None)
    assert not (tmp_path / "s.md").exists()


def test_augment_key_names_the_generators(tmp_path):
    f = tmp_path / "exp.yaml"
    f.write_text(AUGMENTED.format(out="s.md", log="log.tsv", gen="gan"))
    with pytest.raises(RecganError, match="augment must be one of auto, cfgan"):
        load_experiment(f)


def test_a_json_output_path_is_refused_before_any_work(tmp_path):
    exp = Experiment(name="x", datasets=[{"name": "gone", "train": "no/train.tsv", "test": "no/test.tsv"}],
                     models=[{"name": "pop"}], output=str(tmp_path / "section.json"))
    with pytest.raises(RecganError, match="would overwrite it"):
        run_experiment(exp, tmp_path, "recgan run x.yaml", log=lambda m: None)
    assert list(tmp_path.iterdir()) == []
