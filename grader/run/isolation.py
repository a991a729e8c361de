"""Confinement of a student process, and making sure nothing it started outlives it.

Levels, strongest first (the grader reports which one is in force):
- "user+namespaces": running as root. Student code runs as a throw-away uid in new network
  and mount namespaces (no network; directories only root may enter are hidden, except the
  interpreter's own), with rlimits; every process of that uid is killed after each run.
- "user": running as root where namespaces are not allowed (a container without CAP_SYS_ADMIN):
  the throw-away uid and rlimits, network not cut.
- "namespaces": not root, but unprivileged user namespaces are allowed: new user, network and
  mount namespaces (no network; the grader's packages and the other jobs' folders covered), no
  capabilities left, rlimits and process-tree tracking.
- "rlimits": anywhere else. rlimits, its own session, and process-tree tracking through a
  child subreaper, so processes that called setsid() are still found and killed.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import resource
import shutil
import signal
import stat
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

from grader.run.mounts import (
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWUSER,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_REC,
)
from grader.run.mounts import check as _check
from grader.run.mounts import libc as _libc
from grader.run.mounts import mount as _mount
from grader.run.protocol import Limits

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

SAFE_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "MPLBACKEND": "Agg",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


# Namespaces the warm process entered once for every job it forks (root only); process state, inherited.
_shared_namespaces = False


def enter_shared_namespaces(isolation: str, covered: list[Path]) -> None:
    """In the warm process, as root: no network, root-only folders and the grader's packages covered.

    Done once, so no job pays for it; a kernel or container that refuses leaves each job to fall back.
    """
    global _shared_namespaces
    if os.geteuid() != 0 or isolation != "auto":
        return
    try:
        _enter_namespaces(covered)
        _shared_namespaces = True
    except OSError:
        _shared_namespaces = False
        return
    try:  # a /proc of our own where a uid sees only its own processes (not the grader's command line)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    except OSError:
        pass


def sandbox_uid(uid_base: int, job_number: int) -> int | None:
    """A uid of its own for every job: nothing one job leaves behind can touch the next."""
    return uid_base + job_number if os.geteuid() == 0 and uid_base else None


# ---------------------------------------------------------------- inside the student process


def confine(limits: Limits, uid: int | None, item_count: int, isolation: str, hidden: list[str]) -> tuple[str, bool]:
    """Called in the student process after fork, before any student code runs, in its box; returns the level
    reached, and whether every scratch folder is a private one (then nothing it writes there outlives it, and the
    machine's scratch folders need no sweeping after it).

    `hidden` are folders to cover (the grader's packages, the other jobs' folders) when the job needs
    namespaces of its own (not root); the student's own box stays reachable (read-only once /tmp is covered).
    As root they were covered once in the warm process, and the other jobs are another uid's.
    Where the job has private scratch folders, its code runs in a copy of the box inside its private /tmp,
    so that everything it may write, its working folder and home included, is capped in size and in files.
    """
    os.setsid()
    level = "rlimits"
    covered = [Path(path) for path in hidden]
    box = _Box()
    if uid is not None:
        level = _as_another_user(uid, limits, box)
    elif isolation == "auto" and _enter_user_namespace(covered, limits, box):
        level = "namespaces"
    if box.scratch_is_private:
        box.move_into(WORK_FOLDER)
    box.close()
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _set_rlimits(limits, item_count, separate_uid=level.startswith("user"))
    os.environ.clear()
    os.environ.update(SAFE_ENVIRONMENT, HOME=os.getcwd(), TMPDIR=os.getcwd())
    return level, box.all_scratch_private


WORK_FOLDER = Path("/tmp/submission")  # inside the job's private /tmp


class _Box:
    """The job's box (the working directory at fork), held open: once a private /tmp covers it, its files are
    copied from here into the work folder."""

    def __init__(self) -> None:
        self.path = Path.cwd()
        self.fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        self.entries, self.size = 0, 0
        for _, _, entry in _walk(self.fd):
            self.entries += 1
            self.size += entry.stat(follow_symlinks=False).st_size if entry.is_file(follow_symlinks=False) else 0
        self.scratch_is_private = False  # a private /tmp with room for a copy of the box
        self.all_scratch_private = False  # every scratch folder covered by a private tmpfs

    def fits(self, limits: Limits) -> bool:
        return self.size <= limits.scratch_mb * 1024 * 1024 and self.entries <= limits.scratch_files

    def move_into(self, folder: Path) -> None:
        """Copy the box into `folder` and work there; on failure, work in the box (read-only where it was
        covered and bound back)."""
        try:
            folder.mkdir(mode=0o700)
            for folder_fd, relative, entry in _walk(self.fd):
                if entry.is_dir(follow_symlinks=False):
                    (folder / relative).mkdir(mode=0o700)
                elif entry.is_file(follow_symlinks=False):
                    _copy_file(folder_fd, entry.name, folder / relative)
            os.chdir(folder)
        except OSError:
            os.chdir(self.path)

    def close(self) -> None:
        os.close(self.fd)


def _walk(folder_fd: int, prefix: Path = Path()) -> Iterator[tuple[int, Path, os.DirEntry]]:
    """(descriptor of its folder, path relative to the top, entry) for everything under a folder, a folder before
    what it holds; links are not followed."""
    for entry in os.scandir(folder_fd):
        yield folder_fd, prefix / entry.name, entry
        if entry.is_dir(follow_symlinks=False):
            inner = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder_fd)
            try:
                yield from _walk(inner, prefix / entry.name)
            finally:
                os.close(inner)


def _copy_file(folder_fd: int, name: str, target: Path) -> None:
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder_fd)
    with os.fdopen(source, "rb") as reader, open(target, "wb") as writer:
        shutil.copyfileobj(reader, writer)


def _enter_user_namespace(covered: list[Path], limits: Limits, box: _Box) -> bool:
    """Without root: a user namespace mapping us to ourselves, and with it network and mount namespaces."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) != 0:
        return False
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _cover(covered, Path.cwd())
        _private_scratch(limits, box)
        _drop_capabilities()  # else the code could unmount the covers of its own namespace
    except OSError:
        return False
    return True


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """No capabilities left, not even those a new user namespace grants its creator."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    _check(_libc.capset(ctypes.byref(header), (_CapData * 2)()), "capset")


def _as_another_user(uid: int, limits: Limits, box: _Box) -> str:
    """As root: the throw-away uid, inside the warm process's namespaces where the kernel allowed them, with
    scratch folders of its own."""
    if not _shared_namespaces and not all(_reachable_by_others(path) for path in _interpreter_paths()):
        return "rlimits"  # the interpreter lives where only root may enter, and it cannot be re-mounted
    if _shared_namespaces:
        try:
            _check(_libc.unshare(CLONE_NEWNS), "unshare")
            _private_scratch(limits, box)
        except OSError:
            pass  # the shared scratch folders then, swept of this uid's files when the job ends
    _drop_privileges(uid)
    return "user+namespaces" if _shared_namespaces else "user"


SCRATCH_FOLDERS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


def _private_scratch(limits: Limits, box: _Box) -> None:
    """In the job's own mount namespace: an empty tmpfs, capped in size and in files, over each scratch folder.
    What the student writes there is gone with its last process, and no other job ever sees it. The
    interpreter's files, when they live under one of them, are bound back in place; /tmp has room for a copy
    of the box besides its own share, and the box itself is no longer reachable by its path."""
    keep, fits = _interpreter_paths(), box.fits(limits)
    for folder in SCRATCH_FOLDERS:
        if folder.is_dir() and not folder.is_symlink():
            for_the_box = fits and folder == WORK_FOLDER.parent
            extra_bytes, extra_files = (box.size, box.entries + 2) if for_the_box else (0, 0)
            size = limits.scratch_mb * 1024 * 1024 + extra_bytes
            options = f"mode=1777,size={size},nr_inodes={limits.scratch_files + extra_files}"
            inside = [path for path in keep if folder in path.parents]
            _cover_keeping(folder, inside, options, read_only=[box.path] if folder in box.path.parents else [])
            box.scratch_is_private = box.scratch_is_private or for_the_box
    box.all_scratch_private = not any(folder.is_symlink() for folder in SCRATCH_FOLDERS)  # every mount succeeded


def _cover_keeping(folder: Path, keep: list[Path], options: str, read_only: list[Path] | None = None) -> None:
    """A tmpfs over `folder`, with `keep` and `read_only` (the job's box) bound back in place."""
    read_only = read_only or []
    handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in keep + read_only]
    try:
        _mount("tmpfs", str(folder), "tmpfs", MS_NOSUID | MS_NODEV, options)
        for path, handle in handles:
            path.mkdir(parents=True, exist_ok=True)
            _mount(f"/proc/self/fd/{handle}", str(path), None, MS_BIND | MS_REC)
    finally:
        for _, handle in handles:
            os.close(handle)
    for path in read_only:
        _make_read_only(path)


MS_RDONLY, MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1, 32, 1024, 2048, 1 << 21
KEPT_FLAGS = [  # statvfs's flag, mount's flag
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
]


def _make_read_only(path: Path) -> None:
    """The bind mount at `path` read-only (the flags it was mounted with kept, as a user namespace requires);
    where the kernel refuses, it stays writable, and is removed with the job's folder."""
    mounted = os.statvfs(path).f_flag
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY
    flags |= sum(mount_flag for stat_flag, mount_flag in KEPT_FLAGS if mounted & stat_flag)
    try:
        _mount(None, str(path), None, flags)
    except OSError:
        pass


def _enter_namespaces(covered: list[Path]) -> None:
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _hide_private_directories(_interpreter_paths())
    _cover(covered, Path.cwd())


def _cover(folders: list[Path], keep: Path) -> None:
    """An empty tmpfs over each folder; `keep`, when inside one of them, is bound back in place.

    A folder holding the interpreter's own files is left alone: the sandbox needs them.
    """
    needed = _interpreter_paths()
    for folder in folders:
        if not folder.is_dir() or any(folder == path or folder in path.parents for path in needed):
            continue
        handle = os.open(keep, os.O_PATH | os.O_DIRECTORY) if folder in keep.parents else None
        _mount("tmpfs", str(folder), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k")
        if handle is not None:
            keep.mkdir(parents=True, exist_ok=True)
            _mount(f"/proc/self/fd/{handle}", str(keep), None, MS_BIND | MS_REC)
            os.close(handle)


def _reachable_by_others(path: Path) -> bool:
    return all(_traversable_by_others(directory) for directory in [path, *path.parents])


@functools.cache
def _interpreter_paths() -> list[Path]:
    """What the interpreter must still reach: its prefix, standard library and site-packages."""
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    candidates = {Path(sysconfig.get_path(name)) for name in names}
    candidates |= {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    candidates |= {Path(entry) for entry in sys.path if entry and "site-packages" in entry}
    existing = sorted(p.resolve() for p in candidates if p.exists())
    return [p for p in existing if not any(q != p and q in p.parents for q in existing)]


def _traversable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXOTH)


def _hide_private_directories(keep: list[Path]) -> None:
    """Cover each directory others may not enter with an empty tmpfs, re-binding what must stay."""
    blocked: dict[Path, list[Path]] = {}
    for path in keep + [Path.cwd()]:  # and the jobs' folder, wherever the temporary folder is
        for ancestor in reversed(path.parents):
            if not _traversable_by_others(ancestor):
                blocked.setdefault(ancestor, []).append(path)
                break
    for directory, inner in blocked.items():
        handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in inner}
        _mount("tmpfs", str(directory), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k")
        for path, handle in handles.items():
            path.mkdir(parents=True, exist_ok=True)
            _mount(f"/proc/self/fd/{handle}", str(path), None, MS_BIND | MS_REC)
            os.close(handle)


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _set_rlimits(limits: Limits, item_count: int, separate_uid: bool) -> None:
    memory = limits.memory_mb * 1024 * 1024
    wanted = {
        resource.RLIMIT_AS: memory,
        resource.RLIMIT_CPU: limits.times(item_count).cpu,
        resource.RLIMIT_FSIZE: limits.file_size_mb * 1024 * 1024,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NOFILE: 256,
    }
    if separate_uid:
        wanted[resource.RLIMIT_NPROC] = limits.max_processes
    for kind, value in wanted.items():
        resource.setrlimit(kind, (value, value))


# ---------------------------------------------------------------- in the supervisor


def become_subreaper() -> None:
    """Orphans of the student process are re-parented here, so none can slip away."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


NAMES_READ = [False]  # whether names student code chose (its processes', its scratch files') were read here


def kill_everything(student_pid: int, student_pidfd: int, uid: int | None, sweep: bool = True) -> None:
    """Kill the student process, its group, every process of its uid and every orphan; reap them all. `sweep`:
    remove what the uid left in the machine's scratch folders (needless where they were all private to the job)."""
    _signal_group(student_pid)
    try:
        signal.pidfd_send_signal(student_pidfd, signal.SIGKILL)  # this very process, even if it left its group
    except OSError:
        pass  # already gone
    _reap(student_pid)
    # Every process the student started is its descendant, so a child of ours once its parent is gone: none left
    # means none of its uid either (a fresh uid), and the helper that kills a whole uid is not needed.
    alive = _reap_children()
    for _ in range(50 if alive else 0):
        if uid is not None:
            _kill_all_of_uid(uid)
        if not _reap_children():
            break
        for child in _children_of(os.getpid()):  # orphans re-parented here that escaped the group
            _signal_pid(child)
        time.sleep(0.01)
    if uid is not None and sweep:
        sweep_scratch(uid)


def sweep_scratch(uid: int) -> None:
    """Remove what `uid` left in the machine's scratch folders: where the job had no private ones (a container
    without namespaces), this is all that stops one student's files reaching the next."""
    for folder in SCRATCH_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                NAMES_READ[:] = [True]
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _signal_group(process_group: int) -> None:
    try:
        os.killpg(process_group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_all_of_uid(uid: int) -> None:
    """A helper that becomes the sandbox uid and signals every process it may: all of that uid."""
    helper = os.fork()
    if helper == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            os.setresuid(uid, uid, uid)
            for _ in range(10):
                if _libc.kill(-1, signal.SIGKILL) != 0 and ctypes.get_errno() == errno.ESRCH:
                    break
        finally:
            os._exit(0)
    os.waitpid(helper, 0)


def _children_of(parent: int) -> list[int]:
    NAMES_READ[:] = [True]  # every process's line, with the name it gave itself
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            children.append(int(entry))
    return children


def _reap_children() -> bool:
    """Reap what has exited; True while some child is still alive."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
