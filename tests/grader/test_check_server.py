"""A student's checks after the first are served by a process kept between them (grader/selfcheck/server.py):
the same output and exit code as a check in a process of its own, without the grader's imports in the student's
process; no server on CI or when switched off; one that changed, idles or was hung up on goes away, leaving no socket
and no sandbox (its lock file stays); nobody but its user, outside the sandbox, is answered.

Every check here is a real one, through a student kit's check.py, in an environment without pytest (a student's
installation need not have it), with the servers' folder a temporary one."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.selfcheck import server

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests" / "corpus"
WORK = [
    CORPUS / "correct/student02_vectorised.py",
    CORPUS / "wrong/missing_tanh_derivative.py",
    CORPUS / "correct/notebook_homework.ipynb",
    CORPUS / "writeups/wrong/jacobian_without_tanh.md",
]
AS_ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kit") / "kit"
    result = CliRunner().invoke(main, ["export", "student", "rnn-bptt", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def runtime():
    """The servers' folder of this test alone (a short name: a socket's is at most 107 bytes); every server
    started in it is stopped after."""
    folder = Path(tempfile.mkdtemp(prefix="rg-", dir="/tmp"))
    yield folder
    for pid in _servers_in(folder):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _servers_in(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in _servers_in(folder):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder)


def _servers_in(folder: Path) -> list[int]:
    """The servers listening in `folder`, or starting to (not a server's own child between its fork and exec)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) if command else 0
        except (OSError, ValueError, IndexError):
            continue
        if str(folder).encode() in command and b"serve(" in command:
            parents[int(entry.name)] = parent
    return [pid for pid, parent in parents.items() if parent not in parents]


NO_PYTEST = """
import sys
class _NoPytest:
    def find_spec(self, name, path=None, target=None):
        if name == "pytest" or name.startswith(("pytest.", "_pytest")):
            raise ModuleNotFoundError("a student's installation need not have pytest")
sys.meta_path.insert(0, _NoPytest())
"""


def _environment(runtime: Path, **changes: str) -> dict[str, str]:
    """A check's environment: its servers in `runtime`, and no pytest, as on a student's machine."""
    block = runtime / "no-pytest"
    block.mkdir(exist_ok=True)
    (block / "sitecustomize.py").write_text(NO_PYTEST)
    env = {name: value for name, value in os.environ.items() if name != "CI"}
    return {**env, "XDG_RUNTIME_DIR": str(runtime), "PYTHONPATH": str(block), server.SWITCH: "1", **changes}


def _check(kit: Path, *arguments: Path | str, env: dict[str, str], flags: tuple[str, ...] = ()
           ) -> tuple[int, bytes, bytes]:
    done = subprocess.run([sys.executable, *flags, str(kit / "check.py"), *map(str, arguments)], env=env,
                          capture_output=True, cwd=ROOT, timeout=180)
    return done.returncode, done.stdout, done.stderr


def _imports_of_a_check(kit: Path, work: Path, env: dict[str, str]) -> set[str]:
    """The modules a check's own process imported (`-X importtime`, which leaves the server's identity alone)."""
    _, _, errors = _check(kit, work, env=env, flags=("-X", "importtime"))
    lines = [line.split("|")[-1] for line in errors.decode().splitlines() if line.startswith("import time:")]
    return {line.strip() for line in lines}


def _wait_for_a_server(runtime: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for address in (runtime / f"rnn-grader-checks-{os.geteuid()}").glob("check-*"):
            if _answering(str(address)):
                return str(address)
        time.sleep(0.05)
    raise AssertionError("no server answered within 60 s")


def test_a_check_after_the_first_is_served_and_says_what_a_check_of_its_own_says(kit, runtime, tmp_path):
    env = _environment(runtime)
    complete = tmp_path / "complete"  # code and write-up: every question passes
    complete.mkdir()
    shutil.copy(WORK[0], complete / "rnn.py")
    shutil.copy(CORPUS / "writeups/correct/handout_notation.md", complete / "answers.md")
    alone = {work: _check(kit, work, env={**env, server.SWITCH: "0"}) for work in [*WORK, complete]}
    assert not (runtime / f"rnn-grader-checks-{os.geteuid()}").exists()  # switched off: no server, not even its folder
    assert _check(kit, WORK[0], env=env) == alone[WORK[0]]  # the first check runs in its own process, as before
    _wait_for_a_server(runtime)
    [pid] = _servers_in(runtime)
    for work in alone:
        assert "numpy" not in _imports_of_a_check(kit, work, env), work.name  # served
        assert _check(kit, work, env=env) == alone[work], work.name
    assert {code for code, _, _ in alone.values()} == {0, 1}
    for usage_error in ([ROOT / "no such file.py"], [WORK[0], "--bogus"]):  # its usage lines name check.py
        served = _check(kit, *usage_error, env=env)
        assert served == _check(kit, *usage_error, env={**env, server.SWITCH: "0"}) and served[0] == 2
    assert b"check.py" in served[2]
    for columns in ("60", "120"):  # `--help` is as wide as the caller's terminal
        wide = {**env, "COLUMNS": columns}
        assert _check(kit, "--help", env=wide) == _check(kit, "--help", env={**wide, server.SWITCH: "0"})
    imported = _imports_of_a_check(kit, WORK[0], env=env)
    assert "numpy" not in imported and "grader.cli" not in imported and "grader.selfcheck.server" in imported
    assert _only_server(runtime) == pid  # one server answered them all: none failed and was replaced


def _only_server(runtime: Path) -> int | None:
    """The one server left in `runtime` once those that found the address taken have gone; None if none is."""
    deadline = time.monotonic() + 30
    while len(found := _servers_in(runtime)) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    return found[0] if len(found) == 1 else None


def test_no_server_is_started_on_ci_or_when_switched_off(kit, runtime):
    for switched_off in ({"CI": "true"}, {server.SWITCH: "0"}):
        code, output, _ = _check(kit, WORK[0], env=_environment(runtime, **switched_off))
        assert code == 1 and b"PASS     grad_W_H" in output
        assert not _servers_in(runtime)
        assert not list(runtime.rglob("check-*"))


def test_a_server_whose_files_changed_serves_no_more_and_the_check_runs_as_its_own(kit, runtime, tmp_path):
    changed = tmp_path / "kit"
    subprocess.run(["cp", "-a", str(kit), str(changed)], check=True)
    env = _environment(runtime)
    expected = _check(changed, WORK[1], env={**env, server.SWITCH: "0"})
    _check(changed, WORK[1], env=env)
    first = _wait_for_a_server(runtime)
    [first_pid] = _servers_in(runtime)
    feedback = changed / "grader" / "report" / "feedback.py"
    feedback.write_text(feedback.read_text() + "\n# an upgrade\n")
    assert _check(changed, WORK[1], env=env) == expected
    deadline = time.monotonic() + 30
    while first_pid in _servers_in(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first_pid not in _servers_in(runtime)
    assert _wait_for_a_server(runtime) == first  # a fresh server, at the same address (same kit, same settings)
    assert "numpy" not in _imports_of_a_check(changed, WORK[1], env=env)
    assert _check(changed, WORK[1], env=env) == expected


def test_an_idle_server_stops_and_leaves_neither_its_socket_nor_its_sandbox(kit, runtime):
    folder = runtime / f"rnn-grader-checks-{os.geteuid()}"
    folder.mkdir(mode=0o700)
    address = folder / "check-idle"
    code = f"import sys; sys.path.insert(0, {str(kit)!r}); from grader.selfcheck import server; "
    code += f"server.serve({str(address)!r}, idle_seconds=3)"
    started = subprocess.Popen([sys.executable, "-c", code], env=_environment(runtime))
    deadline = time.monotonic() + 60
    while not _answering(str(address)) and time.monotonic() < deadline:
        time.sleep(0.05)
    while not (children := _descendants(started.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children, "the server waits with the sandbox's interpreter started"
    assert started.wait(timeout=60) == 0
    assert not address.exists() and address.with_name("check-idle.lock").exists()  # the lock file stays
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def _descendants(pid: int) -> list[int]:
    found, waiting = [], [pid]
    while waiting:
        parent = waiting.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:  # it ended meanwhile
                continue
            found += children
            waiting += children
    return found


def _answering(address: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(address)
        except OSError:
            return False
    return True


def _served(kit: Path, env: dict[str, str], within: float) -> bool:
    """Whether a check is served (its own process imports no numpy) within `within` seconds."""
    deadline = time.monotonic() + within
    while "numpy" in _imports_of_a_check(kit, WORK[0], env):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _served_from_the_start(kit: Path, runtime: Path) -> tuple[dict[str, str], int]:
    env = _environment(runtime)
    _check(kit, WORK[0], env=env)
    _wait_for_a_server(runtime)
    [pid] = _servers_in(runtime)
    return env, pid


def _slow(tmp_path: Path, seconds: float) -> Path:
    """A correct file whose rnn_step takes `seconds` (checked with `--timeout`, beyond it)."""
    slow = tmp_path / "slow.py"
    slow.write_text(WORK[0].read_text() + f"""
import time
_rnn_step = rnn_step
def rnn_step(*args, **kwargs):
    time.sleep({seconds})
    return _rnn_step(*args, **kwargs)
""")
    return slow


def _job_running(pid: int) -> None:
    """Until the server's sandbox runs a job (its warm process has forked a supervisor)."""
    deadline = time.monotonic() + 60
    while len(_descendants(pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_descendants(pid)) >= 2


def test_a_check_given_up_midway_is_stopped_and_its_server_leaves_the_address_to_a_new_one(kit, runtime, tmp_path):
    env, pid = _served_from_the_start(kit, runtime)
    expected = _check(kit, WORK[0], env={**env, server.SWITCH: "0"})
    given_up = subprocess.Popen([sys.executable, str(kit / "check.py"), str(_slow(tmp_path, 100)), "--timeout", "150"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _job_running(pid)
    given_up.send_signal(signal.SIGINT)
    _, errors = given_up.communicate(timeout=60)
    assert given_up.returncode == 1 and errors.endswith(b"Aborted!\n")
    deadline = time.monotonic() + 20  # its job stopped at once: it would have kept the server busy for 100 s
    while pid in _servers_in(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in _servers_in(runtime)  # interrupted wherever it was: it serves no more
    assert _served(kit, env, within=60)  # the next check ran on its own and started a new server
    assert _check(kit, WORK[0], env=env) == expected


def test_a_server_stopped_midway_leaves_the_check_to_its_own_process(kit, runtime, tmp_path):
    env, pid = _served_from_the_start(kit, runtime)
    slow = _slow(tmp_path, 0.3)
    expected = _check(kit, slow, env={**env, server.SWITCH: "0"})
    checking = subprocess.Popen([sys.executable, str(kit / "check.py"), str(slow)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _job_running(pid)
    os.kill(pid, signal.SIGTERM)
    output, errors = checking.communicate(timeout=120)
    assert (checking.returncode, output, errors) == expected
    deadline = time.monotonic() + 30
    while pid in _servers_in(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in _servers_in(runtime)


def test_a_check_a_busy_server_does_not_take_runs_on_its_own(kit, runtime, tmp_path):
    env, pid = _served_from_the_start(kit, runtime)
    expected = _check(kit, WORK[1], env={**env, server.SWITCH: "0"})
    busy = subprocess.Popen([sys.executable, str(kit / "check.py"), str(_slow(tmp_path, 100)), "--timeout", "150"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _job_running(pid)
        assert "numpy" in _imports_of_a_check(kit, WORK[1], env)  # not taken within the second: it ran itself
        assert _check(kit, WORK[1], env=env) == expected
    finally:
        busy.send_signal(signal.SIGINT)
        busy.communicate(timeout=60)


def test_a_check_stopped_by_sigterm_starts_no_server(kit, runtime, tmp_path):
    env = _environment(runtime)
    checking = subprocess.Popen([sys.executable, str(kit / "check.py"), str(_slow(tmp_path, 100)), "--timeout", "150"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60  # until its own sandbox runs the job
    while len(_descendants(checking.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    checking.send_signal(signal.SIGTERM)
    assert checking.wait(timeout=60) == 128 + signal.SIGTERM
    assert not _servers_in(runtime)


def test_a_server_killed_outright_is_replaced(kit, runtime):
    env, pid = _served_from_the_start(kit, runtime)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid in _servers_in(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(runtime.rglob("check-*[!k]"))  # its socket is left behind
    assert "numpy" in _imports_of_a_check(kit, WORK[0], env)  # nobody answers there: the check runs itself
    assert _served(kit, env, within=60)  # and the server it started took the address over


def test_a_server_runs_nothing_but_a_check(kit, runtime, tmp_path):
    env, pid = _served_from_the_start(kit, runtime)
    [address] = [path for path in runtime.rglob("check-*") if path.suffix != ".lock"]
    written = tmp_path / "handout"
    for arguments in (["template", "rnn-bptt", "-o", str(written)], ["validate"]):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(address))
            fields = [str(ROOT), "utf-8\0strict", "utf-8\0strict", "", "check.py", *arguments]
            connection.sendall("\0".join(fields).encode())
            connection.shutdown(socket.SHUT_WR)
            connection.settimeout(30)
            assert connection.recv(100) == b""  # no answer at all
    assert not written.exists()
    assert _only_server(runtime) == pid and _served(kit, env, within=10)


def test_the_files_a_server_watches_include_its_libraries():
    import numpy

    watched = server._files_in_use()
    assert numpy.__file__ in watched and click_module_file() in watched
    assert os.__file__ not in watched  # the standard library changes only with the interpreter
    assert str(Path(server.__file__)) in watched


def click_module_file() -> str:
    import click

    return click.__file__


def test_a_folder_others_may_enter_or_swap_is_not_used(runtime, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    folder = runtime / f"rnn-grader-checks-{os.geteuid()}"
    folder.mkdir()
    folder.chmod(0o755)
    assert server._private_folder() is None
    folder.chmod(0o700)
    assert server._private_folder() == str(folder)
    runtime.chmod(0o777)  # a folder above that others may write, and not sticky: they could swap ours
    assert server._private_folder() is None
    runtime.chmod(0o1777)
    assert server._private_folder() == str(folder)
    folder.rmdir()
    (runtime / "elsewhere").mkdir(mode=0o700)
    folder.symlink_to(runtime / "elsewhere")
    assert server._private_folder() is None


ASK = """
import os, socket, sys
connection = socket.socket(socket.AF_UNIX)
connection.connect(sys.argv[1])
try:  # refused at once, or after the request: nothing comes back but the end
    connection.sendall(b"/\\0utf-8\\0strict\\0utf-8\\0strict\\0\\0check.py\\0check\\0x.py")
    connection.shutdown(socket.SHUT_WR)
    print(connection.recv(100))
except OSError:
    print(b"")
"""


@pytest.mark.skipif(not AS_ROOT or not shutil.which("unshare"), reason="other users and namespaces need root")
def test_a_server_answers_no_other_user_and_no_other_namespace(runtime, monkeypatch):
    runtime.chmod(0o777)  # where anyone may connect: the peer's credentials and namespaces alone tell them apart
    address = str(runtime / "socket")

    def run_check(*_):
        raise AssertionError("a check was run for someone else")

    monkeypatch.setattr(server, "_run_check", run_check)
    # (its modules imported first: the interpreter's own folder may be closed to that user)
    another_user = [sys.executable, "-c", f"import os, socket, sys; os.setuid(65534); exec({ASK!r})", address]
    root_in_its_own_namespaces = ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-c", ASK, address]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(address)
        os.chmod(address, 0o777)
        listener.listen(2)
        listener.settimeout(60)
        for asker in (another_user, root_in_its_own_namespaces):
            asking = subprocess.Popen(asker, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            connection, _ = listener.accept()
            with connection:
                assert server._answer(connection, known={}) is True  # it serves on, for its own user
            assert asking.communicate(timeout=30) == (b"b''\n", b""), asker[0]
