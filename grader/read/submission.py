"""Finding and reading submissions: what code to run, which answers and write-ups a student gave.

Reads files as untrusted data and never runs them. A file that cannot be used becomes a
`rejected` submission with a reason, or a note when the rest of a folder is still usable.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.read import CODE_SUFFIXES, MAX_FILE_BYTES
from grader.read.answers import ANSWER_SUFFIXES, AnswerFileError, parse_answer_file
from grader.read.notebook import NotebookError, read_notebook
from grader.read.units import Unit

KIT_FILE = "kit.json"  # marks a student's self-check kit (grader/selfcheck/kit.py), never part of their work
WRITEUP_SUFFIXES = (".md", ".markdown", ".tex", ".txt")
READ_SUFFIXES = CODE_SUFFIXES + ANSWER_SUFFIXES + WRITEUP_SUFFIXES
IGNORED_NAMES = {"__pycache__", ".ipynb_checkpoints", ".git", ".DS_Store", "__MACOSX", "Thumbs.db"}
MAX_COPY_BYTES = 64 * 1024 * 1024  # copied as data the code may open
MAX_FILES = 200


class SubmissionRejected(Exception):
    """A submission that cannot be graded at all; the message says why, for the student."""


@dataclass
class Submission:
    """One student's work, read but not run."""

    student: str
    path: str
    files: list[tuple[Path, str]] = field(default_factory=list)  # every file: copied into the sandbox
    units: list[Unit] = field(default_factory=list)  # code to load, in order
    answers: dict[str, Any] = field(default_factory=dict)  # from answer files
    writeup: str = ""  # Markdown/LaTeX text: write-up files and notebook Markdown cells
    notes: list[str] = field(default_factory=list)
    rejected: str | None = None
    test_units: list[Unit] = field(default_factory=list)  # test files: loaded only when nothing else is code


def discover(paths: list[Path], *, single: bool = False) -> list[Submission]:
    """Every submission under the given paths: a file is one, a folder is a class (or one, if `single`)."""
    submissions: list[Submission] = []
    for path in paths:
        if path.is_file() or single:
            submissions.append(read_submission(path, str(path)))
            continue
        for entry in sorted(path.iterdir()):
            if _is_ignored(entry):
                continue
            submissions.append(read_submission(entry, str(entry), container=path))
    return _distinct_students(submissions)


def _distinct_students(submissions: list[Submission]) -> list[Submission]:
    """alice.py and alice.md are two submissions: name both by their file, so no two rows look alike."""
    counts = Counter(submission.student for submission in submissions)
    for submission in submissions:
        if counts[submission.student] > 1:
            submission.student = Path(submission.path).name
    return submissions


def _is_ignored(entry: Path) -> bool:
    return entry.name in IGNORED_NAMES or entry.name.startswith(".") or (entry / KIT_FILE).is_file()


def student_name(path: Path) -> str:
    return path.stem if path.is_file() or path.suffix in READ_SUFFIXES else path.name


def read_submission(path: Path, shown_path: str, container: Path | None = None) -> Submission:
    """One submission from a file or a folder; problems become a rejection, never an exception."""
    submission = Submission(student=student_name(path), path=shown_path)
    try:
        _check_inside(path, container)
        files = _files_of(path)
        submission.files = [(file, name) for file, name in files if file.stat().st_size <= MAX_COPY_BYTES]
        submission.notes += [
            f"{name} was left out: files over 64 MB are not copied for the code to read"
            for file, name in files
            if file.stat().st_size > MAX_COPY_BYTES
        ]
        for file, name in files:
            _read_file(file, name, submission, single_file=path.is_file())
        submission.units = submission.units or submission.test_units
        if not (submission.units or submission.answers or submission.writeup.strip()):
            raise SubmissionRejected(_nothing_usable(files, submission.notes))
    except SubmissionRejected as exc:
        submission.rejected = str(exc)
    return submission


def _check_inside(path: Path, container: Path | None) -> None:
    if not path.exists():  # also a link to nowhere, or a loop of links that resolve() would raise on
        raise SubmissionRejected("no such file")
    if path.is_symlink() and container is not None:
        if container.resolve() not in path.resolve().parents:
            raise SubmissionRejected("a link pointing outside the submissions folder is not a submission")


def _files_of(path: Path) -> list[tuple[Path, str]]:
    """(file, name relative to the submission) for every file, skipping links that leave the folder."""
    if path.is_file():
        if path.suffix.lower() not in READ_SUFFIXES:
            raise SubmissionRejected(_unsupported(path))
        return [(path, path.name)]
    root = path.resolve()
    files = []
    kits = [kit.parent for kit in path.rglob(KIT_FILE)]
    for file in sorted(path.rglob("*")):
        if any(part in IGNORED_NAMES or part.startswith(".") for part in file.relative_to(path).parts):
            continue
        if any(kit in file.parents for kit in kits):  # a self-check kit beside the work is not the work
            continue
        if file.is_file() and root in file.resolve().parents:
            files.append((file, file.relative_to(path).as_posix()))
    if len(files) > MAX_FILES:
        raise SubmissionRejected(f"the folder holds {len(files)} files; at most {MAX_FILES} are read")
    return files


def _unsupported(path: Path) -> str:
    kinds = ", ".join(READ_SUFFIXES)
    return f"{path.suffix or 'a file without extension'} files are not read; submit one of {kinds}"


def _nothing_usable(files: list[tuple[Path, str]], notes: list[str]) -> str:
    if not files:
        return "the submission is empty"
    if notes:
        return "; ".join(notes)
    return "nothing in the submission could be read as code, answers or a write-up"


def _read_file(file: Path, name: str, submission: Submission, single_file: bool) -> None:
    suffix = file.suffix.lower()
    if suffix not in READ_SUFFIXES:
        return  # data the student's code may open: copied into the sandbox, not read here
    try:
        _take(_read_text(file, name), file, name, suffix, submission)
    except SubmissionRejected as exc:
        if single_file:
            raise
        submission.notes.append(str(exc))


def _read_text(file: Path, name: str) -> str:
    size = file.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SubmissionRejected(f"{name} is {size // 1024 // 1024} MB; files over 8 MB are not read")
    if size == 0:
        raise SubmissionRejected(f"{name} is empty")
    data = file.read_bytes()
    if b"\x00" in data:
        raise SubmissionRejected(f"{name} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionRejected(f"{name} is not UTF-8 text (byte {exc.start} cannot be read)") from None


def _is_test_file(name: str) -> bool:
    """Test files beside the work (pytest self-checks) are kept as files but never loaded as the answer."""
    stem = Path(name).stem
    return stem == "conftest" or stem.startswith("test_") or stem.endswith("_test")


PYTHON2_NAMES = {"xrange", "raw_input", "unichr", "basestring", "execfile", "reduce", "unicode"}
PYTHON2_METHODS = {"iteritems", "itervalues", "iterkeys", "has_key"}
PYTHON2_SYNTAX = {
    "Missing parentheses in call to 'print'": "a print statement",
    "Missing parentheses in call to 'exec'": "an exec statement",
    "multiple exception types must be parenthesized": "`except E, e:`",
}


# Without one of these words or statements a file cannot be Python 2 only, and most files skip the parse below.
# The words are plain substring searches, the statements patterns that begin with their keyword (a superset of
# what Python 2 needs: parsing decides); one pattern of them all, tried at every character, took a millisecond
# and more a file.
PYTHON2_WORDS = tuple(sorted(PYTHON2_NAMES | PYTHON2_METHODS))
PYTHON2_STATEMENTS = tuple(re.compile(p) for p in (r"print[ \t]+[^\s(=,)]", r"exec[ \t]+[^\s(=,)]", r"except[^:\n]*,"))


def _may_be_python2(text: str) -> bool:
    return any(word in text for word in PYTHON2_WORDS) or any(p.search(text) for p in PYTHON2_STATEMENTS)


def python2_reason(text: str, name: str) -> str | None:
    """Why a file is Python 2 only, or None; read as text (parsed, never run)."""
    if not _may_be_python2(text):
        return None
    try:
        tree = ast.parse(text, name)
    except SyntaxError as exc:
        hint = next((what for marker, what in PYTHON2_SYNTAX.items() if marker in str(exc.msg)), None)
        return f"{name} is Python 2 code ({hint} at line {exc.lineno})" if hint else None
    except (ValueError, RecursionError, MemoryError):
        return None
    defined: set[str] = set()
    used: list[ast.Name | ast.Attribute] = []
    for node in ast.walk(tree):  # one pass: what the file defines, and the old names it reads
        defined |= _names_defined(node)
        if isinstance(node, ast.Name) and node.id in PYTHON2_NAMES and isinstance(node.ctx, ast.Load):
            used.append(node)
        elif isinstance(node, ast.Attribute) and node.attr in PYTHON2_METHODS and isinstance(node.ctx, ast.Load):
            used.append(node)
    for node in used:
        if isinstance(node, ast.Attribute):
            return f"{name} is Python 2 code (.{node.attr}() at line {node.lineno} does not exist in Python 3)"
        if node.id not in defined:
            return f"{name} is Python 2 code ({node.id} at line {node.lineno} does not exist in Python 3)"
    return None


def _names_defined(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        return {node.id}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name for alias in node.names}
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.arg):
        return {node.arg}
    return set()


def _take(text: str, file: Path, name: str, suffix: str, submission: Submission) -> None:
    if suffix == ".py" and (reason := python2_reason(text, name)):
        raise SubmissionRejected(
            f"{reason}; the grader runs Python 3: port it (print(...), range, ...) and submit again"
        )
    if suffix == ".py" and _is_test_file(name):
        submission.test_units.append(Unit(kind="module", label=name, path=name))
    elif suffix == ".py":
        submission.units.append(Unit(kind="module", label=name, path=name))
    elif suffix == ".ipynb":
        _take_notebook(text, name, submission)
    elif suffix in ANSWER_SUFFIXES:
        _take_answers(text, name, suffix, submission)
    else:
        submission.writeup = _joined(submission.writeup, text)


def _take_notebook(text: str, name: str, submission: Submission) -> None:
    try:
        code_cells, markdown_cells = read_notebook(text)
    except NotebookError as exc:
        raise SubmissionRejected(f"{name} is {exc}") from None
    for number, cell in enumerate(code_cells, start=1):
        if reason := python2_reason(cell, f"{name}, cell {number}"):
            raise SubmissionRejected(
                f"{reason}; the grader runs Python 3: port it (print(...), range, ...) and submit again"
            )
    submission.units.append(Unit(kind="cells", label=name, cells=code_cells))
    submission.writeup = _joined(submission.writeup, "\n\n".join(markdown_cells))


def _joined(writeup: str, text: str) -> str:
    """A write-up's texts one after the other; the first starts the write-up (its lines keep their numbers)."""
    return f"{writeup}\n\n{text}" if writeup else text


def _take_answers(text: str, name: str, suffix: str, submission: Submission) -> None:
    try:
        submission.answers.update(parse_answer_file(text, suffix))
    except AnswerFileError as exc:
        raise SubmissionRejected(f"{name} was not read: {exc}") from None
