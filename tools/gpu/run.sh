#!/usr/bin/env bash
# On a lent GPU machine (the device tool): installs .gpu_bundle/ (tools/gpu/make_bundle.sh) over the machine's
# own torch, then runs the steps named as arguments, in order, each under its own time limit, into
# $OUT/run.log:
#   tests              tests/engine/test_cuda.py                                       (> 150 s on an H200)
#   bench:P            bench_train.py --res 128 --batch 64 --rounds 2 --memory-probes 1 (CUDA peaks are exact),
#                      ours in P = fp32 | bf16 (~160 s)
#   bench:P:compile    the same with --compile (inductor), compiling in-process: its compile workers
#                      crashed at 128² on 2026-12-04 ("A compilation subprocess exited unexpectedly")
#   profile:P          profile_step.py at the same size and precision
# The install takes ~30 s and the machine's start ~30 s; a session's lease is 15 minutes in all, so pick:
#   run(command='bash tools/gpu/run.sh tests bench:fp32 profile:bf16', carry=['.gpu_bundle'], timeout_s=600)
set -uo pipefail
out="${OUT:-/tmp/gpu_out}"
mkdir -p "$out"
exec > >(tee "$out/run.log") 2>&1
start=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  .gpu_bundle/wheels/*.whl || exit 1
# mmagic 1.2.0's one use of np.bool8, an alias numpy 2 removed (the machine's scipy needs numpy 2)
sed -i 's/np\.bool8:/np.bool_:/' /tmp/site/mmagic/utils/trans_utils.py
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
data=/usr/share/datasets/fashion-mnist  # where FashionMNIST reads by default; never over a full copy
[ -d $data ] || { mkdir -p $data && cp .gpu_bundle/fashion-mnist/*.gz $data/; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch, numpy, mmcv.ops, mmengine, mmagic, sagan_plugin
print(*(f'{m.__name__} {m.__version__}' for m in (torch, numpy, mmcv, mmagic)))" || exit 1
echo "== installed in $((SECONDS - start)) s"

size=(${GPU_SIZE:---res 128 --batch 64 --device cuda})  # GPU_SIZE: a smaller case, to try this script
for step in "$@"; do
  IFS=: read -r what precision compile <<<"$step"
  case "$what" in
    tests) timeout 240 python3 -m pytest -q -p no:cacheprovider -rA --tb=short tests/engine/test_cuda.py ;;
    bench) timeout 240 env ${compile:+TORCHINDUCTOR_COMPILE_THREADS=1} \
      python3 tools/benchmarks/bench_train.py "${size[@]}" --rounds 2 --memory-probes 1 \
      --precision "$precision" ${compile:+--compile} | grep -v ' - mmengine - INFO - ' ;;
    profile) timeout 120 python3 tools/benchmarks/profile_step.py "${size[@]}" --precision "$precision" ;;
    *) echo "unknown step $step" ;;
  esac
  echo "== $step done at $((SECONDS - start)) s"
done
