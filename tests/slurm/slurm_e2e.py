#!/usr/bin/python3
"""fssl under a real one-node Slurm cluster (ctest label slurm; cluster.py brings it up and tears
it down). Uses the archive and model of the audit tests' fixture (tests/audit/audit_e2e.py setup).

    /usr/bin/python3 slurm_e2e.py --fssl build/fssl --workdir DIR audit|requeue

  audit    sbatch slurm/audit.sbatch (srun --mpi=pmix, 3 tasks): exit 3 for the fixture's
           adversary, summary identical to the same audit run with mpirun outside Slurm
  requeue  the time-limit signal (B:USR1, sent with scancel --signal=USR1 --batch once work is
           journaled, as Slurm does --signal=B:USR1@120 before the limit): fssl checkpoints and
           exits 4, the script requeues the job, the restarted job (SLURM_RESTART_COUNT = 1)
           resumes and its summary equals an uninterrupted run's
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "audit"))
from audit_e2e import Audit, check, fail, summary  # noqa: E402
from cluster import Cluster  # noqa: E402

TEMPLATE = os.path.join(HERE, "..", "..", "slurm", "audit.sbatch")


def config(a, name, extra):
    path = os.path.join(a.work, name + ".ini")
    with open(path, "w") as f:
        f.write("[audit]\narchive = %s\nmodel = %s\nseed = 11\nsample = 200\nthreads = 1\n%s" % (
            a.archive, a.model, "".join("%s = %s\n" % kv for kv in extra)))
    return path


def job_env(a, run_dir):
    return dict(a.env, FSSL=a.fssl, FSSL_RUN_DIR=run_dir)


def submit(c, a, name, cfg, run_dir):
    out = os.path.join(a.work, name + ".out")
    if os.path.exists(out):
        os.remove(out)
    # 3 tasks on the 2-CPU build machines: --overcommit (one CPU per task is not needed here).
    job = c.submit(["--ntasks=3", "--overcommit", "--output=" + out, TEMPLATE, cfg], job_env(a, run_dir), cwd=a.work)
    print("$ sbatch --ntasks=3 %s %s  -> job %s" % (TEMPLATE, cfg, job))
    return job, out


def baseline(a, name, extra):
    """The same audit with mpirun, outside Slurm."""
    out = os.path.join(a.work, name + "-mpirun")
    shutil.rmtree(out, ignore_errors=True)
    cmd = ["mpiexec", "-n", "3", a.fssl, "audit", "--config", config(a, name + "-mpirun", extra), "--out", out]
    p = subprocess.run(cmd, env=a.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    check(p.returncode == 3, "mpirun baseline exits 3 (got %d)" % p.returncode)
    return out


def case_audit(a):
    run_dir = os.path.join(a.work, "slurm-audit")
    shutil.rmtree(run_dir, ignore_errors=True)
    base = baseline(a, "slurm-audit", [])
    with Cluster() as c:
        start = time.time()
        job, out = submit(c, a, "slurm-audit", config(a, "slurm-audit", []), run_dir)
        states, codes = c.wait(job, timeout=300)
        print(open(out).read()[-2500:])
        print("ok: the job ran in %.1f s" % (time.time() - start))
    check(states == ["FAILED"] and codes == ["3:0"], "the audit job ends with fssl's findings code 3 (%s %s)" % (states, codes))
    check(summary(run_dir) == summary(base), "the Slurm audit's summary equals the mpirun audit's")


def case_requeue(a):
    run_dir = os.path.join(a.work, "slurm-requeue")
    shutil.rmtree(run_dir, ignore_errors=True)
    extra = [("token-budget", "48"), ("dtype", "bf16")]  # one message per batch, slower: time to signal
    base = baseline(a, "slurm-requeue", extra)
    with Cluster() as c:
        start = time.time()
        job, out = submit(c, a, "slurm-requeue", config(a, "slurm-requeue", extra), run_dir)
        journal = os.path.join(run_dir, "journal.fssl")
        deadline = time.time() + 120
        while not (os.path.exists(journal) and os.path.getsize(journal) > 3000):
            if time.time() > deadline or c.job(job).get("JobState") not in ("PENDING", "RUNNING", "CONFIGURING"):
                fail("the job ended or stalled before any work was journaled: %s" % c.job(job))
            time.sleep(0.02)
        subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=c.env, check=True)
        print("ok: signalled the batch script %.1f s after submission" % (time.time() - start))
        kicked, pending_since = False, None
        deadline = time.time() + 240
        while True:
            j = c.job(job)
            restarts = int(j.get("Restarts", "0"))
            log = open(out).read() if os.path.exists(out) else ""
            restarted = log.split("(restart 1)", 1)[1] if "(restart 1)" in log else ""
            # Done when the restarted run has ended, not at the requeue (whose record passes through
            # CANCELLED and PENDING states with Restarts already counted).
            if "fssl exited" in restarted and j.get("JobState") in ("COMPLETED", "FAILED", "TIMEOUT"):
                break
            if restarts >= 1 and j.get("JobState") == "PENDING" and not kicked:
                # Requeued jobs wait ~2 minutes (BeginTime). The test starts it sooner, but not within
                # the second of the requeue: slurmd refuses a credential no newer than the revoked
                # one ("Job credential revoked", exit 1).
                pending_since = pending_since or time.time()
                if time.time() - pending_since >= 3:
                    subprocess.run(["scontrol", "update", "JobId=" + job, "StartTime=now"], env=c.env)
                    kicked = True
            if time.time() > deadline:
                fail("the requeued job did not finish: %s" % j)
            time.sleep(0.25)
        text = open(out).read()
        print(text[-3000:])
        print("ok: signal, checkpoint, requeue and resume took %.1f s in all" % (time.time() - start))
    check("fssl exited 4" in text and "requeueing job" in text, "fssl checkpointed (exit 4) and the job requeued itself")
    check("(restart 1)" in text and "# resuming from" in text, "the restarted job resumed from the journal")
    check(j.get("JobState") == "FAILED" and j.get("ExitCode") == "3:0", "the resumed audit completed (exit 3)")
    check(summary(run_dir) == summary(base), "the resumed summary equals an uninterrupted run's")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fssl", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: the Slurm tests start munged, slurmctld and slurmd and need root")
        return
    a = Audit(args)
    {"audit": case_audit, "requeue": case_requeue}[args.case](a)
    print("PASSED: " + args.case)


if __name__ == "__main__":
    main()
