"""A one-node Slurm cluster on this machine, for as long as a test needs it: its own munge key and munged,
its own slurm.conf, slurmctld and slurmd, all in one folder and on free ports, in the foreground as children
of the test (no systemd, no cgroups). Made for root, as `.ci/run` is."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "scancel")
DONE_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
START_SECONDS = 60  # for the node to come up idle
STOP_SECONDS = 30  # for a daemon to exit on SIGTERM

# The grading script asks each array task for 4 CPUs and 8G: the node claims them whatever the machine has
# (config_overrides), and so runs one task at a time on a 2-core machine.
SLURM_CONF = """\
ClusterName=rnngrader
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={controller_port}
SlurmdPort={node_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge/munge.socket
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName={host} NodeAddr=127.0.0.1 CPUs=4 RealMemory=8192 State=UNKNOWN
PartitionName=grading Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def installed() -> bool:
    return all(shutil.which(name) for name in DAEMONS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SlurmCluster:
    def __init__(self, folder: Path):
        self.folder = folder
        self.conf = folder / "slurm.conf"
        self.host = socket.gethostname().split(".")[0]  # slurmd takes `hostname -s` as its node name
        self.daemons: list[subprocess.Popen] = []
        self.daemon_logs: list[BinaryIO] = []

    @property
    def environment(self) -> dict[str, str]:
        """What a user of this cluster has set: its slurm.conf."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self) -> None:
        for name in ("munge", "state", "spool", "log"):
            (self.folder / name).mkdir(mode=0o700, parents=True)
        munge = self.folder / "munge"
        for folder in (self.folder, munge):  # munged wants its socket's folders open to all, writable by none
            folder.chmod(0o711)
        subprocess.run(["mungekey", "--create", f"--keyfile={munge}/munge.key"], check=True, capture_output=True)
        self._daemon(["munged", "--foreground", f"--key-file={munge}/munge.key", f"--socket={munge}/munge.socket",
                      f"--pid-file={munge}/munged.pid", f"--log-file={munge}/munged.log",
                      f"--seed-file={munge}/munged.seed"], "munged")  # fmt: skip
        self._wait_until(lambda: (munge / "munge.socket").exists(), "munged's socket")
        self.conf.write_text(
            SLURM_CONF.format(host=self.host, folder=self.folder, controller_port=free_port(), node_port=free_port())
        )
        self._daemon(["slurmctld", "-D", "-f", str(self.conf)], "slurmctld")
        self._daemon(["slurmd", "-D", "-f", str(self.conf)], "slurmd")
        self._wait_until(self._node_idle, "an idle node")

    def _node_idle(self) -> bool:
        command = ["sinfo", "--noheader", "--Node", "--format=%t"]  # fails while slurmctld is not yet listening
        done = subprocess.run(command, env=self.environment, capture_output=True, text=True, timeout=120)
        return done.returncode == 0 and done.stdout.strip() == "idle"

    def _daemon(self, command: list[str], name: str) -> None:
        log = (self.folder / "log" / f"{name}.out").open("wb")
        self.daemon_logs.append(log)
        self.daemons.append(subprocess.Popen(command, stdout=log, stderr=log, env=self.environment))

    def _wait_until(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not ready():
            exited = [daemon.args[0] for daemon in self.daemons if daemon.poll() is not None]
            if exited or time.monotonic() > deadline:
                raise RuntimeError(f"no {what}; exited: {exited}\n{self.logs()}")
            time.sleep(0.2)

    def run(self, *command: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            command, cwd=cwd, env=env or self.environment, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def job_records(self, job_id: str) -> list[dict[str, str]]:
        """`scontrol show job` of one job, one record per array task, as key=value pairs."""
        text = self.run("scontrol", "--oneliner", "show", "job", job_id)
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in text.splitlines() if line.strip()]

    def wait_for_jobs(self, job_ids: list[str], seconds: float) -> dict[str, list[dict[str, str]]]:
        """Each job's records once every task of every job has ended, or a dependency can never be met."""
        deadline = time.monotonic() + seconds
        while True:
            records = {job_id: self.job_records(job_id) for job_id in job_ids}
            if all(_ended(record) for job in records.values() for record in job):
                return records
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobs still running after {seconds} s: {records}\n{self.logs()}")
            time.sleep(1)

    def stop(self) -> None:
        """Cancel the jobs still running and wait for their processes to end, then end the daemons; kill any
        process of the cluster still left."""
        if self.daemons and self.daemons[-1].poll() is None:
            subprocess.run(["scancel", "--full", "--user=root"], env=self.environment, capture_output=True)
            deadline = time.monotonic() + STOP_SECONDS
            while self.processes_of_jobs() and time.monotonic() < deadline:
                time.sleep(0.2)
        for daemon in reversed(self.daemons):
            _end(daemon)
        for pid in self.processes_of_jobs():
            os.kill(pid, signal.SIGKILL)
        for log in self.daemon_logs:
            log.close()

    def processes(self) -> list[int]:
        """Every process started for this cluster: its daemons and its jobs all carry its SLURM_CONF."""
        marker = f"SLURM_CONF={self.conf}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or a kernel thread
                continue
        return found

    def processes_of_jobs(self) -> list[int]:
        """The cluster's processes but its daemons and their helpers (slurmctld's slurmscriptd)."""
        daemons = {daemon.pid for daemon in self.daemons}
        return [pid for pid in self.processes() if pid not in daemons and _parent(pid) not in daemons]

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in sorted((self.folder / "log").glob("*")))  # fmt: skip


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # after the command's name, which may hold spaces: state, ppid


def _ended(record: dict[str, str]) -> bool:
    return record.get("JobState") in DONE_STATES or record.get("Reason") == "DependencyNeverSatisfied"


def _end(daemon: subprocess.Popen) -> None:
    if daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


@contextmanager
def running_cluster(folder: Path) -> Iterator[SlurmCluster]:
    cluster = SlurmCluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
