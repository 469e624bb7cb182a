#!/usr/bin/env bash
# Distributed training:  tools/dist_train.sh CONFIG NUM_PROCESSES [tools/train.py args]
# Without CUDA the processes use gloo on CPU. Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.
# Python: the `python` on PATH (source .venv/bin/activate) or PYTHON=/path/to/python.
# Stopping: SIGTERM or SIGUSR1 to this script (it becomes torchrun) or to any worker makes every worker save
# the current iteration and exit 75 (PreemptionHook); torchrun then reports the workers' failure (exit 1,
# "exitcode: 75" per rank) and `--resume` continues. torchrun passes on SIGTERM, SIGINT, SIGHUP and SIGQUIT
# by default; SIGUSR1/2 (sbatch --signal=USR1@300) would end torchrun alone and leave its workers running,
# so they are added here. torchrun kills workers still running TORCH_ELASTIC_SHUTDOWN_TIMEOUT seconds
# (default 30) after passing a signal on: time to finish the iteration and write the checkpoint.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $(basename "$0") CONFIG NUM_PROCESSES [tools/train.py args], e.g. $(basename "$0") CONFIG 4" >&2
  exit 2
fi
if [ ! -f "$1" ]; then echo "$(basename "$0"): config file $1 does not exist" >&2; exit 2; fi
export PET_SIGNALS_TO_HANDLE="${PET_SIGNALS_TO_HANDLE:-SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1,SIGUSR2}"
exec "$(dirname "$0")/torchrun.sh" "$2" "$(dirname "$0")/train.py" "$1" "${@:3}"
