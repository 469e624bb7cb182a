#!/usr/bin/env bash
# Installs everything sagan_plugin needs into .venv/ at the repository root, idempotently.
# A second run with unchanged dependency files returns in seconds (stamp file); after a change it reuses
# what is installed and pip's cache of the compiled mmcv wheel. Why each pin: see setup.cfg.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
py="$venv/bin/python"
pip=("$py" -m pip install --progress-bar off)

# Real data for the demo and the tests: Fashion-MNIST IDX files from Debian (MIT licence).
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi

stamp="$venv/.sagan_plugin_installed"
want="$(cat tools/setup.sh setup.cfg setup.py 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

[ -x "$py" ] || python3 -m venv "$venv"

# 1. torch + torchvision. The registry's torchvision 0.28.0 is built against the CUDA build of torch 2.13.0 and
#    fails to import with a CPU-only torch wheel, which a pip configuration pointing at PyTorch's CPU index (pip.conf,
#    PIP_INDEX_URL) offers first, so this step ignores the local configuration (--isolated). The CUDA build runs on CPU too.
if ! "$py" -c "import torch, torchvision" 2>/dev/null; then
  "${pip[@]}" --isolated "torch==2.13.0" "torchvision==0.28.0"
fi

# 2. mmcv 2.1.0 with its compiled ops (mmagic imports mmcv.ops; mmcv-lite has none). No build isolation, so it
#    compiles against the torch installed above; pip caches the wheel, so this is ~10-25 min once per machine.
#    setuptools<70 still has pkg_resources, which mmcv 2.1.0's setup.py imports; ninja compiles in parallel.
if ! "$py" -c "import mmcv.ops" 2>/dev/null; then
  "${pip[@]}" "setuptools>=64,<70" wheel ninja
  MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" "${pip[@]}" --no-build-isolation "mmcv==2.1.0"
fi

# 3. The package itself with the rest of its pinned dependencies (setup.cfg) and the test/format tools.
"${pip[@]}" --no-build-isolation -e ".[dev]"

echo "$want" >"$stamp"
