"""A student kit: self-check without the model solution.

`export_kit` writes a folder that holds an exercise's public cases as data (inputs, expected answers,
the known mistakes' answers on those cases, the shapes table) and the checker itself (this package's
`grader` and `exercises` code, never `reference/`, never hidden cases or the secret). `load_kit`
reads it back as an exercise, its cases and an `Expected` whose answers come from the data, so the
same pipeline gives the same verdicts as `rnn-grader check`, without any reference callable.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from exercises.bank import exercise_folder, resolve
from exercises.kept import kept_exercise
from exercises.models import (
    BackwardQuestion,
    Exercise,
    FunctionQuestion,
    NumericQuestion,
    ShapeQuestion,
    WrittenQuestion,
)
from grader.cases.draw import Case, numeric_case, public_cases, written_sizes
from grader.cases.variants import for_student
from grader.judge.expected import Expected, KnownMistake, named_outputs
from grader.read.submission import KIT_FILE
from grader.run.protocol import decode_array, encode_array
from grader.selfcheck.kit_modules import checker_modules, module_file

KIT_FORMAT = 1
REQUIREMENTS = [
    "numpy>=1.24",
    "pydantic>=2.5",
    "click>=8.1",
    "nbformat>=5.9",
    "PyYAML>=6.0",
    "simpleeval>=1.0",
    "lark>=1.1",
    "rich>=13",
    "pytest>=7.4",
]
MAX_ELEMENTS = 50_000_000


class KitError(Exception):
    """A folder that is not a readable student kit."""


@dataclass(frozen=True)
class Kit:
    exercise: Exercise
    cases: list[Case]
    expected: Expected
    folder: Path
    student: str | None = None  # whose variant it holds (exported with --student)


# ---------------------------------------------------------------- writing


def export_kit(exercise: Exercise, folder: Path, *, student: str | None = None) -> Path:
    """Write the kit for `exercise` (a student's variant when it has variants) into `folder`."""
    variant = for_student(exercise, student)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KIT_FILE).write_text(json.dumps(kit_data(variant, student)), encoding="utf-8")
    _copy_checker(folder)
    _copy_provided(variant, folder)
    _write_entry_points(folder, variant)
    return folder


def kit_data(exercise: Exercise, student: str | None) -> dict[str, Any]:
    """Everything a self-check needs, as JSON: the exercise without its hidden part, and public answers."""
    cases, expected = public_cases(exercise), Expected(exercise)
    public = exercise.model_copy(
        update={"hidden": exercise.hidden.model_copy(update={"count": 0, "default_secret": ""})}
    )
    code = [q for q in exercise.questions if isinstance(q, (FunctionQuestion, BackwardQuestion))]
    return {
        "format": KIT_FORMAT,
        "student": student,
        "recorded": record_written(exercise),
        "exercise": public.model_dump(mode="json"),
        "cases": [
            {"label": c.label, "sizes": c.sizes, "arrays": {n: encode_array(a) for n, a in c.arrays.items()}}
            for c in cases
        ],
        "answers": {q.id: [_encode(expected.answer(q, c)) for c in cases] for q in code},
        "mistakes": {
            q.id: [
                [
                    {
                        "diagnosis": m.diagnosis,
                        "hint": m.hint,
                        "value": _encode(expected.mistake_value(q, m, c)),
                        "outputs": list(named_outputs(m)),
                    }
                    for m in expected.listed_mistakes(q)
                ]
                for c in cases
            ]
            for q in code
        },
        "numeric": {
            q.id: {
                "answer": _encode(expected.numeric_answer(q)),
                "arrays": {n: encode_array(a) for n, a in numeric_case(exercise, q).arrays.items()},
            }
            for q in exercise.questions
            if isinstance(q, NumericQuestion)
        },
        "shapes": {s: list(shape) for s, shape in expected.shapes.items()}
        if any(isinstance(q, ShapeQuestion) for q in exercise.questions)
        else {},
    }


def record_written(exercise: Exercise) -> dict[str, list[dict[str, Any]]]:
    """What the written questions' reference callables answer, on the fixed inputs the checker gives them (the
    same for every write-up): a kit replays these answers instead of shipping the reference."""
    from grader.judge.written import given_shapes
    from grader.judge.written.equations import draw_environments
    from grader.judge.written.gradient import jacobian_probe

    recorded: dict[str, list[dict[str, Any]]] = {}
    for question in exercise.questions:
        path = getattr(question, "reference", None) if isinstance(question, WrittenQuestion) else None
        if not isinstance(path, str):
            continue
        calls = recorded.setdefault(path, [])
        function = _recorder(resolve(exercise, path), calls)
        if question.kind == "equations":
            draw_environments(given_shapes(question, exercise.handout), question.onehot, function)
        elif question.kind == "gradient":
            function(*jacobian_probe(exercise.handout))
    for question in exercise.questions:
        unrolled = getattr(question, "unrolled", None) if isinstance(question, WrittenQuestion) else None
        if isinstance(unrolled, str) and unrolled not in recorded:
            _recorder(resolve(exercise, unrolled), recorded.setdefault(unrolled, []))(
                **dict(sorted(exercise.handout.items()))
            )
    return recorded


def _recorder(function: Callable[..., Any], calls: list[dict[str, Any]]) -> Callable[..., Any]:
    def record(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        calls.append({"args": _digest(args, kwargs), "result": _encode(result)})
        return result

    return record


def _digest(args: tuple, kwargs: dict[str, Any]) -> str:
    """The same text for the same arrays: what a replayed call is looked up by."""
    digest = hashlib.sha256()
    for name, value in [*enumerate(args), *sorted(kwargs.items())]:
        array = np.ascontiguousarray(value, dtype=np.float64)
        digest.update(f"{name}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {"dict": {name: _encode(part) for name, part in value.items()}}
    if isinstance(value, tuple):
        return {"tuple": [_encode(part) for part in value]}
    if isinstance(value, list):
        return {"list": [_encode(part) for part in value]}
    if value is None:
        return {"none": True}
    if isinstance(value, str):
        return {"str": value}
    return encode_array(np.asarray(value, dtype=np.float64))


def _decode(data: Any) -> Any:
    if "dict" in data:
        return {name: _decode(part) for name, part in data["dict"].items()}
    if "tuple" in data:
        return tuple(_decode(part) for part in data["tuple"])
    if "list" in data:
        return [_decode(part) for part in data["list"]]
    if "none" in data:
        return None
    if "str" in data:
        return data["str"]
    return decode_array(data, MAX_ELEMENTS)


def _copy_checker(folder: Path) -> None:
    """The grader's own code that a check imports, and no more: the kit checks with exactly what `check` runs."""
    root = Path(__file__).resolve().parents[2]
    for name in checker_modules(root):
        source = module_file(root, name)
        target = folder / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _copy_provided(exercise: Exercise, folder: Path) -> None:
    """Course modules the exercise provides: students' code imports them, so the kit brings them."""
    for entry in exercise.imports.provided:
        source, target = exercise_folder(exercise) / entry, folder / "exercise" / entry
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _write_entry_points(folder: Path, exercise: Exercise) -> None:
    """The kit's commands, with its own folder name and the exercise's question ids written in; its README
    ends with the questions and the kit's size."""
    code = [q.id for q in exercise.questions if isinstance(q, (FunctionQuestion, BackwardQuestion))]
    names = {
        "EXERCISE_ID": exercise.id,
        "KIT_FOLDER_NAME": folder.name,
        "KIT_FOLDER": folder.name,
        "QUESTION_ID": (code or [exercise.questions[0].id])[0],
    }
    for name, text in ENTRY_POINTS.items():
        for placeholder, value in names.items():
            text = text.replace(placeholder, value)
        if name == "README.md":
            text += "\nQuestions:\n\n" + "".join(f"- `{q.id}`: {_described(q)}\n" for q in exercise.questions)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n", encoding="utf-8")
    readme = folder / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + _size_line(folder), encoding="utf-8")


def _described(question: Any) -> str:
    if question.title:
        return question.title
    return f"the shape of {question.symbol}" if isinstance(question, ShapeQuestion) else question.kind


def _size_line(folder: Path) -> str:
    files = [path for path in folder.rglob("*") if path.is_file()]
    kilobytes = sum(path.stat().st_size for path in files) / 1024
    return f"\nThis kit: {len(files)} files, {kilobytes:.0f} KB.\n"


# ---------------------------------------------------------------- reading


def is_kit(folder: Path) -> bool:
    return (folder / KIT_FILE).is_file()


def load_kit(folder: Path) -> Kit:
    """A kit folder as an exercise, its public cases and the expected answers it holds: read once in a process
    while its data is unchanged (a check asks twice, the command line and then the pipeline)."""
    try:
        written = (folder / KIT_FILE).stat()
    except OSError as exc:
        raise KitError(f"{folder}: not a student kit ({exc})") from None
    return _read_kit(folder.resolve(), written.st_mtime_ns, written.st_size)


@lru_cache(maxsize=4)
def _read_kit(folder: Path, modified: int, size: int) -> Kit:
    try:
        text = (folder / KIT_FILE).read_bytes()
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise KitError(f"{folder}: not a student kit ({exc})") from None
    if data.get("format") != KIT_FORMAT:
        raise KitError(f"{folder}: a kit of another version of rnn-grader; ask for a new one")
    exercise = kept_exercise(folder / KIT_FILE, text, lambda: Exercise.model_validate(data["exercise"]))
    exercise._source = folder / "exercise" / "exercise.yaml"  # provided modules are found beside it
    written = written_sizes(exercise)  # `4*H=12` in the feedback, as `check` shows it
    cases = [
        Case(c["label"], c["sizes"], {n: decode_array(a, MAX_ELEMENTS) for n, a in c["arrays"].items()}, False, written)
        for c in data["cases"]
    ]
    return Kit(exercise, cases, KitExpected(exercise, data), folder, data.get("student"))


class KitExpected(Expected):
    """Expected answers read from a kit instead of computed by reference callables."""

    def __init__(self, exercise: Exercise, data: dict[str, Any]) -> None:
        super().__init__(exercise)
        self._data = data
        self._case_index = {c["label"]: n for n, c in enumerate(data["cases"])}

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {symbol: tuple(shape) for symbol, shape in self._data["shapes"].items()}

    def answer(self, question: Any, case: Case) -> Any:
        if isinstance(question, NumericQuestion):
            return self.numeric_answer(question)
        return _decode(self._data["answers"][question.id][self._case_index[case.label]])

    def numeric_answer(self, question: NumericQuestion) -> Any:
        return _decode(self._data["numeric"][question.id]["answer"])

    def resolve(self, path: str) -> Any:
        """The reference's recorded answers for `path`, looked up by the arrays a call passes."""
        answers = {call["args"]: call["result"] for call in self._data.get("recorded", {}).get(path, [])}

        def replay(*args: Any, **kwargs: Any) -> Any:
            key = _digest(args, kwargs)
            if key not in answers:
                raise KitError(f"this kit holds no answer of {path} for these inputs; ask for a new kit")
            return _decode(answers[key])

        return replay

    def listed_known(self, question: Any, case: Case) -> list[KnownMistake]:
        listed = self._data["mistakes"][question.id][self._case_index[case.label]]
        return [
            KnownMistake(m["diagnosis"], m["hint"], _decode(m["value"]), tuple(m.get("outputs", ()))) for m in listed
        ]


# ---------------------------------------------------------------- what the kit's entry points say

ENTRY_POINTS = {
    "check.py": '''"""Check your work on the public cases:  python check.py YOUR_FILE_OR_FOLDER"""
import os
import sys

KIT = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, KIT)
from grader.launch import run  # noqa: E402

run(["check", *sys.argv[1:], "--kit", KIT])
''',
    "test_kit.py": '''"""pytest: one test per question, checking the work in the folder that holds this kit's folder."""
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parent
sys.path.insert(0, str(KIT))
from grader.selfcheck.as_pytest import kit_tests  # noqa: E402

test_question = kit_tests(KIT)
''',
    "rnn_check.py": '''"""In a notebook:  import sys; sys.path.insert(0, "KIT_FOLDER"); from rnn_check import check
then  check("QUESTION_ID")  checks the functions defined in the notebook right now (EXERCISE_ID), and the
written answers in its Markdown cells as last saved."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grader.selfcheck.notebook import notebook_check  # noqa: E402


def check(question_id=None, notebook=None):
    """Check one question (or all) against the public cases, with the functions defined so far and the
    notebook's saved Markdown cells (`notebook`: its file, when it is not the one this kernel runs)."""
    import __main__

    return notebook_check(Path(__file__).resolve().parent, vars(__main__), question_id, notebook)
''',
    "README.md": """# Self-check kit: EXERCISE_ID

This folder checks your work on the public cases, as the course's grader does (it holds no solution).
From your homework folder, with this folder inside it:

    pip install -r KIT_FOLDER_NAME/requirements.txt

- command line:  `python KIT_FOLDER_NAME/check.py my_work.py`  (or a folder with your files)
- pytest: put this folder inside your homework folder and run `pytest KIT_FOLDER_NAME` (one test per question)
- notebook:  `import sys; sys.path.insert(0, "KIT_FOLDER_NAME"); from rnn_check import check`,
  then `check("QUESTION_ID")` or `check()` for every question: your functions as the notebook defines them
  now, and your written answers from its Markdown cells as last saved (save the notebook first)

On the command line, the first check leaves a small server running in the background for you alone, so that the
next ones answer at once; it stops after ten minutes without a check. `RNN_GRADER_CHECK_SERVER=0` turns it off.
""",
}
