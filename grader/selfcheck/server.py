"""A student's checks served by a process kept between them.

A check in a process of its own pays the interpreter's start and the grader's imports (click, numpy, pydantic and
the exercise's models: two thirds of a 0.45 s check here) before it runs a line of the student's code. So after a
check, the command starts a server in the background (`start_later`, then `serve`); the next checks hand it their
arguments (`served`) and write out what it sends back: the output and exit code of the same command, run the same
way, in a process that has the grader loaded and the sandbox's interpreter already waiting.

A server is one user's, for one interpreter (and its options), one folder holding `grader/` (an installation, or a
kit) and one environment (`_identity`). It listens on a Unix socket in a folder only that user may enter, and
answers a `check` only, from a process of that user's in the server's own namespaces that may gain privileges as the
server may (the kernel names the peer): never from student code, which the sandbox confines (other namespaces or
uid, and no new privileges at every level) and keeps out of that folder. It runs one check at a time, each as a
fresh command would (the caller's arguments, working folder, output encoding and terminal width; the exercise read
again from its file; warnings shown again). It exits after IDLE_SECONDS without a check, when SIGTERM comes, when a
check fails in a way the command does not answer itself, when a caller hangs up (Ctrl-C: its check is interrupted
wherever it was), and at the first check after a file it runs changed (the grader's, a library's: an upgrade, a
new kit). The check it does not answer runs in its own process, as does one that no server takes within
ACCEPT_SECONDS (none running, or one busy with another check), and that one starts a fresh server. No server is
started or asked on CI (`CI` set), with `RNN_GRADER_CHECK_SERVER=0`, for `python -m grader`, or where the kernel
cannot name a socket's peer.

This module's top imports only what a served check needs: the standard library's lightest parts.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterable, Iterator

ACCEPT_SECONDS = 1.0  # a server that has not taken the check by then is busy, or stopped: the check runs itself
IDLE_SECONDS = 600.0
SWITCH = "RNN_GRADER_CHECK_SERVER"
_OFF = ("0", "false", "no", "off")
_CI_OFF = ("", "0", "false")
# The shell's and the terminal's bookkeeping, which differs between two terminals of one user and changes nothing a
# check does: left out of a server's identity, so that one server serves them all.
_SESSION_VARIABLES = frozenset(
    "PWD OLDPWD _ SHLVL COLUMNS LINES SSH_CLIENT SSH_CONNECTION SSH_TTY SSH_AUTH_SOCK GPG_TTY TMUX_PANE WINDOWID "
    "TERM_SESSION_ID ITERM_SESSION_ID KITTY_WINDOW_ID WEZTERM_PANE ALACRITTY_WINDOW_ID GNOME_TERMINAL_SCREEN "
    "WT_SESSION STY INVOCATION_ID JOURNAL_STREAM".split()
)
_SESSION_PREFIXES = ("VSCODE_", "KONSOLE_", "TERMINATOR_", "XDG_SESSION_")
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the folder holding grader/
_ACCEPTED = b"accepted\n"
_HEADER = struct.Struct("<qqq")  # the answer's exit code, then the sizes of its output and of its errors
_CREDENTIALS = struct.Struct("iII")  # struct ucred: pid, uid, gid
_MAX_REQUEST = 1 << 20
_MAX_ADDRESS = 108  # bytes in a Unix socket's name, with its NUL (Linux)
_start_registered: list[str] = []


def served(arguments: list[str]) -> int | None:
    """The check `arguments` asks for, run by this user's server and its output written here; its exit code. None
    when no server took it (the caller runs it, and `start_later`)."""
    address = _address()
    if address is None:
        return None
    try:
        reply = _ask(address, _request(arguments))
    except OSError:  # no server, a busy one, one that stopped or would not answer: the check runs itself
        return None
    except KeyboardInterrupt:  # as the command answers Ctrl-C; the server stops the check when it sees us gone
        print("\nAborted!", file=sys.stderr)
        return 1
    return None if reply is None else _written(*reply)


def start_later() -> None:
    """A server started as this process exits, for the next check (if none serves this address by then). Once per
    process, however many checks it runs (IPython's `%run`)."""
    address = _address()
    if address is not None and address not in _start_registered:
        import atexit

        _start_registered.append(address)
        atexit.register(_start_server, address, dict(os.environ))


def _address() -> str | None:
    """The socket of this user's server for this interpreter, installation and environment; None where no server
    is used."""
    if os.environ.get(SWITCH, "1").strip().lower() in _OFF or os.environ.get("CI", "").lower() not in _CI_OFF:
        return None
    if not hasattr(socket, "SO_PEERCRED") or getattr(sys.modules.get("__main__"), "__spec__", None) is not None:
        return None  # `python -m grader` (its usage lines name the module, which a server's would not)
    if not all(hasattr(stream, "buffer") for stream in (sys.stdout, sys.stderr)):
        return None  # streams that take text only (an IDE's console): what the server sends back is bytes
    folder = _private_folder()
    if folder is None:
        return None
    import hashlib

    digest = hashlib.sha256(_identity().encode(errors="surrogateescape")).hexdigest()[:24]
    address = os.path.join(folder, f"check-{digest}")
    return address if len(os.fsencode(address)) < _MAX_ADDRESS else None


def _identity() -> str:
    umask = os.umask(0o022)
    os.umask(umask)
    environment = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name not in _SESSION_VARIABLES and not name.startswith(_SESSION_PREFIXES)
    )
    interpreter = (sys.executable, sys.version, tuple(sys.flags), sys.warnoptions, _x_options())
    cores = sorted(os.sched_getaffinity(0))  # what the command counts as its spare core
    return repr((interpreter, _ROOT, sys.path[1:], umask, cores, environment))


def _x_options() -> list[str]:
    """The interpreter's `-X` options, but the one that only reports import times."""
    given = sys._xoptions.items()
    return [name if value is True else f"{name}={value}" for name, value in given if name != "importtime"]


def servers_folder() -> str:
    """Where this user's servers listen: in XDG_RUNTIME_DIR, else in the temporary folder (the sandbox covers it)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(base, f"rnn-grader-checks-{os.geteuid()}")


def _private_folder() -> str | None:
    """`servers_folder`, made if missing, if only this user may enter it, inside a folder where nobody else can
    swap it (this user's, or a sticky one)."""
    folder = servers_folder()
    base = os.path.dirname(folder)
    try:
        above = os.stat(base)
        if above.st_uid not in (os.geteuid(), 0) or (above.st_mode & 0o022 and not above.st_mode & 0o1000):
            return None
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        info = os.lstat(folder)
    except OSError:
        return None
    own = info.st_uid == os.geteuid() and (info.st_mode & 0o170777) == 0o040700  # a folder, not a link, only ours
    return folder if own else None


def _request(arguments: list[str]) -> bytes:
    streams = [f"{stream.encoding}\0{stream.errors}" for stream in (sys.stdout, sys.stderr)]
    fields = [os.getcwd(), *streams, _columns(), sys.argv[0], *arguments]
    return b"\0".join(os.fsencode(field) for field in fields)


def _columns() -> str:
    """The terminal's width, as the command would find it (for `--help`); "" when it would find none."""
    if os.environ.get("COLUMNS", "").isdigit() and int(os.environ["COLUMNS"]) > 0:
        return os.environ["COLUMNS"]
    try:
        return str(os.get_terminal_size(sys.__stdout__.fileno()).columns) if sys.__stdout__ else ""
    except (OSError, ValueError):
        return ""


def _ask(address: str, request: bytes) -> tuple[int, bytes, bytes] | None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(ACCEPT_SECONDS)
        connection.connect(address)
        if _peer(connection).uid != os.geteuid():
            return None
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        if _read_exactly(connection, len(_ACCEPTED)) != _ACCEPTED:
            return None
        connection.settimeout(None)
        code, output_size, errors_size = _HEADER.unpack(_read_exactly(connection, _HEADER.size))
        output = _read_exactly(connection, output_size)
        return code, output, _read_exactly(connection, errors_size)


class _Peer(NamedTuple):
    pid: int
    uid: int
    gid: int


def _peer(connection: socket.socket) -> _Peer:
    return _Peer(*_CREDENTIALS.unpack(connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)))


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    chunks, wanted = [], size
    while wanted:
        chunk = connection.recv(min(wanted, 1 << 20))
        if not chunk:
            raise ConnectionError("the server stopped before its answer was whole")
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _written(code: int, output: bytes, errors: bytes) -> int:
    """The answer written as the command would have written it; its exit code (a closed pipe and a full disk
    ending the command as they end it)."""
    try:
        for stream, text in ((sys.stdout, output), (sys.stderr, errors)):
            if text:
                stream.flush()
                stream.buffer.write(text)
                stream.buffer.flush()
    except BrokenPipeError:  # `| head`: nothing more is said, as click says nothing
        nowhere = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(nowhere, stream.fileno())
        return 1
    except OSError as error:
        from grader.launch import OUTPUT_LOST, nowhere_to_write

        if not nowhere_to_write(error):
            raise
        print(f"rnn-grader: {error.strerror}", file=sys.stderr)
        return OUTPUT_LOST
    return code


def no_start_later() -> None:
    """No server started as this process exits (it is being stopped: SIGTERM)."""
    _start_registered.clear()


def _start_server(address: str, environment: dict[str, str]) -> None:
    if address not in _start_registered:
        return
    import subprocess

    flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]  # as multiprocessing passes them
    options = [*_without_x_options(flags), *(f"-X{option}" for option in _x_options())]  # what the address holds
    code = "import sys; sys.path.insert(0, sys.argv[2]); from grader.selfcheck.server import serve; serve(sys.argv[1])"
    try:
        subprocess.Popen(
            [sys.executable, *options, "-P", "-c", code, address, _ROOT],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env=environment,
            start_new_session=True,
        )
    except OSError:
        pass


def _without_x_options(flags: list[str]) -> list[str]:
    kept: list[str] = []
    for flag in flags:
        if kept[-1:] == ["-X"]:
            kept.pop()
        else:
            kept.append(flag)
    return kept


class _Request(NamedTuple):
    cwd: str
    output: tuple[str, str]  # encoding and errors of the caller's stdout
    errors: tuple[str, str]  # and of its stderr
    columns: str
    program: str
    arguments: list[str]


def serve(address: str, idle_seconds: float = IDLE_SECONDS) -> None:
    """Answer this user's checks at `address` until idle for `idle_seconds`, or until it should answer no more; a
    server already serving there is left to it (it holds the address's lock for as long as it listens)."""
    lock = _locked(address)
    if lock is None:
        return
    try:
        known = _files_in_use()  # read before anything is imported: a file changed from now on is seen
        _prepare()
        known = _files_in_use() | known  # a file both readings name keeps its first: a change meanwhile shows
        with _listening(address) as listener:
            listener.settimeout(idle_seconds)
            _answer_until_done(listener, known)
    finally:
        os.close(lock)  # the next server may start while this one stops its sandbox
        from grader.run.boot import stop_unused_early

        stop_unused_early()


def _locked(address: str) -> int | None:
    """The address's lock file, open and locked by this process; None if another holds it."""
    import fcntl

    try:
        lock = os.open(f"{address}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(lock).st_ino == os.stat(f"{address}.lock").st_ino:  # not a file removed since it was opened
            return lock
    except OSError:
        pass
    os.close(lock)
    return None


def _prepare() -> None:
    """The process set as the command sets it, and what a check imports imported (the command line and what it
    imports as it runs; not pytest's route, which a student's installation may not have)."""
    import importlib
    import signal

    from grader import cli
    from grader.selfcheck.kit_modules import LAZY_MODULES

    cli.prepare_the_process()
    signal.signal(signal.SIGTERM, cli.stop_on_terminate)
    signal.signal(signal.SIGINT, _interrupted)
    for name in LAZY_MODULES:
        importlib.import_module(name)


@contextmanager
def _listening(address: str) -> Iterator[socket.socket]:
    """The listening socket at `address`, whose lock this process holds (a socket left there is a dead server's);
    removed on leaving, unless it is no longer the one bound here."""
    try:
        os.unlink(address)
    except FileNotFoundError:
        pass
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(address)
        bound = os.stat(address).st_ino
        listener.listen(8)
        try:
            yield listener
        finally:
            try:
                if os.stat(address).st_ino == bound:
                    os.unlink(address)
            except OSError:
                pass


def _answer_until_done(listener: socket.socket, known: dict[str, tuple[int, int]]) -> None:
    """Checks answered one at a time, the sandbox's interpreter started before each, until idle or until this
    server should serve no more: its files changed, a check failed in a way the command does not answer itself, or
    a caller hung up (its check was interrupted wherever it was, cleaning up included: what it left is not to be
    trusted with the next check)."""
    from grader import launch

    while True:
        launch.start_for_checks()
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            return
        try:
            with connection:
                if not _answer(connection, known):
                    return
        except KeyboardInterrupt:
            return
        except Exception:  # noqa: BLE001 - the caller, seeing no answer, runs the check itself
            return
        known = _files_in_use() | known


def _answer(connection: socket.socket, known: dict[str, tuple[int, int]]) -> bool:
    """Run one check for its caller; False when this server should serve no more."""
    if not _same_user_and_namespaces(connection):
        return True
    try:
        request = _read_request(connection)
    except (OSError, ValueError):
        return True
    if request.arguments[:1] != ["check"] or not os.path.isdir(request.cwd):
        return True
    if _restat(known) != known:
        return False
    try:
        connection.sendall(_ACCEPTED)
    except OSError:
        return True
    code, output, errors = _run_check(request, connection)
    try:
        connection.sendall(_HEADER.pack(code, len(output), len(errors)) + output + errors)
    except OSError:  # the caller gave up
        pass
    return True


def _same_user_and_namespaces(connection: socket.socket) -> bool:
    """Whether the caller is this user's, shares this process's namespaces and may gain privileges as this
    process may: student code in the sandbox never does (other namespaces or uid, and no new privileges at every
    level)."""
    try:
        peer = _peer(connection)
        same_namespaces = all(
            os.readlink(f"/proc/{peer.pid}/ns/{kind}") == os.readlink(f"/proc/self/ns/{kind}")
            for kind in ("mnt", "user", "net")
        )
        confined = _no_new_privileges(str(peer.pid)) and not _no_new_privileges("self")
        return peer.uid == os.geteuid() and same_namespaces and not confined
    except OSError:
        return False


def _no_new_privileges(process: str) -> bool:
    with open(f"/proc/{process}/status", encoding="ascii", errors="replace") as status:
        return any(line.split() == ["NoNewPrivs:", "1"] for line in status)


def _read_request(connection: socket.socket) -> _Request:
    connection.settimeout(ACCEPT_SECONDS)
    chunks, size = [], 0
    while chunk := connection.recv(1 << 16):
        size += len(chunk)
        if size > _MAX_REQUEST:
            raise ValueError("a request larger than any check's")
        chunks.append(chunk)
    connection.settimeout(None)
    cwd, out_encoding, out_errors, err_encoding, err_errors, columns, program, *arguments = (
        os.fsdecode(field) for field in b"".join(chunks).split(b"\0")
    )
    return _Request(cwd, (out_encoding, out_errors), (err_encoding, err_errors), columns, program, arguments)


def _run_check(request: _Request, connection: socket.socket) -> tuple[int, bytes, bytes]:
    """The command run here as it would have run in the caller's process, its output kept as that would have
    written it; interrupted as Ctrl-C interrupts it if the caller hangs up meanwhile (`_HangUpWatch`)."""
    import io
    import warnings
    from contextlib import redirect_stderr, redirect_stdout

    from exercises import bank
    from grader import cli

    bank.forget_loaded_files()  # an exercise (and the files it names) is read again, as a new process reads it
    kept = [io.BytesIO(), io.BytesIO()]
    wanted = (request.output, request.errors)
    streams = [io.TextIOWrapper(out, encoding=e, errors=how) for out, (e, how) in zip(kept, wanted)]
    saved = sys.argv, os.environ.get("COLUMNS")
    try:
        with _HangUpWatch(connection):
            os.chdir(request.cwd)
            sys.argv = [request.program, *request.arguments]
            _set_columns(request.columns)
            with redirect_stdout(streams[0]), redirect_stderr(streams[1]), warnings.catch_warnings():
                code = cli.run_for_exit_code(request.arguments)
    finally:
        sys.argv = saved[0]
        _set_columns(saved[1] or "")
        os.chdir("/")
    for stream in streams:
        stream.flush()
    return code, kept[0].getvalue(), kept[1].getvalue()


def _set_columns(columns: str) -> None:
    if columns:
        os.environ["COLUMNS"] = columns
    else:
        os.environ.pop("COLUMNS", None)


class _HangUpWatch:
    """While a check runs: a thread that interrupts it (SIGINT to the main thread) as soon as its caller hangs up.
    If it did, the KeyboardInterrupt goes on up when the watch ends, wherever the check was interrupted."""

    def __init__(self, connection: socket.socket) -> None:
        import threading

        self.connection = connection
        self.hung_up = threading.Event()
        self.wake, self.woken = os.pipe()
        self.watcher = threading.Thread(target=self._watch, name="hang-up watch", daemon=True)

    def __enter__(self) -> None:
        _watched_hang_up[:] = [self.hung_up]
        self.watcher.start()

    def __exit__(self, *exc: object) -> None:
        import signal

        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # a SIGINT on its way waits for the clearing
        try:
            os.write(self.woken, b"!")
            self.watcher.join()
            os.close(self.wake)
            os.close(self.woken)
            _watched_hang_up.clear()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if self.hung_up.is_set():
            raise KeyboardInterrupt

    def _watch(self) -> None:
        import select
        import signal
        import threading

        waiting = select.poll()
        waiting.register(self.connection.fileno(), 0)  # POLLHUP and POLLERR are reported whatever is asked
        waiting.register(self.wake, select.POLLIN)
        events = dict(waiting.poll())
        if events.get(self.connection.fileno(), 0) and self.wake not in events:
            self.hung_up.set()
            main = threading.main_thread().ident
            if main is not None:
                signal.pthread_kill(main, signal.SIGINT)


_watched_hang_up: list[threading.Event] = []  # the running check's watch, while it runs


def _interrupted(signum: int, frame: object) -> None:
    """SIGINT in the server: the check running is interrupted if its caller hung up; otherwise it is not ours."""
    if any(hung_up.is_set() for hung_up in _watched_hang_up):
        raise KeyboardInterrupt


def _files_in_use() -> dict[str, tuple[int, int]]:
    """Each file the checks run, with its size and time of change: every module loaded but the standard library's,
    and every file of the grader's packages (their exercises, templates), folders included (a file added)."""
    from pathlib import Path

    standard = sys.stdlib_module_names
    loaded = {
        getattr(module, "__file__", None)
        for name, module in list(sys.modules.items())
        if name.partition(".")[0] not in standard
    }
    packages = (Path(_ROOT, package) for package in ("grader", "exercises", "reference"))
    owned = {str(path) for folder in packages for path in folder.rglob("*") if "__pycache__" not in path.parts}
    return _restat({name for name in loaded if isinstance(name, str)} | owned)


def _restat(names: Iterable[str]) -> dict[str, tuple[int, int]]:
    found = {}
    for name in names:
        try:
            info = os.stat(name)
        except OSError:
            found[name] = (-1, -1)
        else:
            found[name] = (info.st_size, info.st_mtime_ns)
    return found
