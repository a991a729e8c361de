"""A student's self-check: the kit (kit.py), `check()` in a notebook (notebook.py) and pytest (as_pytest.py).

    # test_my_homework.py
    from grader.selfcheck import question_tests
    test_question = question_tests(__file__, exercise="rnn-bptt")

The pytest route is imported when it is asked for, so that a kit's command-line check does not load pytest.
"""

from __future__ import annotations

from typing import Any

PYTEST_ROUTE = ("question_tests", "kit_tests")


def __getattr__(name: str) -> Any:
    if name in PYTEST_ROUTE:
        from grader.selfcheck import as_pytest

        return getattr(as_pytest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
