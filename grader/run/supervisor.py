"""One submission's session: start the confined student process, keep time, capture output, clean up.

Runs the grader's code only (student code runs in the child it forks). A hang costs the question
that hung; a crash costs the question that crashed; the session restarts after it and goes on.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import resource
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.run import isolation, student
from grader.run.file_cap import FileCap
from grader.run.protocol import (
    LOAD_ERRORS_FILE,
    MAX_LOAD_ERRORS,
    OUTPUT_FILE,
    RECORDS_SUFFIX,
    STOP_MARK,
    UNITS_FILE,
    Request,
    TimeLimits,
    read_units,
    shallow_fields,
    write_file,
)

READ_CHUNK = 1 << 20
EVENT_CHUNK = 1 << 16  # our events are a few short lines: a read of READ_CHUNK would map and unmap a megabyte each
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032  # fcntl: a larger pipe, so floods of output cost fewer reads; its size
MAX_EVENT_BYTES = 1_000_000


@dataclass
class ItemStatus:
    status: str = "not-run"  # done, timeout, crashed, not-run
    detail: str = ""


@dataclass
class Outcome:
    """What the supervisor saw; written as outcome.json for the grader to read."""

    level: str
    load: str = "ok"  # ok, timeout, crashed
    load_detail: str = ""
    load_errors: int = 0  # how many messages the student process wrote to LOAD_ERRORS_FILE (never read here)
    items: list[ItemStatus] = field(default_factory=list)
    output_dropped: int = 0  # bytes printed past the cap (what was kept is in the job's OUTPUT_FILE)
    forbidden_imports: list[str] = field(default_factory=list)
    runs: int = 0
    marks: dict[str, float] = field(default_factory=dict)  # when each step was reached (time.monotonic)
    student_cpu: float = 0.0  # seconds of CPU the student processes used (user + system, from the kernel)
    student_wall: float = 0.0  # seconds the student processes ran, from each fork to its end
    student_peak_mb: float = 0.0


@dataclass
class _Run:
    """The live state of one student process."""

    pid: int
    events: int
    output: int
    pidfd: int
    first_item: int
    next_item: int
    step: float = 0.0  # seconds each step may take (TimeLimits.step)
    pipe_rooms: tuple[int, int] = (EVENT_CHUNK, READ_CHUNK)  # bytes the events and the output pipes hold
    forked_at: float = 0.0
    loaded: bool = False
    current: int | None = None
    deadline: float = 0.0
    buffer: bytes = b""
    event_bytes: int = 0
    exit_status: int | None = None  # once it has exited
    timed_out: bool = False  # it overran its deadline (and was then killed, so it has no exit status)
    too_many_files: int = 0  # the cap on files in its folder it passed (and was then killed)
    confined: bool = False  # it said how (its first event, sent before any student code runs)
    private_scratch: bool = False  # every scratch folder it could write was a private tmpfs


_LIVE: list[tuple[int, int, int | None]] = []  # (pid, pidfd, uid) of the student process now running


NO_MORE_JOBS = 0  # a supervisor's exit code once the grader has closed the pipe of jobs: nothing to replace
JOB_FOLDER: list[Path] = []  # the folder of the job this supervisor runs now, while it runs one


def stop(signum: int, frame: object) -> None:
    """SIGTERM (the warm process stops): kill the student code now running, with everything it started, and leave."""
    for pid, pidfd, uid in _LIVE:
        isolation.kill_everything(pid, pidfd, uid)
    os._exit(1)


def stop_if_asked(signum: int, frame: object) -> None:
    """SIGUSR1 (the grader stops an overdue job): as `stop`, if the job running now is the one the grader marked.
    A supervisor serves job after job: the signal may come just after the job it was meant for ended."""
    if JOB_FOLDER and os.path.lexists(JOB_FOLDER[0] / STOP_MARK):
        stop(signum, frame)


def _times(request: Request) -> TimeLimits:
    return request.limits.times(len(request.items))


def supervise(request: Request, box: Path) -> Outcome:
    uid = isolation.sandbox_uid(request.uid_base, request.job_number)
    outcome = Outcome(level="")
    outcome.items = [ItemStatus() for _ in request.items]
    outcome.marks["supervisor"] = time.monotonic()
    isolation.become_subreaper()
    ends_at = time.monotonic() + _times(request).job
    cpu_before = _students_cpu()
    _STUDENT_TEXT[:] = [False]
    isolation.NAMES_READ[:] = [False]
    files = FileCap(box, request.limits.scratch_files)
    output = CapturedOutput(request.limits.output_cap)
    try:
        _runs(request, box, uid, outcome, ends_at, files, output)
    finally:
        for pid, pidfd, live_uid in _LIVE:  # the job failed here: none of its processes outlives it
            isolation.kill_everything(pid, pidfd, live_uid)
        _LIVE.clear()
        files.close_later()
        outcome.output_dropped = output.dropped
        output.write_and_wipe(box.parent / OUTPUT_FILE)
    if files.names_read or isolation.NAMES_READ[0]:  # names the job's code chose: files it made, its processes'
        _STUDENT_TEXT[:] = [True]
    _out_of_time(outcome)
    outcome.student_cpu = _students_cpu() - cpu_before
    return outcome


def _runs(
    request: Request,
    box: Path,
    uid: int | None,
    outcome: Outcome,
    ends_at: float,
    files: FileCap,
    output: CapturedOutput,
) -> None:
    """Student processes one after the other: each loads the code and takes the items from where the last
    stopped."""
    first = 0
    while first < len(request.items) or outcome.runs == 0:
        files.over()  # what the last run made before it was stopped is counted, not blamed on this one
        run = _launch(request, box, uid, first)
        outcome.marks.setdefault("forked", time.monotonic())
        outcome.runs += 1
        _watch(run, request, outcome, ends_at, files, output)
        if run.buffer:  # our events end their lines: what is left was written by student code
            _STUDENT_TEXT[:] = [True]
        isolation.kill_everything(run.pid, run.pidfd, uid, sweep=not run.private_scratch)
        outcome.student_wall += time.monotonic() - run.forked_at
        _LIVE.clear()
        _close(run)
        next_first = _next_start(run, outcome)
        if next_first is None or time.monotonic() >= ends_at:
            break
        first = next_first


def _students_cpu() -> float:
    """The CPU of every student process this supervisor has run, from the kernel: its reaped children, with what
    they reaped, and the orphans re-parented here (a process killed or timed out counts as much as one that exited).
    A job's is the difference over the job."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _out_of_time(outcome: Outcome) -> None:
    """Items never reached because the submission used up its whole time are timeouts too."""
    if outcome.load != "ok":
        return
    for status in outcome.items:
        if status.status == "not-run":
            status.status, status.detail = "timeout", "the submission used up its total time before this question"


def _launch(request: Request, box: Path, uid: int | None, first_item: int) -> _Run:
    events_r, events_w = os.pipe()
    output_r, output_w = os.pipe()
    try:
        fcntl.fcntl(output_r, F_SETPIPE_SZ, READ_CHUNK)
    except OSError:
        pass  # the system's limit on pipe sizes: the default size only costs speed
    rooms = fcntl.fcntl(events_r, F_GETPIPE_SZ), fcntl.fcntl(output_r, F_GETPIPE_SZ)
    # SIGTERM (and SIGUSR1) wait until the child is registered in _LIVE, so `stop` can never miss it.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1})
    pid = os.fork()
    if pid == 0:
        _become_student(request, box, uid, first_item, events_w, output_w)
    _LIVE[:] = [(pid, -1, uid)]  # known before anything here can fail
    pidfd = os.pidfd_open(pid)
    _LIVE[:] = [(pid, pidfd, uid)]
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGUSR1})
    os.close(events_w)
    os.close(output_w)
    run = _Run(
        pid=pid,
        events=events_r,
        output=output_r,
        pidfd=pidfd,
        first_item=first_item,
        next_item=first_item,
        pipe_rooms=rooms,
    )
    run.forked_at, run.step = time.monotonic(), _times(request).step
    run.deadline = run.forked_at + run.step
    return run


def _become_student(request: Request, box: Path, uid: int | None, first: int, events_w: int, output_w: int) -> None:
    """In the forked child: wire the descriptors, confine, serve. Never returns."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the supervisor ignores it; student code need not
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGUSR1})
        os.chdir(box)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(output_w, 1)
        os.dup2(output_w, 2)
        os.dup2(events_w, 3)
        os.closerange(4, 65536)
        folder = Path(request.records) if request.records else box.parent / "out"
        records, errors_fd = _open_outputs(folder, first, len(request.items))
        request = replace(request, units=read_units(box.parent / UNITS_FILE))  # only here: the student's own code
        level, private = isolation.confine(
            request.limits, uid, len(request.items), request.isolation, request.hidden_paths
        )
        for stream in (sys.stdout, sys.stderr):
            assert isinstance(stream, io.TextIOWrapper)  # the supervisor process's own standard streams
            stream.reconfigure(line_buffering=True)
        student.serve(request, first, student.Events(3), (level, private), records, errors_fd)
        sys.stdout.flush()
    except BaseException:  # noqa: BLE001 - report and leave; student code may raise anything
        code = 70
        try:
            os.write(2, traceback.format_exc()[-2000:].encode())
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)


def _open_outputs(folder: Path, first: int, count: int) -> tuple[dict[int, int], int | None]:
    """The files the items' values go to, opened before the process is confined, in the job's folder beside
    the box: as root that folder is root's, so student code can write into these files and create nothing. With
    them, for the run that loads first, the file its load errors go to: their text is the student code's, so it
    never passes through the supervisor (which serves later jobs, and whose memory later student processes inherit)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        records = {
            index: os.open(f"{index}{RECORDS_SUFFIX}", flags, 0o644, dir_fd=folder_fd) for index in range(first, count)
        }
        errors = os.open(LOAD_ERRORS_FILE, flags, 0o644, dir_fd=folder_fd) if first == 0 else None
        return records, errors
    finally:
        os.close(folder_fd)


def _watch(
    run: _Run, request: Request, outcome: Outcome, ends_at: float, files: FileCap, output: CapturedOutput
) -> None:
    """Read events and output until the student process ends, overruns its deadline or makes too many files. Its
    exit, and the files it makes, are seen at once; its pipes are read PIPE_PAUSE_SECONDS apart unless it floods
    them (a read of half what it can take): code that prints line after line, or answers question after question,
    wakes this process a hundred times a second at most rather than at every line (the pipe keeps what is written
    meanwhile). At a deadline the pipes are read first: the events sent up to it count, so a step's limit is at most
    a pause longer, never shorter."""
    open_fds = {run.events, run.output}
    watched = [run.pidfd] + ([files.fd] if files.fd >= 0 else [])
    events_room, output_room = run.pipe_rooms
    # half of what a read can take: of the pipe, and of the output's cap (what is kept is read into its room)
    floods = {run.events: min(EVENT_CHUNK, events_room) // 2, run.output: min(output_room, len(output.buffer)) // 2}
    pipes_resume = 0.0
    while True:
        now = time.monotonic()
        if min(run.deadline, ends_at) <= now:
            _take_what_waits(run, outcome, open_fds, output)  # an event sent during a pause moves the deadline
            if min(run.deadline, ends_at) <= time.monotonic():
                run.timed_out = True
                return
        paused = now < pipes_resume
        wait = min(run.deadline - now, ends_at - now, pipes_resume - now if paused else 1.0, 1.0)
        readable, _, _ = select.select(watched if paused else list(open_fds) + watched, [], [], max(wait, 0.0))
        took, flooded = False, False
        for fd in readable:
            if fd == files.fd and files.over():
                run.too_many_files = request.limits.scratch_files
                _take_what_waits(run, outcome, open_fds, output)
                return
            if fd == files.fd:
                continue
            if fd == run.pidfd:
                _, status, usage = os.wait4(run.pid, 0)
                outcome.marks["exited"] = time.monotonic()
                outcome.student_peak_mb = max(outcome.student_peak_mb, usage.ru_maxrss / 1024)
                run.exit_status = status
                _take_what_waits(run, outcome, open_fds, output)
                return
            count = _read_into(fd, run, outcome, output)
            if not count:
                open_fds.discard(fd)
            took, flooded = took or count > 0, flooded or count >= floods[fd]
        if took:
            pipes_resume = time.monotonic() + (0.0 if flooded else PIPE_PAUSE_SECONDS)


PIPE_PAUSE_SECONDS = 0.01


def _take_what_waits(run: _Run, outcome: Outcome, open_fds: set[int], output: CapturedOutput) -> None:
    """What the pipes hold now, at a deadline, when a run is stopped or once it has exited, without waiting for
    stray writers: a few reads at most (a read takes what a pipe holds; a process the job left may go on writing)."""
    for _ in range(4):
        readable, _, _ = select.select(list(open_fds), [], [], 0)
        if not readable:
            return
        for fd in readable:
            if not _read_into(fd, run, outcome, output):
                open_fds.discard(fd)


def _read_into(fd: int, run: _Run, outcome: Outcome, output: CapturedOutput) -> int:
    """What one read of a pipe took: its byte count, 0 at its end."""
    if fd == run.output:
        return output.read(fd)
    data = os.read(fd, EVENT_CHUNK)
    _take_events(data, run, outcome)
    return len(data)


class CapturedOutput:
    """What the student's code printed, up to the cap, in one buffer that is wiped once it is written: nothing a
    job printed stays in the memory of the process that supervised it."""

    def __init__(self, cap: int) -> None:
        self.buffer = bytearray(cap)
        self.size = 0
        self.dropped = 0
        self._spill = bytearray()  # what is past the cap, read only to be counted (made when first needed)

    def read(self, fd: int) -> int:
        """Take what the pipe holds: how many bytes (0 at its end)."""
        room = memoryview(self.buffer)[self.size :]
        if not len(room) and not self._spill:
            self._spill = bytearray(READ_CHUNK)
        count = os.readv(fd, [room if len(room) else self._spill])
        if len(room):
            self.size += count
        else:
            self.dropped += count
        return count

    def write_and_wipe(self, path: Path) -> None:
        """Written to `path` (not through a file planted there first: then it is lost, by the job's own doing); no
        file when nothing was printed (the grader reads none as nothing)."""
        try:
            if self.size:
                write_file(path, memoryview(self.buffer)[: self.size], os.O_EXCL, 0o600)
        except OSError:
            pass
        finally:
            self.buffer[: self.size] = bytes(self.size)
            self._spill[:] = bytes(len(self._spill))


def _take_events(data: bytes, run: _Run, outcome: Outcome) -> None:
    run.event_bytes += len(data)
    if run.event_bytes > MAX_EVENT_BYTES:
        _STUDENT_TEXT[:] = [True]
        return
    run.buffer += data
    *lines, run.buffer = run.buffer.split(b"\n")
    for line in lines:
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or set(event) != OWN_EVENTS.get(str(event.get("event"))):
                raise ValueError("not one of our events")
            if not _apply_event(event, run, outcome):
                raise ValueError("an event out of its place")
        except Exception:  # noqa: BLE001 - written by student code (the descriptor is theirs too): never ours to fail on
            _STUDENT_TEXT[:] = [True]


# Our events, each with the keys grader/run/student.py sends: anything else came from student code
OWN_EVENTS = {
    "isolation": {"event", "level", "private_scratch"},
    "loaded": {"event", "errors"},
    "start": {"event", "item"},
    "done": {"event", "item"},
    "forbidden-import": {"event", "module"},
}
_STUDENT_TEXT = [False]  # whether the job sent this process text its code chose (forged events, stray bytes)


def kept_student_text() -> bool:
    """Whether the last job sent this process text its student code chose: kept in its memory, freed but not
    wiped, so the process serves no later job (the warm process forks a fresh one)."""
    return _STUDENT_TEXT[0]


def _apply_event(event: dict, run: _Run, outcome: Outcome) -> bool:
    """Applies one of our events; False for one out of its place (forged by student code)."""
    kind, item, now = event.get("event"), event.get("item"), time.monotonic()
    if kind == "isolation" and not run.confined:  # the first event of a run is ours; later ones may be forged
        run.confined, run.private_scratch = True, event.get("private_scratch") is True
        outcome.level = outcome.level or str(event.get("level", ""))[:40]
        outcome.marks.setdefault("confined", now)
        return True
    elif kind == "loaded" and not run.loaded:
        count = event.get("errors")
        if type(count) is not int or count < 0:
            return False
        run.loaded = True
        outcome.marks.setdefault("loaded", now)
        if run.first_item == 0:
            outcome.load_errors = min(count, MAX_LOAD_ERRORS)
        return True
    elif kind == "start" and run.loaded and run.current is None and item == run.next_item < len(outcome.items):
        run.current = item  # events come through a descriptor student code can write: only progress counts
        run.deadline = now + run.step
        return True
    elif kind == "done" and isinstance(item, int) and item == run.current:
        outcome.items[item] = ItemStatus("done")
        outcome.marks["called"] = now
        run.current, run.next_item = None, item + 1
        run.deadline = now + run.step
        return True
    elif kind == "forbidden-import":
        _STUDENT_TEXT[:] = [True]
        name = str(event.get("module", ""))[:100]
        if name not in outcome.forbidden_imports:
            outcome.forbidden_imports.append(name)
        return True
    return False


def _next_start(run: _Run, outcome: Outcome) -> int | None:
    """Where the next run starts, or None when there is nothing left worth running."""
    stopped = _stopped(run)
    if not run.loaded:
        outcome.load, outcome.load_detail = stopped.status, stopped.detail
        return None
    if run.current is None:
        return None
    outcome.items[run.current] = stopped
    following = run.current + 1
    return following if following < len(outcome.items) else None


def _stopped(run: _Run) -> ItemStatus:
    """How a student process that did not finish stopped: it timed out, or it crashed (exited, or was killed)."""
    if run.timed_out:
        return ItemStatus("timeout", "still running at the time limit")
    if run.too_many_files:
        return ItemStatus("crashed", f"stopped at the limit of {run.too_many_files:,} files made in its folder")
    assert run.exit_status is not None  # _watch returns only once the process timed out or exited
    return ItemStatus("crashed", _describe_exit(run.exit_status))


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        try:
            number = signal.Signals(os.WTERMSIG(status))
        except ValueError:  # a real-time signal, which has no name
            return f"killed by signal {os.WTERMSIG(status)}"
        reasons = {
            signal.SIGXCPU: " (CPU time limit)",
            signal.SIGXFSZ: " (file size limit)",
            signal.SIGKILL: " (killed, usually the memory limit)",
            signal.SIGSEGV: " (crashed)",
        }
        return f"killed by signal {number.name}{reasons.get(number, '')}"
    return f"the process exited with code {os.WEXITSTATUS(status)}"


def _close(run: _Run) -> None:
    for fd in (run.events, run.output, run.pidfd):
        try:
            os.close(fd)
        except OSError:
            pass


def write_outcome(outcome: Outcome, path: Path) -> None:
    """Written whole or not at all: the grader may be polling for it."""
    outcome.marks["written"] = time.monotonic()
    partial = path.with_suffix(".partial")
    data = shallow_fields(outcome)
    data["items"] = [{"status": item.status, "detail": item.detail} for item in outcome.items]
    write_file(partial, json.dumps(data).encode())
    os.replace(partial, path)
