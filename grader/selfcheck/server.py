"""A student's checks served by a process kept between them.

A check in a process of its own pays the interpreter's start and the grader's imports (click, numpy, pydantic and
the exercise's models: two thirds of a 0.45 s check here) before it runs a line of the student's code. So after a
check, the command starts a server in the background (`start_later`, then `serve`); the next checks hand it their
arguments (`served`) and write out what it sends back: the output and exit code of the same command, run the same
way, in a process that has the grader loaded and the sandbox's interpreter already waiting.

A server is one user's, for one interpreter, one folder holding `grader/` (an installation, or a kit) and one
environment (`_identity`); it listens on a Unix socket in a folder only that user may enter and answers only that
user (the peer's credentials, from the kernel). It runs one check at a time, each as a fresh command would (the
caller's arguments, working folder and output encoding; an exercise read again from its file). It exits after
IDLE_SECONDS without a check, and when a file of the grader's, or of a module it has loaded, changed (an upgrade, a
new kit): that check then runs in its own process, as does any check no server takes within ACCEPT_SECONDS (none
running, or busy with another), and starts a fresh server. No server is started or asked on CI (`CI` set), with
`RNN_GRADER_CHECK_SERVER=0`, for `python -m grader`, or where the kernel cannot name a socket's peer (not Linux).

This module's top imports only what a served check needs: the standard library's lightest parts.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

ACCEPT_SECONDS = 1.0  # a server that has not taken the check by then is busy, or stopped: the check runs itself
IDLE_SECONDS = 600.0
SWITCH = "RNN_GRADER_CHECK_SERVER"
_OFF = ("0", "false", "no", "off")
_CI_OFF = ("", "0", "false")
_VOLATILE = ("PWD", "OLDPWD", "_", "SHLVL")  # the shell's own bookkeeping, not the command's environment
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the folder holding grader/
_ACCEPTED = b"accepted\n"
_HEADER = struct.Struct("<qqq")  # the answer's exit code, then the sizes of its output and of its errors
_MAX_REQUEST = 1 << 20
_MAX_ADDRESS = 108  # bytes in a Unix socket's name, with its NUL (Linux)


def served(arguments: list[str]) -> int | None:
    """The check `arguments` asks for, run by this user's server and its output written here; its exit code. None
    when no server took it (the caller runs it, and `start_later`)."""
    address = _address()
    if address is None:
        return None
    try:
        reply = _ask(address, _request(arguments))
    except OSError:  # no server, a busy one, one that stopped or changed: the check runs in its own process
        return None
    except KeyboardInterrupt:  # as the command answers Ctrl-C (the server finishes the job on its own)
        print("\nAborted!", file=sys.stderr)
        return 1
    if reply is None:
        return None
    code, output, errors = reply
    for stream, text in ((sys.stdout, output), (sys.stderr, errors)):
        if text:
            stream.flush()
            stream.buffer.write(text)
            stream.buffer.flush()
    return code


def start_later() -> None:
    """A server started as this process exits, for the next check (only if there is none, or a stale one)."""
    address = _address()
    if address is not None:
        import atexit

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
    environment = sorted((name, value) for name, value in os.environ.items() if name not in _VOLATILE)
    return repr((sys.executable, _ROOT, sys.version, tuple(sys.flags), sys.path[1:], umask, environment))


def _private_folder() -> str | None:
    """A folder of this user's that nobody else may enter: in XDG_RUNTIME_DIR, else in the temporary folder."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    folder = os.path.join(base, f"rnn-grader-{os.geteuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    own = info.st_uid == os.geteuid() and (info.st_mode & 0o170777) == 0o040700  # a folder, not a link, only ours
    return folder if own else None


def _request(arguments: list[str]) -> bytes:
    streams = [f"{stream.encoding}\0{stream.errors}" for stream in (sys.stdout, sys.stderr)]
    fields = [os.getcwd(), *streams, sys.argv[0], *arguments]
    return b"\0".join(os.fsencode(field) for field in fields)


def _ask(address: str, request: bytes) -> tuple[int, bytes, bytes] | None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(ACCEPT_SECONDS)
        connection.connect(address)
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        if _read_exactly(connection, len(_ACCEPTED)) != _ACCEPTED:
            return None  # a server that would not serve it (its files changed)
        connection.settimeout(None)
        code, output_size, errors_size = _HEADER.unpack(_read_exactly(connection, _HEADER.size))
        output = _read_exactly(connection, output_size)
        return code, output, _read_exactly(connection, errors_size)


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    chunks, wanted = [], size
    while wanted:
        chunk = connection.recv(min(wanted, 1 << 20))
        if not chunk:
            raise ConnectionError("the server stopped before its answer was whole")
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _start_server(address: str, environment: dict[str, str]) -> None:
    import subprocess

    code = "import sys; sys.path.insert(0, sys.argv[2]); from grader.selfcheck.server import serve; serve(sys.argv[1])"
    try:
        subprocess.Popen(
            [sys.executable, "-P", "-c", code, address, _ROOT],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env=environment,
            start_new_session=True,
        )
    except OSError:
        pass


# The server's side. What it imports, it imports inside these functions: a served check loads none of it.


def serve(address: str, idle_seconds: float = IDLE_SECONDS) -> None:
    """Answer this user's checks at `address` until idle for `idle_seconds`, or until a file it runs changed; a
    server already answering there is left to it."""
    if _answering(address):
        return
    known = _files_in_use()  # before anything is imported: a file changed from now on is seen
    import signal

    from grader import cli, launch
    from grader.run.boot import stop_unused_early

    cli.prepare_the_process()
    signal.signal(signal.SIGTERM, cli.stop_on_terminate)
    _import_what_checks_import()
    known = _files_in_use() | known
    listener = _listen(address)
    if listener is None:
        return
    bound = os.stat(address).st_ino
    try:
        with listener:
            listener.settimeout(idle_seconds)
            while True:
                launch.start_for_checks()  # the sandbox's interpreter waits for the next check
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    return
                with connection:
                    if not _answer(connection, known):
                        return
                known = _files_in_use() | known
    finally:
        _remove_if_ours(address, bound)
        stop_unused_early()


def _listen(address: str) -> socket.socket | None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            listener.bind(address)
        except OSError:
            if _answering(address):
                raise
            os.unlink(address)  # left by a server that was killed
            listener.bind(address)
        listener.listen(8)
    except OSError:
        listener.close()
        return None
    return listener


def _answering(address: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(address)
        except OSError:
            return False
    return True


def _answer(connection: socket.socket, known: dict[str, tuple[int, int]]) -> bool:
    """Run one check for its caller; False when this server should serve no more (its files changed)."""
    if not _same_user(connection):
        return True
    try:
        request = _read_request(connection)
    except (OSError, ValueError):
        return True
    if _files_in_use(known) != known:
        return False  # the caller, seeing no acceptance, runs the check itself and starts a new server
    try:
        connection.sendall(_ACCEPTED)
        code, output, errors = _run_check(*request)
        connection.sendall(_HEADER.pack(code, len(output), len(errors)) + output + errors)
    except OSError:  # the caller gave up (Ctrl-C): nothing to say to anyone
        pass
    return True


def _same_user(connection: socket.socket) -> bool:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.geteuid()


def _read_request(connection: socket.socket) -> tuple[str, tuple[str, str], tuple[str, str], str, list[str]]:
    connection.settimeout(ACCEPT_SECONDS)
    chunks, size = [], 0
    while chunk := connection.recv(1 << 16):
        size += len(chunk)
        if size > _MAX_REQUEST:
            raise ValueError("a request larger than any check's")
        chunks.append(chunk)
    connection.settimeout(None)
    cwd, out_encoding, out_errors, err_encoding, err_errors, program, *arguments = (
        os.fsdecode(field) for field in b"".join(chunks).split(b"\0")
    )
    return cwd, (out_encoding, out_errors), (err_encoding, err_errors), program, arguments


def _run_check(
    cwd: str, output: tuple[str, str], errors: tuple[str, str], program: str, arguments: list[str]
) -> tuple[int, bytes, bytes]:
    """The command run here as it would have run in the caller's process, its output kept as that would have
    written it."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from exercises import bank
    from grader import cli

    bank.forget_loaded_files()  # an exercise (and the files it names) is read again, as a new process reads it
    kept = [io.BytesIO(), io.BytesIO()]
    streams = [io.TextIOWrapper(written, encoding=e, errors=how) for written, (e, how) in zip(kept, (output, errors))]
    saved_argv = sys.argv
    try:
        os.chdir(cwd)
        sys.argv = [program, *arguments]
        with redirect_stdout(streams[0]), redirect_stderr(streams[1]):
            code = cli.exit_code(arguments)
    except OSError as exc:  # the caller's folder is gone
        streams[1].write(f"rnn-grader: {exc}\n")
        code = 1
    finally:
        sys.argv = saved_argv
        os.chdir("/")
    for stream in streams:
        stream.flush()
    return code, kept[0].getvalue(), kept[1].getvalue()


def _import_what_checks_import() -> None:
    """Everything a check may import, so that the first check served does not wait for it."""
    import importlib

    from grader.selfcheck.kit_modules import ENTRY_MODULES, LAZY_MODULES

    for name in (*ENTRY_MODULES, *LAZY_MODULES):
        importlib.import_module(name)


def _files_in_use(known: dict[str, tuple[int, int]] | None = None) -> dict[str, tuple[int, int]]:
    """Each file the checks run, with its size and time of change: every module loaded from outside the standard
    library, and every file of the grader's packages (their exercises, templates); those in `known` if given."""
    if known is None:
        import sysconfig
        from pathlib import Path

        standard = tuple({sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")})
        loaded = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
        packages = (Path(_ROOT, package) for package in ("grader", "exercises", "reference"))
        owned = {str(path) for folder in packages for path in folder.rglob("*") if "__pycache__" not in path.parts}
        names = {name for name in loaded if isinstance(name, str) and not name.startswith(standard)} | owned
    else:
        names = set(known)
    found = {}
    for name in names:
        try:
            info = os.stat(name)
        except OSError:
            found[name] = (-1, -1)
        else:
            found[name] = (info.st_size, info.st_mtime_ns)
    return found


def _remove_if_ours(address: str, bound: int) -> None:
    """The socket's file removed, unless a newer server has bound that name since."""
    try:
        if os.stat(address).st_ino == bound:
            os.unlink(address)
    except OSError:
        pass
