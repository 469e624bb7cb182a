#!/usr/bin/env bash
# torchrun with the OpenMMLab launcher variables:  tools/torchrun.sh NUM_PROCESSES SCRIPT [args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT. Runs the `python` on PATH (source .venv/bin/activate
# first) or the interpreter named by PYTHON, as mmagic's scripts do.
set -euo pipefail
usage="usage: $(basename "$0") NUM_PROCESSES SCRIPT [ARGS...]"
if [ $# -lt 2 ]; then echo "$usage" >&2; exit 2; fi
if ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "$(basename "$0"): NUM_PROCESSES must be a positive integer, got '$1'" >&2; exit 2
fi
py="${PYTHON:-python}"
hint="run 'source .venv/bin/activate' first, or set PYTHON=/path/to/python"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "$(basename "$0"): no '$py' on PATH: $hint" >&2; exit 127
fi
if [ "$("$py" -c 'import importlib.util as u; print(u.find_spec("torch") is not None)' 2>/dev/null)" != True ]; then
  echo "$(basename "$0"): '$py' ($(command -v "$py")) has no torch: $hint" >&2; exit 127
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
PYTHONPATH="$root:${PYTHONPATH:-}" exec "$py" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --master_port="${PORT:-29500}" --nproc_per_node="$1" "${@:2}" --launcher pytorch
