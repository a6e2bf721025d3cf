#!/bin/bash
# Capacity-plan job spec: submits slurm/capacity-plan.sbatch with configs/capacity-plan.ini (the
# verifier's rate measured by fssl bench prefill on the node the job lands on, then fssl plan):
#
#   jobs/capacity-plan.sh [fssl plan options]        # e.g. --sampling-fraction 0.001
#
# Environment: FSSL_CONFIG, FSSL_SBATCH (e.g. "--partition=gpu --gpus=1"), FSSL, FSSL_RUN_DIR.
# Prints the job id; the plan lands in runs/capacity-plan-<job id>/plan.txt and plan.json.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a sbatch_options <<<"${FSSL_SBATCH:-}"
job="$(sbatch --parsable "${sbatch_options[@]}" "$root/slurm/capacity-plan.sbatch" \
  "${FSSL_CONFIG:-$root/configs/capacity-plan.ini}" "$@")"
job="${job%%;*}"
echo "capacity plan: job $job -> ${FSSL_RUN_DIR:-runs/capacity-plan-$job} (log fssl-capacity-plan-$job.out)"
