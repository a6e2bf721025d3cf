#!/bin/bash
# Retrospective audit job spec: one calendar quarter of traffic as a Slurm job array of N parts
# plus the merge (slurm/submit-retrospective.sh) with configs/retrospective-quarter.ini:
#
#   jobs/retrospective-quarter.sh YYYYQn [N_PARTS[%K]] [fssl audit options]     # e.g. 2025Q3 16%4
#
# The window is [first day of the quarter, first day of the next) in UTC. The run directory is
# runs/retrospective-<quarter> (parts part-0..part-<N-1>, merged/): resubmitting the quarter with
# the same N resumes its parts. Environment: FSSL_CONFIG, FSSL_PART_SBATCH, FSSL_MERGE_SBATCH,
# FSSL, FSSL_RUN_DIR. Prints the array's and the merge's job ids; the merge's exit code is the
# quarter's verdict (0 clean, 3 findings).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage="usage: jobs/retrospective-quarter.sh YYYYQn [N_PARTS[%K]] [fssl audit options]"
quarter="${1:?$usage}"
shift
if ! [[ "$quarter" =~ ^([0-9]{4})Q([1-4])$ ]]; then
  echo "$usage (quarter like 2025Q3, got '$quarter')" >&2
  exit 2
fi
first_month=$(((BASH_REMATCH[2] - 1) * 3 + 1))
from="$(printf '%s-%02d-01' "${BASH_REMATCH[1]}" "$first_month")"
to="$(date -u -d "$from + 3 months" +%F)"
parts=8
if [[ "${1:-}" =~ ^[0-9]+(%[0-9]+)?$ ]]; then
  parts="$1"
  shift
fi
export FSSL_RUN_DIR="${FSSL_RUN_DIR:-runs/retrospective-$quarter}"
echo "retrospective audit of $quarter: [$from, $to) in $parts parts -> $FSSL_RUN_DIR"
exec "$root/slurm/submit-retrospective.sh" "${FSSL_CONFIG:-$root/configs/retrospective-quarter.ini}" "$parts" \
  --time-from "${from}T00:00:00Z" --time-to "${to}T00:00:00Z" "$@"
