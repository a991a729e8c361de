#!/usr/bin/env python3
"""A student's loop: one self-check of one .py file, from the command line, timed whole.

    python benchmarks/bench_check.py                         # median of 10 each, interleaved
    python benchmarks/bench_check.py --against /tmp/before   # also another version's source tree, same rounds

Each version is installed as a student installs it: a wheel built from its source tree, in a virtual environment
of its own made for the run, whose dependencies are this interpreter's (a `.pth` line naming its site-packages, so
that they are the same versions for every version). A development checkout's editable install would add its
import hook to every interpreter start, the warm process's too (about 17 ms here); a student's has none.

Commands run in turn (round-robin, so a busy moment of the machine falls on all of them alike), each timed
from its start to its exit, interpreter start-up and imports included:

- `python -c "import numpy"`: the baseline, what any numpy program pays before it does anything;
- `rnn-grader check FILE --exercise rnn-bptt`, the installed command;
- `python kit/check.py FILE`, with a student kit exported into a temporary folder;
- the installed command again as the first check of a session (in a servers' folder of its own: no server
  answers, the check runs in its own process and starts one as it exits, which is stopped after it);
- with `--against DIR` (a checkout of another commit, `git worktree add DIR COMMIT`), the same two commands
  of that version, installed the same way, its kit exported by that version.

FILE is a correct `.py` answer (`tests/corpus/correct/student02_vectorised.py`), or the one `--work` names.
Bytecode is written as a student's machine writes it (`PYTHONDONTWRITEBYTECODE` is removed), and each command
runs once before timing, so what is timed is the loop after a first check: a check served by the server that the
first one started (grader/selfcheck/server.py; the run waits until each answers, and its servers live in a folder
of the run's, stopped at its end). Reported: the median wall time, and as a multiple of the baseline's; the median
CPU time of the command's processes (user + system, all of them: the sandbox's, and a server's over the command,
with the sandbox processes it waited for), which a busy machine disturbs less.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "tests" / "corpus" / "correct" / "student02_vectorised.py"
TARGET_SECONDS = 0.25
BASELINE = 'python -c "import numpy"'

Command = list[str]
FIRST_CHECK = "rnn-grader check FILE, first of a session"
READING_SECONDS = 0.5  # after each command, as a student reads the feedback: what a server starts then is done


def commands(folder: Path, against: Path | None, work: Path) -> dict[str, Command]:
    """Every command to time; each version installed, and its kit exported, into `folder` first."""
    chosen: dict[str, Command] = {}
    versions = {"": ROOT} | ({f"{against.name}: ": against} if against else {})
    for number, (label, tree) in enumerate(versions.items()):
        python = installed(tree, folder / f"venv{number}")
        chosen.setdefault(BASELINE, [str(python), "-c", "import numpy"])
        kit = folder / f"kit{number}" / "kit"
        export = [str(python), "-m", "grader", "export", "student", "rnn-bptt", "-o", str(kit)]
        subprocess.run(export, check=True, cwd=folder, stdout=subprocess.DEVNULL)
        chosen[f"{label}rnn-grader check FILE"] = [
            str(python.parent / "rnn-grader"),
            "check",
            str(work),
            "--exercise",
            "rnn-bptt",
        ]
        chosen[f"{label}python kit/check.py FILE"] = [str(python), str(kit / "check.py"), str(work)]
        if not label:
            chosen[FIRST_CHECK] = chosen["rnn-grader check FILE"]
    return chosen


def installed(tree: Path, venv: Path) -> Path:
    """The version in `tree`, built as a wheel and installed into a new virtual environment; its interpreter.
    The tree is copied first: building writes into the folder it builds from."""
    source = venv.with_name(venv.name + "-source")
    shutil.copytree(
        tree, source, ignore=shutil.ignore_patterns(".*", "__pycache__", "build", "*.egg-info", "tests", "docs")
    )
    wheels = venv.with_name(venv.name + "-wheel")
    quiet = {"check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)], **quiet)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **quiet)
    python = venv / "bin" / "python"
    wheel = [str(path) for path in wheels.glob("*.whl")]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", *wheel], **quiet
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_paths()[kind] for kind in ("purelib", "platlib"))
    Path(site, "dependencies.pth").write_text("".join(f"{folder}\n" for folder in ours))
    return python


def timed(label: str, argv: Command, cwd: Path, servers: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the command's whole process tree and of the servers'
    (in `servers`) over the command. The first check of a session finds no server (a folder of its own, empty),
    and the one it starts as it exits is stopped after it."""
    if label == FIRST_CHECK:
        with tempfile.TemporaryDirectory(dir="/tmp") as empty:
            try:
                return timed("", argv, cwd, Path(empty))
            finally:
                stop_servers(Path(empty))
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONDONTWRITEBYTECODE", "CI")}
    env["XDG_RUNTIME_DIR"] = str(servers)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    servers_before = servers_cpu(servers)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = servers_cpu(servers) - servers_before
    if done.returncode not in (0, 1):  # 1: a question does not pass (the write-up is not given)
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime + served


def stop_servers(servers: Path) -> None:
    for pid in server_pids(servers):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while server_pids(servers) and time.monotonic() < deadline:
        time.sleep(0.05)


def servers_cpu(servers: Path) -> float:
    """The CPU seconds of the check servers in `servers` so far, theirs and their waited-for children's."""
    total = 0
    for pid in server_pids(servers):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        total += sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(servers: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if str(servers).encode() in command:
            found.append(int(entry.name))
    return found


def wait_for_servers(servers: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(list(servers.rglob("check-*"))) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # their imports done, and the sandbox's interpreter waiting


def measure(runs: int, against: Path | None, work: Path) -> dict[str, list[tuple[float, float]]]:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as name, tempfile.TemporaryDirectory(dir="/tmp") as run:
        folder, servers = Path(name), Path(run)
        chosen = commands(folder, against, work)
        try:
            for label, command in chosen.items():  # bytecode written, servers started: the loop after a first check
                timed(label, command, folder, servers)
            wait_for_servers(servers, 2)
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
            for _ in range(runs):
                for label, command in chosen.items():
                    times[label].append(timed(label, command, folder, servers))
                    time.sleep(READING_SECONDS)
        finally:
            stop_servers(servers)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command (median reported)")
    parser.add_argument("--against", type=Path, help="the source tree of another version, timed in the same rounds")
    parser.add_argument("--work", type=Path, default=WORK, help="the work checked (default: a correct .py file)")
    arguments = parser.parse_args()
    against = arguments.against.resolve() if arguments.against else None
    times = measure(arguments.runs, against, arguments.work.resolve())
    baseline = statistics.median(wall for wall, _ in times[BASELINE])
    print(f"median of {arguments.runs}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    for label, values in times.items():
        walls = [wall for wall, _ in values]
        median = statistics.median(walls)
        target = "" if label in (BASELINE, FIRST_CHECK) else f"   target {TARGET_SECONDS} s: {_verdict(median)}"
        print(
            f"  {label:<42} {median:6.3f} s  {median / baseline:4.1f}x baseline  "
            f"cpu {statistics.median(cpu for _, cpu in values):.3f} s  (wall min {min(walls):.3f}){target}"
        )


def _verdict(seconds: float) -> str:
    return "met" if seconds <= TARGET_SECONDS else "NOT met"


if __name__ == "__main__":
    main()
