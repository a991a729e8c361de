"""Credit per output: a function returning several values earns each output's share of its points on the
cases where that output is right, and each wrong output gets its own diagnosis.

Pure functions over one question's outputs; `grader/judge/questions.py` calls them per case and per question.
A function returning one value is one output holding all the points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from exercises.models import CodeQuestion, Tolerance
from grader.judge.compare import as_array, compare, equal_to_each
from grader.judge.diagnoses import generic_hint
from grader.judge.expected import KnownMistake, MistakeTable
from grader.results import OutputResult


@dataclass(frozen=True)
class PartVerdict:
    """One output on one case."""

    right: bool
    problem: str = ""  # what the student is told of it (already fit for a hidden case)
    diagnosis: str | None = None
    hint: str = ""


RIGHT = PartVerdict(True)
WRONG = PartVerdict(False)


def shares(question: CodeQuestion) -> list[float]:
    """Each output's points: `weights` relative to one another, equal shares without them."""
    names = question.compared_outputs
    if len(names) < 2:
        return [question.points]
    weights = [question.weights[name] for name in names] if question.weights else [1.0] * len(names)
    return [question.points * weight / sum(weights) for weight in weights]


def part(value: Any, index: int, count: int) -> Any:
    """Output `index` of a value that has `count` of them (a single output is the value itself)."""
    return value if count == 1 else value[index]


# ---------------------------------------------------------------- diagnoses of one case


def diagnose_parts(
    got: Sequence[Any], want: Sequence[Any], wrong: list[int], mistakes: MistakeTable, context: tuple
) -> dict[int, tuple[str, str]]:
    """(diagnosis, hint) of each wrong output on one case. A known mistake whose every output equals the
    answer's names them all (the first such, in the order tried); otherwise each wrong output takes the first
    that gives it, then a constant factor. `context` is (names, tolerance, where a factor may be shown or None)."""
    names, tolerance, shown_on = context
    every = list(range(len(got)))
    equal = list(zip(mistakes.known, _equal_outputs(mistakes, got, tolerance)))
    whole = next((mistake for mistake, found in equal if found == every), None)
    found: dict[int, tuple[str, str]] = {}
    for index in wrong:
        mistake = whole or next((m for m, same in equal if index in same and _names(m, names[index])), None)
        if mistake is not None:
            found[index] = (mistake.diagnosis, mistake.hint)
            continue
        factor = constant_factor(got[index], want[index], tolerance)
        if factor is not None:
            shown = f" ({factor:.3g} on {shown_on})" if shown_on else ""
            found[index] = ("scaled-by-constant", generic_hint("scaled-by-constant", shown=shown))
    return found


def _names(mistake: KnownMistake, output: str) -> bool:
    """Whether a mistake may name this output: any when it lists none."""
    return not mistake.outputs or output in mistake.outputs


def _equal_outputs(mistakes: MistakeTable, got: Sequence[Any], tolerance: Tolerance) -> list[list[int]]:
    """Per known mistake, the outputs equal to what it gives (each output against every mistake at once)."""
    found: list[list[int]] = [[] for _ in mistakes.known]
    for index, candidates in enumerate(mistakes.per_output):
        for n, same in zip(mistakes.usable, equal_to_each(got[index], candidates, tolerance)):
            if same:
                found[n].append(index)
    return found


def constant_factor(got: Any, want: Any, tolerance: Tolerance) -> float | None:
    """c when `got` is c times `want` for a c other than 1 and -1 (a scaled answer), else None."""
    if isinstance(want, tuple) or np.size(want) < 2:  # any wrong number is some multiple of the right one
        return None
    array, _ = as_array(got, np.shape(want))
    if array is None or array.shape != np.shape(want) or not np.all(np.isfinite(array)) or not np.any(want):
        return None
    factor = float(np.sum(array * want) / np.sum(want * want))
    if min(abs(factor - 1), abs(factor + 1)) < 1e-3 or abs(factor) < 1e-6:
        return None
    return factor if compare(array, factor * np.asarray(want), tolerance).ok else None


# ---------------------------------------------------------------- the question over its cases


def dominant(parts: list[PartVerdict]) -> tuple[str | None, str]:
    """The diagnosis (and hint) at least half the wrong `parts` share; one that fits fewer is a coincidence."""
    wrong = [p for p in parts if not p.right]
    found = Counter(p.diagnosis for p in wrong if p.diagnosis)
    if not found:
        return None, ""
    diagnosis, count = found.most_common(1)[0]
    if count * 2 < len(wrong):
        return None, ""
    return diagnosis, next(p.hint for p in wrong if p.diagnosis == diagnosis)


def output_results(question: CodeQuestion, columns: list[list[PartVerdict]], cases: int) -> list[OutputResult]:
    """Per output (`columns[k]`: output k on each case judged), its share of the points earned and its verdict."""
    results = []
    for name, share, column in zip(question.compared_outputs, shares(question), columns):
        right = sum(p.right for p in column)
        status: Literal["passed", "failed"] = "passed" if right == cases else "failed"
        diagnosis = dominant(column)[0] if status == "failed" else None
        results.append(
            OutputResult(name=name, score=share * right / cases, max_score=share, status=status, diagnosis=diagnosis)
        )
    return results


def outputs_summary(results: list[OutputResult], columns: list[list[PartVerdict]], cases: int) -> str:
    """`Right on every case: dx, dWx. Wrong: db on 3 of 4 cases (missing-bias-sum).`"""
    right = [r.name for r in results if r.status == "passed"]
    wrong = [
        f"{r.name} on {cases - sum(p.right for p in column)} of {cases} cases"
        + (f" ({r.diagnosis})" if r.diagnosis else "")
        for r, column in zip(results, columns)
        if r.status == "failed"
    ]
    sentences = [f"Right on every case: {', '.join(right)}."] if right else []
    return " ".join(sentences + [f"Wrong: {'; '.join(wrong)}."])


def output_hints(question_hint: str, columns: list[list[PartVerdict]], results: list[OutputResult]) -> list[str]:
    """The question's hint, then the hint of each other diagnosis a wrong output has, each once."""
    hints = [question_hint] if question_hint else []
    for result, column in zip(results, columns):
        hint = next((p.hint for p in column if result.diagnosis and p.diagnosis == result.diagnosis), "")
        if hint and hint not in hints:
            hints.append(hint)
    return hints
