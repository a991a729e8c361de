"""An exercise tests itself: the reference earns full marks, every listed mistake loses points and is named.

Runs in the grader's process on the exercise's own callables (no student code, no sandbox): the
reference's outputs and each mistake's outputs are handed to the judge exactly as raw values from
the sandbox would be. For each mistake it also says which public cases tell it from the reference;
one that only hidden cases catch gets a warning, since a student's self-check would miss it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from exercises.bank import resolve
from exercises.models import (
    BackwardQuestion,
    Exercise,
    FunctionQuestion,
    NumericQuestion,
    ShapeQuestion,
    WrittenQuestion,
)
from grader.cases.draw import Case, build_cases
from grader.judge.compare import compare, tolerance_for
from grader.judge.expected import Expected, call_args, compared_part
from grader.judge.numerical_gradient import consistent, gradient_check_id, probe_calls
from grader.judge.questions import Evidence, judge_question
from grader.pipeline import SHAPES_VARIABLE
from grader.run.protocol import ItemResult, Record

VALIDATION_SECRET = "rnn-grader validate"  # hidden cases of the same ranges as any secret's


@dataclass(frozen=True)
class MistakeCheck:
    """How one listed mistake fares: which cases catch it, and what the judge says of it."""

    question: str
    diagnosis: str
    public_catching: list[int]  # numbers of the public cases on which it differs from the reference
    hidden_catching: int
    score: float
    max_score: float
    named: str | None

    @property
    def problem(self) -> str:
        if not self.public_catching and not self.hidden_catching:
            return "no case tells it from the reference"
        if self.score >= self.max_score:
            return "it earns full marks"
        if self.named != self.diagnosis:
            return f"it is named {self.named or 'nothing'}"
        return ""

    @property
    def warning(self) -> str:
        return "" if self.public_catching or self.problem else "only hidden cases catch it: self-check misses it"


@dataclass
class Validation:
    exercise: str
    reference_problems: list[str] = field(default_factory=list)
    mistakes: list[MistakeCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reference_problems and not any(m.problem for m in self.mistakes)


def validate(exercise: Exercise) -> Validation:
    cases = build_cases(exercise, secret=VALIDATION_SECRET)
    expected = Expected(exercise)
    evidence = reference_evidence(exercise, cases, expected)
    result = Validation(exercise.id)
    for question in exercise.questions:
        verdict = judge_question(question, evidence, cases, expected)
        if verdict.score < question.points:
            result.reference_problems.append(
                f"{question.id}: the reference scores {verdict.score:g}/"
                f"{question.points:g}: {verdict.feedback} {verdict.staff_log or ''}"
            )
    for question in exercise.questions:
        if isinstance(question, BackwardQuestion) and question.gradient_check:
            result.reference_problems += _inconsistent_cases(question, evidence, cases, expected)
        if isinstance(question, (FunctionQuestion, BackwardQuestion)):
            checks = [
                _check_mistake(question, m, evidence, cases, expected) for m in expected.listed_mistakes(question)
            ]
            result.mistakes += _by_diagnosis(checks)
    return result


def _by_diagnosis(checks: list[MistakeCheck]) -> list[MistakeCheck]:
    """One row per diagnosis: variants of one slip (truncation at several depths) count together. The row
    shows the variant that matters most: a caught one with a problem, else any caught one."""
    groups: dict[str, list[MistakeCheck]] = {}
    for check in checks:
        groups.setdefault(check.diagnosis, []).append(check)
    return [_merged(group) for group in groups.values()]


def _merged(group: list[MistakeCheck]) -> MistakeCheck:
    def weight(check: MistakeCheck) -> tuple[bool, bool]:
        caught = bool(check.public_catching or check.hidden_catching)
        return caught, caught and bool(check.problem)

    shown = max(group, key=weight)
    return replace(
        shown,
        public_catching=sorted({n for check in group for n in check.public_catching}),
        hidden_catching=max(check.hidden_catching for check in group),
    )


def _inconsistent_cases(
    question: BackwardQuestion, evidence: Evidence, cases: list[Case], expected: Expected
) -> list[str]:
    """Cases on which the reference backward disagrees with central differences of the reference forward."""
    forward = expected.exercise.forward_of(question)
    probes = evidence.items[gradient_check_id(question)].records
    problems = []
    for index, case in enumerate(cases):
        args = call_args(forward, case)
        stride = len(probe_calls(args, case))
        outputs = [record.value for record in probes[index * stride : (index + 1) * stride]]
        gradients = evidence.items[question.id].records[index].value
        if not consistent(args, case, outputs, call_args(question, case), gradients):
            problems.append(
                f"{question.id}: {question.reference} is not the derivative of {forward.reference} "
                f"on {case.describe()} (central differences disagree)"
            )
    return problems


def reference_evidence(exercise: Exercise, cases: list[Case], expected: Expected) -> Evidence:
    """What a submission that is the reference would send back, for every question."""
    evidence = Evidence(timeout=1.0)
    for question in exercise.questions:
        if isinstance(question, (FunctionQuestion, BackwardQuestion)):
            values = [expected.answer(question, case) for case in cases]
            evidence.items[question.id] = _item(values)
        if isinstance(question, BackwardQuestion) and question.gradient_check:
            evidence.items[gradient_check_id(question)] = _probe_item(exercise.forward_of(question), cases, expected)
        if isinstance(question, NumericQuestion):
            evidence.answers[question.name] = expected.numeric_answer(question).tolist()
    if any(isinstance(q, ShapeQuestion) for q in exercise.questions):
        shapes = {symbol: "x".join(map(str, shape)) for symbol, shape in expected.shapes.items()}
        evidence.items[SHAPES_VARIABLE] = ItemResult("done", records=[Record(value=shapes)])
    evidence.writeup = model_writeup(exercise)
    return evidence


def model_writeup(exercise: Exercise) -> str:
    """The written questions' model answers, one write-up: the reference's derivation, as a student writes it.
    A written question without a `model_answer` is reported by `validate` as not earning full marks."""
    paths = dict.fromkeys(
        q.model_answer for q in exercise.questions if isinstance(q, WrittenQuestion) and q.model_answer
    )
    return "\n\n".join(str(resolve(exercise, path)()) for path in paths if path)


def _probe_item(forward: FunctionQuestion, cases: list[Case], expected: Expected) -> ItemResult:
    """The reference forward's outputs on the probes of a gradient check."""
    function = resolve(expected.exercise, forward.reference)
    values = [
        compared_part(forward, function(*call))
        for case in cases
        for call in probe_calls(call_args(forward, case), case)
    ]
    return _item(values)


def _item(values: list[Any]) -> ItemResult:
    return ItemResult("done", records=[Record(value=_raw(value)) for value in values])


def _raw(value: Any) -> Any:
    """A value as it comes back from the sandbox: sequences as lists, numbers as arrays."""
    if isinstance(value, (tuple, list)):
        return [_raw(part) for part in value]
    return np.asarray(value)


def _check_mistake(
    question: FunctionQuestion | BackwardQuestion,
    mistake: Any,
    evidence: Evidence,
    cases: list[Case],
    expected: Expected,
) -> MistakeCheck:
    values = [expected.mistake_value(question, mistake, case) for case in cases]
    tolerance = tolerance_for(question, expected.exercise)
    differs = [
        not compare(_raw(value), expected.answer(question, case), tolerance).ok for value, case in zip(values, cases)
    ]
    wrong = Evidence(**{**evidence.__dict__, "items": {**evidence.items, question.id: _item(values)}})
    verdict = judge_question(question, wrong, cases, expected)
    public = [n for n, (case, off) in enumerate(zip(cases, differs), start=1) if off and not case.hidden]
    hidden = sum(off for case, off in zip(cases, differs) if case.hidden)
    return MistakeCheck(
        question.id, mistake.diagnosis, public, hidden, verdict.score, question.points, verdict.diagnosis
    )


def render_validation(validation: Validation) -> str:
    """The table an instructor reads: one row per mistake, then what is wrong or worth a look."""
    lines = [
        f"{validation.exercise}: the reference "
        + ("earns full marks" if not validation.reference_problems else "does NOT earn full marks")
    ]
    lines += [f"  ! {problem}" for problem in validation.reference_problems]
    if validation.mistakes:
        lines.append(f"  {'question':<24} {'mistake':<36} {'public cases':<13} {'hidden':>6}  verdict")
    for check in validation.mistakes:
        public = " ".join(map(str, check.public_catching)) or "-"
        verdict = f"PROBLEM: {check.problem}" if check.problem else f"named, {check.score:g}/{check.max_score:g}"
        verdict += f"  (warning: {check.warning})" if check.warning else ""
        lines.append(f"  {check.question:<24} {check.diagnosis:<36} {public:<13} {check.hidden_catching:>6}  {verdict}")
    lines.append("ok" if validation.ok else "FAILED")
    return "\n".join(lines)
