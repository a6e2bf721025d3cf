#!/usr/bin/python3
"""End-to-end tests of `fssl audit` under mpiexec (ctest label mpi): real processes, a real
multi-shard archive written by `fssl simulate` (honest traffic plus a top-k steganographic
adversary, ground truth in ARCHIVE.truth.jsonl), a real tiny model.

    /usr/bin/python3 audit_e2e.py --fssl build/fssl --workdir DIR setup
    /usr/bin/python3 audit_e2e.py --fssl build/fssl --workdir DIR identical|resume-sigusr1|...

`setup` builds the shared model and archive once (a ctest fixture); every other case makes its
own run directories under DIR and checks one promise of the issue:
  identical       np = 2, 3 (t = 1 and 2), 5 (t = 2) give the same summary; exactly the
                  adversary's messages (per the simulator's ground truth) are flagged
  resume-sigusr1  SIGUSR1 to mpiexec (forwarded to every rank) -> exit 4 -> rerun resumes ->
                  summary identical to an uninterrupted run (timing and run fields aside)
  resume-sigterm  SIGTERM to every rank, as Slurm does at a time limit -> same
  resume-sigkill  SIGKILL to mpiexec and every rank mid-way -> rerun resumes from the journal
  resume-rank-dies  one worker rank SIGKILLed: mpiexec takes the job down naming it; rerun resumes
  max-time        --max-time far too short -> exit 4 -> rerun completes, same summary
  quarantine      one shard's HDF5 header destroyed -> shard quarantined, its messages
                  unverifiable, the rest scored exactly as in the intact audit, exit 3
  strata          --stratify server --servers: the sample per selected server, nothing else
  calibrate       fssl calibrate on honest (bf16-served) traffic: the operating point recomputed
                  from results.h5 alone; the audit applies calibration.json
  parts-merge     --part 0/2 and 1/2 merged (either order) = one audit; a merge missing a part is
                  completed by auditing it; a part of another audit is refused
  exit-codes      0 within policy, 3 findings, 2 for a model of another fingerprint (refused),
                  a bad rank count and a bad option; --force-model audits anyway
"""
import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_check import check_report  # noqa: E402  (report.html rendered in headless Chromium)

MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader",
    "OMPI_MCA_pml": "ob1", "OMPI_MCA_oob_tcp_if_include": "lo", "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMP_NUM_THREADS": "1",
}
MESSAGES, SHARD_MESSAGES, SAMPLE = 300, 60, 200


def fail(text):
    print("FAILED: " + text)
    sys.exit(1)


def check(condition, text):
    if not condition:
        fail(text)
    print("ok: " + text)


class Audit:
    def __init__(self, args):
        self.fssl, self.work = os.path.abspath(args.fssl), os.path.abspath(args.workdir)
        self.model, self.archive = os.path.join(self.work, "model"), os.path.join(self.work, "archive")
        self.env = dict(os.environ, **MPI_ENV)

    def command(self, np, out, extra=(), tp=1, archive=None, model=None):
        sample = [] if "--sample" in extra else ["--sample", str(SAMPLE)]
        return ["mpiexec", "-n", str(np), self.fssl, "audit", "--archive", archive or self.archive,
                "--model", model or self.model, "--out", out, "--seed", "11", "--tp", str(tp), "--threads", "1",
                "--progress-seconds", "1"] + sample + list(extra)

    def run(self, np, out, extra=(), tp=1, archive=None, model=None, expect=None):
        cmd = self.command(np, out, extra, tp, archive, model)
        p = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        print("$ " + " ".join(cmd) + "\n" + p.stdout[-4000:])
        if expect is not None:
            check(p.returncode == expect, "%s exits %d (got %d)" % (os.path.basename(out), expect, p.returncode))
        return p

    def start(self, np, out, extra=()):
        cmd = self.command(np, out, extra)
        print("$ " + " ".join(cmd) + " &")
        return subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def summary(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)
    for volatile in ("run", "timing"):
        s.pop(volatile)
    s["config"].pop("archive")
    s["config"].pop("model")
    return s


def truth(archive):
    with open(archive + ".truth.jsonl") as f:
        return {j["message_id"]: j["adversarial"] for j in map(json.loads, f)}


def setup(a):
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    subprocess.run([a.fssl, "model", "init", "--arch", "llama", "--preset", "tiny", "--seed", "1", "--out", a.model],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([a.fssl, "simulate", "--model", a.model, "--out", a.archive, "--messages", str(MESSAGES),
                    "--shard-messages", str(SHARD_MESSAGES), "--max-tokens", "32", "--seed", "3",
                    "--adversary", "topk-stego", "--adversary-fraction", "0.1", "--threads", "1"], check=True)
    check(sum(truth(a.archive).values()) > 0, "the simulated archive holds adversarial messages")


def case_identical(a):
    runs = [(2, 1), (3, 1), (3, 2), (5, 2)]
    summaries = []
    for np, tp in runs:
        out = os.path.join(a.work, "identical-np%d-t%d" % (np, tp))
        shutil.rmtree(out, ignore_errors=True)
        a.run(np, out, tp=tp, expect=3)
        summaries.append(summary(out))
    for (np, tp), s in zip(runs[1:], summaries[1:]):
        check(s == summaries[0], "np=%d t=%d summary identical to np=2 t=1" % (np, tp))
    s = summaries[0]
    check(s["totals"]["scored"] == SAMPLE, "all %d sampled messages scored" % SAMPLE)
    adversarial = truth(a.archive)
    flagged = {m["message_id"] for m in s["flagged_messages"]}
    import h5py
    with h5py.File(os.path.join(a.work, "identical-np2-t1", "results.h5"), "r") as f:
        sampled = [int(i) for i in f["messages/message_id"][:]]
    check(len(set(sampled)) == SAMPLE, "results.h5 holds %d distinct sampled messages" % SAMPLE)
    expected = {m for m in sampled if adversarial[m]}
    check(len(expected) > 0, "the sample holds %d adversarial messages" % len(expected))
    check(flagged == expected, "exactly the adversarial messages are flagged (%d flagged)" % len(flagged))
    check_report(os.path.join(a.work, "identical-np2-t1"))


def interrupted_then_resumed(a, name, interrupt):
    """Runs the audit, interrupts it once some batches are journaled, reruns; compares."""
    base = os.path.join(a.work, name + "-uninterrupted")
    out = os.path.join(a.work, name)
    for d in (base, out):
        shutil.rmtree(d, ignore_errors=True)
    extra = ["--token-budget", "48", "--dtype", "bf16"]  # one message per batch, slower: time to interrupt
    a.run(3, base, extra, expect=3)
    p = a.start(3, out, extra)
    journal = os.path.join(out, "journal.fssl")
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(journal) and os.path.getsize(journal) > 3000:
            break
        time.sleep(0.01)
    check(p.poll() is None, "%s: the audit is still running when interrupted" % name)
    code = interrupt(p)
    text = p.communicate(timeout=120)[0]
    print(text[-3000:])
    return base, out, extra, code, text


def rank_pids(mpiexec_pid):
    children = subprocess.run(["pgrep", "-P", str(mpiexec_pid)], stdout=subprocess.PIPE, text=True).stdout.split()
    return [int(c) for c in children]


def case_resume(a, how):
    def interrupt(p):
        if how == "sigusr1":
            p.send_signal(signal.SIGUSR1)  # mpiexec forwards SIGUSR1 to every rank
        elif how == "rank-dies":
            os.kill(sorted(rank_pids(p.pid))[-1], signal.SIGKILL)  # one worker rank dies
        elif how == "sigterm":
            for pid in rank_pids(p.pid):  # Slurm signals every task itself
                os.kill(pid, signal.SIGTERM)
        else:
            for pid in rank_pids(p.pid) + [p.pid]:
                os.kill(pid, signal.SIGKILL)
        return p.wait(timeout=120)

    base, out, extra, code, text = interrupted_then_resumed(a, "resume-" + how, interrupt)
    if how == "sigkill":
        check(not os.path.exists(os.path.join(out, "summary.json")), "killed run wrote no summary")
    elif how == "rank-dies":
        check(code != 0 and "signal 9" in text, "a dead worker takes the job down, mpiexec naming it (exit %d)" % code)
    else:
        check(code == 4, "%s: interrupted audit exits 4 (got %d)" % (how, code))
        s = json.load(open(os.path.join(out, "summary.json")))
        check(s["status"] == "incomplete" and 0 < s["totals"]["done"] < SAMPLE,
              "%s: summary.json says incomplete with %d of %d done" % (how, s["totals"]["done"], SAMPLE))
    p = a.run(3, out, extra, expect=3)
    check("# resuming from" in p.stdout, "%s: the rerun resumes from the journal" % how)
    check(summary(out) == summary(base), "%s: resumed summary identical to the uninterrupted one" % how)


def case_max_time(a):
    base, out = os.path.join(a.work, "max-time-uninterrupted"), os.path.join(a.work, "max-time")
    for d in (base, out):
        shutil.rmtree(d, ignore_errors=True)
    a.run(3, base, expect=3)
    a.run(3, out, ["--max-time", "0.0001"], expect=4)
    check(json.load(open(os.path.join(out, "summary.json")))["stop_reason"] == "--max-time reached",
          "summary.json names --max-time as the reason to stop")
    a.run(3, out, expect=3)
    check(summary(out) == summary(base), "max-time: resumed summary identical")


def case_quarantine(a):
    damaged = os.path.join(a.work, "archive-damaged")
    shutil.rmtree(damaged, ignore_errors=True)
    shutil.copytree(a.archive, damaged)
    victim = sorted(f for f in os.listdir(damaged) if f.endswith(".h5"))[1]
    with open(os.path.join(damaged, victim), "r+b") as f:
        f.write(b"\0" * 4096)  # the superblock and root group: HDF5 cannot open it
    base, out = os.path.join(a.work, "quarantine-intact"), os.path.join(a.work, "quarantine")
    for d in (base, out):
        shutil.rmtree(d, ignore_errors=True)
    a.run(3, base, expect=3)
    p = a.run(3, out, archive=damaged, expect=3)
    s = json.load(open(os.path.join(out, "summary.json")))
    q = s["quarantined_shards"]
    check(len(q) == 1 and victim in q[0]["reason"], "the damaged shard %s is quarantined with a reason" % victim)
    check(s["totals"]["quarantined"] == q[0]["sampled_messages"] > 0, "its sampled messages count as quarantined")
    check(s["totals"]["scored"] + s["totals"]["quarantined"] == SAMPLE, "every other message is scored")
    check(any("quarantined" in f for f in s["verdict"]["findings"]), "quarantine is a finding under the default policy")
    check("quarantined shards" in p.stdout and "FAILED" in p.stdout, "the human block shows the quarantine FAILED")
    import h5py
    with h5py.File(os.path.join(base, "results.h5"), "r") as f0, h5py.File(os.path.join(out, "results.h5"), "r") as f1:
        status = f1["messages/status"][:]
        keep = status == 0
        check((f0["messages/message_id"][:][keep] == f1["messages/message_id"][:][keep]).all(),
              "the same messages are scored")
        check(int(f1["messages/output_tokens"][:].sum()) == int(f0["messages/output_tokens"][:][keep].sum()),
              "scored messages keep all their tokens")
        m0 = f0["tokens/margin"][:]
        m1 = f1["tokens/margin"][:]
        off0, n0 = f0["messages/token_offset"][:], f0["messages/output_tokens"][:]
        rows = [r for i in range(len(keep)) if keep[i] for r in range(off0[i], off0[i] + n0[i])]
        check((m0[rows] == m1).all(), "their margins are bit-identical to the intact audit's")


def case_exit_codes(a):
    out = os.path.join(a.work, "exit-codes")
    shutil.rmtree(out, ignore_errors=True)
    a.run(3, out + "-findings", expect=3)
    lenient = ["--policy-max-flagged", "1000"]
    p = a.run(3, out + "-ok", lenient, expect=0)
    check("within policy" in p.stdout, "exit 0 says within policy")
    other = os.path.join(a.work, "model-other")
    if not os.path.exists(other):
        subprocess.run([a.fssl, "model", "init", "--arch", "llama", "--preset", "tiny", "--seed", "2", "--out", other],
                       check=True, stdout=subprocess.DEVNULL)
    p = a.run(3, out + "-wrong-model", model=other, expect=2)
    check("fingerprint" in p.stdout and "--force-model" in p.stdout, "a wrong model is refused, naming the fingerprints")
    p = a.run(3, out + "-forced", ["--force-model"] + lenient, model=other, expect=0)
    s = json.load(open(os.path.join(out + "-forced", "summary.json")))
    check(s["gumbel_max"]["tiers"]["dangerous"] > 0, "--force-model audits anyway and finds the mismatch")
    a.run(4, out + "-bad-tp", tp=2, expect=2)  # 3 worker ranks do not form groups of 2
    a.run(3, out + "-bad-option", ["--dtype", "fp8"], expect=2)


def case_strata(a):
    out = os.path.join(a.work, "strata")
    shutil.rmtree(out, ignore_errors=True)
    a.run(3, out, ["--stratify", "server", "--servers", "sim-0,sim-2", "--sample", "9",
                   "--policy-max-flagged", "1000"], expect=0)
    s = json.load(open(os.path.join(out, "summary.json")))
    strata = {p["key"]: p for p in s["plan"]["strata"]}
    check(sorted(strata) == ["sim-0", "sim-2"], "one plan stratum per selected server")
    check(all(p["planned"] == 9 for p in strata.values()), "9 messages planned from each server")
    check({t["server"] for t in s["strata"]} == {"sim-0", "sim-2"}, "only the selected servers are audited")
    check(sum(t["scored"] for t in s["strata"] if t["server"] == "sim-2") == 9, "sim-2's 9 messages are scored")


def case_calibrate(a):
    honest = os.path.join(a.work, "archive-honest")
    if not os.path.exists(honest):
        # A bf16 server replayed in fp32: honest traffic with benign numerical mismatches.
        subprocess.run([a.fssl, "simulate", "--model", a.model, "--out", honest, "--messages", "150",
                        "--shard-messages", "50", "--max-tokens", "32", "--seed", "5", "--dtype", "bf16",
                        "--threads", "1"], check=True)
    out = os.path.join(a.work, "calibrate")
    shutil.rmtree(out, ignore_errors=True)
    cmd = a.command(3, out, ["--sample", "150"], archive=honest)
    cmd[cmd.index("audit")] = "calibrate"
    p = subprocess.run(cmd, env=a.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    print(p.stdout[-3000:])
    check(p.returncode == 0, "calibrate finds an operating point (exit %d)" % p.returncode)
    cal = json.load(open(os.path.join(out, "calibration.json")))
    chosen = cal["gumbel_max"]
    s = json.load(open(os.path.join(out, "summary.json")))
    grid = s["config"]["score"]["margin_grid"]
    # Recompute the operating point from results.h5 alone (verification-math.md 7.3).
    import h5py
    import numpy as np
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        margin, rank = f["tokens/margin"][:].astype(np.float64), f["tokens/logit_rank"][:]
        adm = f["tokens/admissible"][:][:, grid.index(chosen["margin_threshold"])]
    log2v = s["bounds"]["information"]["log2_vocab"]
    delta, r = chosen["margin_threshold"], chosen["rank_cutoff"]
    safe = margin <= delta
    suspicious = ~safe & (rank <= r)
    dangerous = ~safe & (rank > r)
    bits = np.where(safe, np.log2(np.maximum(adm, 1)), np.where(suspicious, math.log2(r + 1), log2v))
    fpr = 100.0 * dangerous.mean()
    info = 100.0 * bits.sum() / (len(margin) * log2v)
    check(abs(fpr - chosen["fpr_percent"]) < 1e-9 and fpr <= cal["target_fpr_percent"],
          "the operating point's FPR %.4f%% recomputed from results.h5" % fpr)
    check(abs(info - chosen["info_percent"]) < 1e-6, "its Info %.4f%% recomputed from results.h5" % info)
    check(100.0 * suspicious.mean() <= cal["max_suspicious_percent"], "its suspicious share is within the limit")
    # The message threshold: 150 honest messages cannot certify a 1 % message FPR at 95 % (the rule
    # of three needs 299), and calibrate says so rather than claiming it.
    m = chosen["message"]
    check(m["messages"] == 150 and not m["certified"] and m["messages_needed"] == 299,
          "150 honest messages: the 1 %% message target is not certified (needs %d)" % m["messages_needed"])
    check("NOT certified" in p.stdout and "calibrate on at least 299" in p.stdout, "calibrate says so on stdout")
    html = open(os.path.join(out, "report.html")).read()
    check('id="message-threshold-gumbel_max"' in html and "not certified" in html,
          "report.html states the message threshold and that it is not certified")
    with h5py.File(os.path.join(out, "results.h5"), "r") as f:
        off, n = f["messages/token_offset"][:], f["messages/output_tokens"][:]
    evidence = [float(margin[o:o + k].sum()) for o, k in zip(off, n) if k > 0]
    check(abs(m["threshold"] - max(evidence)) <= 1e-5 * max(1.0, max(evidence)),
          "uncertified, the threshold is the largest honest evidence %.6g" % max(evidence))
    audited = os.path.join(a.work, "calibrated-audit")
    shutil.rmtree(audited, ignore_errors=True)
    a.run(3, audited, ["--calibration", os.path.join(out, "calibration.json")], expect=3)
    score = json.load(open(os.path.join(audited, "summary.json")))["config"]["score"]
    check(score["margin_threshold"] == delta and score["rank_cutoff"] == r, "the audit runs at the calibrated point")
    alarm = json.load(open(os.path.join(audited, "summary.json")))["verdict"]["alarm"]
    check(alarm["rule"] == "calibrated" and alarm["alarm"] and alarm["statement"].startswith("alarm:"),
          "the calibrated rule alarms on the adversary: " + alarm["statement"])
    check_report(out)


def case_parts_merge(a):
    runs = {name: os.path.join(a.work, "parts-" + name) for name in ("whole", "p0", "p1", "m01", "m10", "m0", "other")}
    for d in runs.values():
        shutil.rmtree(d, ignore_errors=True)
    budget = ["--token-budget", "600"]
    a.run(3, runs["whole"], budget, expect=3)
    a.run(2, runs["p0"], budget + ["--part", "0/2"], expect=3)
    a.run(3, runs["p1"], budget + ["--part", "1/2"], expect=3)

    def merge(out, parts, extra=(), expect=None):
        cmd = a.command(1, out, budget + list(extra))[3:]  # fssl audit ... without mpiexec
        cmd[cmd.index("audit")] = "merge"
        p = subprocess.run(cmd + parts, env=a.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        print("$ " + " ".join(cmd + parts) + "\n" + p.stdout[-2000:])
        check(p.returncode == expect, "merge into %s exits %d (got %d)" % (os.path.basename(out), expect, p.returncode))
        return p

    merge(runs["m01"], [runs["p0"], runs["p1"]], expect=3)
    merge(runs["m10"], [runs["p1"], runs["p0"]], expect=3)
    check(summary(runs["m01"]) == summary(runs["whole"]), "the merged parts' summary equals the single audit's")
    check(summary(runs["m10"]) == summary(runs["m01"]), "merging is independent of the parts' order")
    merge(runs["m0"], [runs["p0"]], expect=4)
    a.run(3, runs["m0"], budget, expect=3)
    check(summary(runs["m0"]) == summary(runs["whole"]), "an incomplete merge completes by auditing its directory")
    a.run(3, runs["other"], budget + ["--part", "1/2", "--sample", "150"], expect=3)  # another plan
    p = merge(os.path.join(a.work, "parts-bad"), [runs["p0"], runs["other"]], expect=2)
    check("another audit" in p.stdout, "a part of another audit is refused, named")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fssl", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("case")
    args = ap.parse_args()
    a = Audit(args)
    cases = {
        "setup": setup, "identical": case_identical, "max-time": case_max_time, "quarantine": case_quarantine,
        "exit-codes": case_exit_codes, "strata": case_strata, "calibrate": case_calibrate,
        "parts-merge": case_parts_merge,
        "resume-sigusr1": lambda a: case_resume(a, "sigusr1"),
        "resume-sigterm": lambda a: case_resume(a, "sigterm"),
        "resume-sigkill": lambda a: case_resume(a, "sigkill"),
        "resume-rank-dies": lambda a: case_resume(a, "rank-dies"),
    }
    if args.case not in cases:
        fail("unknown case " + args.case)
    cases[args.case](a)
    print("PASSED: " + args.case)


if __name__ == "__main__":
    main()
