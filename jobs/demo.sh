#!/usr/bin/env bash
# README command (a): the main job on an embedded default, on one machine.
# Today: a tiny generated model (fssl model init) and its fingerprint; synthetic fleet logs ->
# authenticated sharded archive logged against that fingerprint -> inspect -> validate -> a
# tampered copy that validate must reject, naming the record. Later stages turn this into the
# full demo audit (simulated traffic, mpirun audit, report).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/setup.sh"
fssl="${FSSL_BUILD_DIR:-$root/build}/fssl"
run="${FSSL_RUN_DIR:-$root/runs/demo-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$run"
echo "# demo: run directory $run"

"$fssl" model init --arch llama --preset tiny --seed 1 --out "$run/model"
"$fssl" model inspect "$run/model"
fingerprint="$("$fssl" model inspect "$run/model" | awk '/^# fingerprint/ {print $4}')"
/usr/bin/python3 "$root/jobs/demo_traffic.py" --messages 20000 --seed 1 --out "$run/traffic.jsonl"
"$fssl" archive keygen --out "$run/logger.key"
"$fssl" archive import "$run/traffic.jsonl" --out "$run/archive" --config "$root/configs/demo-import.ini" \
  --key "$run/logger.key" --model-fingerprint "$fingerprint"
"$fssl" archive inspect "$run/archive"
"$fssl" archive validate "$run/archive" --key "$run/logger.key"

echo "# demo: tampering with a copy of the archive"
cp -r "$run/archive" "$run/archive-tampered"
/usr/bin/python3 "$root/jobs/demo_tamper.py" "$run/archive-tampered/shard-000002.h5" 17
status=0
"$fssl" archive validate "$run/archive-tampered" --key "$run/logger.key" || status=$?
if [ "$status" -ne 3 ]; then
  echo "# demo: FAILED: validate should reject the tampered archive with exit code 3 (got $status)" >&2
  exit 1
fi
echo "# demo: OK: the intact archive validates, the tampered copy is rejected (exit 3) with the record named"
echo "# demo: run directory $run"
