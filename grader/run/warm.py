"""One warm process as the grader sees it: started (or taken over from an early boot), given its batch's settings,
ready, handed job lines, read for `done` lines, stopped."""

from __future__ import annotations

import json
import select
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from grader.run.boot import STOP_SECONDS, SandboxError, boot

POLL_SECONDS = 0.2
READY_SECONDS = 120.0  # for the warm process's imports (a first matplotlib builds its font cache)


class WarmProcess:
    """A warm process serving the batch folder `folder` with the settings `config` (see grader/run/zygote.py)."""

    def __init__(self, folder: Path, config: dict, booted: subprocess.Popen[bytes] | None = None) -> None:
        self.folder, self.config = folder, config
        self.process = booted if booted is not None else boot(folder)
        self.ready = False
        self._configure()

    def restart(self) -> None:
        """A new process in place of a dead one, waited for until it is ready."""
        self.stop()
        self.process = boot(self.folder)
        self.ready = False
        self._configure()
        self.await_ready(threading.Event())

    def _configure(self) -> None:
        try:
            self.send(json.dumps(self.config) + "\n")
        except OSError:
            pass  # it died while booting: the first job finds it gone and starts another

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

    def await_ready(self, stopping: threading.Event) -> None:
        """Until the process says it is ready (its imports done), or `stopping` is set."""
        deadline = time.monotonic() + READY_SECONDS
        while not self.ready and not stopping.is_set():
            if time.monotonic() > deadline:
                raise SandboxError(f"the sandbox process was not ready after {READY_SECONDS:g} s")
            readable, _, _ = select.select([self.stdout], [], [], POLL_SECONDS)
            if readable and self.stdout.readline().strip() != b"ready":
                raise SandboxError("the sandbox process did not start")
            self.ready = bool(readable)

    def stop(self) -> None:
        """Ask it to stop every job it runs; insist if it does not."""
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:  # unflushed input to a process that is gone
                pass


def lines_from(processes: list[WarmProcess]) -> list[str]:
    """The next lines any of them wrote, waiting at most POLL_SECONDS."""
    readable, _, _ = select.select([p.stdout for p in processes], [], [], POLL_SECONDS)
    return [stream.readline().decode(errors="replace").strip() for stream in readable]
