#!/bin/bash
# Nightly audit job spec: submits slurm/audit.sbatch for one UTC day of traffic (default:
# yesterday) with configs/nightly-audit.ini; run it from cron after midnight, from the directory
# that should hold runs/ and the logs:
#
#   jobs/nightly-audit.sh [YYYY-MM-DD] [fssl audit options]
#
# The run directory is runs/nightly-<day>: resubmitting a day resumes its audit instead of starting
# over. Environment: FSSL_CONFIG (another config), FSSL_SBATCH (extra sbatch options, e.g.
# "--ntasks=9 --gpus-per-task=1"), FSSL, FSSL_RUN_DIR. Prints the job id.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
day="$(date -u -d yesterday +%F)"
if [[ "${1:-}" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
  day="$1"
  shift
fi
# date validates the day (2025-02-30 fails) and gives the next one: the window is [day, day + 1).
next="$(date -u -d "$day + 1 day" +%F)"
export FSSL_RUN_DIR="${FSSL_RUN_DIR:-runs/nightly-$day}"
read -r -a sbatch_options <<<"${FSSL_SBATCH:-}"
job="$(sbatch --parsable --job-name=fssl-nightly "${sbatch_options[@]}" "$root/slurm/audit.sbatch" \
  "${FSSL_CONFIG:-$root/configs/nightly-audit.ini}" --time-from "${day}T00:00:00Z" --time-to "${next}T00:00:00Z" "$@")"
job="${job%%;*}"
echo "nightly audit of $day: job $job -> $FSSL_RUN_DIR (log fssl-audit-$job.out; exit 0 clean, 3 findings)"
