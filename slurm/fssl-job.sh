# shellcheck shell=bash
# Shared code of the fssl batch templates (slurm/*.sbatch), sourced, never run: launch one fssl
# step, relay the time-limit signal to it, requeue the job when fssl checkpointed (exit 4).
#
# A template finds this file although sbatch runs a copy of the template from Slurm's spool
# directory: FSSL_SLURM_DIR if set, else the directory of the script Slurm records as the job's
# Command (`scontrol show job`), which is the template the user submitted (the first Command: for
# the array task whose job id is the array's, scontrol lists every task of the array):
#
#   slurm_dir="${FSSL_SLURM_DIR:-$(dirname "$(scontrol show job "$SLURM_JOB_ID" | sed -n '0,/^ *Command=/s/^ *Command=\([^ ]*\).*/\1/p')")}"
#   source "$slurm_dir/fssl-job.sh"
#
# Environment: FSSL (the binary, default `fssl` on PATH), FSSL_LAUNCHER=mpirun (launch with mpirun
# inside the allocation instead of srun --mpi=pmix, for sites whose Open MPI lacks PMIx in srun),
# FSSL_NO_REQUEUE=1 (end with exit 4 instead of requeueing). Exit codes: docs/slurm.md.

fssl="${FSSL:-fssl}"
fssl_job_name="${SLURM_JOB_NAME:-fssl}"

# fssl_job_say TEXT...: one '#' line in the job's log, prefixed with the job name.
fssl_job_say() {
  echo "# $fssl_job_name: $*"
}

# fssl_job_start RUN_DIR: the first log line of every run of the job (a requeued job appends a
# second one to the same file: --open-mode=append).
fssl_job_start() {
  local id="$SLURM_JOB_ID"
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then id="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (job $SLURM_JOB_ID)"; fi
  fssl_job_say "job $id (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST:-?} -> $1"
}

# fssl_job_run ARGS...: runs `fssl ARGS...` on every task of the allocation and sets fssl_job_rc
# to its exit code (returns 0 itself, so `set -e` does not end the script before the caller has
# looked at the code).
fssl_job_run() {
  if [ "${FSSL_LAUNCHER:-srun}" = mpirun ]; then
    mpirun "$fssl" "$@" &
  else
    srun --mpi=pmix "$fssl" "$@" &
  fi
  local launcher_pid=$!
  # --signal=B:USR1@N signals this batch shell only; srun and mpirun both relay SIGUSR1 to every
  # rank, where fssl agrees to stop, journals its finished batches and exits 4.
  # shellcheck disable=SC2064  # the PID is fixed now, on purpose
  trap "fssl_job_say 'signal received, asking fssl to checkpoint'; kill -USR1 $launcher_pid 2>/dev/null || true" USR1
  local rc
  while :; do
    rc=0
    wait "$launcher_pid" || rc=$?
    # > 128: the trapped signal interrupted wait, not the launcher's end; keep waiting while it runs.
    if [ "$rc" -gt 128 ] && kill -0 "$launcher_pid" 2>/dev/null; then continue; fi
    if [ "$rc" -gt 128 ]; then
      rc=0
      wait "$launcher_pid" || rc=$?
    fi
    break
  done
  # A signal that comes after fssl ended must not kill this shell (USR1's default action) before
  # the caller records the exit code and maps or requeues.
  trap 'fssl_job_say "signal received after fssl ended: ignored"' USR1
  fssl_job_rc=$rc
  fssl_job_say "fssl exited $rc"
}

# fssl_job_requeue_if_resumable RUN_DIR: on exit 4 (checkpoint written) requeue this job; the
# restarted job (same job id and array index, so the same run directory; SLURM_RESTART_COUNT > 0)
# reruns the same command, which resumes from the journal.
fssl_job_requeue_if_resumable() {
  if [ "$fssl_job_rc" -eq 4 ] && [ "${FSSL_NO_REQUEUE:-0}" != 1 ]; then
    fssl_job_say "checkpoint kept in $1; requeueing job $SLURM_JOB_ID to resume"
    # Slurm starts the requeued job after its requeue delay (BeginTime, about 2 minutes), once this
    # instance is gone; starting it sooner from here would race this instance's teardown.
    scontrol requeue "$SLURM_JOB_ID"
  fi
}

# fssl_job_record_exit RUN_DIR: fssl's own exit code in RUN_DIR/fssl-exit-code, for array parts
# whose Slurm exit code says less (docs/slurm.md, "Exit codes").
fssl_job_record_exit() {
  mkdir -p "$1"
  echo "$fssl_job_rc" >"$1/fssl-exit-code"
}
