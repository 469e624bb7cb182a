#!/usr/bin/env bash
# torchrun with the OpenMMLab launcher variables:  tools/torchrun.sh NUM_PROCESSES SCRIPT [args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT. Uses .venv's python unless PYTHON is set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
NPROC=$1
py="${PYTHON:-$root/.venv/bin/python}"
PYTHONPATH="$root:${PYTHONPATH:-}" exec "$py" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" "${@:2}" --launcher pytorch
