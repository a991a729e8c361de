"""A cap on the number of files in a job's own folder, where no capped tmpfs holds its work.

At the `user` and `rlimits` levels a job writes in its box, on the grader's file system: the file-size limit
caps each file but nothing caps how many there are. The supervisor watches the box with inotify (a watch on
every folder in it, the submission's own files counted once at the start) and stops the job once it holds more
than its share. Only creations wake the supervisor, so a job that makes no files costs nothing; an event queue
that overflows counts as over the cap. Where the job works in a private tmpfs, the box is read-only or out of
its sight and nothing is ever counted.
"""

from __future__ import annotations

import ctypes
import errno
import os
import queue
import struct
import threading
from pathlib import Path

IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR = 0x4000, 0x8000, 0x40000000
IN_ONLYDIR, IN_DONTFOLLOW = 0x01000000, 0x02000000
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
WATCHED = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR | IN_DONTFOLLOW
EVENT_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then the name, padded
READ_BYTES = 1 << 16
MAX_READS = 64

_libc = ctypes.CDLL(None, use_errno=True)


class FileCap:
    """Counts the entries under `box` as they are made; `over()` once they pass `share` plus the box's own."""

    def __init__(self, box: Path, share: int) -> None:
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        self.folders: dict[int, Path] = {}  # by watch descriptor
        self.count = 0
        self.overflowed = False
        self.names_read = False  # whether names the job's code chose (files it made) came through here
        self.limit = float("inf")  # until the box's own files are counted
        self._watch_tree(box)
        self.limit = self.count + share

    def fileno(self) -> int:
        return self.fd

    def close_later(self) -> None:
        """Closed by a thread of the process's own: closing an inotify descriptor waits for a kernel grace period
        (about 8 ms), which the supervisor's next job need not wait for (the student processes drop their copies
        before any code runs). One thread serves every job: starting one a job cost more than the job's own work."""
        if self.fd >= 0:
            _closer().put(self.fd)
            self.fd = -1

    def over(self) -> bool:
        """Take the pending events; whether the box now holds more than the job may make."""
        for _ in range(MAX_READS):  # a job still making files cannot keep us here
            try:
                data = os.read(self.fd, READ_BYTES)
            except OSError:  # nothing pending (BlockingIOError), or closed
                break
            self._take(data)
        return self.overflowed or self.count > self.limit

    def _take(self, data: bytes) -> None:
        offset = 0
        while offset + EVENT_HEADER.size <= len(data):
            wd, event_mask, _, length = EVENT_HEADER.unpack_from(data, offset)
            name = data[offset + EVENT_HEADER.size : offset + EVENT_HEADER.size + length].rstrip(b"\0")
            self.names_read = self.names_read or bool(name)
            offset += EVENT_HEADER.size + length
            if event_mask & IN_Q_OVERFLOW:
                self.overflowed = True
            elif event_mask & IN_IGNORED:  # a watched folder removed
                self.folders.pop(wd, None)
            elif event_mask & (IN_CREATE | IN_MOVED_TO):
                self.count += 1
                if event_mask & IN_ISDIR and wd in self.folders:  # a folder made, or moved in with what it holds
                    self._watch_tree(self.folders[wd] / os.fsdecode(name))
            elif event_mask & (IN_DELETE | IN_MOVED_FROM):
                self.count -= 1

    def _watch_tree(self, folder: Path) -> None:
        """Watch `folder` first, then count what it already holds: nothing made in between is missed (an entry
        may be counted twice, which errs on the side of the cap)."""
        if self.fd < 0 or self.count > self.limit:
            return
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(folder), WATCHED)
        if wd < 0:
            # Gone already, or not a folder (a link now): nothing to count. Out of watches: what it holds would go
            # uncounted, so it counts as over.
            self.overflowed = self.overflowed or ctypes.get_errno() in (errno.ENOSPC, errno.ENOMEM)
            return
        self.folders[wd] = folder
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            self.count += 1
            if entry.is_dir(follow_symlinks=False):
                self._watch_tree(Path(entry.path))


_to_close: list[queue.SimpleQueue[int]] = []  # this process's closing thread's queue, once it runs
os.register_at_fork(after_in_child=_to_close.clear)  # a forked child has no such thread: it starts its own


def _closer() -> queue.SimpleQueue[int]:
    if not _to_close:
        waiting: queue.SimpleQueue[int] = queue.SimpleQueue()
        threading.Thread(target=_close_each, args=(waiting,), daemon=True).start()
        _to_close.append(waiting)
    return _to_close[0]


def _close_each(waiting: queue.SimpleQueue[int]) -> None:
    while True:
        try:
            os.close(waiting.get())
        except OSError:
            pass
