"""The real command line, through click's CliRunner in an isolated folder: exit codes and outputs."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main

CORPUS = Path(__file__).parents[1] / "corpus"
FAST = ["--timeout", "2"]


@pytest.fixture
def classroom(tmp_path, monkeypatch):
    """A small class in a temporary folder: one right (code only), one wrong, one write-up only."""
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(CORPUS / "correct/student01_loops.py", folder / "ann.py")
    shutil.copy(CORPUS / "wrong/missing_tanh_derivative.py", folder / "bo.py")
    shutil.copy(Path(__file__).parents[1] / "examples/student_answer_rnn_bptt.md", folder / "cy.md")
    monkeypatch.chdir(tmp_path)
    return Path("class")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_grade_native_json_follows_the_interface(classroom):
    result = invoke("grade", str(classroom), "--exercise", "rnn-bptt", "--format", "json", *FAST)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["exercise"] == "rnn-bptt" and data["grader_version"]
    subs = {s["student"]: s for s in data["submissions"]}
    # Paths are as the instructor gave them, never a temporary copy.
    assert subs["ann"]["path"] == "class/ann.py" and subs["ann"]["status"] == "graded"
    # right code, no write-up: everything but the written Task 2 (derivation.*, 7 points, missing)
    assert subs["ann"]["score"] == subs["ann"]["max_score"] - 7
    wrong = {q["id"]: q for q in subs["bo"]["questions"]}
    assert wrong["grad_W_H"]["status"] == "failed" and wrong["grad_W_H"]["diagnosis"] == "missing-tanh-derivative"
    assert {"id", "score", "max_score", "status", "feedback"} <= set(wrong["grad_W_H"])
    # seven shapes stated in the real write-up, and its written Task 2 but for z_t = w_H h_t (0.4 of 2 points)
    assert subs["cy"]["score"] == pytest.approx(7 + 7 - 0.4)


def test_default_table_and_timing_line(classroom):
    result = invoke("grade", str(classroom), *FAST)
    assert result.exit_code == 0
    assert "ann" in result.stdout and "missing-tanh-derivative" in result.stdout
    assert "graded 3 submission(s)" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["grade", "class", "--exercise", "nope"], "unknown exercise"),  # unknown exercise id
        (["grade", "no/such/dir"], "no such file"),  # a path that does not exist
        (["check", "missing.py"], "no such file"),  # the same for a student
        (["show", "nope"], "unknown exercise"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(classroom, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_gradescope_writes_one_file_per_student(classroom):
    assert invoke("grade", str(classroom), "--format", "gradescope", *FAST).exit_code == 2  # needs -o
    result = invoke("grade", str(classroom), "--format", "gradescope", "-o", "out", *FAST)
    assert result.exit_code == 0
    files = sorted(p.name for p in Path("out").iterdir())
    assert files == ["ann.json", "bo.json", "cy.json"]
    ann = json.loads(Path("out/ann.json").read_text())
    assert ann["score"] == sum(t["max_score"] for t in ann["tests"] if not t["name"].startswith("derivation."))


def test_one_submission_in_every_format(classroom):
    single = str(classroom / "bo.py")
    outputs = {fmt: invoke("grade", single, "--format", fmt, *FAST) for fmt in
               ("junit", "csv", "github-classroom", "gradescope")}
    assert all(r.exit_code == 0 for r in outputs.values())
    suite = ET.fromstring(outputs["junit"].stdout)
    assert int(suite.get("failures")) >= 3  # three gradients lose points
    rows = list(csv.reader(io.StringIO(outputs["csv"].stdout)))
    assert rows[0][:3] == ["student", "score", "max_score"] and rows[1][0] == "bo"
    classroom_result = json.loads(outputs["github-classroom"].stdout)
    assert classroom_result["status"] == "fail" and classroom_result["max_score"] == 37
    assert json.loads(outputs["gradescope"].stdout)["score"] < 37


def test_check_exit_codes_follow_the_verdict(classroom):
    complete = classroom / "eve"  # right code and the derivation written out
    complete.mkdir()
    shutil.copy(classroom / "ann.py", complete / "rnn.py")
    shutil.copy(CORPUS / "writeups/correct/handout_notation.md", complete / "derivation.md")
    passing = invoke("check", str(complete), *FAST)
    assert invoke("check", str(classroom / "ann.py"), *FAST).exit_code == 1  # the written part is missing
    assert passing.exit_code == 0 and "Everything passes" in passing.stdout
    failing = invoke("check", str(classroom / "bo.py"), *FAST)
    assert failing.exit_code == 1 and "grad_W_H" in failing.stdout
    # A write-up without code does not pass: a missing answer is not a pass.
    assert invoke("check", str(classroom / "cy.md"), *FAST).exit_code == 1
    # Self-check uses public cases only.
    assert "hidden case" not in failing.stdout


def test_list_and_show(classroom):
    listing = invoke("list")
    assert listing.exit_code == 0 and "rnn-bptt" in listing.stdout
    shown = invoke("show", "rnn-bptt")
    assert shown.exit_code == 0 and "grad_W_H" in shown.stdout and "shapes.W_H" in shown.stdout


def test_every_command_has_help_text():
    for name, command in main.commands.items():
        assert command.help, name
        result = invoke(name, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "grader", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "grade" in done.stdout


ENDING = """
import atexit, sys, threading, time
import grader.cli
atexit.register(lambda: sys.stdout.write("exit handler ran\\n"))
if sys.argv[1] == "thread":  # still running when the command returns, whenever that is
    returned, command = threading.Event(), grader.cli.main
    def main(args):
        try:
            command(args)
        finally:
            returned.set()
    grader.cli.main = main
    threading.Thread(target=lambda: (returned.wait(), time.sleep(0.3), print("thread finished"))).start()
grader.cli.run(sys.argv[2:])
"""


def test_the_installed_command_ends_with_its_exit_code_its_output_and_its_exit_handlers(classroom):
    """`run` skips the interpreter's teardown, not what a command leaves to do: exit handlers, buffered output into a
    pipe."""
    wrong = subprocess.run([sys.executable, "-c", ENDING, "none", "check", str(classroom / "bo.py"), *FAST],
                           capture_output=True, text=True)
    assert wrong.returncode == 1 and "bo.py:" in wrong.stdout and wrong.stdout.endswith("exit handler ran\n")
    usage = subprocess.run([sys.executable, "-c", ENDING, "none", "check", "nothing.py"], capture_output=True, text=True)
    assert usage.returncode == 2 and "nothing.py" in usage.stderr and "exit handler ran" in usage.stdout


def test_the_installed_command_waits_for_a_thread_still_running(classroom):
    usage = subprocess.run([sys.executable, "-c", ENDING, "thread", "check", "nothing.py"], capture_output=True,
                           text=True)
    assert usage.returncode == 2 and "thread finished" in usage.stdout and "exit handler ran" in usage.stdout


NUMPYS_THREADS_AT_IMPORT = """
import os, sys
def seen(event, args):
    if event == "import" and args[0] == "numpy" and "numpy" not in sys.modules:
        print("numpy imported with", os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS"),
              os.environ.get("MKL_NUM_THREADS"))
sys.addaudithook(seen)
"""


def test_the_installed_command_runs_numpys_maths_on_one_thread_unless_told_otherwise(classroom):
    """Set before the command imports numpy (which reads them then, once); a value the environment gives is kept."""
    env = {name: value for name, value in os.environ.items() if not name.endswith("_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", NUMPYS_THREADS_AT_IMPORT + ENDING, "none", "check", str(classroom / "bo.py"), *FAST],
        capture_output=True, text=True, env=env | {"OMP_NUM_THREADS": "3"},
    )
    assert "numpy imported with 1 3 1" in done.stdout.splitlines()


PYDANTICS_PLUGINS_SOUGHT = """
import sys
def seen(event, args):
    if event == "import" and args[0] == "importlib.metadata" and "importlib.metadata" not in sys.modules:
        print("importlib.metadata imported")
sys.addaudithook(seen)
"""


@pytest.mark.parametrize("disabled", [None, "__all__", "some_plugin", ""])
def test_the_installed_command_looks_for_no_pydantic_plugins_unless_told_which(classroom, disabled):
    """pydantic's search for plugins imports importlib.metadata and reads every package's entry points; the
    command's results are validated all the same (a wrong answer's feedback). pydantic's own setting, when it
    leaves some plugins on (some left out, or none), makes pydantic look for them."""
    env = {name: value for name, value in os.environ.items() if name != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", PYDANTICS_PLUGINS_SOUGHT + ENDING, "none", "check", str(classroom / "bo.py"), *FAST],
        capture_output=True, text=True, env=env | ({"PYDANTIC_DISABLE_PLUGINS": disabled} if disabled is not None else {}),
    )
    assert done.returncode == 1 and "tanh" in done.stdout.lower(), done.stderr
    assert ("importlib.metadata imported" in done.stdout) == (disabled in ("some_plugin", ""))


def test_pydantics_plugin_loader_answers_any_other_name_from_pydantics_own(monkeypatch):
    """A pydantic that asks its loader for more than `get_plugins` gets its own loader's answer; a module's
    special names, which tools walking sys.modules ask, do not load it."""
    from grader.cli import PYDANTIC_PLUGIN_LOADER, _no_pydantic_plugins

    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    earlier = sys.modules.pop(PYDANTIC_PLUGIN_LOADER, None)
    try:
        _no_pydantic_plugins()
        loader = sys.modules[PYDANTIC_PLUGIN_LOADER]
        assert list(loader.get_plugins()) == [] and getattr(loader, "__file__", None) is None
        assert importlib.util.find_spec(PYDANTIC_PLUGIN_LOADER).name == PYDANTIC_PLUGIN_LOADER
        assert sys.modules[PYDANTIC_PLUGIN_LOADER] is loader
        assert loader.PYDANTIC_ENTRY_POINT_GROUP == "pydantic"  # pydantic's own loader's constant
        real = sys.modules[PYDANTIC_PLUGIN_LOADER]
        assert real is not loader and real.__file__.endswith("_loader.py")
        assert loader.get_plugins is not real.get_plugins and loader.warnings is real.warnings  # asked again: no reload
        assert sys.modules[PYDANTIC_PLUGIN_LOADER] is real
    finally:
        sys.modules.pop(PYDANTIC_PLUGIN_LOADER, None)
        if earlier is not None:
            sys.modules[PYDANTIC_PLUGIN_LOADER] = earlier


@pytest.mark.parametrize("command", [["--help"], ["list"], ["check", "bo.py", *FAST]])
def test_a_full_disk_under_the_output_is_one_line_and_exit_code_120(classroom, command):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "grader", *command], stdout=full, stderr=subprocess.PIPE,
                              text=True, cwd=classroom)
    assert done.returncode == 120 and done.stderr == "rnn-grader: No space left on device\n"


@pytest.mark.parametrize("error, one_line", [
    (OSError(28, "No space left on device"), True),
    (OSError(122, "Disk quota exceeded"), True),
    (OSError(5, "Input/output error"), True),
    (OSError(28, "No space left on device", "grades.csv"), False),  # opening a file: its own message, elsewhere
    (PermissionError(13, "Permission denied"), False),
    (FileNotFoundError(2, "No such file or directory"), False),
])
def test_only_a_write_that_found_no_room_is_one_line_other_os_errors_keep_their_traceback(error, one_line):
    from grader.launch import nowhere_to_write

    assert nowhere_to_write(error) == one_line


def test_a_reader_that_leaves_ends_the_command_without_a_traceback():
    """click's own doing, kept: the command line's scripts (`rnn-grader list | head -1`) rely on it."""
    reader_gone = subprocess.Popen([sys.executable, "-m", "grader", "list"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
    reader_gone.stdout.close()
    assert reader_gone.wait(timeout=60) == 1 and reader_gone.stderr.read() == ""


class _Stream(io.StringIO):
    def __init__(self, failure: type[Exception] | None) -> None:
        super().__init__()
        self.failure = failure

    def flush(self) -> None:
        if self.failure is not None:
            raise self.failure("flushing")


@pytest.mark.parametrize("failure, code, expected", [
    (None, 0, 0), (OSError, 0, 120), (OSError, 2, 2), (BrokenPipeError, 0, 0),
])
def test_output_the_installed_command_could_not_write_is_an_exit_code_of_120(monkeypatch, failure, code, expected):
    """As Python's own exit: output lost (a full disk) fails a command that had succeeded; a reader that left
    (`| head`) does not."""
    from grader.cli import _flushed

    monkeypatch.setattr(sys, "stdout", _Stream(failure))
    assert _flushed(code) == expected
    closed = _Stream(OSError)
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    monkeypatch.setattr(sys, "stderr", None)
    assert _flushed(code) == code  # nothing to flush


def test_the_installed_command_in_an_interactive_session_leaves_it_running(classroom):
    """`python -i` (or IPython's `%run kit/check.py`) carries on after the command: its exit is an exception."""
    session = subprocess.run([sys.executable, "-i", "-c", ENDING, "none", "check", "nothing.py"],
                             input="print('still here')\n", capture_output=True, text=True)
    assert "still here" in session.stdout and "SystemExit" in session.stderr


THROWAWAY_FORMAT = """
def render(results):
    return "".join(f"{sub.student}\\t{sub.score:g}\\n" for sub in results.submissions)
"""


def test_a_new_format_is_one_module_and_one_registry_entry(tmp_path, monkeypatch):
    from grader.record.gradebook import Gradebook
    from grader.report import FORMATS, Format
    from grader.results import SubmissionResult

    (tmp_path / "scores_tsv.py").write_text(THROWAWAY_FORMAT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(FORMATS, "tsv", Format("scores_tsv"))
    grade_format = next(param for param in main.commands["grade"].params if param.name == "fmt")
    assert "tsv" in grade_format.type.choices and "tsv" in invoke("grade", "--help").stdout
    with Gradebook(tmp_path / "shard.sqlite") as book:
        book.record("rnn-bptt", "fingerprint", SubmissionResult(path="c/ann.py", student="ann", score=3, max_score=5,
                                                                status="graded"))  # fmt: skip
    merged = invoke("merge", str(tmp_path / "shard.sqlite"), "--format", "tsv", "-o", str(tmp_path / "out.tsv"))
    assert merged.exit_code == 0, merged.output
    assert (tmp_path / "out.tsv").read_text() == "ann\t3\n"


def test_resume_without_gradebook_is_a_usage_error(classroom):
    result = invoke("grade", str(classroom), "--resume")
    assert result.exit_code == 2 and "--gradebook" in result.stderr


def test_output_problems_are_caught_before_grading(classroom):
    # A folder that does not exist: refused at once, with one line, before any grading.
    result = invoke("grade", str(classroom), "--format", "json", "-o", "no/such/folder/out.json")
    assert result.exit_code == 2 and "does not exist" in result.stderr and "graded" not in result.stderr
    # A class in a per-submission format needs a folder to put one file per student in.
    assert invoke("grade", str(classroom), "--format", "github-classroom").exit_code == 2


def test_gradescope_into_an_existing_results_folder(classroom):
    """The natural Gradescope call: one submission, -o /autograder/results (a folder)."""
    Path("results").mkdir()
    result = invoke("grade", str(classroom / "ann.py"), "--format", "gradescope", "-o", "results", *FAST)
    assert result.exit_code == 0
    assert json.loads(Path("results/ann.json").read_text())["score"] == 30


def test_grading_without_a_secret_warns(classroom):
    assert "no --secret" in invoke("grade", str(classroom / "ann.py"), *FAST).stderr
    assert "no --secret" not in invoke("grade", str(classroom / "ann.py"), "--secret", "s", *FAST).stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--format", "json", "-o", "class"], "it is a folder"),  # one file asked for, a folder given
        (["--format", "gradescope", "-o", "class/ann.py"], "it is a file"),  # a folder needed, a file given
    ],
)
def test_more_output_problems_are_caught_before_grading(classroom, args, words):
    result = invoke("grade", str(classroom), *args)
    assert result.exit_code == 2 and words in result.stderr


def test_secret_file(classroom, tmp_path):
    (tmp_path / "secret").write_text("s3cret\n")
    result = invoke("grade", str(classroom / "ann.py"), "--secret-file", str(tmp_path / "secret"), *FAST)
    assert result.exit_code == 0 and "no --secret" not in result.stderr


def test_canvas_gradebook_from_the_command_line(classroom, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,submission\n"
                      "Ann A,11,s11,ann,A,ann\nBo B,12,s12,bo,A,bo\nDee D,13,s13,dee,B,dee\n")
    result = invoke("grade", str(classroom), "--format", "canvas", "--roster", str(roster), "--assignment",
                    "RNN (7)", "-o", "canvas.csv", *FAST)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open("canvas.csv", newline="")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "RNN (7)"]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "37"
    by_id = {row[1]: row for row in rows[2:]}
    assert by_id["11"][5] == "30" and float(by_id["12"][5]) < 30  # code only: the written 7 points missing and by_id["13"][5] == ""  # dee: no submission
    assert "no submission: Dee D" in result.stderr and "cy.md" in result.stderr  # cy is in no roster row
    assert invoke("grade", str(classroom), "--format", "canvas", *FAST).exit_code == 2  # no --assignment


def test_html_report_from_grade_and_from_a_gradebook(classroom):
    pytest.importorskip("jinja2")
    result = invoke("grade", str(classroom), "--format", "html", "-o", "report", "--gradebook", "g.sqlite", *FAST)
    assert result.exit_code == 0, result.output
    assert Path("report/index.html").is_file() and len(list(Path("report/students").glob("*.html"))) == 3
    again = invoke("report", "g.sqlite", "-o", "again")
    assert again.exit_code == 0
    # the same pages from the gradebook (which does not keep the isolation level, only the results)
    pages = sorted(p.name for p in Path("report/students").glob("*.html"))
    assert pages == sorted(p.name for p in Path("again/students").glob("*.html"))
    assert all(Path("again/students", name).read_text() == Path("report/students", name).read_text() for name in pages)
    assert invoke("grade", str(classroom), "--format", "html", *FAST).exit_code == 2  # needs -o FOLDER


def test_check_refuses_a_folder_of_several_students_with_a_hint(tmp_path):
    for student in ("ann", "bo"):
        (tmp_path / "class" / student).mkdir(parents=True)
        shutil.copy(CORPUS / "correct/student01_loops.py", tmp_path / "class" / student / "rnn.py")
    result = invoke("check", str(tmp_path / "class"))
    assert result.exit_code == 2 and "several folders of work" in result.stderr and "rnn-grader grade" in result.stderr


def test_a_sigterm_that_lands_in_a_finalizer_stops_the_command_just_after_it():
    """Raised inside a `__del__`, Python would print the exception and carry on: the stop is raised just after
    the finalizer instead, so the command still stops, with no traceback on stderr."""
    import signal
    import time

    from grader.cli import Terminated, stop_on_terminate

    class Finalized:
        def __del__(self):
            stop_on_terminate(signal.SIGTERM, sys._getframe())

    previous = signal.getsignal(signal.SIGALRM)
    unraisable: list = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        with pytest.raises(Terminated) as stopped:
            Finalized()  # dropped at once: its finalizer runs here
            time.sleep(1)
        assert stopped.value.code == 128 + signal.SIGTERM and not unraisable
    finally:
        sys.unraisablehook = hook
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
