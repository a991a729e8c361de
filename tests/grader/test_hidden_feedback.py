"""Hidden cases stay hidden: feedback on them carries nothing the student's code controls and no size.

Graded in the real sandbox on per_output/six.yaml, whose hidden sizes (D >= 5) the public cases never use, so
code can behave only on hidden cases: it raises with the inputs it was given in the message, raises an
exception whose class name carries a value, or returns an array whose shape carries one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from grader.cases.draw import build_cases
from grader.judge.exercise_check import load_checked_exercise
from grader.judge.hidden_feedback import exception_kind
from grader.pipeline import GradingOptions, grade
from grader.report import FORMATS, FormatOptions, render_each
from grader.run.protocol import Limits

SIX = Path(__file__).parent / "per_output" / "six.yaml"
SECRET = "hidden-feedback-tests"
OPTIONS = GradingOptions(limits=Limits(timeout=5.0), jobs=2, secret=SECRET)
MARK = "LEAKED"

FORWARD = """
import numpy as np

def scaled_forward(x, h, Wx, Wh, b, s):
    if x.shape[1] >= 5:  # never at the handout's sizes
        {on_hidden}
    a = x @ Wx + h @ Wh + b
    t = np.tanh(a)
    return s * t, (x, h, Wx, Wh, s, t, a)
"""
SUBMISSIONS = {
    # the inputs in an exception's message
    "message": f"raise ValueError('{MARK} x=' + repr(x.ravel()[:4].tolist()) + ' shape ' + repr(x.shape))",
    # a value in an exception's class name
    "class_name": f"raise type('{MARK}' + str(abs(int(x[0, 0] * 1e6))), (Exception,), {{}})()",
    # a value in the shape of what comes back
    "shape": "return np.zeros((int(abs(x[0, 0]) * 1000) + 1, 1)), None",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hidden")
    for name, on_hidden in SUBMISSIONS.items():
        (folder / f"{name}.py").write_text(FORWARD.format(on_hidden=on_hidden))
    return grade([folder / f"{name}.py" for name in SUBMISSIONS], load_checked_exercise(str(SIX)), OPTIONS)


def hidden_secrets() -> list[str]:
    """Text a leak would show: each hidden case's first inputs, as Python prints them, and its sizes."""
    cases = [case for case in build_cases(load_checked_exercise(str(SIX)), secret=SECRET) if case.hidden]
    assert cases and all(case.sizes["D"] >= 5 for case in cases)  # sizes the public cases never use
    values = [repr(float(v)) for case in cases for v in case.arrays["x"].ravel()[:4]]
    values += [str(abs(int(case.arrays["x"][0, 0] * 1e6))) for case in cases]
    return values + [f"D={case.sizes['D']}" for case in cases] + [str(tuple(case.arrays["x"].shape)) for case in cases]


def every_output(results, folder: Path) -> dict[str, str]:
    """The run in every format, by format (and student, for those written per submission)."""
    texts = {}
    for name, fmt in FORMATS.items():
        if fmt.output == "per-submission":
            texts.update({f"{name}/{student}": text for student, text in render_each(name, results).items()})
        elif fmt.output == "folder":
            fmt.write(results, folder)
            texts.update({f"{name}/{p.name}": p.read_text() for p in folder.rglob("*.html")})
        else:
            options = FormatOptions(assignment="Hidden (1)") if name == "canvas" else None
            texts[name] = fmt.render(results, options)
    return texts


def test_feedback_on_hidden_cases_has_neither_the_inputs_nor_the_sizes(graded, tmp_path):
    texts = every_output(graded, tmp_path / "html")
    assert set(FORMATS) <= {key.split("/")[0] for key in texts}
    secrets = hidden_secrets()
    for where, text in texts.items():
        assert MARK not in text, where
        assert not [secret for secret in secrets if secret in text], where
        assert not re.search(r"hidden case \d+ \(", text), where  # a hidden case is named by its number alone


@pytest.mark.parametrize(
    ("submission", "said"),
    [
        ("message", "hidden case 1: scaled_forward raised ValueError (line 6)."),  # the type and line, no message
        ("class_name", "hidden case 1: scaled_forward raised an exception of its own class (line 6)."),
        ("shape", "hidden case 1: scaled_forward returned an array of the wrong shape."),
    ],
)
def test_hidden_cases_say_the_kind_of_failure(graded, submission, said):
    result = next(s for s in graded.submissions if Path(s.path).stem == submission)
    forward = next(q for q in result.questions if q.id == "scaled_forward")
    assert forward.score == pytest.approx(2 * 2 / 6)  # the two public cases of six pass
    assert said in forward.feedback


def test_an_exercise_may_opt_into_detailed_feedback_on_hidden_cases(tmp_path):
    data = yaml.safe_load(SIX.read_text())
    data["hidden"]["detailed_feedback"] = True
    shutil.copy(SIX.parent / "six_reference.py", tmp_path)
    (tmp_path / "six.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "message.py").write_text(FORWARD.format(on_hidden=SUBMISSIONS["message"]))
    results = grade([tmp_path / "message.py"], load_checked_exercise(str(tmp_path / "six.yaml")), OPTIONS)
    forward = next(q for q in results.submissions[0].questions if q.id == "scaled_forward")
    assert re.search(r"hidden case 1 \(N=\d+, D=\d+, H=\d+\): scaled_forward raised ValueError: " + MARK, forward.feedback)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("ValueError: shapes (3,4) and (5,) not aligned (line 12)", "raised ValueError (line 12)"),
        ("LinAlgError: Singular matrix (rnn.py, line 3)", "raised LinAlgError (line 3)"),  # numpy's own
        ("W0_4521: (line 9)", "raised an exception of its own class (line 9)"),  # a name the student chose
        ("KeyError", "raised KeyError"),  # no line when no frame of the student's code raised
        ("the returned data could not be read", "failed without a result that could be read"),
    ],
)
def test_an_exception_is_told_by_its_kind(error, kind):
    assert exception_kind(error) == kind
