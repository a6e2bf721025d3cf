#!/bin/bash
# Submits a retrospective audit as a Slurm job array of N parts (slurm/audit-array.sbatch) and
# its merge (slurm/merge.sbatch) with --dependency=afterok on the whole array, and prints both
# job ids (docs/slurm.md).
#
#   slurm/submit-retrospective.sh CONFIG.ini N_PARTS[%K] [fssl audit options]
#
# %K runs at most K parts at once. Environment: FSSL_PART_SBATCH / FSSL_MERGE_SBATCH, extra sbatch
# options for every part / for the merge (e.g. FSSL_PART_SBATCH="--ntasks=9 --gpus-per-task=1
# --time=08:00:00"); FSSL, FSSL_RUN_DIR, FSSL_LAUNCHER reach the jobs (sbatch exports the
# environment). The merge's exit code is the audit's verdict (0, 3 findings).
set -euo pipefail
usage="usage: slurm/submit-retrospective.sh CONFIG.ini N_PARTS[%K] [fssl audit options]"
config="${1:?$usage}"
spec="${2:?$usage}"
shift 2
n_parts="${spec%%%*}"
throttle=""
if [[ "$spec" == *%* ]]; then throttle="%${spec#*%}"; fi
if ! [[ "$n_parts" =~ ^[1-9][0-9]*$ ]] || ! [[ "$throttle" =~ ^(%[1-9][0-9]*)?$ ]]; then
  echo "$usage (N_PARTS: a positive count, got '$spec')" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The jobs find slurm/fssl-job.sh here whatever their working directory.
export FSSL_SLURM_DIR="$here"
read -r -a part_options <<<"${FSSL_PART_SBATCH:-}"
read -r -a merge_options <<<"${FSSL_MERGE_SBATCH:-}"

array_id="$(sbatch --parsable --array="0-$((n_parts - 1))$throttle" "${part_options[@]}" \
  "$here/audit-array.sbatch" "$config" "$@")"
array_id="${array_id%%;*}"  # "id;cluster" on multi-cluster sites
# afterok on the array id waits for every task (a requeued task counts when its rerun ends).
# --kill-on-invalid-dep: if a part fails, cancel the merge instead of leaving it pending forever.
if ! merge_id="$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
  "${merge_options[@]}" "$here/merge.sbatch" "$array_id" "$config" "$@")"; then
  echo "array job $array_id submitted, but not its merge; submit it with:" >&2
  echo "  sbatch --dependency=afterok:$array_id $here/merge.sbatch $array_id $config $*" >&2
  exit 1
fi
merge_id="${merge_id%%;*}"
audit_dir="${FSSL_RUN_DIR:-runs/audit-$array_id}"
echo "array job $array_id: $n_parts parts -> $audit_dir/part-0 .. part-$((n_parts - 1)) (logs fssl-audit-part-${array_id}_<i>.out)"
echo "merge job $merge_id (afterok:$array_id) -> $audit_dir/merged (log fssl-merge-$merge_id.out; exit code = verdict)"
