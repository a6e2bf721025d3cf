#!/usr/bin/python3
"""A one-node Slurm cluster on this machine for the `slurm`-labelled tests (platform-notes.md §7):
munged, slurmctld and slurmd as background processes with all state in one scratch directory,
stopped by their recorded PIDs (never by name) even when a test fails.

    with Cluster() as c:                       # brings it up, tears it down
        job = c.submit(["slurm/audit.sbatch", ...], env)
        state, code = c.wait(job)

Needs root (the daemons run as root, munged as user munge) and Debian's slurm-wlm + munge.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time


class ClusterError(RuntimeError):
    pass


def _slurmd_hardware():
    out = subprocess.run(["slurmd", "-C"], stdout=subprocess.PIPE, text=True, check=True).stdout.split("\n")[0]
    fields = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
    memory = int(int(fields.get("RealMemory", "1024")) * 0.9)
    keep = ["CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore"]
    return " ".join("%s=%s" % (k, fields[k]) for k in keep if k in fields) + " RealMemory=%d" % memory


class Cluster:
    def __init__(self):
        self.state = tempfile.mkdtemp(prefix="fssl-slurm-")
        self.conf = os.path.join(self.state, "slurm.conf")
        self.pids = []  # (name, Popen), started in order
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.bringup_seconds = 0.0

    # ---- bring-up and teardown ---------------------------------------------------------------
    def __enter__(self):
        start = time.time()
        try:
            self._write_conf()
            self._start_munge()
            self._start("slurmctld", ["slurmctld", "-D", "-f", self.conf])
            self._until(lambda: "UP" in self._run(["scontrol", "ping"], check=False), "slurmctld to answer", 30)
            self._start("slurmd", ["slurmd", "-D", "-f", self.conf])
            self._until(lambda: re.search(r"\bidle\b", self._run(["sinfo", "-h", "-o", "%T"], check=False) or ""),
                        "the node to be idle", 60)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.bringup_seconds = time.time() - start
        print("ok: slurm cluster up in %.1f s (state %s)" % (self.bringup_seconds, self.state))
        return self

    def __exit__(self, *exc):
        for name, proc in reversed(self.pids):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.pids):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.pids = []
        if exc and exc[0] is not None:
            for log in ("slurmctld.log", "slurmd.log"):
                path = os.path.join(self.state, log)
                if os.path.exists(path):
                    print("---- %s (tail)" % log)
                    print("".join(open(path).readlines()[-30:]))
        shutil.rmtree(self.state, ignore_errors=True)
        return False

    def _write_conf(self):
        host = socket.gethostname().split(".")[0]
        s = self.state
        conf = """ClusterName=fsslci
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation={s}/state
SlurmdSpoolDir={s}/spool
SlurmctldPidFile={s}/slurmctld.pid
SlurmdPidFile={s}/slurmd.pid
SlurmctldLogFile={s}/slurmctld.log
SlurmdLogFile={s}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
JobRequeue=1
KillWait=5
SchedulerParameters=sched_interval=2
NodeName={host} NodeAddr=127.0.0.1 {hw} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE OverSubscribe=YES State=UP
""".format(host=host, s=s, hw=_slurmd_hardware())
        os.makedirs(os.path.join(s, "state"))
        os.makedirs(os.path.join(s, "spool"))
        with open(self.conf, "w") as f:
            f.write(conf)

    def _start_munge(self):
        os.makedirs("/run/munge", exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        os.chmod("/run/munge", 0o755)
        if not os.path.exists("/etc/munge/munge.key"):
            subprocess.run(["mungekey", "--create"], check=True)
        if subprocess.run("munge -n | unmunge", shell=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            self._start("munged", ["setpriv", "--reuid=munge", "--regid=munge", "--init-groups",
                                   "munged", "--foreground"])
            self._until(lambda: subprocess.run("munge -n | unmunge", shell=True, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL).returncode == 0, "munged", 20)

    def _start(self, name, cmd):
        log = open(os.path.join(self.state, name + ".stdout"), "w")
        self.pids.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)))

    def _run(self, cmd, check=True):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        if check and p.returncode != 0:
            raise ClusterError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stdout))
        return p.stdout

    def _until(self, ready, what, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, proc in self.pids:
                if proc.poll() is not None:
                    raise ClusterError("%s exited with %d while waiting for %s" % (name, proc.returncode, what))
            if ready():
                return
            time.sleep(0.1)
        raise ClusterError("timed out after %d s waiting for %s" % (timeout, what))

    # ---- jobs ---------------------------------------------------------------------------------
    def submit(self, args, env=None, cwd=None):
        """sbatch --parsable ARGS; returns the job id (for arrays, the array's id)."""
        p = subprocess.run(["sbatch", "--parsable"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=dict(env or os.environ, SLURM_CONF=self.conf), cwd=cwd)
        if p.returncode != 0:
            raise ClusterError("sbatch %s: %s" % (" ".join(args), p.stdout))
        return p.stdout.strip().split(";")[0]

    def job(self, job_id):
        """Fields of `scontrol -o show job` for one job (the first record for an array)."""
        out = self._run(["scontrol", "-o", "show", "job", job_id], check=False)
        line = out.strip().split("\n")[0] if out.strip() else ""
        return dict(m.groups() for m in re.finditer(r"(\w+)=(\S*)", line))

    def wait(self, job_id, timeout=600, on_poll=None):
        """Polls every 0.25 s (sbatch --wait backs off to 10 s) until every record of the job is
        finished; returns (states, exit codes) of its records."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self._run(["scontrol", "-o", "show", "job", job_id], check=False)
            records = [dict(m.groups() for m in re.finditer(r"(\w+)=(\S*)", line))
                       for line in out.strip().split("\n") if line.strip()]
            if on_poll:
                on_poll(records)
            states = [r.get("JobState", "") for r in records]
            if records and all(s in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY")
                               for s in states):
                return states, [r.get("ExitCode", "") for r in records]
            time.sleep(0.25)
        raise ClusterError("job %s did not finish within %d s" % (job_id, timeout))


if __name__ == "__main__":
    with Cluster() as c:
        job = c.submit(["--wrap", "srun -n1 hostname"])
        print(c.wait(job, timeout=60))
