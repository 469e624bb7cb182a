#!/usr/bin/env bash
# Distributed evaluation:  tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [tools/test.py args]
# Python: the `python` on PATH (source .venv/bin/activate) or PYTHON=/path/to/python.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $(basename "$0") CONFIG CHECKPOINT NUM_PROCESSES [tools/test.py args]" >&2
  exit 2
fi
if [ ! -f "$1" ]; then echo "$(basename "$0"): config file $1 does not exist" >&2; exit 2; fi
if [ ! -f "$2" ]; then echo "$(basename "$0"): checkpoint $2 does not exist" >&2; exit 2; fi
exec "$(dirname "$0")/torchrun.sh" "$3" "$(dirname "$0")/test.py" "$1" "$2" "${@:4}"
