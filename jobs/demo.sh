#!/usr/bin/env bash
# README command (a): the main job on an embedded default, on one machine.
# A tiny generated model (fssl model init) serves simulated traffic in bf16 (so the fp32 replay
# sees benign numerical mismatches, like a real fleet): the fleet's authenticated, sharded archive
# (fssl simulate), honest servers plus a steganographic adversary hiding the model's own weights in
# its token choices on 5 % of the messages (ground truth in ARCHIVE.truth.jsonl). A day of honest
# traffic calibrates the operating point (fssl calibrate: the token FPR vs information frontier,
# and the message threshold for a 0.5 % message false-positive rate, certified by 600 honest
# messages), with the adversary's archive measuring the alarm's power. The archive is validated,
# then audited with mpirun at the calibrated point: a coordinator and two worker groups replay and
# score a reproducible sample, and the audit alarms when more messages are flagged than honest
# traffic flags (alpha 1 %). The demo checks that the alarm is the adversary's doing (ground truth),
# shows `validate` naming a tampered record, and prints the capacity plan (fssl plan), assumed and
# calibrated.
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

echo "# demo: the fleet's archive, with a steganographic adversary on 5% of the messages"
"$fssl" simulate --model "$run/model" --out "$run/archive" --key "$run/logger.key" --messages 400 \
  --shard-messages 100 --max-tokens 32 --servers 4 --seed 1 --threads 1 --dtype bf16 \
  --adversary topk-stego --adversary-fraction 0.05
"$fssl" archive inspect "$run/archive"

echo "# demo: calibrating on a day of honest traffic (power measured on the adversary's archive)"
"$fssl" simulate --model "$run/model" --out "$run/honest" --key "$run/logger.key" --messages 600 \
  --shard-messages 200 --max-tokens 32 --servers 4 --seed 2 --threads 1 --dtype bf16
mpirun --oversubscribe -np "$ranks" "$fssl" calibrate --archive "$run/honest" --model "$run/model" \
  --out "$run/calibration" --sample 600 --threads 1 --target-message-fpr 0.5 --adversarial "$run/archive"
"$fssl" archive validate "$run/archive" --key "$run/logger.key"

echo "# demo: auditing with mpirun -np $ranks (rank 0 coordinates, the others replay and score)"
status=0
mpirun --oversubscribe -np "$ranks" "$fssl" audit --config "$root/configs/audit.ini" \
  --archive "$run/archive" --model "$run/model" --out "$run/audit" --sample 200 --threads 1 \
  --calibration "$run/calibration/calibration.json" --truth "$run/archive.truth.jsonl" || status=$?
if [ "$status" -ne 3 ]; then
  echo "# demo: FAILED: the audit should report findings (exit 3) for the adversary's messages (got $status)" >&2
  exit 1
fi
/usr/bin/python3 - "$run/audit" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1] + "/summary.json"))
alarm, truth = summary["verdict"]["alarm"], summary["detection"]
q = alarm["fleet"]["quantile"]
# The alarm is the adversary's doing: the honest messages alone stay within what honest traffic
# flags, nothing else (tampering, impossible tokens, unverifiable share) is a finding.
others = alarm["impossible_messages"] + alarm["tampered_records"] + summary["totals"]["unverifiable"] + \
    summary["totals"]["quarantined"]
if not alarm["alarm"] or truth["honest"]["flagged"] > q or others:
    sys.exit("# demo: FAILED: %s; honest flagged %d; findings %s"
             % (alarm["statement"], truth["honest"]["flagged"], summary["verdict"]["findings"]))
print("# demo: %s; ground truth: %d of %d adversarial messages flagged, %d of %d honest (<= %d: honest traffic "
      "alone stays quiet)" % (alarm["statement"], truth["adversarial"]["flagged"], truth["adversarial"]["scored"],
                               truth["honest"]["flagged"], truth["honest"]["scored"], q))
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
echo "# demo: capacity planning for the paper's fleet (configs/plan-paper.ini), assumed and calibrated"
"$fssl" plan --config "$root/configs/plan-paper.ini"
"$fssl" plan --config "$root/configs/plan-paper.ini" --calibration "$run/calibration/calibration.json"
echo "# demo: OK: calibrated, the audit alarmed because of the adversary only; validate rejects the tampered copy (exit 3)"
echo "# demo: report $run/audit/report.html (open in a browser), $run/audit/summary.json, per-token results $run/audit/results.h5"
