#!/usr/bin/env bash
# Distributed training:  tools/dist_train.sh CONFIG NUM_PROCESSES [tools/train.py args]
# Without CUDA the processes use gloo on CPU. Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -euo pipefail
exec "$(dirname "$0")/torchrun.sh" "$2" "$(dirname "$0")/train.py" "$1" "${@:3}"
