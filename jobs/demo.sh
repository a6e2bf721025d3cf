#!/usr/bin/env bash
# README command (a): the main job on an embedded default, on one machine.
# A tiny generated model (fssl model init) serves simulated traffic in bf16 (so the fp32 replay
# sees benign numerical mismatches, like a real fleet). First a day of honest traffic calibrates
# the operating point (fssl calibrate: the FPR vs information frontier). Then the fleet's
# authenticated, sharded archive (fssl simulate): honest servers, plus a steganographic adversary
# hiding the model's own weights in its token choices on a few messages (ground truth in
# ARCHIVE.truth.jsonl). The archive is validated, then audited with mpirun at the calibrated
# point: a coordinator and two worker groups replay and score a reproducible sample. The demo
# checks that the audit flagged exactly the adversary's sampled messages, shows `validate` naming
# a tampered record, and prints the paper's capacity plan (fssl plan).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/setup.sh"
fssl="${FSSL_BUILD_DIR:-$root/build}/fssl"
run="${FSSL_RUN_DIR:-$root/runs/demo-$(date -u +%Y%m%dT%H%M%SZ)}"
ranks="${FSSL_DEMO_RANKS:-3}"
mkdir -p "$run"
echo "# demo: run directory $run"

# One machine: shared memory and loopback only, one thread per rank; root is allowed (platform-notes §5).
export OMPI_MCA_btl="${OMPI_MCA_btl:-self,vader}" OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
export OMPI_MCA_oob_tcp_if_include="${OMPI_MCA_oob_tcp_if_include:-lo}" OMP_NUM_THREADS=1
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

"$fssl" model init --arch llama --preset tiny --seed 1 --out "$run/model"
"$fssl" model inspect "$run/model"
"$fssl" archive keygen --out "$run/logger.key"

echo "# demo: calibrating on a day of honest traffic"
"$fssl" simulate --model "$run/model" --out "$run/honest" --key "$run/logger.key" --messages 200 \
  --shard-messages 100 --max-tokens 32 --servers 4 --seed 2 --threads 1 --dtype bf16
mpirun --oversubscribe -np "$ranks" "$fssl" calibrate --archive "$run/honest" --model "$run/model" \
  --out "$run/calibration" --sample 200 --threads 1

echo "# demo: the fleet's archive, with a steganographic adversary on 5% of the messages"
"$fssl" simulate --model "$run/model" --out "$run/archive" --key "$run/logger.key" --messages 400 \
  --shard-messages 100 --max-tokens 32 --servers 4 --seed 1 --threads 1 --dtype bf16 \
  --adversary topk-stego --adversary-fraction 0.05
"$fssl" archive inspect "$run/archive"
"$fssl" archive validate "$run/archive" --key "$run/logger.key"

echo "# demo: auditing with mpirun -np $ranks (rank 0 coordinates, the others replay and score)"
status=0
mpirun --oversubscribe -np "$ranks" "$fssl" audit --config "$root/configs/audit.ini" \
  --archive "$run/archive" --model "$run/model" --out "$run/audit" --sample 200 --threads 1 \
  --calibration "$run/calibration/calibration.json" || status=$?
if [ "$status" -ne 3 ]; then
  echo "# demo: FAILED: the audit should report findings (exit 3) for the adversary's messages (got $status)" >&2
  exit 1
fi
/usr/bin/python3 - "$run/audit" "$run/archive.truth.jsonl" <<'PY'
import json, sys
import h5py
summary = json.load(open(sys.argv[1] + "/summary.json"))
with h5py.File(sys.argv[1] + "/results.h5", "r") as f:
    sampled = {int(m) for m in f["messages/message_id"][:]}
adversarial = {j["message_id"] for j in map(json.loads, open(sys.argv[2])) if j["adversarial"]}
flagged = {m["message_id"] for m in summary["flagged_messages"]}
if flagged != sampled & adversarial:
    sys.exit("# demo: FAILED: flagged %s, adversarial in the sample %s" % (sorted(flagged), sorted(sampled & adversarial)))
print("# demo: the audit flagged %d of %d sampled messages: exactly the adversary's (ground truth), no honest one"
      % (len(flagged), len(sampled)))
PY

echo "# demo: tampering with a copy of the archive"
cp -r "$run/archive" "$run/archive-tampered"
/usr/bin/python3 "$root/jobs/demo_tamper.py" "$run/archive-tampered/shard-000002.h5" 17
status=0
"$fssl" archive validate "$run/archive-tampered" --key "$run/logger.key" || status=$?
if [ "$status" -ne 3 ]; then
  echo "# demo: FAILED: validate should reject the tampered archive with exit code 3 (got $status)" >&2
  exit 1
fi
echo "# demo: capacity planning for the paper's fleet (configs/plan-paper.ini)"
"$fssl" plan --config "$root/configs/plan-paper.ini"
echo "# demo: OK: calibrated, the audit flagged the adversary and nothing else; validate rejects the tampered copy (exit 3)"
echo "# demo: report $run/audit/report.html (open in a browser), $run/audit/summary.json, per-token results $run/audit/results.h5"
