#!/usr/bin/env bash
# CFGAN on ml-1m-p1 with the authors' unchanged ML-1M settings (preset paper-ml1m-es: lr 1e-4 / 5e-5, batch
# 256 / 512, steps 1 / 1, at most 1500 epochs, validation every 10, patience 5) under the honest protocol
# (early stopping on a validation carve of train, refit on all of train, test read once), seeds 0, 1, 2 in
# parallel on one CUDA GPU. On the 2-core CPU box this is ~85 min per fit, twice per seed; that is why the
# CPU table runs ml-1m-p1 with 10x learning rates. Writes ml-1m-p1-faithful-s{0,1,2}.json into WORK; copy them
# into the CPU benchmark's --work folder and rewrite the report there with
#   python benchmarks/cfgan.py <the command in 20-cfgan.md> --ml1m-faithful-seeds 3 --device cuda --report-only
#
#   bash benchmarks/cfgan_ml1m_gpu.sh WORK
#
# Environment: PYTHON (default python3), RECGAN_SHARED (a copy of ../shared holding benchmarks/splits/ml-1m-p1).
set -euo pipefail
WORK="${1:?usage: cfgan_ml1m_gpu.sh WORK}"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'cfgan_ml1m_gpu: CUDA is not available')"
"$PYTHON" -c "import torch; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
mkdir -p "$WORK"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}" "$PYTHON" benchmarks/cfgan.py --honest paper --only ml-1m-p1-faithful \
    --ml1m-faithful-seeds 3 --device cuda --jobs 3 --seeds 0,1,2 --work "$WORK"
