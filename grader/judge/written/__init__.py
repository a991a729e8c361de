"""Grading a written derivation (Task 2, written): equations, dependency chain, gradient.

Pure and in the grader's process only: the write-up is text, parsed by a lark grammar
(`parsing.py`), never run. `judge_written` is the one entry point the judge calls; when `lark` (the
`written` extra) is not installed it raises `WrittenUnavailable`, which the judge reports as a
grader-side problem rather than the student's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the reader loads with the first write-up it reads (grading code alone never pays for it)
    from grader.judge.written.verdict import WrittenVerdict

__all__ = ["WrittenUnavailable", "judge_written", "INSTALL_HINT"]

INSTALL_HINT = "written questions need the lark parser, a dependency of rnn-grader: pip install 'lark>=1.1'"


class WrittenUnavailable(RuntimeError):
    """The parser the written questions need is not installed where the grader runs."""


def judge_written(
    question: Any, writeup: str, handout: dict[str, int], resolve: Callable[[str], Callable[..., Any]]
) -> WrittenVerdict:
    """One written question's verdict on a write-up's text; `resolve` turns a callable path into the callable."""
    try:
        import lark  # noqa: F401
    except ImportError:
        raise WrittenUnavailable(INSTALL_HINT) from None
    try:
        return _judge(question, writeup, handout, resolve)
    except (RecursionError, OverflowError, MemoryError, ArithmeticError):
        # math nested too deep or numbers too large to follow: a person reads it
        from grader.judge.written.verdict import review

        return review("its math is nested too deeply or uses numbers too large to follow", [])


def _judge(
    question: Any, writeup: str, handout: dict[str, int], resolve: Callable[[str], Callable[..., Any]]
) -> WrittenVerdict:
    from grader.judge.written import chain, equations, gradient
    from grader.judge.written.context import build_context

    context = build_context(question, writeup, handout, resolve)
    if question.kind == "equations":
        return equations.judge_equations(
            question, context, given_shapes(question, handout), resolve(question.reference)
        )
    if question.kind == "chain":
        return chain.judge_chain(question, context)
    jacobian = resolve(question.reference) if question.reference else None
    return gradient.judge_gradient(question, context, handout, jacobian)


def given_shapes(question: Any, handout: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """The shapes, at the handout's sizes, of the arrays an equations question draws."""
    return {name: tuple(_size(d, handout) for d in shape) for name, shape in question.given.items()}


def _size(dimension: int | str, handout: dict[str, int]) -> int:
    return dimension if isinstance(dimension, int) else handout[dimension]
