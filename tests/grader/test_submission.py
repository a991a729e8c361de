"""Finding and reading submissions from real files: what is code, answers, write-up, or rejected."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import nbformat
import pytest

from grader.read.notebook import NotebookError, plain_python, read_notebook
from grader.read.submission import discover, python2_reason, read_submission


def notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
                for kind, src in cells]
    nbformat.write(nb, path)
    return path


def test_a_folder_is_a_class_of_files_and_folders(tmp_path):
    (tmp_path / "ann.py").write_text("def f(): pass\n")
    (tmp_path / "bo").mkdir()
    (tmp_path / "bo" / "rnn.py").write_text("def f(): pass\n")
    (tmp_path / "bo" / "answers.yaml").write_text("shapes:\n  W_H: 7x7\n")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "__pycache__").mkdir()
    subs = discover([tmp_path])
    assert [(s.student, s.path) for s in subs] == [("ann", str(tmp_path / "ann.py")), ("bo", str(tmp_path / "bo"))]
    assert subs[1].answers == {"W_H": "7x7"} and [u.label for u in subs[1].units] == ["rnn.py"]


def test_single_grades_a_folder_as_one_submission(tmp_path):
    (tmp_path / "rnn.py").write_text("def f(): pass\n")
    (tmp_path / "notes.md").write_text("$$W_H = 7 \\times 7$$")
    [sub] = discover([tmp_path], single=True)
    assert sub.student == tmp_path.name and "W_H" in sub.writeup


def test_notebook_code_and_markdown_are_separated(tmp_path):
    path = notebook(tmp_path / "hw.ipynb", [("markdown", "$$a_t : \\boxed{7 \\times 1}$$"),
                                            ("code", "%matplotlib inline\nimport numpy as np"),
                                            ("code", "%%bash\necho hi"), ("code", "x = 1")])
    sub = read_submission(path, str(path))
    [unit] = sub.units
    assert unit.cells == ["pass\nimport numpy as np", "", "x = 1"]
    assert "boxed" in sub.writeup


def _as_nbformat_reads_it(text: str) -> tuple[list[str], list[str]]:
    """Code and Markdown cells as nbformat's own reading gives them (what the grader read before)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat's own complaints of the file it reads
        read = nbformat.reads(text, as_version=4)
    cells = [(c.cell_type, "".join(c.source) if isinstance(c.source, list) else c.source) for c in read.cells]
    return [plain_python(s) for kind, s in cells if kind == "code"], [s for kind, s in cells if kind == "markdown"]


def test_a_format_4_notebook_reads_as_nbformat_reads_it_lists_of_lines_and_stray_metadata_included(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Task 1\n$$h_t : 7 \\times 1$$"),
                nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
                nbformat.v4.new_raw_cell("raw text, neither code nor prose"),
                nbformat.v4.new_code_cell("def f(x):\n    return 2 * x\n")]
    saved = json.loads(nbformat.writes(nb))
    saved["cells"][1]["source"] = ["%matplotlib inline\n", "import numpy as np"]  # as Jupyter saves sources
    saved["metadata"]["made_up"] = {"by": "an extension"}  # invalid to the schema: still a notebook
    del saved["cells"][3]["id"]  # an old 4.x file's cells have none
    text = json.dumps(saved)
    assert read_notebook(text) == _as_nbformat_reads_it(text)
    assert read_notebook(text)[0] == ["pass\nimport numpy as np", "def f(x):\n    return 2 * x\n"]


def test_a_format_3_notebook_is_converted_as_nbformat_converts_it(tmp_path):
    old = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[
        nbformat.v3.new_text_cell("markdown", source="$$W_H : 7 \\times 7$$"),
        nbformat.v3.new_code_cell(input="x = 1\ny = x + 1"),
    ])])
    text = nbformat.v3.writes_json(old)
    assert read_notebook(text) == (["x = 1\ny = x + 1"], ["$$W_H : 7 \\times 7$$"])
    assert read_notebook(text) == _as_nbformat_reads_it(text)


@pytest.mark.parametrize(
    "text", ['{"nbformat": 4}', '{"nbformat": 4, "cells": 3}', "[1, 2]", '{"nbformat": 99}', "[" * 5000])
def test_json_that_is_no_notebook_is_refused_with_nbformats_reason(text):
    with pytest.raises(NotebookError, match="not a valid notebook"):
        read_notebook(text)


@pytest.mark.parametrize(
    "source, plain",
    [
        ("!pip install numpy", "pass"),  # shell line
        ("    %time y = f()", "    pass"),  # indented line magic keeps the block valid
        ("files = !ls", "files = None"),  # captured shell output
        ("np.dot?", "pass"),  # help
        ("x = 10 % 3", "x = 10 % 3"),  # the modulo operator is not a magic
        ("%%time\ny = 2", "y = 2"),  # a Python cell magic runs its body
        ("%%html\n<b>hi</b>", ""),  # any other cell magic is not Python
        ('s = "a\u2028b"', 's = "a\u2028b"'),  # a line separator in a string: splitlines() broke the string
        ("x = 1\r\n!ls\ry = 2", "x = 1\npass\ny = 2"),  # Windows and old Mac line ends are lines too
    ],
)
def test_ipython_syntax_is_made_harmless(source, plain):
    assert plain_python(source) == plain


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("broken.ipynb", b'{"nbformat": 4, "cells": [', "not a valid notebook"),  # truncated JSON
        ("latin.py", "x = 'caf\xe9'\n".encode("latin-1"), "not UTF-8"),  # another encoding
        ("empty.py", b"", "empty"),  # nothing at all
        ("blob.py", b"\x00\x01\x02binary", "binary"),  # not text
        ("report.docx", b"PK\x03\x04", "not read"),  # a kind of file we do not read
        ("answers.yaml", b"W_H: [7, 7\n", "cannot parse YAML"),  # malformed answers
        ("answers.json", b"[1, 2]", "mapping"),  # answers that are not a mapping
    ],
)
def test_unusable_files_are_rejected_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    sub = read_submission(path, str(path))
    assert sub.rejected is not None and reason in sub.rejected


def test_a_bad_file_in_a_folder_is_a_note_not_a_rejection(tmp_path):
    folder = tmp_path / "cy"
    folder.mkdir()
    (folder / "rnn.py").write_text("def f(): pass\n")
    (folder / "draft.ipynb").write_text("{not json")
    sub = read_submission(folder, str(folder))
    assert sub.rejected is None and any("draft.ipynb" in note for note in sub.notes)


def test_links_out_of_the_folder_are_not_followed(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("KEY = 1\n")
    klass = tmp_path / "class"
    klass.mkdir()
    os.symlink(secret, klass / "sneaky.py")
    folder = klass / "dee"
    folder.mkdir()
    (folder / "rnn.py").write_text("def f(): pass\n")
    os.symlink(secret, folder / "stolen.py")
    subs = {s.student: s for s in discover([klass])}
    assert "outside" in subs["sneaky"].rejected
    assert [name for _, name in subs["dee"].files] == ["rnn.py"]


def test_a_loop_of_links_in_a_class_is_rejected_not_raised(tmp_path):
    # Path.resolve() raises RuntimeError on a loop: discovering the class used to crash
    os.symlink(tmp_path / "loop.py", tmp_path / "loop.py")
    [sub] = discover([tmp_path])
    assert sub.student == "loop" and sub.rejected == "no such file"


def test_oversized_files_are_rejected(tmp_path):
    path = tmp_path / "huge.py"
    path.write_bytes(b"#" * (9 * 1024 * 1024))
    assert "over 8 MB" in read_submission(path, str(path)).rejected


def test_answer_files_in_every_format(tmp_path):
    for name, text in [("a.json", json.dumps({"shapes": {"h_t": "7x1"}})), ("b.toml", 'E = "15x10"\n'),
                       ("c.yml", "shapes.W_x: [7, 15]\n")]:
        (tmp_path / name).write_text(text)
    [sub] = discover([tmp_path], single=True)
    assert sub.answers == {"h_t": "7x1", "E": "15x10", "shapes.W_x": [7, 15]}


def test_test_files_beside_the_work_are_not_loaded_as_answers(tmp_path):
    (tmp_path / "rnn.py").write_text("def f(): pass\n")
    (tmp_path / "test_rnn.py").write_text("import pytest\n")
    (tmp_path / "conftest.py").write_text("")
    [sub] = discover([tmp_path], single=True)
    assert [u.label for u in sub.units] == ["rnn.py"]


def test_a_lone_test_file_is_still_the_work(tmp_path):
    path = tmp_path / "test_rnn.py"
    path.write_text("def grad_W_H(): pass\n")
    sub = read_submission(path, str(path))
    assert sub.rejected is None and [u.label for u in sub.units] == ["test_rnn.py"]


def test_entries_sharing_a_name_get_distinct_students(tmp_path):
    (tmp_path / "alice.py").write_text("def f(): pass\n")
    (tmp_path / "alice.md").write_text("$$W_H = 7 \\times 7$$")
    (tmp_path / "bob.py").write_text("def f(): pass\n")
    assert [s.student for s in discover([tmp_path])] == ["alice.md", "alice.py", "bob"]


@pytest.mark.parametrize(
    "source, why",
    [
        ('def f(x):\n    print "x is", x\n', "a print statement at line 2"),  # the classic
        ("def f(n):\n    return [i for i in xrange(n)]\n", "xrange at line 2"),  # runs until called, then fails
        ("try:\n    pass\nexcept ValueError, e:\n    pass\n", "`except E, e:` at line 3"),
        ("def f(d):\n    return d.iteritems()\n", ".iteritems() at line 2"),
    ],
)
def test_python2_files_are_recognised(source, why):
    assert python2_reason(source, "hw.py") == f"hw.py is Python 2 code ({why} does not exist in Python 3)" \
        or python2_reason(source, "hw.py") == f"hw.py is Python 2 code ({why})"


@pytest.mark.parametrize(
    "source",
    [
        "from functools import reduce\nx = reduce(lambda a, b: a + b, [1, 2])\n",  # imported: Python 3
        "def f(unicode):\n    return unicode\n",  # a parameter that happens to have an old name
        "xrange = range\nfor i in xrange(3):\n    pass\n",  # a compatibility shim
        "def f(:\n    pass\n",  # an ordinary syntax error is the sandbox's to report, not a Python 2 file
    ],
)
def test_python3_files_are_not_called_python2(source):
    assert python2_reason(source, "hw.py") is None
