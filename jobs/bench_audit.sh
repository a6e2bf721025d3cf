#!/usr/bin/env bash
# Audit throughput and coordinator overhead, side by side in one run (docs/performance.md).
# For each model preset: simulate an archive once, then audit the same sample with mpirun -np 3
# (a coordinator + 2 worker groups of 1 rank) at several token budgets, and print verified
# output tok/s, tok/s with prompts, and the worker groups' utilisation (1 - utilisation is the
# time a group waits on the coordinator, the network and the file system rather than replaying).
#   jobs/bench_audit.sh [presets (tiny,small)] [budgets (1,256,2048,8192)] [ranks (3)]
# Budget 1 puts one message in each batch: no packing, the per-message path, for comparison.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fssl="${FSSL_BUILD_DIR:-$root/build}/fssl"
presets="${1:-tiny,small}"
budgets="${2:-1,256,2048,8192}"
ranks="${3:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMPI_MCA_btl="${OMPI_MCA_btl:-self,vader}" OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}" OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
printf "%-7s %7s %9s %14s %16s %12s\n" preset budget messages "out tok/s" "tok/s w/ prompt" "groups busy"
for preset in ${presets//,/ }; do
  "$fssl" model init --arch llama --preset "$preset" --seed 1 --out "$work/$preset-model" > /dev/null
  "$fssl" simulate --model "$work/$preset-model" --out "$work/$preset-archive" --messages 240 --max-tokens 64 \
    --shard-messages 80 --threads 2 --seed 2 > /dev/null 2>&1
  for budget in ${budgets//,/ }; do
    out="$work/$preset-$budget"
    mpirun --oversubscribe -np "$ranks" "$fssl" audit --archive "$work/$preset-archive" --model "$work/$preset-model" \
      --out "$out" --sample 240 --token-budget "$budget" --threads 1 --progress-seconds 1000 > "$out.log" 2>&1 || true
    /usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1] + "/summary.json"))["timing"]
print("%-7s %7s %9d %14.0f %16.0f %11.1f%%" % (sys.argv[2], sys.argv[3], 240, t["verified_tokens_per_second"],
      t["processed_tokens_per_second"], 100 * t["group_utilisation"]))' "$out" "$preset" "$budget"
  done
done
