"""Imports of the grader's own packages are flagged from the source, whatever the code does at run time."""

from __future__ import annotations

import pytest

from grader.read.flags import flagged_imports
from grader.read.submission import read_submission


@pytest.mark.parametrize(
    "source, flagged",
    [
        ("from reference.solution import grad_W_H\n", "reference"),  # the plain way
        ("import grader.judge.questions as j\n", "grader"),  # the judge itself
        ("import importlib\nm = importlib.import_module('reference.solution')\n", "reference"),  # by name
        ("m = __import__('exercises')\n", "exercises"),  # the builtin
        ("def f():\n    import reference\n", "reference"),  # hidden inside a function
        ("import numpy as np\nreference = np.zeros(3)\n", None),  # a variable that shares the name
        ("from .reference import x\n", None),  # the student's own relative module
        ("def broken(:\n", None),  # a syntax error is reported elsewhere, not flagged
        ("from \\\n    reference.solution import grad_W_H\n", "reference"),  # continued on the next line
        ("x = 1; import os, \\\n  grader\n", "grader"),  # after a semicolon, in a list, continued
        ("import os  # the reference answer is not imported\n", None),  # a comment names it
        ('"""\nimport grader\n"""\n', None),  # a docstring names it
        ("from exercises import \\\n  bank\n", "exercises"),
        ("# ∂L/∂h — a comment in Unicode\nimport ｒｅｆｅｒｅｎｃｅ.solution\n", "reference"),  # Python reads it as ASCII
        ("# ∂L/∂h — a comment in Unicode\nimport numpy\n", None),
        ("import os, \\\r\n  grader\r\n", "grader"),  # Windows line endings
    ],
)
def test_imports_of_protected_packages_are_flagged(tmp_path, source, flagged):
    path = tmp_path / "hw.py"
    path.write_text(source)
    notes = flagged_imports(read_submission(path, str(path)))
    assert (notes[0].count(repr(flagged)) == 1 and "line" in notes[0]) if flagged else notes == []


def test_the_plotting_modules_a_class_imports_are_found_for_the_sandbox_to_load_once(tmp_path):
    import importlib.util

    import nbformat

    from grader.read.flags import most_used, plotting_packages
    from grader.read.submission import discover

    def display_imports(submissions):
        return most_used(plotting_packages(submission) for submission in submissions)

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1])")])
    nbformat.write(notebook, tmp_path / "a.ipynb")
    (tmp_path / "b.py").write_text("import numpy as np\nfrom IPython.display import display\n")
    (tmp_path / "c.py").write_text("# matplotlib is mentioned in a comment only\nimport numpy\n")
    (tmp_path / "d.py").write_text("from matplotlib import pyplot\nif False:\n    import IPython.__main__\n")
    found = display_imports(discover([tmp_path]))
    installed = [name for name in ("matplotlib.pyplot", "IPython.display")  # most used first
                 if importlib.util.find_spec(name.split(".")[0]) is not None]
    assert found == installed  # and never a module a student named (IPython.__main__ starts a shell)
    assert display_imports(discover([tmp_path / "c.py"])) == []


def test_one_files_plotting_imports_are_guessed_from_its_raw_text(tmp_path):
    """Read before anything is loaded, for the sandbox to start importing them at once: a notebook's JSON too."""
    import importlib.util

    import nbformat

    from grader.read.flags import display_imports_of_file

    plots = tmp_path / "plots.ipynb"
    cell = nbformat.v4.new_code_cell("import numpy as np\nimport matplotlib.pyplot as plt\nplt.plot([1])")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), plots)
    quiet = tmp_path / "quiet.py"
    quiet.write_text("import numpy as np  # no matplotlib here\n# import matplotlib.pyplot as plt\n")
    told = tmp_path / "told.ipynb"
    cells = [nbformat.v4.new_markdown_cell("Then `import matplotlib.pyplot as plt` to see the loss."),
             nbformat.v4.new_code_cell("import numpy as np\n# import seaborn")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), told)
    installed = importlib.util.find_spec("matplotlib") is not None
    assert display_imports_of_file(plots) == (["matplotlib.pyplot"] if installed else [])
    assert display_imports_of_file(quiet) == display_imports_of_file(told) == []  # comments and Markdown say nothing
    assert display_imports_of_file(tmp_path / "missing.py") == []
