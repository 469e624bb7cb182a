#!/usr/bin/env bash
# Builds, here, what a lent GPU machine needs to run the CUDA tests and tools/benchmarks/bench_train.py:
# .gpu_bundle/ (git-ignored through .git/info/exclude), which `run` carries (64 MiB with the working tree).
# That machine (../shared/ENVIRONMENT.md, last section) has Python 3.12, torch 2.11.0+cu130, numpy 2 and no
# package registry. Then, on the device tool: run(command='bash tools/gpu/run.sh STEP…', carry=['.gpu_bundle'])
# (run.sh's header lists the steps).
#
#   PYTHON312=~/.pyenv/versions/3.12.1/bin/python bash tools/gpu/make_bundle.sh    # ~12 min once (mmcv); 27 MB
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
py312="${PYTHON312:-python3.12}"
out=.gpu_bundle
grep -qx '/.gpu_bundle/' .git/info/exclude 2>/dev/null || echo /.gpu_bundle/ >>.git/info/exclude
mkdir -p "$out/wheels" "$out/fashion-mnist"

# 1. The host stack with setup.cfg's pins, as cp312 wheels, and what mmagic imports at start-up that the machine
#    lacks. Not numpy 1.26 (setup.cfg's pin): the machine's scipy is built for numpy 2 (1.18 in a replica here
#    failed on numpy 1.26), so tools/gpu/run.sh rewrites mmagic's one np.bool8 instead. opencv, pandas and the
#    rest are the machine's own.
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
python3 -m pip download -q --isolated --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d "$out/wheels" mmengine==0.10.7 mmagic==1.2.0 addict yapf platformdirs termcolor \
  "transformers<4.46" "tokenizers<0.21" "huggingface_hub<0.26" diffusers==0.24.0 torch-fidelity==0.4.0 \
  lpips resize-right "albumentations<2" albucore==0.0.23 stringzilla simsimd pydantic==2.11.7 \
  pydantic_core==2.33.2 annotated-types typing-inspection

# 2. mmcv 2.1.0 compiled against the machine's torch (the same 2.11.0+cu130 wheel, in a Python 3.12 venv
#    here): its CPU ops are what mmagic imports. ~10 min on 2 cores here against minutes of the lease there.
if ! ls "$out"/wheels/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
  venv=/tmp/sagan_gpu_build_venv
  [ -x "$venv/bin/python" ] || "$py312" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --isolated torch==2.11.0 "setuptools<70" wheel ninja
  MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" "$venv/bin/python" -m pip wheel -q --isolated --no-deps \
    --no-build-isolation -w /tmp/sagan_gpu_mmcv mmcv==2.1.0
  # Without its debug information the compiled ops shrink from 83 MB to 2 MB.
  rm -rf /tmp/sagan_gpu_mmcv/unpacked && "$venv/bin/python" -m wheel unpack -d /tmp/sagan_gpu_mmcv/unpacked \
    /tmp/sagan_gpu_mmcv/mmcv-2.1.0-*.whl
  strip --strip-unneeded /tmp/sagan_gpu_mmcv/unpacked/mmcv-2.1.0/mmcv/_ext.*.so
  "$venv/bin/python" -m wheel pack -d "$out/wheels" /tmp/sagan_gpu_mmcv/unpacked/mmcv-2.1.0
fi

# 3. The first 1,000 training and test images of Fashion-MNIST (the tests and the benchmark read <= 100).
python3 - "$out/fashion-mnist" <<'PY'
import gzip, struct, sys
src, dst, keep = '/usr/share/datasets/fashion-mnist', sys.argv[1], 1000
for name in ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'):
    raw = gzip.open(f'{src}/{name}.gz').read()
    ndim = raw[3]
    shape = struct.unpack(f'>{ndim}I', raw[4:4 + 4 * ndim])
    item = 1 if ndim == 1 else shape[1] * shape[2]
    header = raw[:4] + struct.pack(f'>{ndim}I', keep, *shape[1:])
    gzip.open(f'{dst}/{name}.gz', 'wb').write(header + raw[4 + 4 * ndim:4 + 4 * ndim + keep * item])
PY
du -sh "$out"
