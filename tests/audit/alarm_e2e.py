#!/usr/bin/python3
"""The calibrated alarm rule end to end (ctest audit.alarms, label mpi; docs/audit.md "Alarms"):
real `fssl simulate` traffic served in bf16 and replayed in fp32, real `fssl calibrate` and
`fssl audit` under mpiexec.

    /usr/bin/python3 alarm_e2e.py --fssl build/fssl --workdir DIR

1. Calibrate on 700 honest messages for a message FPR of 0.5 %, with a top-k steganographic
   archive as the adversary: the threshold is recomputed here from results.h5 alone (the order
   statistic certified by an exact binomial bound summed in this script), and the power section
   names the adversary with its detection rate and AUC.
2. 20 audits of 400 messages (audit seeds 1..20) of another honest archive at the calibrated point:
   the number that alarm must be consistent with alpha = 1 % (a one-sided binomial test at level
   0.1 %: at most 2 of 20). The same 20 audits of an archive where the adversary takes 5 % of the
   messages all alarm, because of its messages (ground truth).
3. `fssl plan --calibration` gives the sample size whose power, recomputed here, reaches 99 %.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader",
    "OMPI_MCA_pml": "ob1", "OMPI_MCA_oob_tcp_if_include": "lo", "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMP_NUM_THREADS": "1",
}
ALPHA, CONFIDENCE, TARGET = 0.01, 0.95, 0.005
SIM = ["--max-tokens", "16", "--top-k", "50", "--top-p", "0.95", "--dtype", "bf16", "--threads", "1",
       "--shard-messages", "500"]


def check(ok, text):
    print(("ok: " if ok else "FAILED: ") + text, flush=True)
    if not ok:
        sys.exit(1)


def log_tail(n, p, k):
    """P[Binomial(n, p) >= k] in log space (independent of Boost)."""
    if k <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    terms = [math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * math.log(p) +
             (n - j) * math.log1p(-p) for j in range(k, n + 1)]
    m = max(terms)
    return math.exp(m) * sum(math.exp(t - m) for t in terms)


def cp_upper(k, n, conf):
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        (lo, hi) = (mid, hi) if 1 - log_tail(n, mid, k + 1) > 1 - conf else (lo, mid)
    return hi


def quantile(n, p, alpha):
    q = 0
    while log_tail(n, p, q + 1) > alpha:
        q += 1
    return q


def run(cmd, env=None, expect=None):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if expect is not None and p.returncode not in expect:
        print("$ " + " ".join(cmd) + "\n" + p.stdout[-4000:])
        check(False, "exit %d, expected %s" % (p.returncode, expect))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fssl", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    env = dict(os.environ, **MPI_ENV)
    work = a.workdir
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    fssl = a.fssl
    mpi = ["mpiexec", "-n", "2", fssl]
    model = os.path.join(work, "model")
    run([fssl, "model", "init", "--arch", "llama", "--preset", "tiny", "--seed", "3", "--out", model], expect=[0])
    cal_archive, honest, adversarial = (os.path.join(work, n) for n in ("calibration-traffic", "honest", "adversarial"))
    run([fssl, "simulate", "--model", model, "--out", cal_archive, "--messages", "700", "--seed", "31"] + SIM, expect=[0])
    run([fssl, "simulate", "--model", model, "--out", honest, "--messages", "2000", "--seed", "32"] + SIM, expect=[0])
    run([fssl, "simulate", "--model", model, "--out", adversarial, "--messages", "2000", "--seed", "33",
         "--adversary", "topk-stego", "--adversary-fraction", "0.05"] + SIM, expect=[0])

    # 1. Calibration, with the adversary's archive for power.
    cal = os.path.join(work, "calibration")
    p = run(mpi + ["calibrate", "--archive", cal_archive, "--model", model, "--out", cal, "--sample", "700",
                   "--threads", "1", "--target-message-fpr", str(100 * TARGET), "--adversarial", adversarial],
            env=env, expect=[0])
    print(p.stdout[-2500:])
    c = json.load(open(os.path.join(cal, "calibration.json")))
    m = c["gumbel_max"]["message"]
    with h5py.File(os.path.join(cal, "results.h5"), "r") as f:
        off, n = f["messages/token_offset"][:], f["messages/output_tokens"][:]
        margin = f["tokens/margin"][:].astype(np.float64)
    evidence = sorted((float(margin[o:o + k].sum()) for o, k in zip(off, n) if k > 0), reverse=True)
    k_star = -1
    while k_star + 1 < len(evidence) and cp_upper(k_star + 1, len(evidence), CONFIDENCE) <= TARGET:
        k_star += 1
    check(m["certified"] and m["order_k"] == k_star and k_star >= 0,
          "700 honest messages certify 0.5 %%: k* = %d (recomputed %d)" % (m["order_k"], k_star))
    check(abs(m["threshold"] - evidence[k_star]) <= 1e-5 * max(1.0, evidence[k_star]),
          "the threshold %.6g is the (k*+1)-th largest honest evidence %.6g (results.h5)" % (m["threshold"],
                                                                                            evidence[k_star]))
    p0 = m["p0_upper"]
    check(abs(p0 - cp_upper(k_star, len(evidence), CONFIDENCE)) < 1e-9, "p0 <= %.4g%% is the exact bound" % (100 * p0))
    power = c["power"]["adversaries"][0]
    check(power["name"] == "adversarial" and power["detection_rate"] >= 0.9 and power["auc"] >= 0.95,
          "the adversary is detected at %.1f%% per message, AUC %.4f" % (100 * power["detection_rate"], power["auc"]))

    # 2. Twenty honest audits and twenty adversarial ones at the calibrated point.
    def audits(archive, name, truth):
        verdicts = []
        for seed in range(1, 21):
            out = os.path.join(work, "%s-%d" % (name, seed))
            extra = ["--truth", archive + ".truth.jsonl"] if truth else []
            p = run(mpi + ["audit", "--archive", archive, "--model", model, "--out", out, "--sample", "400", "--seed",
                           str(seed), "--threads", "1", "--calibration", os.path.join(cal, "calibration.json")] + extra,
                    env=env, expect=[0, 3])
            s = json.load(open(os.path.join(out, "summary.json")))
            alarm = s["verdict"]["alarm"]
            check((p.returncode == 3) == (not s["verdict"]["within_policy"]), "%s %d: exit %d matches the verdict" % (
                name, seed, p.returncode))
            verdicts.append((alarm, s))
            print("  %s seed %2d: exit %d, %s" % (name, seed, p.returncode, alarm["statement"]), flush=True)
        return verdicts

    honest_runs = audits(honest, "honest", False)
    alarms = sum(1 for alarm, _ in honest_runs if alarm["alarm"])
    # P[Binomial(20, alpha) >= alarms]: reject consistency with alpha at the 0.1 % level.
    p_alarms = log_tail(20, ALPHA, alarms)
    check(p_alarms >= 1e-3, "%d of 20 honest audits alarm: consistent with alpha = 1 %% (P[Bin(20, 0.01) >= %d] = "
          "%.3g)" % (alarms, alarms, p_alarms))
    q = quantile(400, p0, ALPHA / 2)
    check(all(alarm["fleet"]["quantile"] == q for alarm, _ in honest_runs),
          "every audit's honest quantile is q = %d of Binomial(400, p0) at alpha/2 (recomputed)" % q)
    for alarm, s in honest_runs:
        check(s["totals"]["flagged"] == alarm["fleet"]["flagged"] and alarm["statement"].startswith(
            "alarm" if alarm["alarm"] else "quiet"), "the statement says what the rule decided")
        break
    adversarial_runs = audits(adversarial, "adversarial", True)
    for seed, (alarm, s) in enumerate(adversarial_runs, 1):
        d = s["detection"]
        check(alarm["alarm"] and alarm["fleet"]["flagged"] > q,
              "adversarial audit %d alarms: %s" % (seed, alarm["statement"]))
        check(d["honest"]["flagged"] <= q and d["adversarial"]["flagged"] > q - d["honest"]["flagged"],
              "... because of the adversary's %d flagged messages (%d honest flagged)" % (
                  d["adversarial"]["flagged"], d["honest"]["flagged"]))

    # 3. Capacity planning with the calibrated rates.
    p = run([fssl, "plan", "--calibration", os.path.join(cal, "calibration.json"), "--malicious-fraction", "0.01"],
            expect=[0])
    n = int(p.stdout.strip().splitlines()[-1])
    d = power["detection_rate"]

    def power_at(size):
        qq = quantile(size, p0, ALPHA)
        return log_tail(size, 0.01 * d + 0.99 * p0, qq + 1)
    check(power_at(n) >= 0.99 and power_at(n - 1) < 0.99 + 1e-12,
          "fssl plan --calibration: %d messages reach power %.4f (recomputed)" % (n, power_at(n)))
    check(n > 459, "more than the %d of the uncalibrated inverse binomial" % 459)


if __name__ == "__main__":
    main()
