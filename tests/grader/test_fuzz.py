"""Fuzzing the readers of untrusted input: whatever a student hands in, the grader answers, and fast.

Each loader either returns what its contract promises or raises its one documented domain error
(ShapeParseError, AnswerFileError, NotebookError, ValueError across the sandbox boundary); a
submission never raises at all. Inputs are random text and bytes, and text built from the
fragments students actually write, so the strategies reach the parsers' deeper branches.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.read.answers import ANSWER_SUFFIXES, AnswerFileError, parse_answer_file
from grader.read.notebook import NotebookError, plain_python, read_notebook
from grader.run.client import UNREADABLE, Record, parse_records, read_records, records_later
from grader.run.protocol import (
    ALLOWED_DTYPES,
    MAX_RECORD_LINE,
    RawBytes,
    TooBig,
    Unsupported,
    decode_raw,
    record_bytes,
)
from grader.run.student import RawEncoder
from grader.read.shapes import ShapeParseError, parse_shape
from grader.read.submission import Submission, discover, read_submission
from grader.read.writeup import shapes_from_text

# Modest example counts keep the file to seconds; deadline=None because a loaded machine is no bug,
# while `fast()` below still fails any example that is slow by orders of magnitude.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOWEST = 2.0  # seconds for any one example; the inputs here take milliseconds


@contextmanager
def fast(seconds: float = SLOWEST):
    """Fail the example if the block takes longer than `seconds`: a hang shows up as a failure."""
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.2f} s"


def built_from(fragments: list[str], max_size: int = 40) -> st.SearchStrategy[str]:
    """Text glued from fragments, with some random characters mixed in."""
    return st.lists(st.sampled_from(fragments) | st.text(max_size=3), max_size=max_size).map("".join)


# Anything JSON-like, for wrong field types everywhere.
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)

# ---------------------------------------------------------------------------------------------
# grader/read/shapes.py: parse_shape

SHAPE_FRAGMENTS = [
    "7", "1", "10", "0", "-3", "7.5", "1e3", "9" * 400, "٣", " ", "x", "X", "×", "*", "·", "by", ",",
    "\\times", "\\cdot", "(", ")", "[", "]", "{", "}", "$", "$$", "\\[", "\\]", "\\boxed{", "\\left(",
    "\\right)", "\\mathbb{R}^{", "ℝ^", "R^", "shape", "the size is", ":", "=", "\\,", "\\quad", ".", "\n", "H",
]
SHAPE_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.from_regex(r"\s*[+-]?\d{1,20}\s*", fullmatch=True) | st.just("9" * 5000),
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple),
    max_leaves=10,
)


def assert_shape_or_error(answer: object) -> None:
    try:
        shape = parse_shape(answer)
    except ShapeParseError as exc:
        assert str(exc).startswith("could not read") and "\n" not in str(exc)
        return
    assert isinstance(shape, tuple) and shape
    assert all(type(size) is int and size > 0 for size in shape)


# Any text: a shape of positive ints or a one-line ShapeParseError, nothing else.
@FUZZ
@given(st.text() | built_from(SHAPE_FRAGMENTS))
def test_parse_shape_reads_any_text_or_says_why_not(text: str) -> None:
    with fast():
        assert_shape_or_error(text)


# Any Python value an answers file or SHAPES dict can hold, nested or not: the same contract.
@FUZZ
@given(SHAPE_VALUES | st.lists(st.integers(-5, 5)).map(np.array))
def test_parse_shape_reads_any_value_or_says_why_not(answer: object) -> None:
    with fast():
        assert_shape_or_error(answer)


# ---------------------------------------------------------------------------------------------
# grader/read/writeup.py: shapes_from_text

SYMBOLS = {
    "W_H": ["W_H", "W_{hh}"], "h_t": ["h_t"], "W_x": ["W_x"], "x_t": ["x_t"], "a_t": ["a_t"],
    "z_t": ["z_t"], "W_y": ["W_y"], "y_t": ["y_t", "\\hat{y}_t", "ŷ_t"], "E": ["E"],
}
WRITEUP_FRAGMENTS = [
    "$$", "$", "\\boxed{", "\\fbox{", "}", "{", "\\times", "\\cdot", "×", " x ", " by ", "7", "1", "10", "15",
    "0", "(7, 1)", "W_H", "W_{H}", "h_t", "h_{t-1}", "a_t", "x_t", "y_t", "\\hat{y}_t", "ŷ_t", "z_t", "E",
    "=", ":", ":=", "\\in", "∈", "\\mathbb{R}^{", "ℝ^", "(", ")", "[", "]", ",", "-", "\n", "\n\n", "|", "&",
    "\\\\", "\\[", "\\]", "\\begin{equation}", "\\end{equation}", "\\begin{align*}", "\\end{align*}",
    "\\text{", "\\mathbf{", "\\quad", " ", " is ", "the shape of ", "**", "*", "_", "^", "`", "%",
    "\\documentclass", "softmax", "\\tanh(", " and ", ".", ";", "→", "\\left(", "\\right)", "dim(",
    "'s shape", " matrix", "# ", "- ", "1. ", "\\hline", "e\u0301", "\\label{eq}", "\\hat ", "\\vec{",
]
SYMBOL_SPELLINGS = ["W_H", "h_t", "x", "E", "\\hat{y}_t", "\\mathbf{\\hat{y}}", "{", "\\", "", "W_{", "ŷ"]


# Any write-up, with the assignment's symbols or odd ones: a dict from listed symbols to text.
@FUZZ
@given(
    st.text(max_size=400) | built_from(WRITEUP_FRAGMENTS, max_size=80),
    st.just(SYMBOLS) | st.dictionaries(st.sampled_from(SYMBOL_SPELLINGS) | st.text(max_size=5),
                                       st.lists(st.sampled_from(SYMBOL_SPELLINGS), max_size=2), max_size=4),
)
def test_shapes_from_text_never_raises(text: str, symbols: dict[str, list[str]]) -> None:
    with fast():
        found = shapes_from_text(text, symbols)
    assert set(found) <= set(symbols) and all(isinstance(answer, str) for answer in found.values())
    for answer in found.values():  # what the grader does next with each answer
        assert_shape_or_error(answer)


# A 20,000-character write-up made of one short pattern repeated, the form regex blow-ups take:
# no quadratic pass (the worst cases found are rows in test_writeup.py; they took up to 9 s).
@settings(FUZZ, max_examples=60)
@given(built_from(WRITEUP_FRAGMENTS, max_size=12).filter(bool))
def test_shapes_from_text_is_fast_on_long_write_ups(pattern: str) -> None:
    text = (pattern * (20_000 // len(pattern) + 1))[:20_000]
    with fast():
        shapes_from_text(text, SYMBOLS)


# ---------------------------------------------------------------------------------------------
# grader/read/answers.py: parse_answer_file

ANSWER_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
ANSWER_DOCUMENTS = st.dictionaries(
    st.sampled_from(["shapes", "answers", "Shapes", "W_H", "a_t", "E"]) | st.text(max_size=8), ANSWER_VALUES,
    max_size=5,
)
ANSWER_FRAGMENTS = [
    ":", ": ", "- ", "[", "]", "{", "}", '"', "'", "\n", "  ", "\t", "&a ", "*a", "<<: ", "? ", "---\n",
    "...", "#", "=", "[[", "]]", "[shapes]\n", "\\u", "\\", "\x00", "\ufeff", "!!binary ", "!!set ",
    "!!timestamp 2001-13-45", "!!timestamp ", "!!bool ", "!!int ", "!!float ", "!!python/object:os.system ",
    "1e400", "9" * 5000, "0x", "nan", "inf", "2024-02-30", "[" * 3000, "{" * 3000, "a.b.c = 1\n", "&a [*a]",
    "x: &a [*a]\n",
]
DUMPERS = {
    ".json": json.dumps,
    ".yaml": lambda doc: yaml.safe_dump(doc, allow_unicode=True),
    ".yml": lambda doc: yaml.safe_dump(doc, default_flow_style=True),
    ".toml": lambda doc: "".join(f"{json.dumps(key)} = {json.dumps(value)}\n" for key, value in doc.items()),
}


@st.composite
def corrupted(draw: st.DrawFn, text: str) -> str:
    """`text` with a few insertions, deletions and doublings at random places."""
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "double"]))
        if edit == "insert":
            text = text[:at] + draw(st.sampled_from(ANSWER_FRAGMENTS) | st.text(max_size=3)) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        else:
            text = text[:at] + text[at : at + 40] + text[at:]
    return text


@st.composite
def answer_files(draw: st.DrawFn) -> tuple[str, str]:
    suffix = draw(st.sampled_from(ANSWER_SUFFIXES))
    return draw(corrupted(DUMPERS[suffix](draw(ANSWER_DOCUMENTS)))), suffix


def assert_answers_or_error(text: str, suffix: str) -> None:
    try:
        answers = parse_answer_file(text, suffix)
    except AnswerFileError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(answers, dict) and all(isinstance(key, str) for key in answers)


# Any text in any answer format: a dict with str keys or AnswerFileError.
@FUZZ
@given(st.text() | built_from(ANSWER_FRAGMENTS), st.sampled_from(ANSWER_SUFFIXES))
def test_parse_answer_file_reads_any_text_or_says_why_not(text: str, suffix: str) -> None:
    with fast():
        assert_answers_or_error(text, suffix)


# Real answer files, dumped by the format's own writer and then damaged: the same contract.
@FUZZ
@given(answer_files())
def test_parse_answer_file_reads_damaged_files_or_says_why_not(file: tuple[str, str]) -> None:
    with fast():
        assert_answers_or_error(*file)


# An undamaged JSON file of plain answers is read exactly as written.
@FUZZ
@given(st.dictionaries(st.text(max_size=8).filter(lambda key: key.lower() not in ("shapes", "answers")),
                       ANSWER_VALUES, max_size=5))
def test_parse_answer_file_reads_valid_json_exactly(document: dict) -> None:
    assert parse_answer_file(json.dumps(document), ".json") == document


@pytest.mark.parametrize(
    "text, reason",
    [
        ("W_H: &a [*a]\n", "aliases"),  # a list inside itself, which later code recursed into forever
        ("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n", "aliases"),  # laughs
        ("W_H: " + "[" * 40 + "]" * 40 + "\n", "nested more than"),  # nesting no answer needs
        ("{" * 5000 + "a: 1" + "}" * 5000, "nested more than"),  # refused early: PyYAML took minutes on it
        ("W_H: !!timestamp x\n", "cannot parse YAML"),  # PyYAML raised AttributeError on a bad tagged value
        ("W_H: !!bool x\n", "cannot parse YAML"),  # ... KeyError
        ("W_H: !!int\n", "cannot parse YAML"),  # ... IndexError
    ],
    ids=["alias-loop", "billion-laughs", "deep", "deep-flow", "bad-timestamp", "bad-bool", "empty-int"],
)
def test_yaml_that_cannot_be_an_answer_is_refused(text: str, reason: str) -> None:
    with fast():
        with pytest.raises(AnswerFileError, match=reason):
            parse_answer_file(text, ".yaml")


# ---------------------------------------------------------------------------------------------
# grader/read/notebook.py: read_notebook and plain_python

SOURCES = (
    st.text(max_size=60) | st.lists(st.text(max_size=20), max_size=4) | JUNK
    | st.sampled_from(["x = 1\n" * 20_000, "%%time\nx = 1", "!ls\n%matplotlib inline", ["%%bash\n", "ls"]])
)
CELL_TYPES = st.sampled_from(["code", "markdown", "raw", "heading"]) | JUNK
CELLS = st.fixed_dictionaries(
    {}, optional={"cell_type": CELL_TYPES, "source": SOURCES, "input": SOURCES, "metadata": st.just({}) | JUNK,
                  "outputs": st.just([]) | JUNK, "execution_count": st.none() | JUNK, "id": st.text(max_size=8)},
)


@st.composite
def almost_notebooks(draw: st.DrawFn) -> str:
    """Notebook JSON of nbformat 3, 4 or 5 with keys missing, wrong types and odd versions."""
    cells = draw(st.lists(CELLS | JUNK, max_size=4) | JUNK)
    version = draw(st.sampled_from([3, 4, 5]) | JUNK)
    body = {"worksheets": draw(st.just([{"cells": cells}]) | JUNK)} if version == 3 else {"cells": cells}
    document = {"nbformat": version, "nbformat_minor": draw(st.integers(-1, 6) | JUNK),
                "metadata": draw(st.just({}) | JUNK), **body}
    dropped = draw(st.sets(st.sampled_from(sorted(document))))
    return json.dumps({key: value for key, value in document.items() if key not in dropped})


def real_notebook(cells: list[tuple[str, str]]) -> str:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
                      for kind, source in cells]
    return nbformat.writes(notebook)


# Any text, or JSON that is almost a notebook: (code, markdown) lists of str, or NotebookError.
@FUZZ
@given(st.text() | almost_notebooks())
def test_read_notebook_reads_anything_or_says_why_not(text: str) -> None:
    with fast():
        try:
            code, markdown = read_notebook(text)
        except NotebookError as exc:
            assert str(exc).startswith("not a valid notebook")
            return
    assert all(isinstance(cell, str) for cell in code + markdown)


# A real notebook keeps every code and Markdown cell, in order.
@settings(FUZZ, max_examples=50)
@given(st.lists(st.tuples(st.sampled_from(["code", "markdown"]), st.text(max_size=40)), max_size=5))
def test_read_notebook_keeps_every_cell(cells: list[tuple[str, str]]) -> None:
    code, markdown = read_notebook(real_notebook(cells))
    assert len(code) == sum(kind == "code" for kind, _ in cells)
    assert markdown == [source for kind, source in cells if kind == "markdown"]


PYTHON_FRAGMENTS = ["%", "%%", "%%time", "%%bash", "!", "?", "??", "=", " = !", "x", "np.dot", "\n", "    ",
                    "\t", "(", ")", "#", "10 % 3", "files", "\r\n", "\x0c", "\u2028"]


def python_lines(source: str) -> list[str]:
    """Lines as Python counts them: \n, \r\n and \r end one; \x0c or \u2028 do not."""
    return re.split(r"\r\n?|\n", source)


# plain_python never raises and never adds a line (a cell magic's header goes, and a non-Python body),
# and a line it leaves alone stays byte for byte what the student wrote.
@FUZZ
@given(st.text() | built_from(PYTHON_FRAGMENTS))
def test_plain_python_never_raises_or_adds_lines(source: str) -> None:
    with fast():
        plain = plain_python(source)
    assert isinstance(plain, str) and len(python_lines(plain)) <= len(python_lines(source))
    kept = [line for line in python_lines(plain) if line.strip() not in ("pass", "") and not line.endswith("= None")]
    assert all(line in python_lines(source) for line in kept)


# ---------------------------------------------------------------------------------------------
# grader/read/submission.py: read_submission

SUFFIXES = [".py", ".ipynb", ".md", ".tex", ".txt", ".yaml", ".yml", ".json", ".toml", ".docx", "", ".PY", ".Md"]
FILE_NAMES = st.builds(
    lambda stem, suffix: stem + suffix,
    st.text(st.characters(exclude_characters="/\\\x00", exclude_categories=["Cs"]), min_size=1, max_size=10),
    st.sampled_from(SUFFIXES),
).filter(lambda name: name not in (".", "..") and len(name.encode()) < 200)
CONTENTS = st.one_of(
    st.binary(max_size=300),
    st.just(b""),
    st.text(max_size=200).map(str.encode),
    st.binary(max_size=50).map(lambda data: b"x = 1\n\x00" + data),  # a NUL byte
    st.text(max_size=50).map(lambda text: ("caf\xe9 " + text).encode("latin-1", "replace")),  # not UTF-8
    st.text(max_size=50).map(lambda text: ("\ufeff" + text).encode()),  # a byte order mark
    almost_notebooks().map(str.encode),
    st.just(real_notebook([("code", "x = 1"), ("markdown", "$$W_H = 7 \\times 7$$")]).encode()),
    answer_files().map(lambda file: file[0].encode()),
)
FOLDERS = st.lists(st.tuples(st.sampled_from(["", "sub", "sub/deeper", ".hidden", "__pycache__"]), FILE_NAMES,
                             CONTENTS), max_size=6)


def assert_usable_or_rejected(submission: Submission) -> None:
    assert isinstance(submission, Submission)
    if submission.rejected is not None:
        assert isinstance(submission.rejected, str) and submission.rejected.strip()
    else:
        assert submission.units or submission.answers or submission.writeup.strip()


# One file of random bytes under a random name: graded or rejected with a reason, never an exception.
@FUZZ
@given(FILE_NAMES, CONTENTS)
def test_read_submission_of_any_file(name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        with fast():
            assert_usable_or_rejected(read_submission(path, str(path)))


# A class folder of such files, alone and in subfolders: every entry graded or rejected with a reason.
@settings(FUZZ, max_examples=100)
@given(FOLDERS)
def test_discover_a_folder_of_any_files(entries: list[tuple[str, str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "class"
        root.mkdir()
        for folder, name, content in entries:
            with suppress(OSError):  # a name already taken by a file or a folder
                (root / folder).mkdir(parents=True, exist_ok=True)
                (root / folder / name).write_bytes(content)
        with fast():
            submissions = [*discover([root]), read_submission(root, str(root))]
        for submission in submissions:
            assert_usable_or_rejected(submission)


# ---------------------------------------------------------------------------------------------
# grader/run/protocol.py and client.py: what comes back from the sandbox

MAX_ELEMENTS = 64
DTYPES = st.sampled_from([*sorted(ALLOWED_DTYPES), "object", "complex128", "<f8", "V8", "str", ""]) | JUNK
SHAPES = (
    st.lists(st.integers(-2, 9) | st.sampled_from([2**31, 2**63, 2**64, 2**70, -(2**63)]), max_size=6)
    | st.lists(st.just(1), min_size=30, max_size=70)
    | JUNK
)
ARRAYS = st.fixed_dictionaries({"t": st.just("array")}, optional={"dtype": DTYPES, "shape": SHAPES})
NODES = st.fixed_dictionaries(
    {"t": st.sampled_from(["none", "text", "array", "seq", "map", "too-big", "unsupported", "bogus"]) | JUNK},
    optional={"v": JUNK, "items": JUNK, "shape": SHAPES, "type": JUNK, "dtype": DTYPES},
)
RAW = st.binary(max_size=300)  # the bytes after a record's line, which its arrays take theirs from
TREES = st.recursive(
    ARRAYS | NODES | JUNK,
    lambda inner: st.builds(lambda items: {"t": "seq", "items": items}, st.lists(inner, max_size=3))
    | st.builds(lambda pairs: {"t": "map", "items": pairs}, st.lists(st.tuples(JUNK, inner).map(list), max_size=3)),
    max_leaves=8,
)


def assert_decoded(value: object) -> None:
    """Only the kinds decode_raw promises, and no array over the size limit."""
    if isinstance(value, list):
        for item in value:
            assert_decoded(item)
    elif isinstance(value, dict):
        assert all(isinstance(key, str) for key in value)
        for item in value.values():
            assert_decoded(item)
    elif isinstance(value, np.ndarray):
        assert value.size <= MAX_ELEMENTS and value.dtype.name in ALLOWED_DTYPES
    elif isinstance(value, TooBig):
        assert all(type(size) is int and size >= 0 for size in value.shape)
    else:
        assert value is None or isinstance(value, (str, Unsupported))


# Any JSON-like tree over any bytes: decoded into the promised kinds, or ValueError (what client._parsed catches).
@FUZZ
@given(TREES, RAW)
def test_decode_raw_decodes_any_tree_or_raises_value_error(tree: object, raw: bytes) -> None:
    with fast():
        try:
            value = decode_raw(tree, MAX_ELEMENTS, RawBytes(raw, 0))
        except ValueError:
            return
    assert_decoded(value)


@pytest.mark.parametrize(
    "tree",
    [
        {"t": "array", "dtype": ["float64"], "shape": [1], "data": "AA=="},  # TypeError: unhashable dtype
        {"t": "array", "dtype": "int8", "shape": [float("inf")], "data": ""},  # OverflowError from int()
        {"t": "array", "dtype": "int8", "shape": [2**70], "data": ""},  # OverflowError in np.prod
        {"t": "array", "dtype": "int8", "shape": 5, "data": ""},  # TypeError: a shape that is no list
        {"t": "array", "dtype": "int8", "shape": [1]},  # KeyError: no data
        {"t": "array", "dtype": "int8", "shape": [1], "data": 5},  # TypeError: data that is no text
        {"t": "seq", "items": 5},  # TypeError: items that are no list
        {"t": "map", "items": [5]},  # TypeError: a pair that is no pair
        {"t": "too-big", "shape": [None]},  # TypeError from int()
    ],
    ids=["dtype-list", "shape-inf", "shape-huge", "shape-int", "no-data", "data-int", "seq-int", "map-int",
         "too-big-none"],
)
def test_malformed_trees_raise_value_error(tree: dict) -> None:
    # these escaped client._parsed (which catches ValueError, TypeError, KeyError, AttributeError,
    # RecursionError; OverflowError got past it and ended the grading run)
    with pytest.raises(ValueError):
        decode_raw(tree, MAX_ELEMENTS, RawBytes(b"", 0))


def test_an_empty_dimension_does_not_excuse_a_huge_one() -> None:
    # (0, 2**62) is an empty array numpy would happily make; refused like any oversized shape
    with pytest.raises(ValueError, match="larger than allowed"):
        decode_raw({"t": "array", "dtype": "int8", "shape": [0, 2**62]}, MAX_ELEMENTS, RawBytes(b"", 0))


@pytest.mark.parametrize("shape", [[1] * 65, [10**30], [2**63], [4_000_000] * 2_000_000],
                         ids=["65-dimensions", "a-30-digit-size", "past-intp", "two-million-dimensions"])
def test_a_shape_no_array_could_have_is_refused_before_its_size_is_worked_out(shape: list[int]) -> None:
    # student code can write its own records: a product of two million large sizes would take the grader an hour
    with fast(0.5), pytest.raises(ValueError, match="malformed shape"):
        decode_raw({"t": "array", "dtype": "int8", "shape": shape}, MAX_ELEMENTS, RawBytes(b"", 0))
    with pytest.raises(ValueError, match="malformed shape"):
        decode_raw({"t": "too-big", "shape": shape}, MAX_ELEMENTS, RawBytes(b"", 0))


def test_an_empty_array_the_grader_would_refuse_is_sent_as_too_big_and_the_rest_still_comes_back() -> None:
    # the sandbox counts sizes as the grader does: (0, 100) is over the limit of 64, not 0 elements
    tree, arrays = RawEncoder(MAX_ELEMENTS).encode([np.zeros((0, 100)), np.ones(2)])
    data = record_bytes({"value": tree}, arrays) + record_bytes({"value": {"t": "none"}}, [])
    first, second = parse_records(data, MAX_ELEMENTS)
    assert first.value[0] == TooBig((0, 100)) and first.value[1].tolist() == [1.0, 1.0]
    assert second.error is None and second.value is None


def test_records_of_one_line_read_once_each_get_their_own_bytes_and_the_size_limit_they_were_read_at() -> None:
    # a line's reading is remembered (a class writes the same few lines thousands of times): never its values
    tree, arrays = RawEncoder(MAX_ELEMENTS).encode({"h": [np.arange(3.0), np.ones((2, 2))], "n": None})
    first_file = record_bytes({"value": tree}, arrays)
    second_file = record_bytes({"value": tree}, [arrays[0] * 10, arrays[1] * 7])
    [first] = parse_records(first_file, MAX_ELEMENTS)
    [second] = parse_records(second_file, MAX_ELEMENTS)
    first.value["h"][0][0] = 99.0
    assert second.value["h"][0].tolist() == [0.0, 10.0, 20.0] and second.value["h"][1].tolist() == [[7.0] * 2] * 2
    assert first.value["h"][1].tolist() == [[1.0] * 2] * 2 and first.value["n"] is None
    assert parse_records(first_file[:-8], MAX_ELEMENTS) == [Record(error=UNREADABLE)]  # its bytes cut short
    assert parse_records(first_file, 3) == [Record(error=UNREADABLE)]  # (2, 2) is over a limit of 3 elements
    assert parse_records(first_file, MAX_ELEMENTS)[0].value["h"][0].tolist() == [0.0, 1.0, 2.0]


def test_a_record_line_longer_than_the_sandbox_writes_is_not_parsed_and_a_value_that_long_is_sent_unsupported():
    with fast(0.5):
        assert parse_records(b"[" * (MAX_RECORD_LINE + 1) + b"\n", MAX_ELEMENTS) == [Record(error=UNREADABLE)]
    tree, arrays = RawEncoder(MAX_ELEMENTS).encode([[0.0] * 10_000] * 10)  # 100,000 numbers: a line of 4.8 MB
    [record] = parse_records(record_bytes({"value": tree}, arrays), MAX_ELEMENTS)
    assert record.value == Unsupported("value too large to describe")


def test_an_array_takes_exactly_its_bytes_and_no_more_than_there_are() -> None:
    raw = RawBytes(np.arange(5, dtype=np.int16).tobytes() + b"rest", 0)
    array = decode_raw({"t": "array", "dtype": "int16", "shape": [2, 2]}, MAX_ELEMENTS, raw)
    assert array.tolist() == [[0, 1], [2, 3]] and array.flags.writeable and raw.at == 8
    with pytest.raises(ValueError, match="ended inside an array"):
        decode_raw({"t": "array", "dtype": "float64", "shape": [1]}, MAX_ELEMENTS, raw)


# A well-formed array survives the trip through the boundary exactly.
ANY_ARRAYS = hnp.arrays(st.sampled_from(sorted(ALLOWED_DTYPES)).map(np.dtype), hnp.array_shapes(min_dims=0, max_side=4))
SWAPPED_ARRAYS = ANY_ARRAYS.map(lambda array: array.astype(array.dtype.newbyteorder("S")))  # the other byte order
VALUES = st.recursive(
    ANY_ARRAYS | SWAPPED_ARRAYS | st.none() | st.text(max_size=8) | st.floats() | st.integers(-(2**63), 2**63 - 1),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=6,
)


def assert_same(decoded: object, value: object) -> None:
    """What came back is the value sent: arrays of the same dtype, shape and elements; numbers as 0-d arrays."""
    if isinstance(value, (list, tuple)):
        assert isinstance(decoded, list) and len(decoded) == len(value)
        for got, sent in zip(decoded, value):
            assert_same(got, sent)
    elif isinstance(value, (np.ndarray, int, float)):
        sent = np.asarray(value)
        assert isinstance(decoded, np.ndarray) and decoded.dtype.name == sent.dtype.name and decoded.shape == sent.shape
        assert np.array_equal(decoded, sent, equal_nan=sent.dtype.kind == "f")
    else:
        assert decoded == value


# Well-formed records survive the trip through the boundary exactly, whatever follows them in the file.
@settings(FUZZ, max_examples=80)
@given(st.lists(VALUES, max_size=4), RAW)
def test_records_round_trip_and_whatever_follows_them_does_not_change_them(values: list, tail: bytes) -> None:
    encoder = RawEncoder(MAX_ELEMENTS)
    data = b"".join(record_bytes({"value": tree}, arrays) for tree, arrays in map(encoder.encode, values))
    with fast():
        records = parse_records(data + tail, MAX_ELEMENTS)
    assert len(records) >= len(values)
    for record, value in zip(records, values):
        assert record.error is None and not record.missing
        assert_same(record.value, value)


RECORD_LINES = st.one_of(
    st.binary(max_size=80).filter(lambda line: b"\n" not in line),
    TREES.map(lambda tree: json.dumps({"value": tree}).encode()),
    st.fixed_dictionaries({}, optional={"missing": JUNK, "error": JUNK, "value": TREES}).map(
        lambda record: json.dumps(record).encode()),
    JUNK.map(lambda junk: json.dumps(junk).encode()),
    st.just(b"[" * 100_000),
)


# A records file of random lines and bytes: Records, at most one per non-blank line, never an exception.
@FUZZ
@given(st.lists(RECORD_LINES | RAW, max_size=5))
def test_read_records_reads_any_file(lines: list[bytes]) -> None:
    data = b"\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "0.rec"
        path.write_bytes(data)
        with fast():
            records = read_records(path, MAX_ELEMENTS)
    assert all(isinstance(record, Record) for record in records)
    assert len(records) <= sum(1 for line in data.split(b"\n") if line.strip())


def test_records_read_later_are_the_files_bytes_as_they_were_when_the_job_was_collected(tmp_path: Path) -> None:
    # a job's folder is removed once it is collected; an item's records may be parsed only when judged, later
    tree, arrays = RawEncoder(MAX_ELEMENTS).encode([np.arange(6.0).reshape(2, 3), "text"])
    path = tmp_path / "0.rec"
    path.write_bytes(record_bytes({"value": tree}, arrays) + b'{"error": "ValueError: no"}\n')
    now = read_records(path, MAX_ELEMENTS)
    later = records_later(path, MAX_ELEMENTS)
    path.write_bytes(b'{"value": {"t": "none"}}\n')  # what student code left running might write next
    path.unlink()
    [value, error] = later()
    assert value.value[0].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and value.value[1] == "text"
    assert error == now[1] == Record(error="ValueError: no") and str(now[0]) == str(value)
    assert records_later(tmp_path / "never-written.rec", MAX_ELEMENTS)() == []


def test_read_records_does_not_wait_on_a_fifo(tmp_path: Path) -> None:
    # student code runs in the box before its records are written, so it can leave a FIFO at
    # out/<item>.rec; the grader would then wait forever, outside every sandbox time limit
    path = tmp_path / "0.rec"
    os.mkfifo(path)
    reader = threading.Thread(target=read_records, args=(path, MAX_ELEMENTS), daemon=True)
    reader.start()
    reader.join(1.0)
    waited = reader.is_alive()
    if waited:  # let the stuck reader go: a writer that closes at once gives it end-of-file
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5.0)
    assert not waited
