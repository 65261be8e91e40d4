#!/usr/bin/env bash
# The issue's three `recgan synth` commands, as written, on ml-100k's u.data cut to user<TAB>item with 20 % of
# the users (seeded) held out whole. Prints the report's summary (docs/privacy.md quotes it).
#   bash benchmarks/dev/synth_cli_check.sh [WORKDIR]
set -euo pipefail
W=${1:-/tmp/synth-cli}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W"
cut -f1,2 "$HERE/../../../shared/datasets/ml-100k/u.data" > "$W/all.tsv"
python - "$W" <<'PY'
import sys

import numpy as np
import pandas as pd

w = sys.argv[1]
df = pd.read_csv(f"{w}/all.tsv", sep="\t", header=None)
users = np.sort(df[0].unique())
held = set(np.random.default_rng(0).choice(users, round(0.2 * len(users)), replace=False).tolist())
df[~df[0].isin(held)].to_csv(f"{w}/train.tsv", sep="\t", header=False, index=False)
df[df[0].isin(held)].to_csv(f"{w}/holdout.tsv", sep="\t", header=False, index=False)
print(f"{len(users) - len(held)} training users, {len(held)} held out")
PY
N=$(cut -f1 "$W/train.tsv" | sort -u | wc -l)
start=$(date +%s)
recgan synth fit --train "$W/train.tsv" --seed 0 --out "$W/gen"
fit_s=$(( $(date +%s) - start ))
recgan synth sample --model "$W/gen" --n-users "$N" --seed 1 --out "$W/synthetic.tsv"
recgan synth report --train "$W/train.tsv" --holdout "$W/holdout.tsv" --synthetic "$W/synthetic.tsv" --out "$W/report"
python - "$W" "$fit_s" <<'PY'
import json
import sys

w, fit_s = sys.argv[1], sys.argv[2]
rep = json.loads(open(f"{w}/report/report.json").read())
meta = json.loads(open(f"{w}/gen/synth.json").read())
print(f"fit (incl. the temperature choice): {fit_s} s; temperature {meta['config']['temperature']}")
for name, row in rep["summary"].items():
    keep = ("utility_ease_ratio", "utility_itemknn_ratio", "popularity_spearman", "longtail_coverage",
            "exact_copy_rate", "dcr_p", "mia_auc", "canaries_reproduced")
    print(name, {k: round(row[k], 3) for k in keep if isinstance(row.get(k), (int, float))})
PY
