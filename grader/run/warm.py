"""One warm process as the grader sees it: started (or taken over from an early boot), given its batch's settings,
ready, handed jobs (records its supervisors read), read for `done` lines, stopped."""

from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from grader.run.boot import SandboxError, SpareProcess, boot, stop_process
from grader.run.protocol import job_record

POLL_SECONDS = 0.2
LINES_CHUNK = 1 << 16
READY_SECONDS = 120.0  # for the warm process's imports (a first matplotlib builds its font cache)


class WarmProcess:
    """A warm process serving the batch folder `folder` with the settings `config` (see grader/run/zygote.py)."""

    def __init__(
        self,
        folder: Path,
        config: dict,
        booted: subprocess.Popen[bytes] | SpareProcess | None = None,
        fonts: Path | None = None,
    ) -> None:
        self.folder, self.config, self.fonts = folder, config, fonts
        self.process: subprocess.Popen[bytes] | SpareProcess = (
            booted if booted is not None else boot(folder, fonts=fonts)
        )
        self.ready = False
        self._partial = b""  # the start of a line whose end is still to come
        self._configure()

    def restart(self, stopping: threading.Event) -> None:
        """A new process in place of a dead one, waited for until it is ready (or `stopping` is set)."""
        self.stop()
        self.process = boot(self.folder, fonts=self.fonts)
        self.ready, self._partial = False, b""
        self._configure()
        self.await_ready(stopping)

    def _configure(self) -> None:
        try:
            self.send(json.dumps(self.config) + "\n")
        except OSError:
            pass  # it died while booting: its first job finds it gone and starts another

    @property
    def stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None  # started with stdin=PIPE
        return self.process.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.process.stdout is not None  # started with stdout=PIPE
        return self.process.stdout

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, line: str) -> None:
        """Raises OSError when the process is gone."""
        self.stdin.write(line.encode())
        self.stdin.flush()

    def send_job(self, job_dir: Path) -> None:
        """Hand over a job, as one record that whichever supervisor is free reads whole (raises OSError when the
        process is gone)."""
        self.stdin.write(job_record(job_dir))
        self.stdin.flush()

    def await_ready(self, stopping: threading.Event) -> None:
        """Until the process says it is ready (its imports done), or `stopping` is set."""
        await_one_ready([self], stopping)

    def takes_jobs_now(self) -> bool:
        """Whether a job handed over now would not wait for the process's imports, looked at without waiting: it
        has said it is ready, or it is gone (the hand-over replaces it, as any job's would)."""
        if not self.ready and self.alive() and select.select([self.stdout], [], [], 0)[0]:
            self.take_ready_line()
        return self.ready or not self.alive()

    def take_ready_line(self) -> None:
        """Once its stdout is readable, before it has any job (so `ready` is the only line it can write). At the
        end of its output it is gone, or going: it is made sure to be, so that a job's hand-over replaces it."""
        lines = self.read_lines()
        if lines == [b""]:
            self.process.kill()
            self.process.wait()
            return
        if lines and lines[0].strip() != b"ready":
            raise SandboxError("the sandbox process did not start")
        self.ready = bool(lines)

    def read_lines(self) -> list[bytes]:
        """The lines come since the last call (once select says some came), read from the pipe itself: two written
        together are both taken, and none is left in a buffer select cannot see. The line a spare names itself with
        (first of all, once) is taken here, not among them; at the end, [b""]."""
        if isinstance(self.process, SpareProcess) and self.process.first_line_due():
            self.process.take_first_line()
            return []
        data = os.read(self.stdout.fileno(), LINES_CHUNK)
        if not data:
            return [b""]
        *lines, self._partial = (self._partial + data).split(b"\n")
        return lines

    def begin_stop(self) -> None:
        """Ask it to stop, without waiting: `stop` waits for it."""
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        stop_process(self.process)


def await_one_ready(processes: list[WarmProcess], stopping: threading.Event) -> None:
    """Until one of the processes says it is ready (its imports done) or is gone (a job's hand-over replaces it),
    or `stopping` is set."""
    deadline = time.monotonic() + READY_SECONDS
    while not any(process.ready or not process.alive() for process in processes) and not stopping.is_set():
        if time.monotonic() > deadline:
            raise SandboxError(f"the sandbox process was not ready after {READY_SECONDS:g} s")
        readable, _, _ = select.select([process.stdout for process in processes], [], [], POLL_SECONDS)
        for process in processes:
            if process.stdout in readable:
                process.take_ready_line()


def lines_from(processes: list[WarmProcess]) -> list[str]:
    """The next lines any of them wrote, waiting at most POLL_SECONDS. A process that says it is ready (one started
    before it had a job, while the others' jobs ran) is marked so, and that line is not among them."""
    readable, _, _ = select.select([p.stdout for p in processes], [], [], POLL_SECONDS)
    lines = []
    for process in processes:
        for read in process.read_lines() if process.stdout in readable else []:
            line = read.decode(errors="replace").strip()
            if line == "ready":
                process.ready = True
            else:
                lines.append(line)
    return lines
