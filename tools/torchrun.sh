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
case "$(basename "$2")" in  # the command the user typed, for the messages below
  train.py) caller=dist_train.sh ;;
  test.py) caller=dist_test.sh ;;
  *) caller="$(basename "$0")" ;;
esac
port="${PORT:-29500}"
if ! [[ "$port" =~ ^[1-9][0-9]{0,4}$ ]] || [ "$port" -gt 65535 ]; then
  echo "$caller: PORT must be a port number (1-65535), got '$port'" >&2; exit 2
fi
# The first node hosts the rendezvous on PORT; taken (another job), torchrun fails with EADDRINUSE deep in a
# traceback. SO_REUSEADDR: a port left in TIME_WAIT by an earlier run is free for torchrun too.
free_port='import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("", int(sys.argv[1])))
except OSError: f = socket.socket(); f.bind(("", 0)); print(f.getsockname()[1]); sys.exit(1)'
if [ "${NODE_RANK:-0}" = 0 ] && ! other="$("$py" -c "$free_port" "$port")"; then
  echo "$caller: port $port is in use (another job?): set PORT=, e.g. PORT=$other tools/$caller ..." >&2
  exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
PYTHONPATH="$root:${PYTHONPATH:-}" exec "$py" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --master_port="$port" --nproc_per_node="$1" "${@:2}" --launcher pytorch
