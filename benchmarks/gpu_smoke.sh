#!/usr/bin/env bash
# GPU smoke check: every torch model of recgan trains for a few epochs on CUDA (fp32, and bf16 autocast where
# the model has it), is saved, loaded and scored by `recgan evaluate`; the behaviour synthesizer fits on CUDA
# and samples. Prints one PASS / FAIL line per case and exits non-zero when any case fails. Needs a CUDA
# machine; nothing in CI runs it (CI has no GPU). Data: ml-100k-p1 from the shared splits.
#
#   bash benchmarks/gpu_smoke.sh [WORK]
#
# Environment: DEVICE (default: cuda; cpu dry-runs the cases here), PYTHON (default: python3), SPLITS (default: ../shared/benchmarks/splits from the repo root).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
SPLIT="${SPLITS:-$ROOT/../shared/benchmarks/splits}/ml-100k-p1"
WORK="${1:-$(mktemp -d)}"
DEVICE="${DEVICE:-cuda}"
mkdir -p "$WORK"
if [[ "$DEVICE" == cuda* ]]; then
    "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_smoke: CUDA is not available')" || exit 2
    "$PYTHON" -c "import torch; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
fi
fails=0
declare -A NDCG  # fp32 NDCG@10 per case: a bf16 case must reach 0.9 x its fp32 twin
run_case() {  # name, then the recgan train arguments
    local name="$1"; shift
    local out="$WORK/$name" t0=$SECONDS
    if "$PYTHON" -m recgan train --train "$SPLIT/train.tsv" --device "$DEVICE" --no-early-stopping --quiet --seed 0 \
            --out "$out" "$@" >"$WORK/$name.log" 2>&1 \
        && "$PYTHON" -m recgan evaluate --model "$out" --test "$SPLIT/test.tsv" -k 10 >>"$WORK/$name.log" 2>&1; then
        local ndcg; ndcg=$(grep -o 'ndcg@10 *[0-9.]*' "$WORK/$name.log" | head -1 | awk '{print $2}')
        NDCG[$name]=$ndcg
        local base=${NDCG[${name%-bf16}]:-}
        if [[ "$name" == *-bf16 && -n "$base" ]] && awk -v a="$ndcg" -v b="$base" 'BEGIN {exit !(a < 0.9 * b)}'; then
            echo "FAIL $name ($((SECONDS - t0)) s): ndcg@10 $ndcg, below 0.9 x fp32's $base"; fails=$((fails + 1))
        else
            echo "PASS $name ($((SECONDS - t0)) s): ndcg@10 $ndcg"
        fi
    else
        echo "FAIL $name ($((SECONDS - t0)) s):"; tail -n 8 "$WORK/$name.log"; fails=$((fails + 1))
    fi
}
run_case cfgan --model cfgan --preset paper-ml100k --epochs 5
run_case cfgan-bf16 --model cfgan --preset paper-ml100k --epochs 5 --param precision=bf16
run_case cfgan-user --model cfgan --param mode=user --param noise_dim=16 --epochs 3
run_case cfgan-large --model cfgan-large --epochs 3
run_case bpr --model bpr --epochs 3
run_case apr --model apr --epochs 3 --param pretrain_epochs=2
run_case irgan --model irgan --epochs 2 --param g_pretrain_epochs=1 --param d_pretrain_epochs=1
run_case multvae --model multvae --epochs 3
run_case multvae-bf16 --model multvae --epochs 3 --param precision=bf16
run_case ease-gan --model ease-gan --epochs 3
t0=$SECONDS
if "$PYTHON" -m recgan synth fit --train "$SPLIT/train.tsv" --epochs 2 --temperature 1 --param device="$DEVICE" --seed 0 \
        --out "$WORK/synth" >"$WORK/synth.log" 2>&1 \
    && "$PYTHON" -m recgan synth sample --model "$WORK/synth" --n-users 500 --seed 1 --out "$WORK/synth.tsv" \
        >>"$WORK/synth.log" 2>&1; then
    echo "PASS synth-gan ($((SECONDS - t0)) s): sampled $(wc -l <"$WORK/synth.tsv") lines"
else
    echo "FAIL synth-gan ($((SECONDS - t0)) s):"; tail -n 8 "$WORK/synth.log"; fails=$((fails + 1))
fi
echo "gpu_smoke: $fails failure(s)"
exit $((fails > 0))
