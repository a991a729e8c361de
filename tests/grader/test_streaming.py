"""A class's results kept on disk and written a piece at a time make the very bytes the in-memory path makes.

`rnn-grader grade` keeps each result on disk as it is judged (grader/record/stored.py) and writes every format
from there; `grade()` keeps them in memory. The same class is graded once into a gradebook (the real sandbox),
then given back from it both ways: through the command line, and by `grade()` in this process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.judge.exercise_check import load_checked_exercise
from grader.pipeline import GradingOptions, grade
from grader.progress import batch_summary
from grader.record.gradebook import Gradebook
from grader.record.stored import StoredResults
from grader.report import FORMATS, FormatOptions, ending_in_newline, render_each
from grader.report.html import write_html
from grader.results import GradingResults, SubmissionResult
from grader.run.protocol import Limits

EXAMPLES = Path(__file__).parents[2] / "examples" / "submissions"
CORPUS = Path(__file__).parents[1] / "corpus"
TIMEOUT = "2"
ASSIGNMENT = "RNN homework (12)"  # canvas: every submission a row of its own, without a roster


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(the class's parent folder, the class as `grade()` gives it back from the gradebook, in memory)."""
    root = tmp_path_factory.mktemp("streaming")
    folder = root / "class"
    shutil.copytree(EXAMPLES, folder)  # code, a notebook, a folder, a write-up
    shutil.copy(CORPUS / "wrong/syntax_error.py", folder / "syntax.py")
    (folder / "empty.py").write_text("")  # rejected
    first = _invoke(root, "grade", "class", "--gradebook", "grades.sqlite", "--format", "csv", "-o", "first.csv")
    assert first.exit_code == 0, first.output
    options = GradingOptions(limits=Limits(timeout=float(TIMEOUT)), gradebook=Path("grades.sqlite"), resume=True)
    results = _in(root, lambda: grade([Path("class")], load_checked_exercise("rnn-bptt"), options))
    with Gradebook(root / "grades.sqlite") as gradebook:  # every result came back from it, none graded again
        assert sum(len(gradebook.history("rnn-bptt", sub.path)) for sub in results.submissions) == 8
    return root, results


def _in(folder: Path, work):
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return work()
    finally:
        os.chdir(cwd)


def _invoke(root: Path, *args: str):
    return _in(root, lambda: CliRunner().invoke(main, [*args, "--timeout", TIMEOUT], catch_exceptions=False))


def _resumed(root: Path, fmt: str, *extra: str):
    result = _invoke(root, "grade", "class", "--gradebook", "grades.sqlite", "--resume", "--format", fmt, *extra)
    assert result.exit_code == 0, result.output
    return result


def _in_memory(results: GradingResults, fmt: str) -> str:
    return FORMATS[fmt].render(results, FormatOptions(assignment=ASSIGNMENT))


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "junit", "canvas"])
def test_a_file_written_from_disk_is_the_in_memory_text(graded, fmt):
    root, results = graded
    _resumed(root, fmt, "-o", f"out.{fmt}", *(["--assignment", ASSIGNMENT] if fmt == "canvas" else []))
    assert (root / f"out.{fmt}").read_text(encoding="utf-8") == _in_memory(results, fmt)


def test_stdout_from_disk_is_the_in_memory_text(graded):
    root, results = graded
    result = _resumed(root, "table")
    assert result.stdout == _in_memory(results, "table").rstrip("\n") + "\n"
    summary = batch_summary(results)  # the rejected, and the parts awaiting review
    assert "rejected:" in summary[0] and "\n".join([*summary, "graded 8 submission(s)"]) in result.stderr


@pytest.mark.parametrize("fmt", ["gradescope", "github-classroom"])
def test_a_file_per_student_from_disk_is_the_in_memory_text(graded, fmt):
    root, results = graded
    _resumed(root, fmt, "-o", fmt)
    written = {path.stem: path.read_text(encoding="utf-8") for path in (root / fmt).iterdir()}
    assert written == render_each(fmt, results)


def test_html_from_disk_is_the_in_memory_report(graded):
    root, results = graded
    _resumed(root, "html", "-o", "report")
    write_html(results, root / "in-memory")
    assert len(_same_files(root / "report", root / "in-memory")) == 3 + 8  # the class page, 2 figures, 8 students


def test_the_report_command_reads_the_gradebook_a_submission_at_a_time(graded):
    root, _ = graded
    result = _in(root, lambda: CliRunner().invoke(main, ["report", "grades.sqlite", "-o", "from-book"]))
    assert result.exit_code == 0, result.output
    with Gradebook(root / "grades.sqlite") as book:
        in_memory = book.current()
        with book.current_stored() as store:
            assert list(store.results().submissions) == in_memory.submissions
    write_html(in_memory, root / "book-in-memory")
    assert len(_same_files(root / "from-book", root / "book-in-memory")) == 3 + 8


def _same_files(made: Path, expected: Path) -> list[Path]:
    """The files under `expected`, checked to be those under `made`, byte for byte."""
    names = sorted(path.relative_to(expected) for path in expected.rglob("*") if path.is_file())
    assert names == sorted(path.relative_to(made) for path in made.rglob("*") if path.is_file())
    for name in names:
        assert (made / name).read_bytes() == (expected / name).read_bytes(), name
    return names


# ----------------------------------------------------------------------------------- the store itself


def test_results_come_back_in_the_batch_order_whatever_order_they_were_kept_in(graded):
    _, results = graded
    subs = results.submissions
    with StoredResults(results.exercise) as store:
        for place in [3, 0, 7, 1, 6, 2, 5, 4]:  # runs end in any order; stored and write-up results come first
            store.add(place, subs[place])
        stored = store.results()
        assert list(stored.submissions) == subs
        assert (
            len(stored.submissions) == 8 and stored.submissions[-1] == subs[7] and stored.submissions[2:4] == subs[2:4]
        )
        for fmt in ("table", "json", "csv", "junit"):
            assert "".join(FORMATS[fmt].stream(stored)) == FORMATS[fmt].render(results), fmt


def test_a_store_reads_back_in_the_order_it_is_given():
    """As `merge` orders the shards' results by the class once all are read."""
    subs = [SubmissionResult(path=f"{n}.py", student=str(n), score=0, max_score=1, status="rejected") for n in range(3)]
    with StoredResults("rnn-bptt") as store:
        for place, sub in enumerate(subs):
            store.add(place, sub)
        store.arrange([2, 0, 1])
        assert list(store.results().submissions) == [subs[2], subs[0], subs[1]] and store.kept(1) == subs[1]
        with pytest.raises(ValueError):
            store.arrange([0, 1])  # a place left out


def test_a_name_no_encoding_can_write_survives_the_round_trip():
    name = "caf\udce9"  # a file name's undecodable byte, as Python reads it
    sub = SubmissionResult(path=f"class/{name}.py", student=name, score=1.5, max_score=2.0, status="graded")
    with StoredResults("rnn-bptt") as store:
        store.add(0, sub)
        assert store.results().submissions[0] == sub


def test_the_store_has_no_name_anyone_could_open_or_a_kill_could_leave():
    before = set(os.listdir(tempfile.gettempdir()))
    with StoredResults("rnn-bptt") as store:
        store.add(0, SubmissionResult(path="a.py", student="a", score=0, max_score=1, status="rejected"))
        target = os.readlink(f"/proc/self/fd/{store._file.fileno()}")
        assert target.endswith("(deleted)") or target.startswith("/proc")  # unlinked as it was made
        assert set(os.listdir(tempfile.gettempdir())) == before
        assert store.results().submissions[0].student == "a"


@pytest.mark.parametrize(
    "pieces, echoed, written",
    [
        (["a\n", "b\n"], "a\nb\n", "a\nb\n"),  # one line break at the end either way
        (["a", "b"], "ab\n", "ab\n"),  # text without one gets one
        (["a\n\n", "", "\n"], "a\n", "a\n\n\n"),  # echo strips them, a file keeps them
        (["a\n", "\n", "b"], "a\n\nb\n", "a\n\nb\n"),  # line breaks inside the text pass as they are
        ([], "\n", "\n"),  # nothing at all: one empty line, as `click.echo("")` and the file before
    ],
)
def test_the_text_ends_as_it_did_when_it_was_made_whole(pieces, echoed, written):
    assert "".join(ending_in_newline(pieces, only_one=True)) == echoed
    assert "".join(ending_in_newline(pieces, only_one=False)) == written


def test_a_submission_alone_is_judged_as_in_a_class(tmp_path):
    """Alone, a submission's write-up is read while its code runs; its result is the one it gets in a class."""
    notebook = next(EXAMPLES.glob("*.ipynb"))
    alone, klass = tmp_path / "alone", tmp_path / "class"
    for folder, copies in ((alone, 1), (klass, 2)):
        folder.mkdir()
        for n in range(copies):
            shutil.copy(notebook, folder / f"s{n}_{notebook.name}")
    exercise = load_checked_exercise("rnn-bptt")
    options = GradingOptions(limits=Limits(timeout=float(TIMEOUT)))
    by_itself = grade([alone], exercise, options).submissions[0]
    in_class = grade([klass], exercise, options).submissions[0]
    written = [q for q in by_itself.questions if q.id.startswith("derivation")]
    assert written and any(q.status != "missing" for q in written)  # the notebook's Markdown was read
    keys = {"seconds", "cpu_s", "wall_s", "path"}
    assert by_itself.model_dump(exclude=keys) == in_class.model_dump(exclude=keys)
