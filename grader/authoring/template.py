"""One student's handout: a .py file and a notebook with stubs, in the sizes of the student's variant.

Written from the exercise alone (names, arguments, outputs, sizes, the printed case of numeric
questions); it never contains an answer.
"""

from __future__ import annotations

import re
from pathlib import Path

from exercises.expressions import written
from exercises.models import (
    BackwardQuestion,
    DerivedInput,
    Exercise,
    FunctionQuestion,
    NumericQuestion,
    ShapeQuestion,
)
from grader.cases.draw import describe_numeric_case
from grader.cases.variants import for_student
from grader.pipeline import SHAPES_VARIABLE

# Students check with the kit their course hands out (`rnn-grader export student`): the grader itself, which
# carries the model solution, is not on their machine. A kit made for a variant knows its student.
KIT_COMMANDS = [
    "Check your work with the self-check kit your course hands out (a folder, `kit` here; its README has its name):",
    "",
    "- `python kit/check.py FILE` (this notebook, your .py file, or your homework folder);",
    "- `pytest kit`, from your homework folder with the kit inside it (one test per question);",
    '- in a notebook: `import sys; sys.path.insert(0, "kit"); from rnn_check import check`, then `check()` or',
    '  `check("a question id")` (save the notebook first: written answers are read from its Markdown cells).',
]


def write_handout(exercise: Exercise, student: str | None, folder: Path) -> list[Path]:
    """The student's .py and .ipynb in `folder`; returns their paths."""
    import nbformat  # only here: it is slow to import

    variant = for_student(exercise, student)
    stem = re.sub(r"[^\w\-]+", "_", f"{exercise.id}_{student}" if student else exercise.id)
    folder.mkdir(parents=True, exist_ok=True)
    cells = handout_cells(variant, student)
    py = folder / f"{stem}.py"
    py.write_text("\n\n\n".join(_as_python(kind, text) for kind, text in cells) + "\n", encoding="utf-8")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        for kind, text in cells
    ]
    ipynb = folder / f"{stem}.ipynb"
    nbformat.write(notebook, str(ipynb))
    return [py, ipynb]


def handout_cells(exercise: Exercise, student: str | None) -> list[tuple[str, str]]:
    """(kind, text) pairs: markdown for the reader, code for the stubs."""
    cells = [("markdown", _heading(exercise, student)), ("code", "import numpy as np")]
    shapes = [q for q in exercise.questions if isinstance(q, ShapeQuestion)]
    if shapes:
        entries = "\n".join(f'    "{q.symbol}": "",' for q in shapes)
        cells.append(
            (
                "code",
                f'# The shape of each symbol for YOUR sizes above, written like "3x1"\n'
                f"{SHAPES_VARIABLE} = {{\n{entries}\n}}",
            )
        )
    for question in exercise.questions:
        if isinstance(question, (FunctionQuestion, BackwardQuestion)):
            cells.append(("code", _stub(question, exercise)))
        elif isinstance(question, NumericQuestion):
            case = describe_numeric_case(exercise, question)
            cells.append(
                (
                    "code",
                    f"# {question.title or question.name}, for this case:\n"
                    + "\n".join(f"# {line}" for line in case.splitlines())
                    + f"\n{question.name} = None",
                )
            )
    return cells


def _heading(exercise: Exercise, student: str | None) -> str:
    sizes = ", ".join(f"{name} = {value}" for name, value in exercise.handout.items())
    who = f" (variant of {student})" if student else ""
    lines = [f"# {exercise.title}{who}", "", f"Your sizes: {sizes}.", ""]
    lines += [f"- {name}: {dim.doc}" for name, dim in exercise.dimensions.items() if dim.doc]
    return "\n".join(lines + ["", *KIT_COMMANDS])


def _stub(question: FunctionQuestion | BackwardQuestion, exercise: Exercise) -> str:
    args = [*question.upstream, "cache"] if isinstance(question, BackwardQuestion) else question.args
    returns = ", ".join(question.outputs) if question.outputs else "the answer"
    title = f"{question.title}. " if question.title else ""
    shapes = _argument_shapes(args, exercise)
    doc = [f"{title}Returns {returns}.", *(["", "Shapes:", *(f"    {line}" for line in shapes)] if shapes else [])]
    text = "\n".join(f"    {line}" if line else "" for line in doc).lstrip()
    closing = '\n    """' if shapes else '"""'
    return f'def {question.function}({", ".join(args)}):\n    """{text}{closing}\n    raise NotImplementedError'


def _argument_shapes(args: list[str], exercise: Exercise) -> list[str]:
    """'Wx: (D, 4*H)' for each drawn argument, its sizes as the exercise writes them."""
    return [
        f"{name}: {written(spec.shape)}"
        for name in args
        if (spec := exercise.inputs.get(name)) is not None and not isinstance(spec, DerivedInput)
    ]


def _as_python(kind: str, text: str) -> str:
    if kind == "markdown":
        return '"""\n' + text.replace('"""', "'''") + '\n"""'
    return text
