"""The grader's side of the sandbox: start the warm process, hand it jobs, read back raw data.

Knows nothing of exercises or scores: a job is files, code units and items to fetch; a result
is, per item, what happened and the raw values that came back.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import random
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.read.remembered import remembered_when_short
from grader.read.units import Unit
from grader.run.boot import (
    STOP_SECONDS,
    SandboxError,
    SpareProcess,
    batch_folder,
    boot,
    boot_with_spare,
    kept_fonts,
    made_cache_folder,
    made_grader_folder,
    ram_folder,
    ram_for_jobs,
    remove_folder,
    stop_process,
    take_early_boot,
)
from grader.run.protocol import (
    LOAD_ERRORS_FILE,
    MAX_LOAD_ERROR_BYTES,
    MAX_LOAD_ERROR_CHARS,
    MAX_LOAD_ERRORS,
    MAX_RECORD_LINE,
    OUTPUT_FILE,
    RECORDS_SUFFIX,
    STOP_MARK,
    UNITS_FILE,
    Item,
    ItemResult,
    Limits,
    RawBytes,
    Record,
    Request,
    RunResult,
    shallow_fields,
    step_timings,
    units_json,
    value_from,
    value_plan,
    write_file,
)
from grader.run.warm import WarmProcess, await_one_ready, lines_from

MAX_RECORD_FILE = 256 * 1024 * 1024
FIRST_JOB_WAIT_SECONDS = 2.0  # past it, `await_first_job` returns anyway: what it orders only saves time
ENDED_POLL_SECONDS = 0.1  # how often the folders of running jobs are looked at, besides their `done` lines
PARKED_JOBS = 16  # prepared jobs passed over, at most, while their warm process starts (the plotting one)
SWITCH_SECONDS = 0.0005  # how long a thread waiting for the interpreter may wait (Python's default is 5 ms)


@dataclass
class Job:
    """One submission to run: its files (copied into a fresh directory), code units and items."""

    key: str
    files: list[tuple[Path, str]]
    units: list[Unit]
    items: list[Item]
    package: str | None = None  # student modules are loaded inside this package
    allowed_modules: list[str] | None = None  # what student code may import besides the standard library
    plots: bool = False  # it imports a plotting library: run by the warm process that loaded them


@dataclass
class _Running:
    """A job handed to the sandbox (or ready to be): its folder, and when it started."""

    job: Job
    job_dir: Path
    started: float = 0.0
    deadline: float = 0.0  # past it, the supervisor is stopped: it must have its own, shorter limit
    prepare_seconds: float = 0.0
    noticed: float = 0.0  # when the scheduler saw it end
    records: Path | None = None  # the folder its values are written to, where it is not `job_dir / "out"`


class SandboxPool:
    """Warm processes serving up to `jobs` submissions at once: one without the plotting modules and one with
    them, each only when some job needs it. Use as a context manager."""

    def __init__(
        self,
        limits: Limits,
        jobs: int = 1,
        isolation: str = "auto",
        protected_packages: tuple[str, ...] = (),
        private_folders: list[Path] | None = None,
        preload: list[str] | None = None,
        plain: bool = True,
        own_work: bool = False,
    ) -> None:
        """`own_work`: a student checking their own work (the only code that runs is theirs)."""
        self.limits = limits
        self.preload = list(preload or [])  # plotting modules, imported once for the jobs marked `plots`
        self.plain = plain or not self.preload  # a warm process without them: False when every job plots
        self.jobs = max(1, jobs)
        self.isolation = isolation
        self.protected_packages = list(protected_packages)
        cache = made_cache_folder()  # the font list a later batch may read: no student code may write it
        private = [*(private_folders or []), *([cache] if cache is not None else [])]
        self._covered = _package_dirs(self.protected_packages) + [str(p) for p in private]
        separate_uid = os.geteuid() == 0 and isolation == "auto"
        self._uid_base = random.randrange(200_000, 2_000_000_000) if separate_uid else 0
        self._fonts = kept_fonts(isolation, own_work) if self.preload else None
        booted = take_early_boot()
        self._tmp = booted.folder if booted else batch_folder(ram_for_jobs(isolation, own_work))
        self._records = _records_folder()  # None: each job's values go to its own folder's out/
        self._booted = booted
        # By whether their jobs plot: a warm process that loaded the plotting libraries is twice the size of one
        # that did not, and every job's forks and exit cost more with it, so only the jobs that plot use it.
        self._warm_processes: dict[bool, WarmProcess] = {}
        self._counter = 0
        self._in_flight: dict[Path, bool] = {}  # job directories handed over and not yet collected, and if they plot
        self._items_files: dict[Path, list[Item]] = {}
        self._scheduler: threading.Thread | None = None
        self._switch_interval = sys.getswitchinterval()
        self._stopping = threading.Event()
        self._first_job = threading.Event()  # set once `run`'s first job is ready to hand over
        self._next_poll = 0.0  # when `_wait_for_done` next looks into the running jobs' folders

    def __enter__(self) -> SandboxPool:
        """The warm processes boot while the caller prepares; a job waits for its own to be ready. The process
        started early serves the first kind whose modules include what it loaded; one that loaded modules no kind
        wants (a wrong guess) is stopped: they would weigh on every fork and count against the memory limit."""
        booted, self._booted = self._booted, None
        spare = booted.spare if booted is not None else None
        kinds = ([False] if self.plain else []) + ([True] if self.preload else [])
        try:
            for count, plots in enumerate(kinds, 1):
                config = self._warm_config(plots)
                process: subprocess.Popen[bytes] | SpareProcess
                if booted is not None and set(booted.preload) <= set(config["preload"]):
                    process, booted = booted.process, None
                elif spare is not None:
                    process, spare = spare, None
                elif count < len(kinds):  # the next kind's process is this one's spare
                    process, spare = boot_with_spare(self._tmp, fonts=self._fonts)
                else:
                    process = boot(self._tmp, fonts=self._fonts)
                self._warm_processes[plots] = WarmProcess(self._tmp, config, process, self._fonts)
        except BaseException:
            self.__exit__()
            raise
        finally:
            if spare is not None:
                spare.close()
            if booted is not None:
                stop_process(booted.process)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_scheduler()
        for warm in self._warm_processes.values():
            warm.stop()
        self._warm_processes.clear()
        remove_folder(self._tmp)
        if self._records is not None:
            remove_folder(self._records)

    def _warm_config(self, plots: bool) -> dict:
        return {
            "isolation": self.isolation,
            "hidden": self._covered,
            "preload": self.preload if plots else [],
            "fonts": str(self._fonts or "") if plots else "",  # a spare was booted without them
            "records": str(self._records or ""),
            "supervisors": self.jobs,  # each runs one job at a time, job after job
        }

    def _warm_for(self, plots: bool) -> WarmProcess:
        if not self._warm_processes:
            raise SandboxError("the sandbox process is not running (use SandboxPool as a context manager)")
        if (plots or False not in self._warm_processes) and True in self._warm_processes:
            return self._warm_processes[True]
        return self._warm_processes[False]

    # ------------------------------------------------------------ jobs

    def run(self, jobs: Iterable[Job]) -> Iterator[RunResult]:
        """Start running jobs, at most `self.jobs` at a time, at once; the iterator yields each result as it
        completes.

        The scheduling runs in a thread of its own, so the sandbox is handed its next job while the caller
        is still judging the previous result (or other submissions): the caller's work and the students' code
        overlap. One scheduler at a time: a new run stops the previous one.
        """
        self._stop_scheduler()
        results: queue.Queue[RunResult | BaseException | None] = queue.Queue()
        self._stopping.clear()
        self._first_job.clear()
        thread = threading.Thread(target=self._schedule_into, args=(list(jobs), results), daemon=True)
        self._scheduler = thread
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_SECONDS)  # the scheduler wakes as soon as a job ends, even while we judge
        thread.start()
        return self._results(results)

    def await_first_job(self) -> None:
        """Until `run`'s first job is ready to hand over, its folder and files written (or the scheduler has
        stopped, or a while has passed): work the caller does then overlaps the job, or the warm process's start,
        instead of slowing the job's preparation (the scheduler shares this interpreter)."""
        self._first_job.wait(timeout=FIRST_JOB_WAIT_SECONDS)

    def release(self) -> None:
        """Every job is collected and none follows: the warm processes stop while the caller judges the last
        result (leaving the pool waits for them). Nothing, while a job is still running."""
        if self._in_flight:
            return
        for warm in self._warm_processes.values():
            warm.begin_stop()

    def _results(self, results: queue.Queue[RunResult | BaseException | None]) -> Iterator[RunResult]:
        try:
            while (result := results.get()) is not None:
                if isinstance(result, BaseException):
                    raise result
                yield result
        finally:
            self._stop_scheduler()

    def _stop_scheduler(self) -> None:
        self._stopping.set()
        if self._scheduler is not None and self._scheduler is not threading.current_thread():
            self._scheduler.join(timeout=STOP_SECONDS)  # it checks the flag several times a second
        if self._scheduler is not None:
            sys.setswitchinterval(self._switch_interval)
        self._scheduler = None

    def _schedule_into(self, jobs: list[Job], results: queue.Queue[RunResult | BaseException | None]) -> None:
        try:
            for result in self._schedule(jobs):
                results.put(result)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            results.put(exc)
        finally:
            self._first_job.set()
            results.put(None)

    def _schedule(self, jobs: list[Job]) -> Iterator[RunResult]:
        """Keep `self.jobs` jobs running, the next one's folder ready; a finished job's successor is handed
        over before the finished job's result is read. A job whose warm process is still starting (importing the
        plotting modules) is passed over, and starts first once that process is ready."""
        pending = iter(jobs)
        running: dict[str, _Running] = {}
        unprepared: list[RunResult] = []  # jobs whose files could not be written (a full disk): each its own error
        parked: list[_Running] = []  # prepared, passed over while their warm process was still starting
        ready = self._prepare_next(pending, unprepared)
        self._first_job.set()

        def waiting() -> list[_Running]:
            return parked + ([ready] if ready is not None else [])

        def fill() -> None:
            nonlocal ready
            while len(running) < self.jobs and (queue := waiting()) and not self._stopping.is_set():
                start = self._startable(queue)
                if start is None and ready is not None and len(parked) < PARKED_JOBS:
                    parked.append(ready)  # a core need not idle while the plotting modules load: the next job
                    ready = self._prepare_next(pending, unprepared)
                    continue
                if start is None:  # their warm processes are still starting: the loop below waits for one
                    return
                if start is ready:
                    ready = self._prepare_next(pending, unprepared)
                else:
                    parked.remove(start)
                running[str(start.job_dir)] = self._start(start)

        def may_start_more() -> bool:
            """A free place, and a job passed over whose warm process has since said it is ready."""
            return len(running) < self.jobs and any(warm.ready for warm in self._warm_processes_of(waiting()))

        try:
            fill()
            while (running or unprepared or waiting()) and not self._stopping.is_set():
                while unprepared:
                    yield unprepared.pop(0)
                if not running and waiting():  # nothing runs: until one of their warm processes is ready
                    await_one_ready(self._warm_processes_of(waiting()), self._stopping)
                    fill()
                    continue
                if not running:
                    break
                finished = [running.pop(name) for name in self._wait_for_done(running, may_start_more)]
                noticed = time.monotonic()
                for run in finished:
                    run.noticed = noticed
                    self._in_flight.pop(run.job_dir, None)
                    if not _has_ended(run.job_dir):
                        _stop_supervisor(run.job_dir)  # overdue: it must not outlive its files
                fill()
                for run in finished:
                    result = self._collect(run)
                    result.seconds = round(time.monotonic() - run.started, 4)
                    yield result
        finally:
            for unstarted in waiting():  # stopped before they ran: their folders go now, not with the pool
                remove_folder(unstarted.job_dir)
                if unstarted.records is not None:
                    remove_folder(unstarted.records)

    def _startable(self, waiting: list[_Running]) -> _Running | None:
        """The first of the waiting jobs whose warm process takes jobs now (each process looked at once)."""
        taking = {warm: warm.takes_jobs_now() for warm in self._warm_processes_of(waiting)}
        return next((run for run in waiting if taking[self._warm_for(run.job.plots)]), None)

    def _warm_processes_of(self, runs: list[_Running]) -> list[WarmProcess]:
        return list(dict.fromkeys(self._warm_for(run.job.plots) for run in runs))

    def _budget(self, job: Job) -> float:
        """The supervisor keeps its own, shorter limit; this one only guards against a stuck supervisor."""
        return self.limits.times(len(job.items)).guard

    def _prepare_next(self, pending: Iterator[Job], unprepared: list[RunResult]) -> _Running | None:
        """The next job whose folder could be prepared; those that could not go to `unprepared`, with the reason."""
        for job in pending:
            if self._stopping.is_set():
                return None
            try:
                return self._prepare(job)
            except OSError as exc:
                remove_folder(self._tmp / f"job{self._counter}")
                message = f"the grader could not write this submission's files for the sandbox: {exc.strerror or exc}"
                unprepared.append(RunResult(job.key, grader_error=message))
        return None

    def _prepare(self, job: Job | None) -> _Running | None:
        """The job's folder, files and request, written before the sandbox is ready for it."""
        if job is None:
            return None
        began = time.monotonic()
        self._counter += 1
        job_dir = self._tmp / f"job{self._counter}"
        box = job_dir / "box"
        os.mkdir(job_dir)
        os.chmod(job_dir, 0o711)  # whatever the umask: the sandbox uid passes through to its box
        os.mkdir(box)
        os.chmod(box, 0o700)  # the sandbox uid's, when there is one: nobody else may enter it
        records = self._records / job_dir.name if self._records else None
        uid = self._uid_base + self._counter if self._uid_base else None
        for source, name in job.files:
            _copy_into_box(source, box, name, uid)
        request = Request(
            job.units,
            job.items,
            self.limits,
            self.protected_packages,
            self._counter,
            self._uid_base,
            self.isolation,
            self._covered + [str(self._tmp)] + ([str(self._records)] if self._records else []),
            job.package,
            job.allowed_modules,
            str(records or ""),
        )
        items_file = self._items_file(job.items)
        write_file(job_dir / "request.json", json.dumps(request.to_json(str(items_file))).encode(), mode=0o600)
        write_file(job_dir / UNITS_FILE, units_json(job.units).encode(), mode=0o600)
        _give(box, uid)
        (records or job_dir / "out").mkdir(mode=0o755)  # the grader's: student code gets only the files opened there
        took = time.monotonic() - began
        return _Running(job, job_dir, prepare_seconds=took, records=records)

    def _start(self, ready: _Running) -> _Running:
        self._in_flight[ready.job_dir] = ready.job.plots
        self._send(ready.job_dir, ready.job.plots)
        ready.started = time.monotonic()
        ready.deadline = ready.started + self._budget(ready.job)
        return ready

    def _items_file(self, items: list[Item]) -> Path:
        """The items as JSON, written once for all the jobs that share them (readable by root only)."""
        path = self._tmp / f"items-{id(items)}.json"
        if path not in self._items_files:
            path.write_text(json.dumps([shallow_fields(item) for item in items]), encoding="utf-8")
            path.chmod(0o600)
            self._items_files[path] = items  # keeps `items` alive, so its id is not reused
        return path

    def _send(self, job_dir: Path, plots: bool) -> None:
        """Hand a job to its warm process (once ready); if it has died, a new one takes every job not yet started."""
        warm = self._warm_for(plots)
        if not warm.alive():
            self._replace(plots)
        warm.await_ready(self._stopping)
        try:
            warm.send_job(job_dir)
        except OSError:
            self._replace(plots)

    def _wait_for_done(self, running: dict[str, _Running], may_start_more: Callable[[], bool]) -> list[str]:
        """Names of finished (or overdue) jobs: those a `done` line names and, looked for in their folders at most
        every ENDED_POLL_SECONDS, those that ended unannounced (their line lost with a warm process that died), are
        overdue or were lost; none, as soon as `may_start_more` (a warm process has become ready for a job
        waiting). If a warm process dies, a new one serves the rest."""
        while not self._stopping.is_set():
            if (now := time.monotonic()) >= self._next_poll:
                self._next_poll = now + ENDED_POLL_SECONDS
                ended = [
                    name
                    for name, run in running.items()
                    if run.deadline < now or _has_ended(run.job_dir) or _lost(run.job_dir)
                ]
                if ended:
                    return ended
            for plots, warm in list(self._warm_processes.items()):
                if not warm.alive():
                    self._replace(plots)
            done = [line.removeprefix("done ") for line in lines_from(list(self._warm_processes.values()))]
            if finished := [name for name in done if name in running]:
                return finished
            if may_start_more():
                return []
        return []

    def _replace(self, plots: bool) -> None:
        """A new warm process; jobs the old one never started are handed over again.

        Jobs it did start finish anyway: their supervisors outlive it and write their outcome files.
        """
        warm = self._warm_for(plots)
        warm.restart(self._stopping)
        try:
            for job_dir in sorted(d for d, its_plots in self._in_flight.items() if self._warm_for(its_plots) is warm):
                if not (job_dir / "started").exists():
                    warm.send_job(job_dir)
                elif not _has_ended(job_dir) and (
                    not (job_dir / "supervisor.pid").exists() or not _supervisor_alive(job_dir)
                ):
                    _record_lost(job_dir)
        except OSError as exc:
            raise SandboxError(f"the sandbox process keeps dying: {exc}") from None

    # ------------------------------------------------------------ results

    def _collect(self, run: _Running) -> RunResult:
        try:
            result, marks = self._read_result(run.job, run.job_dir, run.records or run.job_dir / "out")
        finally:
            remove_folder(run.job_dir)
            if run.records is not None:
                remove_folder(run.records)
        marks |= {"handed": run.started, "noticed": run.noticed, "collected": time.monotonic()}
        result.timings = {"prepare": run.prepare_seconds, **step_timings(marks), **result.timings}
        return result

    def _read_result(self, job: Job, job_dir: Path, records: Path) -> tuple[RunResult, dict[str, float]]:
        """The job's result, and the marks its supervisor left."""
        error_file, outcome_file = job_dir / "grader-error.txt", job_dir / "outcome.json"
        if error_file.exists():
            return RunResult(job.key, grader_error=error_file.read_text(encoding="utf-8")), {}
        if not outcome_file.exists():
            return RunResult(job.key, grader_error="the sandbox did not finish this submission in time"), {}
        outcome = json.loads(outcome_file.read_text(encoding="utf-8"))
        marks = outcome.pop("marks", {})
        cpu_s, wall_s = outcome.pop("student_cpu", 0.0), outcome.pop("student_wall", 0.0)
        usage = {"student-cpu": cpu_s, "student-peak-mb": outcome.pop("student_peak_mb", 0.0)}
        statuses = outcome.pop("items")
        out_dir = _open_real_directory(records)
        try:
            items = {
                item.id: self._read_item(out_dir, index, status)
                for index, (item, status) in enumerate(zip(job.items, statuses))
            }
            outcome["load_errors"] = read_load_errors(out_dir, outcome.get("load_errors"))
        finally:
            if out_dir is not None:
                os.close(out_dir)
        outcome.pop("runs", None)
        output = _read_output(job_dir / OUTPUT_FILE, self.limits.output_cap)
        result = RunResult(job.key, items=items, output=output, timings=usage, cpu_s=cpu_s, wall_s=wall_s, **outcome)
        return result, marks

    def _read_item(self, out_dir: int | None, index: int, status: dict[str, str]) -> ItemResult:
        if status["status"] == "not-run" or out_dir is None:
            return ItemResult(status["status"], status["detail"])
        unread = records_later(Path(f"{index}{RECORDS_SUFFIX}"), self.limits.max_elements, dir_fd=out_dir)
        return ItemResult(status["status"], status["detail"], unread=unread)


def _copy_into_box(source: Path, box: Path, name: str, uid: int | None) -> None:
    """A submission's file copied into its box, it (and any folder made for it) the sandbox uid's if there is one."""
    target = box / name
    for folder in reversed(target.relative_to(box).parents[:-1]):  # a file in a folder of the submission's
        if not (box / folder).is_dir():
            os.mkdir(box / folder, 0o755)
            _give(box / folder, uid)
    shutil.copyfile(source, target)
    _give(target, uid)


def _give(path: Path, uid: int | None) -> None:
    if uid is not None:
        os.chown(path, uid, uid, follow_symlinks=False)


def _read_output(path: Path, cap: int) -> str:
    """What the student code printed, as its supervisor kept it (no more than the cap)."""
    kept = _regular_file_bytes(path, cap)
    return kept.decode("utf-8", "replace") if kept is not None else ""


def _regular_file_bytes(path: Path | str, cap: int, dir_fd: int | None = None) -> bytes | None:
    """At most `cap` bytes of a file student code may have made or replaced: a regular file, not a link, never
    waited on (a FIFO made there first); None for anything else."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as kept:
        return kept.read(cap) if stat.S_ISREG(os.fstat(kept.fileno()).st_mode) else None


def _records_folder() -> Path | None:
    """A folder of the batch's for the values jobs return, on a RAM file system (None where there is none)."""
    parent = ram_folder()
    if parent is None:
        return None
    try:
        return made_grader_folder(parent)
    except OSError:
        return None


def _package_dirs(names: list[str]) -> list[str]:
    """Where the protected packages live, to be hidden from student code where mounts allow it."""
    folders = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:  # not installed here (a student kit has no model solution): nothing to hide
            continue
        folders += list(spec.submodule_search_locations or []) if spec else []
    return folders


def _stop_supervisor(job_dir: Path) -> None:
    """An overdue job: marked, then its supervisor signalled, which kills its student code if that is still the job
    it runs (a supervisor serves job after job) and leaves; continued first, in case its student code (where it
    shares the supervisor's uid) stopped it. A job not yet claimed is never started once marked."""
    try:
        (job_dir / STOP_MARK).touch()
        pid = int((job_dir / "supervisor.pid").read_text())
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGUSR1)
    except (OSError, ValueError):
        pass


def _supervisor_alive(job_dir: Path) -> bool:
    """False only when its pid is known and no such process exists."""
    try:
        os.kill(int((job_dir / "supervisor.pid").read_text()), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):
        pass
    return True


def _lost(job_dir: Path) -> bool:
    """A supervisor that died without an outcome (stopped with its warm process): recorded as lost."""
    if not (job_dir / "supervisor.pid").exists() or _supervisor_alive(job_dir) or _has_ended(job_dir):
        return False
    _record_lost(job_dir)
    return True


def _record_lost(job_dir: Path) -> None:
    """A job whose supervisor was stopped with the warm process: a grader error, which --resume retries."""
    (job_dir / "grader-error.txt").write_text("the sandbox was stopped while it graded this submission\n")


def _has_ended(job_dir: Path) -> bool:
    return (job_dir / "outcome.json").exists() or (job_dir / "grader-error.txt").exists()


def _open_real_directory(path: Path) -> int | None:
    """A descriptor of `path` if it is a directory and not a link (student code could point out/ elsewhere)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None


UNREADABLE = "the returned data could not be read"


def read_records(path: Path, max_elements: int, dir_fd: int | None = None) -> list[Record]:
    """The records a student process wrote, read as untrusted data: regular files only, size-capped, validated.

    Opened through the directory's descriptor, without following links, so nothing can be swapped in.
    """
    return records_later(path, max_elements, dir_fd)()


def records_later(path: Path, max_elements: int, dir_fd: int | None = None) -> Callable[[], list[Record]]:
    """`read_records`, the file read now and its bytes parsed when the records are asked for."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)  # a FIFO must not block
    except OSError:
        return list
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return lambda: [Record(error=UNREADABLE)]
        if info.st_size > MAX_RECORD_FILE:
            return lambda: [Record(error="the returned data was larger than allowed")]
        data = _read_at_most(fd, info.st_size)  # its size as it was seen: no cap reserved
        return lambda: parse_records(data, max_elements)
    finally:
        os.close(fd)


def _read_at_most(fd: int, size: int) -> bytes:
    """Up to `size` bytes, fewer if the file ends first (student code may be cutting it)."""
    chunks, left = [], size
    while left > 0 and (chunk := os.read(fd, left)):
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_load_errors(out_dir: int | None, count: object) -> list[str]:
    """The messages of what stopped parts of the code as it loaded: as many as its supervisor was told of, read from
    the file the student process wrote them to (untrusted, as a record is)."""
    if type(count) is not int or count <= 0:
        return []
    count = min(count, MAX_LOAD_ERRORS)
    unreadable = ["an error stopped part of the code, and its message could not be read"]
    kept = _regular_file_bytes(LOAD_ERRORS_FILE, MAX_LOAD_ERROR_BYTES, out_dir) if out_dir is not None else None
    if kept is None:
        return unreadable
    try:
        errors = json.loads(kept)
    except (ValueError, RecursionError):  # cut at the cap, or whatever the code wrote there (it holds it open)
        return unreadable
    if not isinstance(errors, list) or not errors:
        return unreadable
    return [str(error)[:MAX_LOAD_ERROR_CHARS] for error in errors[:count]]


def parse_records(data: bytes, max_elements: int) -> list[Record]:
    """The records of a file the sandbox wrote (protocol.record_bytes), read as untrusted data: each line, then the
    bytes of the arrays it names. Past anything unreadable, where the next record starts is unknown: that record
    says so, and reading stops."""
    records, at = [], 0
    while at < len(data):
        end = data.find(b"\n", at)
        if end < 0:
            end = len(data)
        line, raw = data[at:end], RawBytes(data, end + 1)
        if line.strip():
            # a longer line is no record the sandbox writes: never parsed, so it costs no memory
            record = _parsed(line, max_elements, raw) if len(line) <= MAX_RECORD_LINE else None
            records.append(Record(error=UNREADABLE) if record is None else record)
            if record is None:
                break
        at = raw.at
    return records


def _parsed(line: bytes, max_elements: int, raw: RawBytes) -> Record | None:
    """One record: a value, an error message from student code, or missing; None when it cannot be read."""
    try:
        plan = _record_plan(line, max_elements)
        if plan[0] is not None:
            return Record(missing=plan[0] == "missing", error=plan[1])
        return Record(value=value_from(plan[1], raw))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


@remembered_when_short(512, kept=1024)  # bytes: a line of a few arrays; a class writes the same few thousands of times
def _record_plan(line: bytes, max_elements: int) -> tuple:
    """A record's line read and checked: ("missing", None), ("error", its message) or (None, the value's plan)."""
    data = json.loads(line.decode())
    if data.get("missing"):
        return "missing", None
    if "error" in data:
        return "error", str(data["error"])[:1000]
    return None, value_plan(data["value"], max_elements)
