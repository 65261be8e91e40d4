#!/usr/bin/env bash
# GPU check (issue 8, item 3): train CFGAN on ml-1m-p1 on CUDA with bf16 autocast, print seconds per epoch
# and test accuracy. Needs a CUDA machine; fails with a clear message otherwise. Nothing in CI runs it.
#
#   bash benchmarks/gpu_check.sh [EPOCHS] [EXTRA recgan train ARGS...]
#
# Environment: PYTHON (default: python), SPLITS (default: ../shared/benchmarks/splits from the repo root),
# WORK (default: a temporary folder, removed at the end).
set -euo pipefail

EPOCHS="${1:-20}"
shift || true
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python}"
SPLITS="${SPLITS:-$ROOT/../shared/benchmarks/splits}"
SPLIT="$SPLITS/ml-1m-p1"

if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: CUDA is not available to $PYTHON (torch.cuda.is_available() is False); run this on a GPU machine" >&2
    exit 2
fi
for f in train.tsv test.tsv; do
    [[ -f "$SPLIT/$f" ]] || { echo "gpu_check: missing $SPLIT/$f (set SPLITS=...)" >&2; exit 2; }
done
"$PYTHON" -c "import torch; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"

WORK="${WORK:-$(mktemp -d)}"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$WORK"' EXIT
MODEL="$WORK/cfgan-ml1m"

# the authors' ML-1M settings, fixed epoch count on all of train (no validation carve), bf16 autocast
start=$(date +%s.%N)
"$PYTHON" -m recgan train --train "$SPLIT/train.tsv" --model cfgan --preset paper-ml1m --epochs "$EPOCHS" \
    --device cuda --param precision=bf16 --no-early-stopping --quiet --out "$MODEL" "$@"
end=$(date +%s.%N)

"$PYTHON" - "$MODEL" "$start" "$end" <<'EOF'
import json, sys
from pathlib import Path

folder, start, end = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
epochs = [json.loads(line) for line in (folder / "training_log.jsonl").read_text().splitlines() if line.strip()]
secs = [e["seconds"] for e in epochs]
steady = secs[1:] or secs
print(f"epochs: {len(secs)}  first epoch: {secs[0]:.3f} s  mean of the rest: {sum(steady) / len(steady):.3f} s/epoch"
      f"  (wall for train command incl. loading: {end - start:.1f} s)")
EOF
"$PYTHON" -m recgan evaluate --model "$MODEL" --test "$SPLIT/test.tsv" -k 10,20
