"""The warm process: imported numpy once, forks the supervisors that run the submissions.

Started by the grader with a scrubbed environment. Forks its supervisors once for the batch; they read the jobs
from stdin, one fixed-size record each (the job's folder, padded), and for each write
`outcome.json` into its job directory and then the line `done <job directory>` to stdout; the process itself writes
`ready` once its supervisors are forked. A process started for a class forks a spare half-way (`_forked_spare`), a
warm process of its own on pipes of its own, whose first line is `spare <its pid>`. Holds no expected answers and
imports nothing of the judge.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import importlib
import json
import os
import select
import signal
import stat
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from grader.run import isolation, student, supervisor
from grader.run.boot import KEPT_FONTS_ENV, SPARE_LINE, remove_folder
from grader.run.protocol import JOB_RECORD, STOP_MARK, Item, Request, write_file

PR_SET_PDEATHSIG = 1

# Loaded lazily by numpy on first use: import them before forking, so each child does not pay.
PRELOADED = (
    "numpy.random",
    "numpy.linalg",
    "numpy.fft",
    "math",
    "random",
    "json",
    "collections",
    "functools",
    "itertools",
    "typing",
    "copy",
    "time",
    "decimal",
    "fractions",
    "dataclasses",
)


def preload_common() -> None:
    """The modules students use, imported once here rather than in every job."""
    for name in PRELOADED:
        importlib.import_module(name)
    np.random.default_rng(0).standard_normal(4)


def preload(wanted: list[str]) -> None:
    """`wanted`: the plotting modules this batch's code imports (grader/read/flags.py), skipped when they fail
    to import."""
    stdin, stdout = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = open(os.devnull), sys.stderr  # nothing imported here talks on the job pipes
    try:
        with _kept_font_list(any(name not in sys.modules for name in wanted)):
            for name in wanted:
                if name in sys.modules:  # loaded at boot already, on the grader's guess
                    continue
                try:
                    importlib.import_module(name)
                    WARM_UPS.get(name, lambda: None)()
                except Exception:  # noqa: BLE001 - the job that imports it will report the failure
                    pass
    finally:
        sys.stdin.close()
        sys.stdin, sys.stdout = stdin, stdout


FONT_LISTS = "fontlist-v*.json"  # matplotlib's font cache: a scan of the system's fonts, about 0.35 s of CPU
MAX_FONT_LIST = 16 << 20


@contextmanager
def _kept_font_list(importing: bool) -> Iterator[None]:
    """While plotting modules are imported: the font list kept between batches (boot.kept_fonts) is copied into
    this batch's own matplotlib folder first, and the one matplotlib made (or remade) is kept after. matplotlib never
    writes the kept folder itself, so a batch stopped half-way leaves no lock or half-written list there."""
    kept = os.environ.get(KEPT_FONTS_ENV)
    if not kept or not importing or "matplotlib" in sys.modules:
        yield
        return
    kept_folder, own = Path(kept), Path(os.environ.get("MPLCONFIGDIR", "matplotlib"))
    try:
        own.mkdir(mode=0o700, exist_ok=True)
        _copy_font_lists(kept_folder, own)
    except OSError:
        pass  # matplotlib makes its own, as without a kept one
    yield
    if "matplotlib" in sys.modules:
        try:
            _copy_font_lists(own, kept_folder)
        except OSError:
            pass


def _copy_font_lists(source: Path, target: Path) -> None:
    """The font lists of `source` that `target` lacks or holds otherwise: regular files of this user's only, each
    written under a name of its own and then renamed, so a reader never sees half of one (what a process stopped
    between the two left is removed by the next)."""
    for partial in target.glob(".fontlist-*.partial"):
        if not _alive(partial.name.rsplit(".", 2)[-2]):
            partial.unlink(missing_ok=True)
    for path in source.glob(FONT_LISTS):
        data = _own_file(path)
        if data is None or _own_file(target / path.name) == data:
            continue
        partial = target / f".{path.name}.{os.getpid()}.partial"
        try:
            partial.write_bytes(data)
            os.replace(partial, target / path.name)
        except OSError:
            partial.unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except OSError:  # another user's
        pass
    return True


def _own_file(path: Path) -> bytes | None:
    """A regular file's bytes, if this user owns it (links are not followed); else None."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_size > MAX_FONT_LIST:
            return None
        return handle.read(MAX_FONT_LIST)


def _draw_a_figure() -> None:
    """matplotlib's first figure sets up fonts and caches (about 12 ms): paid here once, not by every job."""
    import matplotlib.pyplot as plt

    plt.figure()
    plt.plot([0.0, 1.0])
    plt.title("warm-up")
    plt.close("all")


WARM_UPS = {"matplotlib.pyplot": _draw_a_figure}


@functools.lru_cache(maxsize=8)
def _items(items_file: str) -> tuple[Item, ...]:
    """A batch's items, parsed once by each supervisor and with their arguments decoded, for every job it runs and
    every student process it forks (one file per variant of the exercise: the last few are kept)."""
    items = tuple(Item(**item) for item in json.loads(Path(items_file).read_text(encoding="utf-8")))
    student.decode_arguments(items)
    return items


def _read_request(job_dir: Path) -> Request | str:
    """The job's request, or why it could not be read (reported by the job, not by this process)."""
    try:
        data = json.loads((job_dir / "request.json").read_text(encoding="utf-8"))
        return Request.from_json(data, list(_items(str(data["items_file"]))))
    except Exception:  # noqa: BLE001
        return traceback.format_exc()


def serve(supervisors: int) -> None:
    """`supervisors` supervisors, forked once for the batch, take the grader's jobs from stdin, each one job at a
    time; one that a job stopped, that failed, or that retired (its job sent text its code chose) is replaced.
    Nothing of any job's is read here. Returns once every supervisor has ended with stdin, the grader's end."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # they are waited for here
    running = {_fork_supervisor() for _ in range(max(1, supervisors))}
    print("ready", flush=True)
    replaced = 0.0
    while running:
        try:
            # its supervisors, in its process group: a spare it forked (a session of its own) stays unreaped, so its
            # pid is no other process's while the grader may still signal it
            pid, status = os.waitpid(0, 0)
        except ChildProcessError:
            break
        running.discard(pid)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        if code == supervisor.NO_MORE_JOBS:  # stdin ended
            continue
        if code != RETIRED:  # stopped or failed: never a loop of forks that fail at once
            time.sleep(max(0.0, replaced + REPLACE_SECONDS - time.monotonic()))
            replaced = time.monotonic()
        running.add(_fork_supervisor())
    _remove_the_batchs_folders()


REPLACE_SECONDS = 0.1


HELD_SIGNALS = {signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1}


def _fork_supervisor() -> int:
    # These wait until the child has its own handlers: this process's would stop every job, SIGUSR1's would end it.
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    warm = os.getpid()
    pid = os.fork()
    if pid == 0:
        _supervise_jobs(warm)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)
    return pid


def _supervise_jobs(warm: int) -> None:
    """In a forked supervisor: job after job, as the grader hands them over, until stdin ends or the warm process
    that forked it is gone. Never returns. A job's code units and what it printed never pass through here
    (supervisor.py); a job that made it read text its code chose (supervisor.kept_student_text) or that failed here
    is its last: the warm process forks a fresh supervisor, so no later student process inherits that text."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGUSR1, supervisor.stop_if_asked)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # from student code, at the levels that share our uid
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)
    code = supervisor.NO_MORE_JOBS
    try:
        while os.getppid() == warm and (job := read_job(0)) is not None:
            if _claimed(job) and not _run_job(job):
                code = RETIRED
                break
    except BaseException:  # noqa: BLE001 - this supervisor is replaced; a job it had begun is reported lost
        code = FAILED
    os._exit(code)


RETIRED, FAILED = 3, 70  # a supervisor's exit codes when the warm process is to fork a fresh one in its place


def read_job(descriptor: int) -> Path | None:
    """The next job's folder, None once the grader has closed the pipe. A job is one record of JOB_RECORD bytes
    (its folder, padded), written at once (below PIPE_BUF), so a read takes exactly one whichever supervisor reads
    first."""
    record = os.read(descriptor, JOB_RECORD)  # interrupted by a signal, it is read again (PEP 475)
    if not record:
        return None
    return Path(os.fsdecode(record.rstrip(b"\0")))


def _claimed(job_dir: Path) -> bool:
    """Marks the job started, unless it was already (a job handed over again after its warm process died): a job is
    run by exactly one supervisor, which writes its pid for the grader (who may stop an overdue job). Not one the
    grader has given up on while it waited."""
    if not job_dir.is_absolute():
        return False
    try:
        os.close(os.open(job_dir / "started", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    except OSError:
        return False
    supervisor.JOB_FOLDER[:] = [job_dir]  # before its pid is known: a stop from then on reaches this job
    try:  # whole or absent, as the grader may be reading
        write_file(job_dir / "supervisor.partial", b"%d" % os.getpid())
        os.replace(job_dir / "supervisor.partial", job_dir / "supervisor.pid")
    except OSError:
        pass
    if os.path.lexists(job_dir / STOP_MARK):
        supervisor.JOB_FOLDER.clear()
        return False
    return True


def _wait_for_supervisors() -> None:
    """Every child of this process group (not a spare, which has a session of its own) has ended."""
    while True:
        try:
            os.waitpid(0, 0)
        except ChildProcessError:
            return


_records_folder = ""  # the batch's folder of returned values, when it is not inside our working directory


def _remove_the_batchs_folders() -> None:
    try:
        remove_folder(Path.cwd())
    except OSError:  # removed already (by the grader)
        pass
    if _records_folder:
        remove_folder(Path(_records_folder))


_grader_pid = 0
_grader_pidfd = -1  # a spare's: the grader is not its parent, so it watches the grader's pidfd


def _grader_alive() -> bool:
    if _grader_pidfd >= 0:
        return not select.select([_grader_pidfd], [], [], 0)[0]
    return os.getppid() == _grader_pid


def _shut_down(signum: int, frame: object) -> None:
    """SIGTERM (the grader asks) or SIGHUP (the grader died): every supervisor kills its student code,
    and only then we exit. The files are the grader's while it lives; if it is gone, nobody else will
    remove them, so we do. A SIGHUP while the grader is still our parent came from the end of the grader's
    thread that started us (the kernel sends it then too): the grader lives on, and so do we. (A spare, whose parent
    is the warm process that forked it, asks the grader's pidfd instead: `_grader_alive`.)"""
    if signum == signal.SIGHUP and _grader_alive():
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)  # this process group is the warm process and its supervisors
    _wait_for_supervisors()
    if signum == signal.SIGHUP and not _grader_alive():  # by now re-parenting shows
        _remove_the_batchs_folders()
    os._exit(0)


def _stop_with_the_grader(grader_pid: int) -> None:
    """SIGHUP when the grader dies, whatever way it dies (even kill -9); SIGTERM when it asks us to stop."""
    global _grader_pid
    _grader_pid = grader_pid
    signal.signal(signal.SIGTERM, _shut_down)
    signal.signal(signal.SIGHUP, _shut_down)
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0)
    if os.getppid() != grader_pid:  # it died before we asked
        _shut_down(signal.SIGHUP, None)
    threading.Thread(target=_watch_the_grader, args=(grader_pid,), daemon=True).start()


def _watch_the_grader(grader_pid: int) -> None:
    """The kernel's signal can come while the grader's other threads still hold it as our parent (then it is
    ignored, and none follows): so we also look, twice a second, and stop once the grader is gone."""
    while os.getppid() == grader_pid:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGHUP)


def _forked_spare(descriptors: str) -> bool:
    """Fork the spare (boot.boot_with_spare): a warm process of its own, with this one's imports so far, reading
    its settings and jobs from the first of `descriptors` and writing to the second, in a session of its own (each
    warm process stops its own supervisors), watching the grader through a pidfd. True in the spare."""
    global _grader_pidfd
    spare_in, spare_out = (int(number) for number in descriptors.split(","))
    grader = os.pidfd_open(_grader_pid)
    if not _grader_alive():  # the grader ended before the pidfd was made: it may name another process
        _shut_down(signal.SIGHUP, None)
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)  # until the spare is in a session of its own
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)
        for descriptor in (spare_in, spare_out, grader):
            os.close(descriptor)
        return False
    os.setsid()
    os.dup2(spare_in, 0)
    os.dup2(spare_out, 1)
    for descriptor in (spare_in, spare_out):
        os.close(descriptor)
    _grader_pidfd = grader
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)
    try:
        os.write(1, SPARE_LINE + b"%d\n" % os.getpid())
    except OSError:  # the grader closed it unused
        os._exit(0)
    threading.Thread(target=_watch_from_the_spare, daemon=True).start()
    return True


def _watch_from_the_spare() -> None:
    select.select([_grader_pidfd], [], [])
    os.kill(os.getpid(), signal.SIGHUP)


def _run_job(job_dir: Path) -> bool:
    """One job, from its request to its outcome file and the `done` line; whether this supervisor may serve another
    (not after a failure here, nor after text the job's code chose)."""
    clean = False
    try:
        request = _read_request(job_dir)
        if isinstance(request, str):
            raise RuntimeError(f"the job's request could not be read:\n{request}")
        outcome = supervisor.supervise(request, job_dir / "box")
        supervisor.write_outcome(outcome, job_dir / "outcome.json")
        clean = not supervisor.kept_student_text()
    except Exception:  # noqa: BLE001 - a grader error must still be reported, never hang the batch
        _report_grader_error(job_dir, traceback.format_exc())
    finally:
        supervisor.JOB_FOLDER.clear()
        _report_done(job_dir)
    return clean


def _report_done(job_dir: Path) -> None:
    try:
        os.write(1, f"done {job_dir}\n".encode())
    except OSError:  # the grader is gone; the outcome file is what counts
        pass


def _report_grader_error(job_dir: Path, text: str) -> None:
    try:
        partial = job_dir / "grader-error.partial"
        write_file(partial, text.encode("utf-8", "replace"))
        os.replace(partial, job_dir / "grader-error.txt")  # whole or absent: the grader may be polling
    except OSError:
        pass


def main() -> None:
    """argv: [root of the grader, the grader's pid, JSON [plotting modules to import at once], and for a process with
    a spare, "IN,OUT": the descriptors of the spare's pipes]. Boots (imports) at once (a spare is forked half-way,
    and imports only what its settings name); then reads its batch's settings, a JSON line on stdin: {"isolation":
    ..., "hidden": [folders to cover], "preload": [modules], "fonts": where matplotlib's font list is kept or "",
    "records": the folder of returned values or "", "supervisors": how many}. The grader can start this process
    before it knows them (`boot.start_early`), and hands over jobs only once it has said it is ready (its buffered
    stdin has read nothing past the settings then)."""
    _stop_with_the_grader(int(sys.argv[2]))
    preload_common()
    spare = len(sys.argv) > 4 and _forked_spare(sys.argv[4])
    preload(json.loads(sys.argv[3]) if len(sys.argv) > 3 and not spare else [])
    line = sys.stdin.readline()
    if not line and spare:  # the grader did not need it: gone at once, touching nothing
        os._exit(0)
    if not line:  # the grader ended before it needed us
        _remove_the_batchs_folders()
        return
    config = json.loads(line)
    global _records_folder
    _records_folder = config.get("records", "")
    if config.get("fonts"):  # where matplotlib's font list is kept, for a process booted without it (a spare)
        os.environ[KEPT_FONTS_ENV] = config["fonts"]
    preload(config.get("preload", []))
    isolation.enter_shared_namespaces(config["isolation"], [Path(p) for p in config["hidden"]])
    gc.freeze()  # children's collections then skip what is loaded now, so fewer pages get copied
    serve(int(config.get("supervisors", 1)))


if __name__ == "__main__":
    main()
