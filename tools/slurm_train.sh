#!/usr/bin/env bash
# Training on a Slurm cluster, as mmagic's tools/slurm_train.sh:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] [PYTHON=python] \
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py args]
# srun starts GPUS tasks (one per GPU); each runs tools/train.py --launcher slurm, which reads the rank and
# world size from Slurm's variables. PYTHON is the interpreter the tasks run (default: python on PATH).
#
# Time limits and preemption. On SIGTERM or SIGUSR1 every task saves the iteration it is at and exits 75
# (PreemptionHook). Have Slurm send the signal to the job steps some minutes before the end (not with "B:",
# which signals only this script and ends it), and let the job be requeued:
#   sbatch --requeue --signal=USR1@300 -p PARTITION --gres=gpu:8 --ntasks=8 \
#     --wrap "tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR"
# * Exit code 75 inside a batch job: `scontrol requeue $SLURM_JOB_ID` puts the job back in the queue, and it
#   runs this script again with the same arguments. Started from a login node (srun's own allocation, which
#   cannot be requeued) or if the requeue fails, it says how to continue and exits 75.
# * A requeued job adds --resume when SLURM_RESTART_COUNT > 0 *and* WORK_DIR holds a checkpoint
#   (last_checkpoint or iter_*.pth). A checkpoint alone is not enough: a new job in a used WORK_DIR would
#   silently continue another run (tools/train.py refuses that instead). The count alone is not enough: a job
#   requeued before its first checkpoint (node failure, preempted while loading data) has nothing to resume
#   and starts from iteration 0. The same holds when Slurm requeues the job itself (PreemptMode=REQUEUE).
# * scancel signals this script too, which ends it: a cancelled job is not requeued.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py args]" >&2
  exit 2
fi
export MASTER_PORT=${MASTER_PORT:-$((12000 + RANDOM % 20000))}
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
read -r -a SRUN_ARGS <<<"${SRUN_ARGS:-}"  # split like a shell word list, as mmagic's unquoted expansion
TOOLS="$(cd "$(dirname "$0")" && pwd)"

PREEMPTED=75  # PreemptionHook's exit code: the checkpoint of the last iteration is saved
TRAIN_ARGS=("${@:5}")
RESTARTS=${SLURM_RESTART_COUNT:-0}
if ! [[ "$RESTARTS" =~ ^[0-9]+$ ]]; then
  echo "$0: SLURM_RESTART_COUNT must be a number, got '$RESTARTS'" >&2
  exit 2
fi
if [ "$RESTARTS" -gt 0 ]; then
  if [ -f "$WORK_DIR/last_checkpoint" ] || compgen -G "$WORK_DIR/iter_*.pth" >/dev/null; then
    echo "$0: restart $RESTARTS of job ${SLURM_JOB_ID:-?}: resuming from the checkpoints in $WORK_DIR" >&2
    TRAIN_ARGS+=(--resume)  # the last --resume wins: a --resume PATH given for the first run is passed over
  else
    echo "$0: restart $RESTARTS of job ${SLURM_JOB_ID:-?}: no checkpoint in $WORK_DIR yet; starting from" \
      "iteration 0" >&2
  fi
fi

CODE=0
PYTHONPATH="$(dirname "$TOOLS")${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    "${SRUN_ARGS[@]}" \
    "${PYTHON:-python}" -u "$TOOLS/train.py" "${CONFIG}" --work-dir="${WORK_DIR}" --launcher=slurm \
    "${TRAIN_ARGS[@]}" || CODE=$?
set +x
if [ "$CODE" -ne "$PREEMPTED" ]; then exit "$CODE"; fi
CONTINUE="run the same command again with --resume to continue from the checkpoint in $WORK_DIR"
if [ -z "${SLURM_JOB_ID:-}" ]; then
  echo "$0: training was preempted (exit $PREEMPTED); outside a batch job nothing requeues it: $CONTINUE" >&2
elif scontrol requeue "$SLURM_JOB_ID"; then
  echo "$0: training was preempted (exit $PREEMPTED): requeued job $SLURM_JOB_ID, which resumes from" \
    "$WORK_DIR" >&2
else
  echo "$0: training was preempted (exit $PREEMPTED) and job $SLURM_JOB_ID could not be requeued (a batch" \
    "job submitted with sbatch --requeue can be): $CONTINUE" >&2
fi
exit "$PREEMPTED"
