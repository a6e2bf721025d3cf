#!/usr/bin/python3
"""fssl under a real one-node Slurm cluster (ctest label slurm; cluster.py brings it up and tears
it down). Uses the archive and model of the audit tests' fixture (tests/audit/audit_e2e.py setup).

    /usr/bin/python3 slurm_e2e.py --fssl build/fssl --workdir DIR audit|requeue|array|jobs

  audit    sbatch slurm/audit.sbatch (srun --mpi=pmix, 3 tasks): exit 3 for the fixture's
           adversary, summary identical to the same audit run with mpirun outside Slurm
  requeue  the time-limit signal (B:USR1, sent with scancel --signal=USR1 --batch once work is
           journaled, as Slurm does --signal=B:USR1@120 before the limit): fssl checkpoints and
           exits 4, the script requeues the job, the restarted job (SLURM_RESTART_COUNT = 1)
           resumes and its summary equals an uninterrupted run's
  array    slurm/submit-retrospective.sh CONFIG 3: a 3-task array (slurm/audit-array.sbatch, --part
           I/3) and its merge (slurm/merge.sbatch, afterok on the array): the parts report 0 to
           Slurm, their fssl codes (3 where a part has findings) are kept in the part directories;
           part 1 gets the time-limit signal, checkpoints, requeues itself and resumes (the merge
           waits for it); the merge exits 3 and its summary equals a single job's audit of the
           same plan. Plain sbatch of the array template: --array=1-3 audits parts 0/3..2/3,
           --array=0-4:2 is refused (exit 2)
  jobs     the job specs users copy, submitted together with test configs (the fixture's archive
           and model): jobs/nightly-audit.sh for the fixture's day, jobs/retrospective-quarter.sh
           for its quarter in 2 parts, jobs/capacity-plan.sh (bench prefill -> plan), and
           slurm/calibrate.sbatch on honest traffic with a config whose [audit] section it shares
"""
import argparse
import calendar
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "audit"))
from audit_e2e import Audit, check, fail, summary  # noqa: E402
from cluster import Cluster  # noqa: E402

SLURM_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "slurm"))
TEMPLATE = os.path.join(SLURM_DIR, "audit.sbatch")


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


def signal_when_journaled(c, job, journal, start):
    """Sends the time-limit signal to JOB's batch shell (what --signal=B:USR1@120 does) once its
    journal holds finished work, so the checkpoint has something to keep."""
    deadline = time.time() + 120
    while not (os.path.exists(journal) and os.path.getsize(journal) > 3000):
        if time.time() > deadline or c.job(job).get("JobState") not in ("PENDING", "RUNNING", "CONFIGURING"):
            fail("job %s ended or stalled before any work was journaled: %s" % (job, c.job(job)))
        time.sleep(0.02)
    subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=c.env, check=True)
    print("ok: signalled the batch script of job %s %.1f s after submission" % (job, time.time() - start))


def wait_restarted_run(c, job, out, timeout=240):
    """Waits until JOB, which requeued itself, has finished its restarted run; returns its record."""
    kicked, pending_since = False, None
    deadline = time.time() + timeout
    while True:
        j = c.job(job)
        restarts = int(j.get("Restarts", "0"))
        log = open(out).read() if os.path.exists(out) else ""
        restarted = log.split("(restart 1)", 1)[1] if "(restart 1)" in log else ""
        # Done when the restarted run has ended, not at the requeue (whose record passes through
        # CANCELLED and PENDING states with Restarts already counted).
        if "fssl exited" in restarted and j.get("JobState") in ("COMPLETED", "FAILED", "TIMEOUT"):
            return j
        if restarts >= 1 and j.get("JobState") == "PENDING" and not kicked:
            # Requeued jobs wait ~2 minutes (BeginTime). The test starts it sooner, but not within
            # the second of the requeue: slurmd refuses a credential no newer than the revoked
            # one ("Job credential revoked", exit 1).
            pending_since = pending_since or time.time()
            if time.time() - pending_since >= 3:
                subprocess.run(["scontrol", "update", "JobId=" + job, "StartTime=now"], env=c.env)
                kicked = True
        if time.time() > deadline:
            fail("the requeued job %s did not finish: %s" % (job, j))
        time.sleep(0.25)


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
        signal_when_journaled(c, job, os.path.join(run_dir, "journal.fssl"), start)
        j = wait_restarted_run(c, job, out)
        text = open(out).read()
        print(text[-3000:])
        print("ok: signal, checkpoint, requeue and resume took %.1f s in all" % (time.time() - start))
    check("fssl exited 4" in text and "requeueing job" in text, "fssl checkpointed (exit 4) and the job requeued itself")
    check("(restart 1)" in text and "# resuming from" in text, "the restarted job resumed from the journal")
    check(j.get("JobState") == "FAILED" and j.get("ExitCode") == "3:0", "the resumed audit completed (exit 3)")
    check(summary(run_dir) == summary(base), "the resumed summary equals an uninterrupted run's")


def case_array(a):
    # Submitted from a fresh directory: the templates' default names (runs/audit-<array id>/part-I,
    # .../merged, fssl-audit-part-<array id>_<i>.out, fssl-merge-<id>.out) are what is checked, and
    # job ids restart at 1 with every test cluster.
    submit_dir = os.path.join(a.work, "slurm-array")
    shutil.rmtree(submit_dir, ignore_errors=True)
    os.makedirs(submit_dir)
    # One message per batch, replayed in bf16: slow enough to signal part 1 mid-way (as in requeue).
    extra = [("token-budget", "48"), ("dtype", "bf16")]
    base = baseline(a, "slurm-array", extra)
    cfg = config(a, "slurm-array", extra)
    with Cluster() as c:
        start = time.time()
        # 2 tasks per part (coordinator + 1 worker), overcommitted on the 2-CPU build machines.
        env = dict(a.env, FSSL=a.fssl, SLURM_CONF=c.conf, FSSL_PART_SBATCH="--ntasks=2 --overcommit")
        cmd = [os.path.join(SLURM_DIR, "submit-retrospective.sh"), cfg, "3"]
        p = subprocess.run(cmd, env=env, cwd=submit_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print("$ " + " ".join(cmd) + "\n" + p.stdout)
        check(p.returncode == 0, "the submit wrapper submits the array and the merge (exit %d)" % p.returncode)
        array_id = re.search(r"^array job (\d+): 3 parts", p.stdout, re.M)
        merge_id = re.search(r"^merge job (\d+) \(afterok:(\d+)\)", p.stdout, re.M)
        check(array_id and merge_id and merge_id.group(2) == array_id.group(1),
              "it prints the array's id and the merge's, which depends on the array")
        array_id, merge_id = array_id.group(1), merge_id.group(1)
        # Part 1 reaches its time limit: checkpoint, requeue of that task alone, resume in part-1.
        task1 = array_id + "_1"
        signal_when_journaled(c, task1, os.path.join(submit_dir, "runs", "audit-" + array_id, "part-1", "journal.fssl"),
                              start)
        requeued = wait_restarted_run(c, task1, os.path.join(submit_dir, "fssl-audit-part-%s.out" % task1))
        merge_state, merge_code = c.wait(merge_id, timeout=300)
        part_states, part_codes = c.wait(array_id, timeout=30)
        print("ok: array + merge ran in %.1f s from submission" % (time.time() - start))
        # Plain sbatch, FSSL=/bin/echo to see each task's command, and no FSSL_SLURM_DIR (the
        # template finds fssl-job.sh from Slurm's record of it, also in the task whose job id is
        # the array's): an array from 1 still numbers parts from 0; a stepped one is refused.
        echo_dir = os.path.join(a.work, "slurm-array-echo")
        shutil.rmtree(echo_dir, ignore_errors=True)
        os.makedirs(echo_dir)
        echo_env = {k: v for k, v in dict(a.env, FSSL="/bin/echo").items() if k != "FSSL_SLURM_DIR"}
        array = os.path.join(SLURM_DIR, "audit-array.sbatch")
        offset = c.submit(["--array=1-3", "--ntasks=1", array, cfg], echo_env, cwd=echo_dir)
        stepped = c.submit(["--array=0-4:2", "--ntasks=1", array, cfg], echo_env, cwd=echo_dir)
        offset_result, stepped_result = c.wait(offset, timeout=60), c.wait(stepped, timeout=60)
    commands = sorted(re.findall(r"^audit --config .* --part (\d/\d)$",
                                 "".join(open(os.path.join(echo_dir, "fssl-audit-part-%s_%d.out" % (offset, i))).read()
                                         for i in (1, 2, 3)), re.M))
    check(offset_result == (["COMPLETED"] * 3, ["0:0"] * 3) and commands == ["0/3", "1/3", "2/3"],
          "--array=1-3 audits parts 0/3, 1/3, 2/3 (%s %s)" % (offset_result, commands))
    check(stepped_result == (["FAILED"] * 3, ["2:0"] * 3), "--array=0-4:2 is refused, exit 2 (%s)" % (stepped_result,))
    logs = {}
    for name in sorted(os.listdir(submit_dir)):
        if name.endswith(".out"):
            logs[name] = open(os.path.join(submit_dir, name)).read()
            print("---- %s\n%s" % (name, logs[name][-1500:]))
    check(sorted(logs) == sorted(["fssl-audit-part-%s_%d.out" % (array_id, i) for i in range(3)] +
                                 ["fssl-merge-%s.out" % merge_id]), "one log per part (%A_%a) and one for the merge")
    check(part_states == ["COMPLETED"] * 3 and part_codes == ["0:0"] * 3,
          "every part ends COMPLETED 0:0 for Slurm (%s %s)" % (part_states, part_codes))
    log1 = logs["fssl-audit-part-%s_1.out" % array_id]
    check("fssl exited 4" in log1 and "requeueing job" in log1 and "(restart 1)" in log1 and "# resuming from" in log1
          and requeued.get("Restarts") == "1",
          "part 1 checkpointed at the signal (exit 4), requeued itself and resumed in its part directory")
    audit_dir = os.path.join(submit_dir, "runs", "audit-" + array_id)
    fssl_codes = []
    for i in range(3):
        part = os.path.join(audit_dir, "part-%d" % i)
        code = int(open(os.path.join(part, "fssl-exit-code")).read())
        s = json.load(open(os.path.join(part, "summary.json")))
        check(code == s["exit_code"] and s["status"] == "complete" and s["run"]["part"] == [i, 3],
              "part %d: complete, its fssl exit code %d recorded in part-%d/fssl-exit-code" % (i, code, i))
        fssl_codes.append(code)
    check(3 in fssl_codes, "a part with findings (fssl exit 3) still let the merge run (codes %s)" % fssl_codes)
    check(merge_state == ["FAILED"] and merge_code == ["3:0"],
          "the merge re-derives the verdict: findings, exit 3 (%s %s)" % (merge_state, merge_code))
    merged = os.path.join(audit_dir, "merged")
    check(summary(merged) == summary(base), "the merged summary equals the single job's audit of the same plan")


def utc_us(year, month, day):
    return calendar.timegm((year, month, day, 0, 0, 0)) * 1000000


def case_jobs(a):
    submit_dir = os.path.join(a.work, "slurm-jobs")
    shutil.rmtree(submit_dir, ignore_errors=True)
    os.makedirs(submit_dir)
    root = os.path.dirname(SLURM_DIR)
    honest = os.path.join(a.work, "archive-honest-slurm")
    if not os.path.exists(honest):  # bf16-served honest traffic, as the audit tests' calibrate case
        subprocess.run([a.fssl, "simulate", "--model", a.model, "--out", honest, "--messages", "100", "--shard-messages",
                        "50", "--max-tokens", "32", "--seed", "5", "--dtype", "bf16", "--threads", "1"], check=True,
                       stdout=subprocess.DEVNULL)
    audit_cfg = config(a, "slurm-jobs-audit", [])
    cal_cfg = os.path.join(submit_dir, "calibrate.ini")
    with open(cal_cfg, "w") as f:  # the fleet's [audit] section, the honest archive in [calibrate]
        f.write("[audit]\narchive = %s\nmodel = %s\nthreads = 1\nsample = 50\n[calibrate]\narchive = %s\n"
                "sample = 100\n" % (a.archive, a.model, honest))
    plan_cfg = os.path.join(submit_dir, "capacity-plan.ini")
    with open(plan_cfg, "w") as f:
        f.write("[bench-prefill]\nmodel = %s\nthreads = 1\nsequences = 2\nlength = 64\nrepeats = 1\n" % a.model +
                "[plan]\n" +
                open(os.path.join(root, "configs", "capacity-plan.ini")).read().split("\n[plan]\n", 1)[1])
    with Cluster() as c:
        start = time.time()
        env = dict(a.env, FSSL=a.fssl, SLURM_CONF=c.conf)

        def submit_job(cmd, **extra):
            p = subprocess.run(cmd, env=dict(env, **extra), cwd=submit_dir, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            print("$ " + " ".join(cmd) + "\n" + p.stdout)
            check(p.returncode == 0, "%s submits (exit %d)" % (os.path.basename(cmd[0]), p.returncode))
            return p.stdout

        small = "--ntasks=2 --overcommit"
        nightly = re.search(r"job (\d+) -> runs/nightly-2025-11-26 ", submit_job(
            [os.path.join(root, "jobs", "nightly-audit.sh"), "2025-11-26"], FSSL_CONFIG=audit_cfg, FSSL_SBATCH=small))
        quarter = submit_job([os.path.join(root, "jobs", "retrospective-quarter.sh"), "2025Q4", "2"],
                             FSSL_CONFIG=audit_cfg, FSSL_PART_SBATCH=small)
        merge = re.search(r"^merge job (\d+) \(afterok:(\d+)\) -> runs/retrospective-2025Q4/merged", quarter, re.M)
        plan = re.search(r"capacity plan: job (\d+) -> runs/capacity-plan-(\d+) ", submit_job(
            [os.path.join(root, "jobs", "capacity-plan.sh"), "--sampling-fraction", "0.001"], FSSL_CONFIG=plan_cfg))
        calibrate = c.submit(["--ntasks=2", "--overcommit", os.path.join(SLURM_DIR, "calibrate.sbatch"), cal_cfg],
                             env, cwd=submit_dir)
        check(nightly and merge and plan, "each job spec prints its job ids and run directory")
        results = {name: c.wait(job, timeout=300) for name, job in
                   [("nightly", nightly.group(1)), ("parts", merge.group(2)), ("merge", merge.group(1)),
                    ("plan", plan.group(1)), ("calibrate", calibrate)]}
        print("ok: the four jobs (one an array of 2 + merge) ran in %.1f s from the first submission" %
              (time.time() - start))
    for name in sorted(os.listdir(submit_dir)):
        if name.endswith(".out"):
            print("---- %s\n%s" % (name, open(os.path.join(submit_dir, name)).read()[-1200:]))
    print(results)
    runs = os.path.join(submit_dir, "runs")
    s = json.load(open(os.path.join(runs, "nightly-2025-11-26", "summary.json")))
    check(results["nightly"] == (["FAILED"], ["3:0"]) and s["status"] == "complete" and s["plan"]["planned"] == 200
          and s["config"]["time_to_us"] == utc_us(2025, 11, 27),
          "nightly: the day [2025-11-26, 2025-11-27) audited in runs/nightly-2025-11-26, findings (exit 3)")
    s = json.load(open(os.path.join(runs, "retrospective-2025Q4", "merged", "summary.json")))
    check(results["parts"] == (["COMPLETED"] * 2, ["0:0"] * 2) and results["merge"] == (["FAILED"], ["3:0"])
          and s["status"] == "complete" and s["config"]["time_from_us"] == utc_us(2025, 10, 1)
          and s["config"]["time_to_us"] == utc_us(2026, 1, 1),
          "quarter: 2 parts of [2025-10-01, 2026-01-01) merged, findings (exit 3)")
    plan_dir = os.path.join(runs, "capacity-plan-" + plan.group(1))
    check(results["plan"] == (["COMPLETED"], ["0:0"]), "capacity plan: the job completed (%s)" % (results["plan"],))
    bench = [json.loads(line) for line in open(os.path.join(plan_dir, "bench-prefill.jsonl"))]
    planned = json.load(open(os.path.join(plan_dir, "plan.json")))
    print(json.dumps(planned)[:800])
    check(len(bench) == 1 and "samples per day" in open(os.path.join(plan_dir, "plan.txt")).read()
          and abs(planned["inputs"]["verifier_tokens_per_s"] - bench[0]["tokens_per_s"]) < 1e-6 and planned["sampling_fraction"] == 0.001,
          "capacity plan: bench prefill measured %.0f tok/s, fssl plan sized the audit with it" % bench[0]["tokens_per_s"])
    cal = os.path.join(runs, "calibrate-" + calibrate)
    s = json.load(open(os.path.join(cal, "summary.json")))
    check(results["calibrate"] == (["COMPLETED"], ["0:0"]) and os.path.exists(os.path.join(cal, "calibration.json"))
          and s["plan"]["planned"] == 100 and s["plan"]["archive_messages"] == 100,
          "calibrate: the honest archive of [calibrate] (100 messages) over [audit]'s, an operating point found")


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
    {"audit": case_audit, "requeue": case_requeue, "array": case_array, "jobs": case_jobs}[args.case](a)
    print("PASSED: " + args.case)


if __name__ == "__main__":
    main()
