#!/usr/bin/env bash
# Stage-2 training speed on a CUDA machine without a package index: before/after the overhead cuts.
#
#   here:   pip wheel --no-deps . -w .whl          (pure Python; the GPU machine has torch, numpy, click, ...)
#   there:  bash scripts/gpu_train_bench.sh .whl OUT_DIR
#
# Installs the wheel into /tmp/site (no deps, no index), then runs scripts/bench_train.py on the full
# SMNet (batch 16, 128x128, bf16): "before" = per-parameter Adam, crops copied from the CPU each step;
# "after" = fused Adam + uint8 images kept on the GPU; "compiled" = after + torch.compile of all three
# nets. Every step is bounded with `timeout`; one line per run lands in OUT_DIR/bench.txt, the
# profiler's top kernels of "before" and "after" in OUT_DIR/prof_*.txt.
set -u
wheels=${1:?wheel folder}
out=${2:?output folder}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$wheels"/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
here=$(cd "$(dirname "$0")" && pwd)
run() {  # name, extra flags...
    local name=$1; shift
    echo "== $name: $*"
    timeout "${BENCH_TIMEOUT:-150}" python3 "$here/bench_train.py" --generator smnet --batch 16 --patch 128 \
        --device cuda --steps 30 --warmup 5 "$@" 2>&1 | grep -E "^(device|step|profile)|Error|error" \
        || echo "$name: failed or timed out"
}
{
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    run before --no-fused --profile "$out/prof_before.txt"
    run after --on-device --profile "$out/prof_after.txt"
    [ "${BENCH_COMPILE:-1}" = 1 ] && run compiled --on-device --compile
} | tee "$out/bench.txt"
