#!/usr/bin/env bash
# Distributed training:  tools/dist_train.sh CONFIG NUM_PROCESSES [tools/train.py args]
# Without CUDA the processes use gloo on CPU. Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.
# Python: the `python` on PATH (source .venv/bin/activate) or PYTHON=/path/to/python.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $(basename "$0") CONFIG NUM_PROCESSES [tools/train.py args], e.g. $(basename "$0") CONFIG 4" >&2
  exit 2
fi
if [ ! -f "$1" ]; then echo "$(basename "$0"): config file $1 does not exist" >&2; exit 2; fi
exec "$(dirname "$0")/torchrun.sh" "$2" "$(dirname "$0")/train.py" "$1" "${@:3}"
