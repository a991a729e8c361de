"""The sandbox with real processes: limits, containment, and only data coming back."""

from __future__ import annotations

import array
import contextlib
import fcntl
import glob
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.read.flags import PROTECTED_PACKAGES
from grader.read.units import Unit
from grader.run import boot as boot_module
from grader.run import warm as warm_module
from grader.run.boot import (
    SpareProcess,
    batch_folder,
    boot_with_spare,
    remove_folder,
    start_early,
    stop_process,
)
from grader.run.client import Job, RunResult, SandboxPool
from grader.run.protocol import Item, Limits, TooBig, Unsupported, encode_array
from grader.run.warm import WarmProcess

AS_ROOT = os.geteuid() == 0
FAST = Limits(timeout=1.0, memory_mb=1024, max_elements=1000)


def run(tmp_path: Path, source: str, names: list[str], limits: Limits = FAST, calls=None) -> RunResult:
    """Load `source` as student.py and call each named function once (or fetch it as a value)."""
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(source))
    items = [Item(id=name, kind="call", name=name, calls=calls or [[]]) if not name.isupper()
             else Item(id=name, kind="value", name=name) for name in names]
    job = Job("k", [(path, "student.py")], [Unit(kind="module", label="student.py", path="student.py")], items)
    with SandboxPool(limits, jobs=1, protected_packages=PROTECTED_PACKAGES) as pool:
        return next(pool.run([job]))


def value(result: RunResult, name: str):
    record = result.items[name].records[0]
    assert record.error is None, record.error
    return record.value


def test_arrays_in_the_other_byte_order_come_back_as_their_values(tmp_path):
    # dtype.name is "float64" for big-endian floats too: sent as they were, their bytes read back as other numbers
    result = run(tmp_path, """
        import numpy as np
        def big(): return np.array([[1.5], [-2.0]], dtype=">f8")
        def ints(): return [np.arange(3, dtype=">i4"), np.array(7, dtype="<u2")]
    """, ["big", "ints"])
    assert value(result, "big").tolist() == [[1.5], [-2.0]] and value(result, "big").dtype == np.float64
    assert [part.tolist() for part in value(result, "ints")] == [[0, 1, 2], 7]


def test_values_come_back_as_plain_data(tmp_path):
    result = run(tmp_path, """
        import numpy as np
        def pair(): return (np.ones((2, 1)), [np.zeros(2), 3.5])
        def scalar(): return np.float32(2.5)
        SHAPES = {"W_H": (7, 7), "h_t": "7x1"}
    """, ["pair", "scalar", "SHAPES"])
    hs, rest = value(result, "pair")
    # Structure and dtype survive; nothing is unpickled.
    assert hs.shape == (2, 1) and rest[1].shape == () and float(rest[1]) == 3.5
    assert value(result, "scalar").dtype == np.float32
    assert value(result, "SHAPES")["h_t"] == "7x1"


def test_values_come_back_through_the_disk_where_the_ram_file_system_is_small(tmp_path, monkeypatch):
    """Docker's /dev/shm is 64 MB: too small a RAM file system is not used, and values come back all the same."""
    from grader.run import boot, client

    monkeypatch.setattr(boot, "RAM_ROOM", 1 << 62)
    assert client._records_folder() is None
    folder = batch_folder(in_ram=True)
    try:
        assert folder.parent == Path(tempfile.gettempdir())
    finally:
        shutil.rmtree(folder)
    result = run(tmp_path, "import numpy as np\ndef big(): return np.arange(500.0)\n", ["big"])
    assert value(result, "big").shape == (500,) and float(value(result, "big")[-1]) == 499.0


def test_a_jobs_folder_is_in_ram_only_where_its_code_works_in_a_private_tmpfs(tmp_path):
    """Where a job's code works in its own folder (no mount namespace: `rlimits` here), that folder is on the disk:
    what ordinary code saves there must not fill the machine's RAM. As root with namespaces, its code works in a
    capped tmpfs of its own, and the job's folder is in RAM."""
    (tmp_path / "s.py").write_text("import os\nWHERE = os.getcwd()\n")
    job = Job("k", [(tmp_path / "s.py", "s.py")], [Unit(kind="module", label="s.py", path="s.py")],
              [Item(id="WHERE", kind="value", name="WHERE")])
    with SandboxPool(Limits(), isolation="rlimits") as pool:
        result = next(pool.run([job]))
    where = result.items["WHERE"].records[0].value
    assert where.startswith(tempfile.gettempdir() + "/rnn-grader-") and where.endswith("/box")
    assert not boot_module.ram_for_jobs("rlimits") and not boot_module.ram_for_jobs("auto", own_work=True)
    if boot_module.ram_for_jobs("auto") and boot_module.ram_folder() is not None:
        with SandboxPool(Limits()) as pool:
            assert pool._tmp.parent == Path("/dev/shm")
            result = next(pool.run([job]))
        assert result.level == "user+namespaces" and result.items["WHERE"].records[0].value == "/tmp/submission"


@pytest.mark.skipif(not boot_module._has_capability(boot_module.CAP_SYS_ADMIN), reason="needs CAP_SYS_ADMIN")
def test_where_a_mount_fails_despite_the_capability_job_folders_stay_on_the_disk(tmp_path, monkeypatch):
    """CAP_SYS_ADMIN is not enough where a security profile refuses mounts: the rule tries one in a child and
    follows what it got (here a mount over a folder that does not exist)."""
    boot_module._mounts_work.cache_clear()
    try:
        assert boot_module._mounts_work()  # this machine: root may mount in a namespace of its own
        monkeypatch.setattr(boot_module, "RAM_FOLDER", tmp_path / "absent")
        boot_module._mounts_work.cache_clear()
        assert not boot_module._mounts_work() and not boot_module.ram_for_jobs("auto")
    finally:
        boot_module._mounts_work.cache_clear()


def test_a_job_whose_files_cannot_be_written_gets_its_own_error_and_the_batch_goes_on(tmp_path):
    """A full disk, or a file gone between reading and grading: that submission's error, not the batch's."""
    (tmp_path / "s.py").write_text("X = 41 + 1\n")
    unit, item = Unit(kind="module", label="s.py", path="s.py"), Item(id="X", kind="value", name="X")
    jobs = [Job("gone", [(tmp_path / "gone.py", "s.py")], [unit], [item]),
            Job("kept", [(tmp_path / "s.py", "s.py")], [unit], [item])]
    with SandboxPool(Limits(), jobs=1) as pool:
        results = {result.key: result for result in pool.run(jobs)}
        assert [path.name for path in pool._tmp.iterdir() if path.name.startswith("job")] == []
    assert "could not write this submission's files" in results["gone"].grader_error
    assert results["kept"].grader_error is None and results["kept"].items["X"].records[0].value == 42


def test_hostile_return_values_are_judged_as_data(tmp_path):
    result = run(tmp_path, """
        import numpy as np, os
        class Liar(np.ndarray):
            def __eq__(self, other): return True
        class Payload:
            def __reduce__(self): return (os.system, ("touch /tmp/rnn-grader-pwned",))
        def liar(): return np.zeros((2, 2)).view(Liar)
        def payload(): return Payload()
        def huge(): return np.zeros(5000)
    """, ["liar", "payload", "huge"])
    liar = value(result, "liar")
    # An ndarray subclass arrives as a plain array of its numbers: its __eq__ never runs here.
    assert type(liar) is np.ndarray and not liar.any()
    assert value(result, "payload") == Unsupported("Payload")
    assert value(result, "huge") == TooBig((5000,))
    assert not Path("/tmp/rnn-grader-pwned").exists()


def test_a_hang_costs_only_its_question_and_keeps_earlier_cases(tmp_path):
    result = run(tmp_path, """
        calls = []
        def slow(x):
            if float(x) > 1: 
                while True: pass
            return x
        def fine(x): return x
    """, ["slow", "fine"], calls=[[encode_array(np.array(1.0))], [encode_array(np.array(2.0))]])
    slow = result.items["slow"]
    assert slow.status == "timeout" and len(slow.records) == 1  # the case before the hang is kept
    assert result.items["fine"].status == "done" and len(result.items["fine"].records) == 2


def test_exit_inside_a_function_costs_only_that_question(tmp_path):
    result = run(tmp_path, """
        import os, sys
        def quits(): os._exit(3)
        def raises(): sys.exit(1)
        def fine(): return 1.0
    """, ["quits", "raises", "fine"])
    assert result.items["quits"].status == "crashed" and "code 3" in result.items["quits"].detail
    # sys.exit is an exception like any other: reported, not obeyed.
    assert "SystemExit" in result.items["raises"].records[0].error
    assert float(value(result, "fine")) == 1.0


def test_every_time_limit_comes_from_the_one_timeout_and_a_timeout_is_said(tmp_path):
    # Each limit backs up the one before: a step's deadline, a process's CPU, the whole job, the grader's guard.
    times = FAST.times(item_count=2)
    assert times.step == FAST.timeout < times.cpu <= times.job < times.guard
    result = run(tmp_path, """
        import os, signal, time
        def sleeps(): time.sleep(30)
        def killed(): os.kill(os.getpid(), signal.SIGKILL)
    """, ["sleeps", "killed"])
    # Sleeping spends no CPU: the step's wall-clock deadline times it out; a process killed before it is a crash.
    assert result.items["sleeps"].status == "timeout" and "time limit" in result.items["sleeps"].detail
    assert result.items["killed"].status == "crashed" and "SIGKILL" in result.items["killed"].detail


def test_load_hang_and_load_exit_are_reported(tmp_path):
    hang = run(tmp_path, "while True: pass\n", ["f"])
    assert hang.load == "timeout" and hang.items["f"].status == "not-run"
    gone = run(tmp_path, "import os\nos._exit(0)\n", ["f"])
    assert gone.load == "crashed"


def test_memory_limit(tmp_path):
    result = run(tmp_path, """
        import numpy as np
        def bomb(): return np.ones(10**10).sum()
        def listbomb():
            x = []
            while True: x.append(bytearray(10**7))
    """, ["bomb", "listbomb"], limits=Limits(timeout=5.0, memory_mb=512))
    assert "MemoryError" in result.items["bomb"].records[0].error
    assert result.items["listbomb"].status in ("done", "crashed")
    assert result.items["listbomb"].status == "crashed" or "MemoryError" in result.items["listbomb"].records[0].error


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_processes_that_escape_with_setsid_are_killed(tmp_path):
    result = run(tmp_path, """
        import os, time
        def escape():
            read, write = os.pipe()
            for _ in range(3):
                if os.fork() == 0:
                    os.setsid()
                    grandchild = os.fork()
                    if grandchild == 0:  # in its own session, orphaned at once
                        time.sleep(60)
                        os._exit(0)
                    os.write(write, f"{grandchild}\\n".encode())
                    os._exit(0)
            time.sleep(0.3)
            os.close(write)
            return [int(line) for line in os.read(read, 1000).decode().split()]
        def fine(): return 1.0
    """, ["escape", "fine"])
    escaped = [int(pid) for pid in value(result, "escape")]
    assert len(escaped) == 3 and result.items["fine"].status == "done"
    # Every escaped process is gone once the run is over.
    assert [pid for pid in escaped if _alive(pid)] == []


@pytest.mark.skipif(not AS_ROOT, reason="a separate uid needs root")
def test_fork_loop_is_bounded_and_cleaned_up(tmp_path):
    result = run(tmp_path, """
        import os, time
        def forks():
            made = 0
            for _ in range(10000):
                try:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    made += 1
                except OSError:
                    break
            return made
    """, ["forks"], limits=Limits(timeout=5.0, max_processes=16))
    assert float(value(result, "forks")) < 16  # the process limit stopped the loop


@pytest.mark.skipif(not AS_ROOT, reason="uid separation and namespaces need root")
def test_secrets_files_and_network_are_out_of_reach(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_GRADER_TEST_SECRET", "s3cret-value")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    outside = tmp_path / "outside.txt"
    neighbour = tmp_path / "class" / "neighbour.py"  # another student's submission
    neighbour.parent.mkdir()
    neighbour.write_text("def grad_W_H(): ...\n")
    grader_source = Path(__file__).parents[2] / "grader" / "judge.py"
    result = run(tmp_path, f"""
        import os, socket, glob
        def environment(): return dict(os.environ)
        def scan():
            found = []
            for path in glob.glob("/proc/[0-9]*/environ"):
                try:
                    if b"s3cret-value" in open(path, "rb").read(): found.append(path)
                except OSError: pass
            return len(found)
        def network():
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=0.5)
                return "connected"
            except OSError as exc:
                return "refused"
        def write_outside():
            try:
                open({str(outside)!r}, "w").write("x")
                return "written"
            except OSError:
                return "denied"
        def tamper():
            outcomes = []
            for attempt in (lambda: os.remove({str(neighbour)!r}),
                            lambda: open({str(neighbour)!r}, "a").write("# edited"),
                            lambda: open({str(grader_source)!r}, "r+").close()):
                try:
                    attempt()
                    outcomes.append("done")
                except OSError:
                    outcomes.append("denied")
            return outcomes
    """, ["environment", "scan", "network", "write_outside", "tamper"])
    listener.close()
    assert "RNN_GRADER_TEST_SECRET" not in value(result, "environment")
    assert float(value(result, "scan")) == 0
    assert value(result, "network") == "refused"
    assert value(result, "write_outside") == "denied" and not outside.exists()
    # Other submissions and the grader's own files can be neither deleted nor edited.
    assert value(result, "tamper") == ["denied", "denied", "denied"]
    assert neighbour.read_text() == "def grad_W_H(): ...\n"
    assert result.level == "user+namespaces"


def test_every_line_printed_before_a_hang_comes_back_in_order(tmp_path):
    """Output is read in pauses (code printing line after line wakes its supervisor at most a hundred times a
    second): what was printed up to the moment a question hung still comes back whole, the last line included."""
    result = run(tmp_path, """
        import time
        def first():
            print("loaded")
            return 1.0
        def hangs():
            for n in range(300):
                print(f"line {n}")
                if n % 60 == 0:
                    time.sleep(0.003)
            print("last words", flush=True)
            while True:
                pass
    """, ["first", "hangs"], limits=Limits(timeout=1.0))
    assert result.items["hangs"].status == "timeout"
    assert result.output.splitlines() == ["loaded", *(f"line {n}" for n in range(300)), "last words"]


def test_an_event_sent_during_a_pause_still_moves_the_deadline(tmp_path, monkeypatch):
    """The supervisor reads a job's pipes in pauses: at a deadline it first takes what they hold, so a question that
    ended (and the next that started) during a pause is not a timeout, and output printed during the last pause
    before a real timeout is kept."""
    from types import SimpleNamespace

    from grader.run import supervisor
    from grader.run.file_cap import FileCap

    monkeypatch.setattr(supervisor, "PIPE_PAUSE_SECONDS", 3.0)  # a pause long enough to write into, surely
    events_r, events_w = os.pipe()
    output_r, output_w = os.pipe()
    sleeper = subprocess.Popen(["sleep", "30"])
    pidfd = os.pidfd_open(sleeper.pid)

    def student():  # after the first read has begun a pause: question 0 ends and 1 starts, then 1 prints and hangs
        time.sleep(0.1)
        os.write(events_w, b'{"event": "done", "item": 0}\n{"event": "start", "item": 1}\n')
        time.sleep(0.6)
        os.write(output_w, b"printed in the last pause\n")

    try:
        run = supervisor._Run(pid=sleeper.pid, events=events_r, output=output_r, pidfd=pidfd, first_item=0,
                              next_item=0, step=0.6, loaded=True, current=0)
        outcome = supervisor.Outcome(level="", items=[supervisor.ItemStatus(), supervisor.ItemStatus()])
        output = supervisor.CapturedOutput(1000)
        os.write(output_w, b"first\n")  # read at once: the pause begins
        began = time.monotonic()
        run.deadline = began + 0.6
        writer = threading.Thread(target=student)
        writer.start()
        supervisor._watch(run, SimpleNamespace(limits=Limits()), outcome, began + 10, FileCap(tmp_path, 100), output)
        elapsed = time.monotonic() - began
        writer.join()
        assert outcome.items[0].status == "done" and run.current == 1 and run.timed_out
        assert 1.0 < elapsed < 2.5  # question 1's own step ran out (0.6 + 0.6 s), not question 0's, nor the job's
        assert bytes(output.buffer[: output.size]) == b"first\nprinted in the last pause\n"
    finally:
        sleeper.kill()
        sleeper.wait()
        for descriptor in (events_r, events_w, output_r, output_w, pidfd):
            os.close(descriptor)


def test_done_lines_written_together_are_all_taken_at_once():
    """Two supervisors finishing together can put both `done` lines in one read: both are taken (one left in a
    buffer select cannot see would keep its job's slot idle until the next look into the folders)."""
    process = subprocess.Popen(["printf", "ready\\ndone /x/job1\\ndone /x/job2\\ndone /x/jo"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    process.wait()
    warm = WarmProcess.__new__(WarmProcess)  # the real reading, over a process that only wrote those lines
    warm.process, warm.ready, warm._partial = process, False, b""
    try:
        assert warm_module.lines_from([warm]) == ["done /x/job1", "done /x/job2"]
        assert warm.ready and warm._partial == b"done /x/jo"  # the start of a line still to come is kept
    finally:
        process.stdin.close()
        process.stdout.close()


def test_the_supervisors_files_are_never_written_through_a_planted_link(tmp_path):
    from grader.run.protocol import write_file
    from grader.run.supervisor import CapturedOutput

    target = tmp_path / "elsewhere"
    target.write_text("kept")
    (tmp_path / "outcome.partial").symlink_to(target)
    with pytest.raises(OSError):
        write_file(tmp_path / "outcome.partial", b"{}")
    assert target.read_text() == "kept"
    os.mkfifo(tmp_path / "output.partial")  # nobody reads it: never waited on
    began = time.monotonic()
    with pytest.raises(OSError):
        write_file(tmp_path / "output.partial", b"{}")
    assert time.monotonic() - began < 1.0
    silent = CapturedOutput(100)
    silent.write_and_wipe(tmp_path / "output")
    assert not (tmp_path / "output").exists()  # nothing printed: no file, read as nothing


@pytest.mark.skipif(not AS_ROOT, reason="a job has a uid of its own only when the grader runs as root")
def test_a_submissions_files_in_folders_are_its_own_in_the_box(tmp_path):
    """Files in a folder of the submission's, and the folder, belong to the job (its uid as root): it may write there."""
    (tmp_path / "helpers.py").write_text("SCALE = 2.0\n")
    (tmp_path / "student.py").write_text(textwrap.dedent("""
        import os
        def owned():
            mine = [os.stat(p).st_uid == os.getuid() for p in ("pkg", "pkg/helpers.py", "student.py")]
            open("pkg/new.txt", "w").write("x")
            return float(sum(mine))
    """))
    items = [Item(id="owned", kind="call", name="owned", calls=[[]])]
    files = [(tmp_path / "student.py", "student.py"), (tmp_path / "helpers.py", "pkg/helpers.py")]
    job = Job("k", files, [Unit(kind="module", label="student.py", path="student.py")], items)
    with SandboxPool(FAST, jobs=1, protected_packages=PROTECTED_PACKAGES) as pool:
        result = next(pool.run([job]))
    assert float(value(result, "owned")) == 3.0


def test_output_is_capped_and_imports_of_the_grader_flagged(tmp_path):
    result = run(tmp_path, """
        import sys
        for _ in range(2000): print("x" * 1000)
        try:
            import reference.solution
        except ImportError:
            pass
        def fine(): return 1.0
    """, ["fine"], limits=Limits(timeout=2.0, output_cap=5000))
    assert len(result.output) <= 5000 and result.output_dropped > 0
    assert "reference.solution" in result.forbidden_imports or "reference" in result.forbidden_imports
    assert float(value(result, "fine")) == 1.0


def test_missing_names_and_non_functions(tmp_path):
    result = run(tmp_path, "grad_W_H = 3\n", ["grad_W_H", "rnn_step"])
    assert "not a function" in result.items["grad_W_H"].records[0].error
    assert result.items["rnn_step"].records[0].missing


@pytest.mark.skipif(not AS_ROOT or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_root_without_namespace_rights_degrades_instead_of_failing(tmp_path):
    """Like a container whose root lacks CAP_SYS_ADMIN: grading still works, at a weaker stated level."""
    source = Path(__file__).parents[1] / "corpus/correct/student01_loops.py"
    command = ["setpriv", "--bounding-set", "-sys_admin", sys.executable, "-m", "grader", "grade", str(source),
               "--format", "json", "--timeout", "5"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["isolation"] in ("user", "rlimits")
    [submission] = report["submissions"]
    # full marks but for the written derivation.* questions (code only: missing)
    assert all(q["status"] == "passed" for q in submission["questions"] if not q["id"].startswith("derivation."))


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_batch_survives_the_death_of_the_warm_process(tmp_path, how):
    path = tmp_path / "slow.py"
    path.write_text("import time\ndef f():\n    time.sleep(0.3)\n    return 1.0\n")
    unit = Unit(kind="module", label="slow.py", path="slow.py")
    jobs = [Job(str(n), [(path, "slow.py")], [unit], [Item(id="f", kind="call", name="f", calls=[[]])])
            for n in range(6)]
    results = []
    with SandboxPool(FAST, jobs=2) as pool:
        for result in pool.run(jobs):
            if not results:
                pool._warm_for(False).process.send_signal(how)  # the warm process dies with a job still running
            results.append(result)
    # Every job has a result: SIGKILL leaves the running job to its supervisor; SIGTERM stops it,
    # which makes it a grader error (one --resume retries); the rest run in a new warm process.
    assert sorted(r.key for r in results) == [str(n) for n in range(6)]
    answered = [r for r in results if r.grader_error is None]
    assert all(float(r.items["f"].records[0].value) == 1.0 for r in answered)
    assert len(answered) >= (5 if how == signal.SIGKILL else 4)
    errors = [r.grader_error for r in results if r.grader_error]
    assert all("stopped" in error for error in errors), errors


def _batch_folders() -> set[str]:
    """The batches' folders: on disk, and in RAM (where they go when it has room)."""
    return set(glob.glob(f"{tempfile.gettempdir()}/rnn-grader-*")) | set(glob.glob("/dev/shm/rnn-grader-*"))


def _zygote_processes() -> list[str]:
    listing = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True).stdout  # full width
    return [line for line in listing.splitlines() if "grader.run.zygote" in line]


PLOTTING = pytest.param(True, marks=pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                                      reason="needs matplotlib (the report extra)"))


@pytest.mark.parametrize("plotting", [False, PLOTTING], ids=["plain", "plotting"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_grader_leaves_no_process_and_no_files(tmp_path, stop, plotting):
    """A CI cancel (SIGTERM) or a hard kill mid-batch: student code, supervisors and files all go; with a class
    of which some plot, those of both warm processes (the second is the first's spare)."""
    klass = tmp_path / "class"
    klass.mkdir()
    for n in range(3):
        plots = "import matplotlib.pyplot\n" if plotting and n == 1 else ""
        (klass / f"s{n}.py").write_text(plots + "import os, time\nif os.fork() == 0:\n    os.setsid()\n"
                                        "while True:\n    time.sleep(1)\n")
    before = _batch_folders()
    batch = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(klass), "--timeout", "60", "--jobs", "2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len([path for batch in _batch_folders() - before
                                               for path in glob.glob(f"{batch}/job*/started")]) < 2:
        time.sleep(0.05)  # both jobs running: with a class that plots, one of them in the spare
    time.sleep(0.5)  # let the student code start its loops
    batch.send_signal(stop)
    batch.wait(timeout=30)
    deadline = time.monotonic() + 15
    while (_zygote_processes() or _batch_folders() - before) and (
            time.monotonic() < deadline):
        time.sleep(0.1)
    assert _zygote_processes() == []  # the warm process, supervisors and student code share its command line
    assert _batch_folders() - before == set()


def _left_behind(before: set[str]) -> tuple[list[str], set[str]]:
    """Warm processes and batch folders still there after a command, waited for up to 15 s."""
    deadline = time.monotonic() + 15
    while (_zygote_processes() or _batch_folders() - before) and (
            time.monotonic() < deadline):
        time.sleep(0.1)
    return _zygote_processes(), _batch_folders() - before


def test_a_check_without_code_stops_the_warm_process_it_started_early(tmp_path):
    """`check` of a folder starts the sandbox before it knows whether the work has code; a write-up alone never
    uses it."""
    folder = tmp_path / "homework"
    folder.mkdir()
    (folder / "derivation.md").write_text("$$ h_t = \\tanh(W_H h_{t-1} + W_X x_t) $$\n")
    before = _batch_folders()
    command = [sys.executable, "-m", "grader", "check", str(folder), "--exercise", "rnn-bptt"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert _left_behind(before) == ([], set())


ENTRY_PROBE = """
import atexit, sys
from grader import launch
from grader.run import boot
seen = {}
start_early = boot.start_early
def watched(preload, fonts, **options):
    seen["click loaded at the start"] = "click" in sys.modules
    start_early(preload, fonts, **options)
    seen["process"] = boot._early[0].process if boot._early else None
boot.start_early = watched
def after_the_command():  # registered first, so it runs after the entry point's own exit handler
    process = seen.get("process")
    print(seen.get("click loaded at the start"), process is not None, process is not None and process.poll() is not None,
          boot.started_early())
atexit.register(after_the_command)
launch.run(sys.argv[1:])
"""


@pytest.mark.parametrize("arguments", [[], ["--no-such-option"], ["--help"]])
def test_the_entry_point_starts_a_checks_sandbox_first_and_stops_it_when_unused(arguments):
    """`check FILE` as typed: the warm process starts before click (and numpy, pydantic) is imported; the check
    takes it over, and a command that never gets there (a usage error, --help) stops it on the way out."""
    work = Path(__file__).parents[1] / "corpus" / "correct" / "student02_vectorised.py"
    before = _batch_folders()
    command = [sys.executable, "-c", ENTRY_PROBE, "check", str(work), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == {"--no-such-option": 2}.get("".join(arguments), 1 if not arguments else 0), done.stderr
    assert done.stdout.splitlines()[-1] == "False True True False", done.stdout[-2000:]
    assert _left_behind(before) == ([], set())


def test_an_early_sandbox_started_with_other_settings_is_not_taken_over():
    """Whether the font list is shared depends on the start's settings: a start for others is replaced."""
    work = Path(__file__).parents[1] / "corpus" / "correct" / "student02_vectorised.py"
    probe = (
        "import sys\n"
        "from grader import launch\n"
        "from grader.run import boot\n"
        "launch._start((sys.argv[1],), 'auto', True)\n"
        "first = boot._early[0].process\n"
        "with launch.sandbox_for((sys.argv[1],), 'auto', True):\n"
        "    print(boot._early[0].process is first)\n"
        "launch._start((sys.argv[1],), 'auto', True)\n"
        "first = boot._early[0].process\n"
        "with launch.sandbox_for((sys.argv[1],), 'auto', False):\n"
        "    print(boot._early[0].process is first, first.poll() is not None)\n"
        "print(boot.started_early())\n"
    )
    before = _batch_folders()
    done = subprocess.run([sys.executable, "-c", probe, str(work)], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["True", "False True", "False"], done.stderr
    assert _left_behind(before) == ([], set())


def test_a_check_killed_while_the_warm_process_boots_leaves_nothing(tmp_path):
    """A hard kill in the first moments of a check, when the warm process may still be importing."""
    work = Path(__file__).parents[1] / "corpus" / "correct" / "student02_vectorised.py"
    before = _batch_folders()
    check = subprocess.Popen([sys.executable, "-m", "grader", "check", str(work), "--exercise", "rnn-bptt"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _zygote_processes():
        time.sleep(0.005)
    assert _zygote_processes(), "the check never started its warm process"
    check.kill()
    check.wait(timeout=30)
    assert _left_behind(before) == ([], set())


def _can_map_user() -> bool:
    probe = subprocess.run(["unshare", "--map-user=1234", "--map-group=1234", "true"], capture_output=True)
    return shutil.which("unshare") is not None and probe.returncode == 0


@pytest.mark.skipif(not AS_ROOT or not _can_map_user(), reason="needs unshare --map-user")
def test_without_root_the_namespaces_level_covers_and_keeps_no_capabilities(tmp_path):
    """The grader run as an ordinary user (uid 1234 in a user namespace): the `namespaces` level."""
    reference = Path(__file__).parents[2] / "reference"
    attacker = tmp_path / "attacker.py"
    attacker.write_text(textwrap.dedent(f"""
        import ctypes, os
        unmounted = ctypes.CDLL(None, use_errno=True).umount2({str(reference)!r}.encode(), 2)
        try:  # covered by an empty folder, or gone with the private /tmp when the checkout lives under /tmp
            seen = os.listdir({str(reference)!r})
        except FileNotFoundError:
            seen = []
        capabilities = open("/proc/self/status").read().split("CapEff:")[1].split()[0]
        SHAPES = {{"W_H": f"{{unmounted}} {{seen}} {{capabilities}}"}}
    """))
    command = ["unshare", "--map-user=1234", "--map-group=1234", sys.executable, "-m", "grader", "grade",
               str(attacker), str(Path(__file__).parents[1] / "corpus/correct/student02_vectorised.py"),
               "--format", "json", "--timeout", "5", "--secret", "s"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["isolation"] == "namespaces"
    attacked, honest = report["submissions"]
    feedback = attacked["questions"][0]["feedback"]
    # The cover cannot be removed, the model solution is not there, no capability is left.
    assert "'-1 [] 0000000000000000'" in feedback, feedback
    assert all(q["status"] == "passed" for q in honest["questions"] if not q["id"].startswith("derivation."))


@pytest.mark.skipif(not AS_ROOT or not _can_map_user(), reason="needs unshare --map-user")
def test_a_class_s_code_cannot_write_what_a_later_batch_reads_from_the_cache_folder(tmp_path, request):
    """Run as the grader's own user (no uid of its own, the `namespaces` level), student code finds the grader's
    cache folder covered: a font list it wrote there would be read by that user's next check."""
    cache = Path(tempfile.mkdtemp(prefix=".rnn-grader-test-cache-", dir=Path.home()))  # not under /tmp: the
    request.addfinalizer(lambda: shutil.rmtree(cache))  # sandbox's private /tmp would hide it anyway
    planted = cache / "rnn-grader" / "matplotlib" / "fontlist-v390.json"  # not made yet: the grader makes its folder
    attacker = tmp_path / "attacker.py"
    attacker.write_text(textwrap.dedent(f"""
        import os
        try:
            os.makedirs({str(planted.parent)!r}, exist_ok=True)
            open({str(planted)!r}, "w").write("{{}}")
            outcome = "written"
        except OSError as error:
            outcome = type(error).__name__
        SHAPES = {{"W_H": outcome}}
    """))
    command = ["unshare", "--map-user=1234", "--map-group=1234", sys.executable, "-m", "grader", "grade",
               str(attacker), "--format", "json", "--timeout", "5", "--secret", "s"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=os.environ | {
        "XDG_CACHE_HOME": str(cache)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["isolation"] == "namespaces"
    assert not planted.exists() and (cache / "rnn-grader").stat().st_mode & 0o777 == 0o700


@pytest.mark.skipif(not AS_ROOT, reason="needs the root level's namespaces")
def test_other_submissions_gradebook_and_secret_are_out_of_sight(tmp_path):
    tmp_path = Path(tempfile.mkdtemp(prefix="course-"))  # world-readable, as course folders often are
    tmp_path.chmod(0o755)
    klass = tmp_path / "class"
    klass.mkdir(mode=0o755)
    (klass / "bob.py").write_text("SECRET_WORK = 1\n")
    (tmp_path / "secret.txt").write_text("TOPSECRET-123\n")
    (klass / "eve.py").write_text(textwrap.dedent(f"""
        import glob, os
        seen = []
        for path in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                seen.append(open(path, "rb").read().decode(errors="replace"))
            except OSError:
                pass
        leaks = [text for text in seen if "TOPSECRET" in text or "gradebook" in text]
        def listing(path):
            try:
                return sorted(os.listdir(path))
            except OSError:
                return []
        SHAPES = {{"W_H": repr([leaks, listing({str(klass)!r}), listing({str(tmp_path)!r})])}}
    """))
    command = [sys.executable, "-m", "grader", "grade", str(klass), "--format", "json", "--timeout", "5",
               "--secret-file", str(tmp_path / "secret.txt"), "--gradebook", str(tmp_path / "book.sqlite")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    eve = json.loads(done.stdout)["submissions"][1]
    # No command line with the secret, nothing of the class folder or of the gradebook's folder.
    assert "[[], [], []]" in eve["questions"][0]["feedback"], eve["questions"][0]["feedback"]
    assert os.stat(tmp_path / "book.sqlite").st_mode & 0o077 == 0
    shutil.rmtree(tmp_path)


def test_forged_progress_events_cannot_extend_a_job_or_reach_the_next(tmp_path):
    """Student code writes 'start' events to the supervisor's pipe to stay alive, and attacks later jobs."""
    attacker = tmp_path / "attacker.py"
    attacker.write_text(textwrap.dedent("""
        import glob, os, time
        root = os.path.dirname(os.path.dirname(os.getcwd()))
        def f():
            end = time.time() + 30
            while time.time() < end:
                for item in range(3):
                    try:
                        os.write(3, ('{"event": "start", "item": %d}\\n' % item).encode())
                    except OSError:
                        pass
                for path in glob.glob(root + "/job*/out/*.rec") + glob.glob("/dev/shm/rnn-grader-*/job*/*.rec"):
                    try:
                        open(path, "w").write('{"error": "sabotaged"}\\n')
                    except OSError:
                        pass
                time.sleep(0.1)
    """))
    honest = tmp_path / "honest.py"
    honest.write_text("def f():\n    return 1.0\n")
    item = Item(id="f", kind="call", name="f", calls=[[]])
    jobs = [Job(name, [(path, "s.py")], [Unit(kind="module", label="s.py", path="s.py")], [item])
            for name, path in (("attacker", attacker), ("honest", honest))]
    started = time.monotonic()
    with SandboxPool(FAST, jobs=1) as pool:
        results = {r.key: r for r in pool.run(jobs)}
    # The attacker times out on its own limit; the next job is untouched.
    assert results["attacker"].items["f"].status == "timeout"
    assert float(results["honest"].items["f"].records[0].value) == 1.0
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("job", ["prepared", "cannot be prepared"])
def test_the_caller_waits_for_the_first_job_to_be_prepared_and_no_longer(tmp_path, monkeypatch, job):
    """`await_first_job` returns once the job is ready to hand over (while it still runs), or once the scheduler
    gave up on it; never by running out its own time."""
    from grader.run import client

    monkeypatch.setattr(client, "FIRST_JOB_WAIT_SECONDS", 60.0)
    (tmp_path / "s.py").write_text("import time\ntime.sleep(3)\ndef f():\n    return 1.0\n")
    path = tmp_path / "s.py" if job == "prepared" else tmp_path / "missing.py"
    item = Item(id="f", kind="call", name="f", calls=[[]])
    with SandboxPool(Limits(timeout=10.0), jobs=1) as pool:
        runs = pool.run([Job("0", [(path, "s.py")], [Unit(kind="module", label="s.py", path="s.py")], [item])])
        pool.await_first_job()
        set_by_the_scheduler = pool._first_job.is_set()
        running = pool._scheduler is not None and pool._scheduler.is_alive()
        with contextlib.suppress(OSError):
            list(runs)
    assert set_by_the_scheduler and (running or job == "cannot be prepared")


def test_a_released_pool_stops_its_warm_process_while_the_caller_still_holds_it(tmp_path):
    """`release` once every job is collected (a lone submission's last run, before it is judged): the warm process
    ends without the pool being left; leaving it then finds it gone, and nothing of the batch stays."""
    (tmp_path / "s.py").write_text("def f():\n    return 1.0\n")
    item = Item(id="f", kind="call", name="f", calls=[[]])
    with SandboxPool(FAST, jobs=1) as pool:
        [result] = pool.run([Job("0", [(tmp_path / "s.py", "s.py")], [Unit(kind="module", label="s.py", path="s.py")],
                                 [item])])
        [warm] = pool._warm_processes.values()
        pool.release()
        code = warm.process.wait(timeout=10)
        folder = pool._tmp
    assert float(result.items["f"].records[0].value) == 1.0 and code == 0 and not folder.exists()


@pytest.mark.parametrize("parent", [None, "/dev/shm"])
def test_folders_of_a_dead_grader_are_swept_by_the_next_one(tmp_path, parent):
    if parent is not None and not os.access(parent, os.W_OK):
        pytest.skip(f"no writable {parent} on this machine")
    gone = subprocess.Popen(["true"])
    gone.wait()
    abandoned = Path(tempfile.mkdtemp(prefix="rnn-grader-", dir=parent))
    (abandoned / "grader.pid").write_text(str(gone.pid))
    (abandoned / "job1" / "box").mkdir(parents=True)
    alive = Path(tempfile.mkdtemp(prefix="rnn-grader-", dir=parent))
    (alive / "grader.pid").write_text(str(os.getpid()))  # a grader still running: left alone
    with SandboxPool(FAST, jobs=1):
        pass
    assert not abandoned.exists() and alive.exists()
    shutil.rmtree(alive)


def _preloaded(tmp_path: Path, preload: list[str], plots: list[bool], jobs_at_once: int = 2,
               plain: bool = True) -> list[bool]:
    path = tmp_path / "student.py"
    path.write_text("import sys\nLOADED_BEFORE = 'json.tool' in sys.modules\n")
    unit = Unit(kind="module", label="student.py", path="student.py")
    item = Item(id="LOADED_BEFORE", kind="value", name="LOADED_BEFORE")
    jobs = [Job(str(n), [(path, "student.py")], [unit], [item], plots=its) for n, its in enumerate(plots)]
    with SandboxPool(FAST, jobs=jobs_at_once, preload=preload, plain=plain) as pool:
        assert len(pool._warm_processes) == (1 if not preload or not plain else 2)
        runs = sorted(pool.run(jobs), key=lambda run: int(run.key))
        return [bool(value(run, "LOADED_BEFORE")) for run in runs]


def test_modules_a_batch_imports_are_loaded_once_before_the_jobs_that_import_them(tmp_path):
    """The jobs that plot run in a warm process that loaded the plotting libraries; the others in one that did not,
    half its size, which every fork and exit of their processes copies and tears down."""
    assert _preloaded(tmp_path, ["json.tool"], [True, False, True]) == [True, False, True]
    assert _preloaded(tmp_path, [], [True, False]) == [False, False]
    # one job at a time: the second warm process is ready before its first job, while the first one's job runs
    assert _preloaded(tmp_path, ["json.tool"], [False, False, True], jobs_at_once=1) == [False, False, True]
    # every job plots (one notebook, as a check or a CI job grades it): one warm process, the one started early
    assert _preloaded(tmp_path, ["json.tool"], [True], plain=False) == [True]


def test_the_second_warm_process_is_the_first_ones_spare_and_leaves_nothing(tmp_path):
    """A batch that wants a warm process of each kind starts one interpreter: the second is a spare the first forked
    once numpy was imported, before anything of a kind's; it serves its own kind, and goes with the pool."""
    before = _batch_folders()
    path = tmp_path / "student.py"
    path.write_text("import sys\nLOADED_BEFORE = 'json.tool' in sys.modules\n")
    unit = Unit(kind="module", label="student.py", path="student.py")
    items = [Item(id="LOADED_BEFORE", kind="value", name="LOADED_BEFORE")]
    jobs = [Job(str(n), [(path, "student.py")], [unit], items, plots=n % 2 == 0) for n in range(4)]
    with SandboxPool(FAST, jobs=2, preload=["json.tool"]) as pool:
        runs = sorted(pool.run(jobs), key=lambda run: int(run.key))
        first, spare = pool._warm_processes[False].process, pool._warm_processes[True].process
        assert isinstance(spare, SpareProcess) and spare.poll() is None
        parent = int(Path(f"/proc/{spare.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        groups = os.getpgid(first.pid), os.getpgid(spare.pid)  # each stops its own supervisors: a group of its own
    assert parent == first.pid and groups == (first.pid, spare.pid)  # forked by the first, not started by the grader
    assert [bool(value(run, "LOADED_BEFORE")) for run in runs] == [True, False, True, False]
    assert first.poll() is not None and spare.poll() is not None
    assert _left_behind(before) == ([], set())


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib (the report extra)")
def test_jobs_that_do_not_plot_run_while_the_plotting_modules_load(tmp_path):
    """A first job that plots waits for its warm process to import matplotlib, but no core waits with it: the jobs
    after it that do not plot run meanwhile, and it runs once its process is ready. The plotting process is held
    (stopped) while it imports, from the moment it says its pid, until the other jobs are done."""
    path = tmp_path / "student.py"
    path.write_text("VALUE = 1.0\n")
    unit = Unit(kind="module", label="student.py", path="student.py")
    item = Item(id="VALUE", kind="value", name="VALUE")
    jobs = [Job(str(n), [(path, "student.py")], [unit], [item], plots=n == 0) for n in range(4)]
    order = []
    with SandboxPool(FAST, jobs=2, preload=["matplotlib.pyplot"]) as pool:
        spare = pool._warm_processes[True].process
        assert isinstance(spare, SpareProcess)
        spare.take_first_line(timeout=30)
        os.kill(spare.pid, signal.SIGSTOP)  # a third of a second of imports ahead of it
        held_until = threading.Timer(20.0, os.kill, (spare.pid, signal.SIGCONT))  # a scheduler that waits for it
        held_until.start()
        try:
            for run in pool.run(jobs):
                order.append((int(run.key), value(run, "VALUE")))
                if len(order) == 3:
                    os.kill(spare.pid, signal.SIGCONT)
        finally:
            held_until.cancel()
            os.kill(spare.pid, signal.SIGCONT)
    assert sorted(order[:3]) == [(1, 1.0), (2, 1.0), (3, 1.0)] and order[3] == (0, 1.0)


def test_waiting_for_a_spare_that_has_not_said_its_pid_keeps_to_the_timeout():
    said, silent = os.pipe()  # a spare's pipe that nothing is written to yet
    spare = SpareProcess(os.fdopen(os.dup(silent), "wb"), os.fdopen(said, "rb"))
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        spare.wait(timeout=0.2)
    assert time.monotonic() - started < 5 and spare.first_line_due()
    os.write(silent, b"spare 1\n")  # pid 1: here, a process that outlives the test
    with pytest.raises(subprocess.TimeoutExpired):
        spare.wait(timeout=0.2)
    assert spare.pid == 1 and not spare.first_line_due()
    spare.close()
    os.close(silent)


def test_a_spare_ready_before_anyone_reads_it_is_seen_ready(monkeypatch):
    """Its first line (its pid) and `ready` may both wait in the pipe before the grader looks: reading the first
    must leave `ready` where select sees it (a buffered read took both, and the batch waited 120 s, then failed)."""
    monkeypatch.setattr(warm_module, "READY_SECONDS", 10.0)
    before = _batch_folders()
    folder = batch_folder()
    process, spare = boot_with_spare(folder)
    config = {"isolation": "auto", "hidden": [], "preload": [], "fonts": "", "records": "", "supervisors": 1}
    warm = WarmProcess(folder, config, spare)
    try:
        deadline = time.monotonic() + 60
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        while not children.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = int(children.read_text().split()[0])
        both = len(f"spare {pid}\n") + len("ready\n")
        waiting = array.array("i", [0])
        while waiting[0] < both and time.monotonic() < deadline:  # both lines in the pipe, none read
            time.sleep(0.01)
            fcntl.ioctl(spare.stdout.fileno(), termios.FIONREAD, waiting)
        assert waiting[0] == both
        warm.await_ready(threading.Event())
        assert warm.ready and spare.pid == pid
    finally:
        warm.stop()
        stop_process(process)
        remove_folder(folder)  # the pool's, which a pool removes as it ends
    assert _left_behind(before) == ([], set())


@pytest.mark.parametrize("when", ["once it has said its pid", "before it is forked"])
def test_an_unused_spare_leaves_without_touching_the_batch(when):
    """A batch of one kind closes the spare: it leaves at once (before it has said its pid, or waiting for its
    settings), and the warm process and the batch's folder go on."""
    before = _batch_folders()
    process, spare = boot_with_spare(batch_folder())
    folder = Path(f"/proc/{process.pid}/cwd").resolve()
    try:
        if when == "once it has said its pid":
            spare.take_first_line()  # waited for: once numpy is loaded
            with pytest.raises(subprocess.TimeoutExpired):
                spare.wait(timeout=0.1)  # it waits for settings
            gone = os.pidfd_open(spare.pid)
        spare.close()
        assert spare.poll() == -1  # no longer ours to watch
        if when == "once it has said its pid":
            assert select.select([gone], [], [], 15)[0], "the spare did not leave"
            os.close(gone)
        else:  # the warm process forks it later, and it finds its pipe closed
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            deadline = time.monotonic() + 60
            while len(_zygote_processes()) < 2 and not children.read_text().split() and time.monotonic() < deadline:
                time.sleep(0.01)
            while len(_zygote_processes()) > 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(_zygote_processes()) == 1, "the spare did not leave"
        assert process.poll() is None and folder.is_dir()  # the warm process and the batch's folder are untouched
    finally:
        process.stdin.close()  # no settings: the warm process leaves, and removes its folder
        process.wait(timeout=30)
    assert _left_behind(before) == ([], set())


def _plotting_batch(tmp_path: Path, own_work: bool = True, isolation: str = "auto", both_kinds: bool = False) -> None:
    """A batch whose job plots; `both_kinds`: and one that does not, after an early start that guessed no plotting
    (so the plotting warm process is that start's spare)."""
    path = tmp_path / "student.py"
    path.write_text("import matplotlib.pyplot as plt\nVALUE = 1.0\n")
    unit = Unit(kind="module", label="student.py", path="student.py")
    jobs = [Job(str(n), [(path, "student.py")], [unit], [Item(id="VALUE", kind="value", name="VALUE")], plots=n == 0)
            for n in range(2 if both_kinds else 1)]
    if both_kinds:
        start_early([], None, spare=True)
    with SandboxPool(FAST, preload=["matplotlib.pyplot"], plain=both_kinds, own_work=own_work,
                     isolation=isolation) as pool:
        assert [value(run, "VALUE") for run in pool.run(jobs)] == [1.0] * len(jobs)
        assert isinstance(pool._warm_for(True).process, SpareProcess) == both_kinds


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib (the report extra)")
def test_matplotlibs_font_list_is_made_once_not_by_every_batch(tmp_path, monkeypatch):
    """The warm process that loads matplotlib starts from the font list kept in the grader's cache folder, and
    keeps the one it made: the next batch reads it instead of scanning the system's fonts again (about 0.35 s)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    kept = tmp_path / "cache" / "rnn-grader" / "matplotlib"
    _plotting_batch(tmp_path)
    [font_list] = kept.glob("fontlist-*.json")
    assert kept.stat().st_mode & 0o777 == 0o700 and [p.name for p in kept.iterdir()] == [font_list.name]
    fonts = json.loads(font_list.read_text())
    fonts["kept_between_batches"] = True  # an entry matplotlib ignores: still there if the list was read, not remade
    font_list.write_text(json.dumps(fonts))
    _plotting_batch(tmp_path)
    assert json.loads(font_list.read_text()).get("kept_between_batches") is True
    font_list.unlink()  # the plotting warm process a spare, booted without the kept list's folder: kept all the same
    _plotting_batch(tmp_path, both_kinds=True)
    assert [p.name for p in kept.iterdir()] == [font_list.name]


def test_a_font_list_is_kept_only_where_no_students_code_can_write_it(tmp_path, monkeypatch):
    """Kept for a student's own check, or where every job runs as a uid of its own (root, isolation auto); never
    in a folder someone else may write, nor through a link."""
    from grader.run.boot import kept_fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    kept = tmp_path / "cache" / "rnn-grader" / "matplotlib"
    assert kept_fonts("auto", own_work=True) == kept
    assert kept_fonts("rlimits", own_work=False) is None  # classmates' code may run as this very user
    assert kept_fonts("auto", own_work=False) == (kept if AS_ROOT else None)
    kept.chmod(0o770)
    assert kept_fonts("auto", own_work=True) is None
    kept.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    kept.symlink_to(elsewhere)
    assert kept_fonts("auto", own_work=True) is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "shared"))
    (tmp_path / "shared").mkdir(mode=0o1777)
    (tmp_path / "shared").chmod(0o1777)
    assert kept_fonts("auto", own_work=True) is None  # a folder like /tmp: anyone may swap what is under it
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-such-folder")
    assert kept_fonts("auto", own_work=True) is None


@pytest.mark.parametrize("on_terminate", ["ends", "ignores it", "ended already", "cannot be waited for"])
def test_a_warm_process_is_stopped_whatever_it_does_with_the_request(monkeypatch, on_terminate):
    """Asked first (SIGTERM); killed when it has not ended after STOP_SECONDS, or when waiting for it failed; reaped
    either way."""
    from grader.run import boot

    monkeypatch.setattr(boot, "STOP_SECONDS", 0.3)
    if on_terminate == "cannot be waited for":
        monkeypatch.setattr(os, "pidfd_open", lambda pid: (_ for _ in ()).throw(OSError(38, "not here")))
    ignoring = "signal.signal(signal.SIGTERM, signal.SIG_IGN)" if on_terminate != "ends" else "pass"
    code = f"import signal, sys, time; {ignoring}; print('set', flush=True); time.sleep(0 if sys.argv[1] == 'ended already' else 60)"
    process = subprocess.Popen([sys.executable, "-c", code, on_terminate], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdout.readline() == b"set\n"
    if on_terminate == "ended already":
        process.wait()
    boot.stop_process(process)
    expected = {"ends": -signal.SIGTERM, "ignores it": -signal.SIGKILL, "ended already": 0}.get(
        on_terminate, -signal.SIGKILL)
    assert process.returncode == expected and process.stdin.closed and process.stdout.closed


def test_a_font_list_folder_is_made_private_whatever_the_umask(tmp_path, monkeypatch):
    from grader.run.boot import kept_fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh" / "cache"))
    (tmp_path / "fresh").mkdir()
    previous = os.umask(0o002)  # Debian's and Ubuntu's default for users: new folders group-writable
    try:
        kept = kept_fonts("auto", own_work=True)
    finally:
        os.umask(previous)
    assert kept == tmp_path / "fresh" / "cache" / "rnn-grader" / "matplotlib"
    assert all(folder.stat().st_mode & 0o777 == 0o700 for folder in (kept, kept.parent, kept.parent.parent))


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib (the report extra)")
def test_a_batch_whose_font_list_is_not_kept_leaves_none_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _plotting_batch(tmp_path, own_work=False, isolation="rlimits")
    assert not (tmp_path / "cache" / "rnn-grader" / "matplotlib").exists()


def test_every_job_reports_where_its_time_went(tmp_path):
    result = run(tmp_path, """
        import numpy as np
        def work(): return np.linalg.inv(np.eye(50) * 2).sum()
    """, ["work"])
    steps = ["prepare", "hand-over", "fork", "confine", "load", "calls", "exit", "clean-up", "notice", "collect"]
    assert all(step in result.timings and result.timings[step] >= 0 for step in steps), result.timings
    assert 0 < result.timings["student-cpu"] < 5 and result.timings["student-peak-mb"] > 1
    assert sum(result.timings[step] for step in steps[1:]) <= result.seconds + 0.05


def test_a_caller_that_stops_reading_early_does_not_wait_for_the_other_jobs(tmp_path):
    path = tmp_path / "student.py"
    path.write_text("import time\ndef slow():\n    time.sleep(0.8)\n    return 1.0\n")
    unit = Unit(kind="module", label="student.py", path="student.py")
    jobs = [Job(str(n), [(path, "student.py")], [unit], [Item(id="slow", kind="call", name="slow", calls=[[]])])
            for n in range(6)]
    started = time.monotonic()
    with SandboxPool(FAST, jobs=1) as pool:
        first = next(pool.run(jobs))
    assert value(first, "slow") == 1.0
    assert time.monotonic() - started < 4.0  # six jobs one at a time would take about five seconds


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib (the report extra)")
def test_what_a_submission_may_import_does_not_depend_on_its_classmates(tmp_path):
    """matplotlib loaded once for the class brings its own dependencies (PIL among them): student code in an
    exercise that allows only numpy is still refused them, as it would be in a batch without matplotlib."""
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent("""
        import matplotlib.pyplot as plt
        try:
            import PIL
            GOT_PIL = 1
        except ModuleNotFoundError:
            GOT_PIL = 0
        PLOTTED = len(plt.plot([1.0, 2.0]))
    """))
    unit = Unit(kind="module", label="student.py", path="student.py")
    items = [Item(id=name, kind="value", name=name) for name in ("GOT_PIL", "PLOTTED")]
    results = {}
    for preload in ([], ["matplotlib.pyplot"]):
        job = Job("k", [(path, "student.py")], [unit], items, allowed_modules=["numpy"])
        with SandboxPool(Limits(timeout=30.0), jobs=1, preload=preload) as pool:
            result = next(pool.run([job]))
        results[bool(preload)] = (int(value(result, "GOT_PIL")), int(value(result, "PLOTTED")))
    assert results[False] == results[True] == (0, 1)


def test_a_warm_process_started_early_serves_only_jobs_that_want_what_it_loaded(tmp_path):
    """The command line starts the warm process with the plotting modules one file imports; a pool whose jobs do
    not want them starts its own (they would weigh on every fork and count against the memory limit)."""
    from grader.run import boot

    path = tmp_path / "student.py"
    path.write_text("import sys\nLOADED_BEFORE = 'json.tool' in sys.modules\n")
    unit = Unit(kind="module", label="student.py", path="student.py")
    item = Item(id="LOADED_BEFORE", kind="value", name="LOADED_BEFORE")
    for preload, plots, used in (([], False, False), (["json.tool"], True, True)):
        boot.start_early(["json.tool"], None)
        early = boot._early[0].process
        try:
            with SandboxPool(FAST, jobs=1, preload=preload, plain=not plots) as pool:
                run = next(pool.run([Job("k", [(path, "student.py")], [unit], [item], plots=plots)]))
                assert bool(value(run, "LOADED_BEFORE")) is plots
                assert (pool._warm_for(plots).process is early) is used
        finally:
            boot.stop_unused_early()
        assert early.poll() is not None  # stopped, used or not


def test_a_file_named_out_in_a_submission_is_just_the_students_file(tmp_path):
    (tmp_path / "student.py").write_text("TEXT = open('out').read()\n")
    (tmp_path / "out").write_text("the student's own notes")
    job = Job("k", [(tmp_path / "student.py", "student.py"), (tmp_path / "out", "out")],
              [Unit(kind="module", label="student.py", path="student.py")], [Item(id="TEXT", kind="value", name="TEXT")])
    with SandboxPool(FAST, jobs=1) as pool:
        assert value(next(pool.run([job])), "TEXT") == "the student's own notes"


def test_a_warm_process_started_again_outlives_the_run_that_started_it(tmp_path):
    """A new warm process, started by the scheduler's thread after the first one died, must not stop when that
    thread ends (the kernel signals a process when the thread that started it ends): later runs use it."""
    path = tmp_path / "student.py"
    path.write_text("def f():\n    return 1.0\n")
    unit = Unit(kind="module", label="student.py", path="student.py")

    def job(key: str) -> Job:
        return Job(key, [(path, "student.py")], [unit], [Item(id="f", kind="call", name="f", calls=[[]])])

    with SandboxPool(FAST, jobs=1) as pool:
        assert value(next(pool.run([job("a")])), "f") == 1.0
        pool._warm_for(False).process.kill()
        pool._warm_for(False).process.wait()
        assert [value(r, "f") for r in pool.run([job("b"), job("c")])] == [1.0, 1.0]  # served by a new one
        second = pool._warm_for(False).process
        time.sleep(0.5)  # the thread that started it has ended by now
        assert second.poll() is None
        assert value(next(pool.run([job("d")])), "f") == 1.0
        assert pool._warm_for(False).process is second


BURNER = '''
import os
import time


def _burn(seconds):
    """Spin until this process has used `seconds` of CPU."""
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


marker = os.path.join(os.getcwd(), "burnt")
if os.fork() == 0:  # a grandchild, orphaned at once: its CPU counts once the supervisor reaps it
    if os.fork() == 0:
        _burn(0.2)
        open(marker, "w").close()
        os._exit(0)
    os._exit(0)
os.wait()
while not os.path.exists(marker):
    time.sleep(0.01)
_burn(0.3)  # then the student's own process, after it: the two never overlap
'''


def test_a_submissions_cpu_and_wall_time_come_from_the_kernel(tmp_path):
    """A submission that burns 0.3 s of CPU itself and 0.2 s in an orphaned grandchild, one after the other: its
    result carries at least that CPU, and at least as much wall time, through to the native JSON."""
    from exercises.bank import load_exercise
    from grader.pipeline import GradingOptions, grade
    from grader.report import native_json

    source = tmp_path / "burner.py"
    source.write_text(BURNER + (Path(__file__).parents[1] / "corpus/correct/student02_vectorised.py").read_text())
    options = GradingOptions(limits=Limits(timeout=5.0), jobs=1, secret="cpu")
    [submission] = json.loads(native_json.render(grade([source], load_exercise("rnn-bptt"), options)))["submissions"]
    assert submission["status"] == "graded"
    assert 0.5 <= submission["cpu_s"] < 5.0, submission["cpu_s"]
    assert submission["wall_s"] >= 0.95 * submission["cpu_s"], submission  # the CPU was spent one process at a time


FLOOD = '''
import os


def flood():
    for made in range(1, 100_001):
        open("f%d" % made, "w").close()
    return made


def count():
    return len(os.listdir("."))
'''

AT_THE_USER_LEVEL = '''
import json, sys
from pathlib import Path
from grader.read.units import Unit
from grader.run.client import Job, SandboxPool
from grader.run.protocol import Item, Limits

source = Path(sys.argv[1])
items = [Item(id=name, kind="call", name=name, calls=[[]]) for name in ("flood", "count")]
job = Job("k", [(source, "student.py")], [Unit(kind="module", label="student.py", path="student.py")], items)
with SandboxPool(Limits(timeout=20.0), jobs=1) as pool:
    result = next(pool.run([job]))
    seen = {"level": result.level, "flood": [result.items["flood"].status, result.items["flood"].detail],
            "count": result.items["count"].records[0].value.item(), "folder": str(pool._tmp),
            "uid": pool._uid_base + 1, "jobs_left": [p.name for p in pool._tmp.glob("job*")]}
print(json.dumps(seen))
'''

DROP_SYS_ADMIN = '''
import os, sys
from grader.run import isolation
isolation._enter_namespaces([])  # a mount namespace where the interpreter under /root is reachable by any uid
os.execv("/usr/bin/setpriv", ["setpriv", "--bounding-set", "-sys_admin", sys.executable, *sys.argv[1:]])
'''


@pytest.mark.skipif(not AS_ROOT or not os.path.exists("/usr/bin/setpriv"), reason="needs root and setpriv")
def test_a_user_level_job_making_100000_files_is_stopped_at_the_cap_and_leaves_nothing(tmp_path):
    """Root in a container that forbids namespaces (no CAP_SYS_ADMIN): the `user` level, where a job works in its
    own folder on the grader's file system. Files by the hundred thousand there are stopped at the cap of
    private folders (`Limits.scratch_files`); the question says so, the next one still runs, and nothing stays."""
    (tmp_path / "student.py").write_text(FLOOD)
    (tmp_path / "run.py").write_text(AT_THE_USER_LEVEL)
    (tmp_path / "drop.py").write_text(DROP_SYS_ADMIN)
    done = subprocess.run([sys.executable, str(tmp_path / "drop.py"), str(tmp_path / "run.py"),
                           str(tmp_path / "student.py")], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["level"] == "user"
    cap = Limits().scratch_files
    assert seen["flood"] == ["crashed", f"stopped at the limit of {cap:,} files made in its folder"]
    assert cap < seen["count"] <= 2 * cap  # stopped at the cap, not after 100,000; the folder is its own
    assert seen["jobs_left"] == [] and not os.path.exists(seen["folder"])  # its folder went with the job
    left = [entry.path for folder in ("/tmp", "/var/tmp", "/dev/shm") for entry in os.scandir(folder)
            if entry.stat(follow_symlinks=False).st_uid == seen["uid"]]
    assert left == []


MEMORY_SCAN = r'''
import ctypes
import re

def leaked():
    """Whether this process's memory holds a classmate's marker: LEAK and twelve digits (this source has none),
    read as any code may read its own memory."""
    pattern = re.compile(rb"LEAK" + rb"\d{12}")
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:  # what a process allocates: its heap and anonymous mappings (files may fault past their end)
        if not fields[1].startswith("r") or (len(fields) > 5 and fields[5] != "[heap]") or fields[4] != "0":
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if pattern.search(ctypes.string_at(start, end - start)):
            return True
    return False
'''


EARLIER_JOB_LEAVES = {
    "code": "# LEAK" + "739182645501\n",
    "output": "print('LEAK' + '7391' + '82645501')\n",
    "an error": "raise ValueError('LEAK' + '7391' + '82645501')\n",
    "stray events": "import os\nos.write(3, ('{\"event\": \"x\", \"note\": \"LEAK' + '7391' + '82645501\"}\\n').encode())\n",
}


@pytest.mark.parametrize("left", list(EARLIER_JOB_LEAVES))
def test_no_job_finds_an_earlier_jobs_work_in_the_memory_it_inherits(tmp_path, left):
    """A supervisor serves job after job, and every student process is forked from one: neither it nor the warm
    process may hold what an earlier job's code was, printed, raised or wrote to the sandbox, or a student scanning
    their own memory finds a classmate's work."""
    notebook_cells = [EARLIER_JOB_LEAVES[left], "ANSWER = 41 + 1\n"]
    first = Job("a", [], [Unit(kind="cells", label="a.ipynb", cells=notebook_cells)],
                [Item(id="ANSWER", kind="value", name="ANSWER")])
    (tmp_path / "scan.py").write_text(MEMORY_SCAN)
    second = Job("b", [(tmp_path / "scan.py", "scan.py")], [Unit(kind="module", label="scan.py", path="scan.py")],
                 [Item(id="leaked", kind="call", name="leaked", calls=[[]])])
    limits = Limits(timeout=20.0, memory_mb=1024, max_elements=1000)
    with SandboxPool(limits, jobs=1) as pool:
        runs = {run.key: run for run in pool.run([first, second])}
    assert left == "an error" or value(runs["a"], "ANSWER") == 42
    assert runs["b"].items["leaked"].records[0].error is None, runs["b"].items["leaked"].records[0].error
    assert bool(value(runs["b"], "leaked")) is False


SENDS_ITS_OWN_TEXT = {
    "a forged event": 'import os\nos.write(3, b\'{"event": "start", "item": 0, "note": "chosen"}\\n\')\n',
    "a forged count": 'import os\nos.write(3, b\'{"event": "loaded", "errors": ["chosen"]}\\n\')\n',
    "stray bytes": "import os\nos.write(3, b'chosen, no newline')\n",
}


@pytest.mark.parametrize("sent", list(SENDS_ITS_OWN_TEXT))
def test_a_supervisor_serves_job_after_job_until_one_sends_text_of_its_own(tmp_path, sent):
    """Supervisors are forked once and kept; one whose job sent text its code chose serves no later job: a fresh
    one, forked from the warm process, takes its place."""
    (tmp_path / "parent.py").write_text("import os\ndef parent():\n    return float(os.getppid())\n")
    (tmp_path / "broken.py").write_text(SENDS_ITS_OWN_TEXT[sent])
    asking = Item(id="parent", kind="call", name="parent", calls=[[]])

    def job(key: str, name: str) -> Job:
        return Job(key, [(tmp_path / name, name)], [Unit(kind="module", label=name, path=name)], [asking])

    jobs = [
        job("first", "parent.py"),
        job("second", "parent.py"),
        job("broken", "broken.py"),
        job("after", "parent.py"),
    ]
    with SandboxPool(FAST, jobs=1) as pool:
        runs = {run.key: run for run in pool.run(jobs)}
    supervisors = {key: value(runs[key], "parent") for key in ("first", "second", "after")}
    assert not runs["broken"].load_errors
    assert supervisors["first"] == supervisors["second"] != supervisors["after"]


def test_a_job_whose_code_raises_as_it_loads_keeps_its_supervisor_and_its_messages(tmp_path):
    """The messages of what raised as the code loaded are the student code's text: they go to a file of the job's,
    never through the supervisor, which goes on to serve the next job; the grader reads them from there."""
    (tmp_path / "parent.py").write_text("import os\ndef parent():\n    return float(os.getppid())\n")
    cells = [
        "raise ValueError('a message the student chose, ünïcode')\n",
        "import os\n",
        "def parent():\n    return float(os.getppid())\n",
        "1 / 0\n",
    ]
    asking = Item(id="parent", kind="call", name="parent", calls=[[]])
    module = Job(
        "first",
        [(tmp_path / "parent.py", "parent.py")],
        [Unit(kind="module", label="parent.py", path="parent.py")],
        [asking],
    )
    raising = Job("raising", [], [Unit(kind="cells", label="n.ipynb", cells=cells)], [asking])
    after = replace(module, key="after")
    with SandboxPool(FAST, jobs=1) as pool:
        runs = {run.key: run for run in pool.run([module, raising, after])}
    errors = runs["raising"].load_errors
    assert len(errors) == 2
    assert "ValueError: a message the student chose, ünïcode" in errors[0] and "ZeroDivisionError" in errors[1]
    assert value(runs["first"], "parent") == value(runs["raising"], "parent") == value(runs["after"], "parent")


IS_OPEN = "import os\ndef _is_open(fd):\n    try:\n        os.fstat(fd)\n        return True\n    except OSError:\n        return False\n"
UNREADABLE_LOAD_ERRORS = ["an error stopped part of the code, and its message could not be read"]


def _notebook_run(cells: list[str]) -> RunResult:
    """One notebook job asking for the value of ANSWER."""
    job = Job(
        "a", [], [Unit(kind="cells", label="n.ipynb", cells=cells)], [Item(id="ANSWER", kind="value", name="ANSWER")]
    )
    with SandboxPool(FAST, jobs=1) as pool:
        (run,) = list(pool.run([job]))
    return run


def test_a_load_errors_file_the_code_overwrites_later_leaves_the_batch_and_its_answers_alone(tmp_path):
    """Code can keep a copy of the descriptor its load errors go to and, once they are written, overwrite them with
    anything (here JSON nested past any parser's depth): the grader then says that something raised, the job's
    answers stand, and the batch goes on."""
    cells = [
        "import os\nKEPT = [os.dup(fd) for fd in range(4, 64) if _is_open(fd)]\n",
        "raise ValueError('x')\n",
        "def answer():\n    for fd in KEPT:\n        try:\n            os.pwrite(fd, b'[' * 100_000, 0)\n"
        "        except OSError:\n            pass\n    return 42.0\n",
    ]
    asking = Item(id="answer", kind="call", name="answer", calls=[[]])
    hostile = Job("hostile", [], [Unit(kind="cells", label="n.ipynb", cells=[IS_OPEN, *cells])], [asking])
    after = Job("after", [], [Unit(kind="cells", label="m.ipynb", cells=["def answer():\n    return 7.0\n"])], [asking])
    with SandboxPool(FAST, jobs=1) as pool:
        runs = {run.key: run for run in pool.run([hostile, after])}
    assert value(runs["hostile"], "answer") == 42.0 and value(runs["after"], "answer") == 7.0
    assert runs["hostile"].load_errors == UNREADABLE_LOAD_ERRORS


def test_code_that_closes_its_load_errors_file_loses_only_their_messages():
    """The load-errors file is the last descriptor opened before the code runs: closed by the code, the messages
    cannot be written, yet the run goes on, its answers stand, and the grader says that something raised."""
    close = "os.close(max(fd for fd in range(4, 64) if _is_open(fd)))\n"
    run = _notebook_run([IS_OPEN, close, "raise ValueError('x')\n", "ANSWER = 42\n"])
    assert value(run, "ANSWER") == 42 and run.load_errors == UNREADABLE_LOAD_ERRORS


def test_load_errors_are_reported_whatever_the_code_wrote_into_their_file():
    """Code that writes into the file its load errors go to (it holds it open as it loads) does not replace them."""
    scribble = (
        "for fd in range(4, 64):\n    try:\n        os.write(fd, b'{not json')\n    except OSError:\n        pass\n"
    )
    run = _notebook_run([IS_OPEN, scribble, "raise ValueError('x')\n", "ANSWER = 42\n"])
    assert value(run, "ANSWER") == 42
    assert len(run.load_errors) == 1 and "ValueError: x" in run.load_errors[0]
