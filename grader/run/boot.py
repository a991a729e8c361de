"""Starting the warm process: its interpreter and imports, in a batch folder of its own, before the grader needs it.

Light on purpose (the standard library only): the command line starts the warm process before it imports numpy,
pydantic or the exercise, so that the two interpreters' start-ups overlap (a student's check waits for both).
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import grader

ROOT = Path(grader.__file__).resolve().parent.parent
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from grader.run.zygote import main; main()"
PASSED_THROUGH_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PATH")
FOLDER_PREFIX = "rnn-grader-"
# Where a batch's folders go (each job's folder and box) when every job works in a private tmpfs of its own, and
# the values jobs return at every level, when it is a RAM file system with room: a job makes and removes folders and
# files, and on a disk's journaled file system each costs the grader's processes CPU (0.9 ms a job here, 7 % of
# ours). Docker's default is 64 MB: one that small is not used, as a full one would fail a correct answer's write as
# the student's crash.
RAM_FOLDER = Path("/dev/shm")
RAM_ROOM = 1 << 30  # bytes free it needs
STOP_SECONDS = 10.0
KEPT_FONTS_ENV = "RNN_GRADER_KEPT_FONTS"  # tells the warm process where matplotlib's font list is kept (kept_fonts)


class SandboxError(Exception):
    """The sandbox itself failed (not the student's code)."""


def batch_folder(in_ram: bool = False) -> Path:
    """The batch's folder: the warm process's working directory, with a folder per job. `in_ram`: in the RAM file
    system where it has room (`ram_for_jobs`), else in the system's temporary folder."""
    _sweep_abandoned_folders()
    parent = ram_folder() if in_ram else None
    try:
        return made_grader_folder(parent)
    except OSError:
        if parent is None:
            raise
        return made_grader_folder(None)


def made_grader_folder(parent: Path | None) -> Path:
    """A folder of the grader's in `parent` (None: the system's temporary folder), marked with its pid so that a
    later grader sweeps it if this one dies first."""
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=parent))
    try:
        folder.chmod(0o711)
        (folder / "grader.pid").write_text(str(os.getpid()))
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)  # without its pid file, no later sweep would remove it
        raise
    return folder


def ram_for_jobs(isolation: str, own_work: bool = False) -> bool:
    """Whether a batch's job folders may be in RAM: only where each job runs as a uid of its own in mount namespaces
    (root, isolation auto, and a mount in a namespace of its own works here), so that its code works in a copy of its
    box inside its own capped tmpfs and the box is read-only to it. Elsewhere a job writes in its box, which must not
    fill the machine's RAM; a student's check of their own work keeps to the disk too."""
    return not own_work and os.geteuid() == 0 and isolation == "auto" and _mounts_work()


CAP_SYS_ADMIN = 21


@functools.cache
def _mounts_work() -> bool:
    """Whether a child of this process can make a mount namespace and mount a tmpfs in it, what a job's private
    folders need: CAP_SYS_ADMIN first (a container's default has none), then a child that tries (a security
    profile may refuse mounts to a process that has it)."""
    if not _has_capability(CAP_SYS_ADMIN):
        return False
    from grader.run import mounts  # only here (ctypes): the check of a student's own work never needs it

    mounts.libc.unshare, mounts.libc.mount  # noqa: B018 - found (and kept) before the fork: the child only calls them
    child = os.fork()
    if child == 0:
        try:
            mounts.check(mounts.libc.unshare(mounts.CLONE_NEWNS), "unshare")
            mounts.mount(None, "/", None, mounts.MS_REC | mounts.MS_PRIVATE)
            mounts.mount("tmpfs", str(RAM_FOLDER), "tmpfs", mounts.MS_NOSUID | mounts.MS_NODEV, "size=64k")
        except BaseException:  # noqa: BLE001 - whatever stops it, the child leaves and says no
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _has_capability(number: int) -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            effective = next(line for line in status if line.startswith("CapEff:"))
        return bool(int(effective.split()[1], 16) >> number & 1)
    except (OSError, ValueError, StopIteration, IndexError):
        return False


def ram_folder() -> Path | None:
    """The RAM file system, where it is a real folder with room for a batch; None: the disk's temporary folder."""
    if RAM_FOLDER.is_symlink() or not os.access(RAM_FOLDER, os.W_OK | os.X_OK):
        return None
    try:
        stats = os.statvfs(RAM_FOLDER)
    except OSError:
        return None
    return RAM_FOLDER if stats.f_bavail * stats.f_frsize >= RAM_ROOM else None


def boot(folder: Path, preload: list[str] | None = None, fonts: Path | None = None) -> subprocess.Popen[bytes]:
    """The warm process, importing what students use (and `preload`, plotting modules a batch will want); it then
    waits for its batch's settings on stdin. `fonts`: where matplotlib's font list is kept between batches
    (`kept_fonts`), if it may be."""
    return _started(folder, preload, fonts, ())


def boot_with_spare(
    folder: Path, preload: list[str] | None = None, fonts: Path | None = None
) -> tuple[subprocess.Popen[bytes], SpareProcess]:
    """`boot`'s warm process, and a spare: a second one it forks once its common imports are done, before it
    imports `preload`, so that a batch wanting a warm process of each kind starts one interpreter instead of two
    (about 0.3 s of CPU). The spare becomes either kind (its settings say which); unused, it is closed
    (`SpareProcess.close`) and leaves at once."""
    spare_in, to_spare = os.pipe()
    from_spare, spare_out = os.pipe()
    try:
        process = _started(folder, preload, fonts, (spare_in, spare_out))
    except SandboxError:
        for descriptor in (to_spare, from_spare):
            os.close(descriptor)
        raise
    finally:
        os.close(spare_in)
        os.close(spare_out)
    return process, SpareProcess(os.fdopen(to_spare, "wb"), os.fdopen(from_spare, "rb"))


def _started(
    folder: Path, preload: list[str] | None, fonts: Path | None, spare: tuple[int, ...]
) -> subprocess.Popen[bytes]:
    env = {name: os.environ[name] for name in PASSED_THROUGH_ENV if name in os.environ}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MALLOC_ARENA_MAX="2")
    env.update(MPLBACKEND="Agg", MPLCONFIGDIR=str(folder / "matplotlib"))  # its own cache, made in the batch
    if fonts is not None:
        env[KEPT_FONTS_ENV] = str(fonts)
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT, str(ROOT), str(os.getpid()), json.dumps(preload or [])]
            + ([",".join(str(descriptor) for descriptor in spare)] if spare else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=folder,
            close_fds=True,
            pass_fds=spare,  # the spare's ends of its pipes (grader/run/zygote.py `_forked_spare`)
            start_new_session=True,  # its own process group, which it signals to stop its supervisors
        )
    except OSError as exc:
        raise SandboxError(f"the sandbox process could not start: {exc}") from None


def kept_fonts(isolation: str, own_work: bool) -> Path | None:
    """The folder where matplotlib's font list is kept between batches, so that it is made once rather than by
    every batch that plots (about 0.35 s of CPU): `matplotlib` in the grader's cache folder. Only where no
    student's code can write there: a student's check of their own work, or a batch whose jobs each run as a uid of
    their own (root, isolation auto); and only when that folder and the two above it are (or, made here, become)
    folders of this user's that nobody else may write. None elsewhere: each batch makes its own."""
    if not own_work and not (os.geteuid() == 0 and isolation == "auto"):
        return None
    folder = made_cache_folder()
    try:
        return folder / "matplotlib" if folder is not None and _made_private(folder / "matplotlib") else None
    except OSError:
        return None


def made_cache_folder() -> Path | None:
    """Where the grader keeps what it makes once: `$XDG_CACHE_HOME/rnn-grader`, by default `~/.cache/rnn-grader`,
    made here when missing (0700, a level at a time, never in another user's folder), so that student code, from
    which every pool covers it, is never the first to make it. None where it is not a private folder of this
    user's, or there is no home folder."""
    given = os.environ.get("XDG_CACHE_HOME", "")
    try:
        root = Path(given) if os.path.isabs(given) else Path.home() / ".cache"
        folder = root / "rnn-grader"
        return folder if root.is_absolute() and _made_private(root) and _made_private(folder) else None
    except (OSError, RuntimeError):  # RuntimeError: no home folder to be found
        return None


def _made_private(folder: Path) -> bool:
    """Whether `folder` is a folder, not a link, of this user's, that no one else may write: made so if it is
    missing and the folder above is this user's (never in someone else's home)."""
    if not os.path.lexists(folder):
        if folder.parent.lstat().st_uid != os.geteuid():
            return False
        os.mkdir(folder, 0o700)  # the umask can only take more away
    info = folder.lstat()
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


SPARE_LINE = b"spare "  # how a spare's first line starts: `spare <its pid>`


class SpareProcess:
    """A spare warm process (`boot_with_spare`), handled as a Popen is: the booted process's child, not the grader's,
    so it is watched and signalled through a pidfd, made from the pid its first line names. That line is read byte
    by byte from the pipe itself (`take_first_line`), never through `stdout`'s buffer: what follows it (`ready`)
    stays in the pipe, where select sees it."""

    def __init__(self, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        self.stdin, self.stdout = stdin, stdout
        self.returncode: int | None = None
        self.pid = 0
        self._pidfd: int | None = None

    def first_line_due(self) -> bool:
        """Whether its first line is still to be read (`take_first_line`), before any other."""
        return self._pidfd is None and self.returncode is None

    def take_first_line(self, timeout: float | None = None) -> None:
        """Its first line, `spare <pid>` (waited for, at most `timeout` seconds: then it is still due); anything else
        (the end: it left first) means it is gone. The line is written at once: once it starts, it is all there."""
        line, descriptor = b"", self.stdout.fileno()
        if timeout is not None and not select.select([descriptor], [], [], timeout)[0]:
            return
        while not line.endswith(b"\n") and len(line) < 40:
            byte = os.read(descriptor, 1)
            if not byte:
                break
            line += byte
        try:
            pid = int(line.removeprefix(SPARE_LINE))
            self._pidfd = os.pidfd_open(pid)  # its pid's process until it is reaped (by the warm process)
            self.pid = pid
        except (ValueError, OSError):
            self.returncode = -1

    def _known(self) -> bool:
        """Whether its pidfd is open, waiting for its first line if it has not been read yet."""
        if self.first_line_due():
            self.take_first_line()
        return self._pidfd is not None

    def poll(self) -> int | None:
        """None while it runs (or has not said its pid yet), else its return code (0: not ours to know)."""
        if self.first_line_due() and select.select([self.stdout], [], [], 0)[0]:
            self.take_first_line()  # come by now (or the end: it is gone)
        if self.returncode is None and self._pidfd is not None and select.select([self._pidfd], [], [], 0)[0]:
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Until it ends, or `timeout` seconds (its first line waited for within them, if it has not been read)."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if self.first_line_due():
            self.take_first_line(left())
        if self.first_line_due() or self._pidfd is not None and not select.select([self._pidfd], [], [], left())[0]:
            raise subprocess.TimeoutExpired("the spare warm process", timeout or 0.0)
        if self._pidfd is not None:
            self._ended()
        return self.returncode if self.returncode is not None else -1

    def ends_within(self, seconds: float) -> bool:
        try:
            self.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def send_signal(self, number: int) -> None:
        if self.returncode is None and self._known():
            assert self._pidfd is not None
            try:
                signal.pidfd_send_signal(self._pidfd, number)
            except ProcessLookupError:
                self._ended()

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _ended(self) -> None:
        self.returncode = 0
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def close(self) -> None:
        """An unused spare: its pipes closed, it reads the end of its settings and leaves (its pid line, if it has
        not written it yet, goes nowhere)."""
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self.returncode is None:
            self.returncode = -1  # whether it has left yet or not, it is no longer ours to watch


@dataclass
class Booted:
    """A warm process started early, in its batch folder, with the plotting modules it was told to import, and the
    spare it forks (`boot_with_spare`)."""

    folder: Path
    process: subprocess.Popen[bytes]
    preload: tuple[str, ...] = ()
    spare: SpareProcess | None = None


_early: list[Booted] = []  # a warm process started before any pool wanted it, for the next pool to take


def start_early(preload: list[str] | None, fonts: Path | None, spare: bool = False, in_ram: bool = False) -> None:
    """Start the warm process now, so that its interpreter and imports overlap the caller's own (a student's check
    waits for both); the next SandboxPool made takes it over, and `stop_unused_early` stops it if none does. Where it
    cannot start, nothing is started: the pool tries again, and says why it cannot. `preload`: plotting modules the
    work to grade imports (one file's), imported at once too; `fonts`: as for `boot`; `spare`: with a spare
    (`boot_with_spare`), for work that may want a warm process of each kind (a folder, not one file); `in_ram`: as
    for `batch_folder`."""
    try:
        folder = batch_folder(in_ram)
    except OSError:
        return
    try:
        if spare:
            process, its_spare = boot_with_spare(folder, preload, fonts)
            _early.append(Booted(folder, process, tuple(preload or ()), its_spare))
        else:
            _early.append(Booted(folder, boot(folder, preload, fonts), tuple(preload or ())))
    except SandboxError:
        remove_folder(folder)


def stop_unused_early() -> None:
    """The warm process started early, stopped and its folder removed, if no pool took it."""
    for unused in _early:
        if unused.spare is not None:
            unused.spare.close()
        stop_process(unused.process)
        remove_folder(unused.folder)
    _early.clear()


def started_early() -> bool:
    """Whether a warm process started early waits for a pool."""
    return bool(_early)


def take_early_boot() -> Booted | None:
    return _early.pop() if _early else None


def stop_process(process: subprocess.Popen[bytes] | SpareProcess) -> None:
    """Ask a warm process to stop every job it runs; insist if it does not."""
    process.terminate()
    try:
        ended = _ends_within(process, STOP_SECONDS)
    except OSError:  # it cannot be waited for: it is killed
        ended = False
    if not ended:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:  # unflushed input to a process that is gone
            pass


def _ends_within(process: subprocess.Popen[bytes] | SpareProcess, seconds: float) -> bool:
    """Whether the process ends within `seconds`, seen as it ends (a pidfd) rather than by Popen's own wait,
    which polls with sleeps that double up to 50 ms: a student's check waited 3 to 30 ms for a warm process
    already gone."""
    if process.poll() is not None:
        return True
    if isinstance(process, SpareProcess):  # its own pidfd: its pid may be another's once the warm process reaps it
        return process.ends_within(seconds)
    pidfd = os.pidfd_open(process.pid)  # Linux 5.3, as the supervisor's own pidfds
    try:
        waiting = select.poll()
        waiting.register(pidfd, select.POLLIN)
        return bool(waiting.poll(seconds * 1000))
    finally:
        os.close(pidfd)


def _sweep_abandoned_folders() -> None:
    """Folders left by a grader that died before it could clean up (killed at its very start)."""
    parents = {Path(tempfile.gettempdir()), RAM_FOLDER}
    for folder in [found for parent in parents for found in parent.glob(f"{FOLDER_PREFIX}*")]:
        try:
            os.kill(int((folder / "grader.pid").read_text()), 0)
        except (ProcessLookupError, OverflowError):
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            pass  # another user's, or not ours to judge


def remove_folder(path: Path) -> None:
    """Remove a job's or a batch's folder, retrying while processes that are being killed still touch it."""
    for _ in range(40):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return
        time.sleep(0.05)
