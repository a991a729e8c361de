"""A student's checks after the first are served by a process kept between them (grader/selfcheck/server.py):
the same output and exit code as a check in a process of its own, without the grader's imports in the student's
process; no server on CI or when switched off; one that changed or idles goes away and leaves nothing.

Every check here is a real one, through a student kit's check.py, with the servers' folder a temporary one."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
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
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and str(folder).encode() in command and b"serve(" in command:
            found.append(int(entry.name))
    return found


def _environment(runtime: Path, **changes: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "CI"}
    return {**env, "XDG_RUNTIME_DIR": str(runtime), server.SWITCH: "1", **changes}


def _check(kit: Path, work: Path, env: dict[str, str], *flags: str) -> tuple[int, bytes, bytes]:
    done = subprocess.run([sys.executable, *flags, str(kit / "check.py"), str(work)], env=env, capture_output=True,
                          cwd=work.parent, timeout=120)
    return done.returncode, done.stdout, done.stderr


def _imports_of_a_check(kit: Path, work: Path, env: dict[str, str]) -> set[str]:
    """The modules a check's own process imported (`-X importtime`, which leaves the server's identity alone)."""
    _, _, errors = _check(kit, work, env, "-X", "importtime")
    lines = [line.split("|")[-1] for line in errors.decode().splitlines() if line.startswith("import time:")]
    return {line.strip() for line in lines}


def _wait_for_a_server(runtime: Path, other_than: set[str] = frozenset()) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for address in (runtime / f"rnn-grader-{os.geteuid()}").glob("check-*"):
            if str(address) not in other_than and server._answering(str(address)):
                return str(address)
        time.sleep(0.05)
    raise AssertionError("no server answered within 60 s")


def test_a_check_after_the_first_is_served_and_says_what_a_check_of_its_own_says(kit, runtime, tmp_path):
    env = _environment(runtime)
    complete = tmp_path / "complete"  # code and write-up: every question passes
    complete.mkdir()
    shutil.copy(WORK[0], complete / "rnn.py")
    shutil.copy(CORPUS / "writeups/correct/handout_notation.md", complete / "answers.md")
    alone = {work: _check(kit, work, {**env, server.SWITCH: "0"}) for work in [*WORK, complete]}
    assert not (runtime / f"rnn-grader-{os.geteuid()}").exists()  # switched off: no server, not even its folder
    assert _check(kit, WORK[0], env) == alone[WORK[0]]  # the first check runs in its own process, as before
    _wait_for_a_server(runtime)
    for work in alone:
        assert _check(kit, work, env) == alone[work], work.name
    assert {code for code, _, _ in alone.values()} == {0, 1}
    imported = _imports_of_a_check(kit, WORK[0], env)
    assert "numpy" not in imported and "grader.cli" not in imported and "grader.selfcheck.server" in imported
    missing = _check(kit, ROOT / "no such file.py", env)
    assert missing == _check(kit, ROOT / "no such file.py", {**env, server.SWITCH: "0"}) and missing[0] == 2


def test_no_server_is_started_on_ci_or_when_switched_off(kit, runtime):
    for switched_off in ({"CI": "true"}, {server.SWITCH: "0"}):
        code, output, _ = _check(kit, WORK[0], _environment(runtime, **switched_off))
        assert code == 1 and b"PASS     grad_W_H" in output
        assert not _servers_in(runtime)
        assert not list(runtime.rglob("check-*"))


def test_a_server_whose_files_changed_serves_no_more_and_the_check_runs_as_its_own(kit, runtime, tmp_path):
    changed = tmp_path / "kit"
    subprocess.run(["cp", "-a", str(kit), str(changed)], check=True)
    env = _environment(runtime)
    expected = _check(changed, WORK[1], {**env, server.SWITCH: "0"})
    _check(changed, WORK[1], env)
    first = _wait_for_a_server(runtime)
    [first_pid] = _servers_in(runtime)
    feedback = changed / "grader" / "report" / "feedback.py"
    feedback.write_text(feedback.read_text() + "\n# an upgrade\n")
    assert _check(changed, WORK[1], env) == expected
    deadline = time.monotonic() + 30
    while first_pid in _servers_in(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first_pid not in _servers_in(runtime)
    assert _wait_for_a_server(runtime) == first  # a fresh server, at the same address (same kit, same settings)
    assert "numpy" not in _imports_of_a_check(changed, WORK[1], env)
    assert _check(changed, WORK[1], env) == expected


def test_an_idle_server_stops_and_leaves_neither_its_socket_nor_its_sandbox(kit, runtime):
    folder = runtime / f"rnn-grader-{os.geteuid()}"
    folder.mkdir(mode=0o700)
    address = folder / "check-idle"
    code = f"import sys; sys.path.insert(0, {str(kit)!r}); from grader.selfcheck import server; "
    code += f"server.serve({str(address)!r}, idle_seconds=3)"
    started = subprocess.Popen([sys.executable, "-c", code], env=_environment(runtime))
    deadline = time.monotonic() + 60
    while not server._answering(str(address)) and time.monotonic() < deadline:
        time.sleep(0.05)
    children = _descendants(started.pid)
    assert children, "the server waits with the sandbox's interpreter started"
    assert started.wait(timeout=60) == 0
    assert not address.exists()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def _descendants(pid: int) -> list[int]:
    found, waiting = [], [pid]
    while waiting:
        parent = waiting.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with open(task / "children") as file:
                children = [int(child) for child in file.read().split()]
            found += children
            waiting += children
    return found


def test_a_check_given_up_midway_leaves_the_server_serving(kit, runtime, tmp_path):
    env = _environment(runtime)
    slow = tmp_path / "slow.py"
    slow.write_text(WORK[0].read_text() + "\nimport time\ntime.sleep(3)\n")
    expected = _check(kit, WORK[0], {**env, server.SWITCH: "0"})
    _check(kit, WORK[0], env)
    _wait_for_a_server(runtime)
    [pid] = _servers_in(runtime)
    given_up = subprocess.Popen([sys.executable, str(kit / "check.py"), str(slow)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    given_up.send_signal(signal.SIGINT)
    _, errors = given_up.communicate(timeout=60)
    assert given_up.returncode == 1 and errors.endswith(b"Aborted!\n")
    deadline = time.monotonic() + 60  # once it has finished the job nobody waits for, it serves again
    while (served := "numpy" not in _imports_of_a_check(kit, WORK[0], env)) is False and time.monotonic() < deadline:
        time.sleep(0.2)
    assert served and _check(kit, WORK[0], env) == expected
    assert pid in _servers_in(runtime)


def test_a_folder_others_may_enter_is_not_used(runtime, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    folder = runtime / f"rnn-grader-{os.geteuid()}"
    folder.mkdir()
    folder.chmod(0o755)
    assert server._private_folder() is None
    folder.chmod(0o700)
    assert server._private_folder() == str(folder)


@pytest.mark.skipif(not AS_ROOT, reason="a connection from another user needs root to change uid")
def test_a_server_answers_no_other_user(runtime):
    runtime.chmod(0o777)  # where another user may connect: the peer's credentials alone tell them apart
    address = str(runtime / "socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(address)
        os.chmod(address, 0o777)
        listener.listen(2)
        seen = []
        for uid in (os.geteuid(), 65534):
            connect = f"import os, socket; os.setuid({uid}); socket.socket(socket.AF_UNIX).connect({address!r})"
            subprocess.run([sys.executable, "-c", connect], check=True)
            connection, _ = listener.accept()
            with connection:
                credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                seen.append((struct.unpack("3i", credentials)[1], server._same_user(connection)))
    assert seen == [(os.geteuid(), True), (65534, False)]
