"""What feedback may say of a hidden case: nothing the student's code chose, and no size.

Student code sees a hidden case's inputs, so whatever it can put into its own result (an exception's
message, a class's name, the shape or the number of values it returns, an exit code) could carry them
into feedback. On a hidden case feedback therefore names the case by its number only and the failure by
its kind: a wrong value or shape, an exception's type (when Python or numpy defines it) and its line, a
timeout. An exercise opts into more with `hidden.detailed_feedback` (never expected values).
"""

from __future__ import annotations

import builtins
import re

from exercises.models import Exercise
from grader.cases.draw import Case

_KNOWN_EXCEPTIONS = frozenset(
    [name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)]
    + ["LinAlgError", "AxisError"]  # numpy's own
)
_DESCRIBED = re.compile(r"^([A-Za-z_]\w*)(?::|$| \()")  # 'ValueError: …', as the sandbox describes an exception
_LINE = re.compile(r"line (\d{1,6})\)$")


def detailed(case: Case, exercise: Exercise) -> bool:
    """Whether feedback on `case` may show sizes, shapes and the student's own messages."""
    return not case.hidden or exercise.hidden.detailed_feedback


def case_name(case: Case, exercise: Exercise) -> str:
    """`case 2 (T=3, V=4)`; a hidden case by its number alone."""
    return case.describe() if detailed(case, exercise) else case.label


def raised(error: str, case: Case, exercise: Exercise) -> str:
    """What feedback says of an error of the student's code on `case`."""
    return f"raised {error}" if detailed(case, exercise) else exception_kind(error)


def exception_kind(error: str) -> str:
    """`raised ValueError (line 12)`: an exception's type when Python or numpy defines it, and its line."""
    described = _DESCRIBED.match(error)
    if described is None:
        return "failed without a result that could be read"
    name = described.group(1) if described.group(1) in _KNOWN_EXCEPTIONS else "an exception of its own class"
    line = _LINE.search(error)
    return f"raised {name}" + (f" (line {line.group(1)})" if line else "")
