"""``recgan run`` with the default experiment kind (recommenders): still the format of examples/baselines.yaml."""

from __future__ import annotations

import pytest

from recgan.cli.main import main as cli_main
from recgan.data.simulate import simulate, write_log
from recgan.errors import RecganError
from recgan.reports.experiment import Experiment, load_experiment

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
