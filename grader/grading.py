"""The pipeline: exercise → cases → submissions → sandbox runs → verdicts → results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from exercises.models import Exercise, FunctionQuestion, NumericQuestion, ShapeQuestion
from grader.cases import Case, build_cases
from grader.expected import Expected
from grader.judge import Evidence, judge_question
from grader.results import GradingResults, SubmissionResult, total
from grader.runner.client import Job, RunResult, SandboxPool
from grader.runner.protocol import Item, Limits, encode_array
from grader.submission import Submission, discover
from grader.writeup import shapes_from_text

SHAPES_VARIABLE = "SHAPES"


@dataclass(frozen=True)
class GradingOptions:
    """How to grade: limits for student code, parallelism, and which cases."""

    limits: Limits = field(default_factory=Limits)
    jobs: int = 1
    secret: str | None = None
    public_only: bool = False
    single: bool = False
    roster: dict[str, str] = field(default_factory=dict)


def grade(paths: list[Path], exercise: Exercise, options: GradingOptions,
          on_result: Callable[[SubmissionResult], None] | None = None) -> GradingResults:
    """Grade every submission under `paths`; one submission's failure never touches another's result."""
    cases = build_cases(exercise, secret=options.secret, include_hidden=not options.public_only)
    submissions = discover(paths, single=options.single)
    runs = run_submissions(submissions, exercise, cases, options)
    expected = Expected(exercise)
    results = GradingResults(exercise=exercise.id)
    for index, submission in enumerate(submissions):
        result = judge_submission(submission, runs.get(str(index)), exercise, cases, expected, options)
        results.submissions.append(result)
        if on_result is not None:
            on_result(result)
    return results


def run_submissions(submissions: list[Submission], exercise: Exercise, cases: list[Case],
                    options: GradingOptions) -> dict[str, RunResult]:
    """Run every submission that has code, in the sandbox, `options.jobs` at a time."""
    items = build_items(exercise, cases)
    jobs = [Job(str(index), s.files, s.units, items)
            for index, s in enumerate(submissions) if s.rejected is None and s.units]
    if not jobs:
        return {}
    with SandboxPool(options.limits, options.jobs) as pool:
        return {run.key: run for run in pool.run(jobs)}


def build_items(exercise: Exercise, cases: list[Case]) -> list[Item]:
    """What to fetch from every submission's code: each function on every case, and the answer values."""
    items = []
    for question in exercise.questions:
        if isinstance(question, FunctionQuestion):
            calls = [[encode_array(case.arrays[name]) for name in question.args] for case in cases]
            items.append(Item(id=question.id, kind="call", name=question.function, calls=calls))
        elif isinstance(question, NumericQuestion):
            items.append(Item(id=question.id, kind="value", name=question.name))
    if any(isinstance(q, ShapeQuestion) for q in exercise.questions):
        items.append(Item(id=SHAPES_VARIABLE, kind="value", name=SHAPES_VARIABLE))
    return items


def judge_submission(submission: Submission, run: RunResult | None, exercise: Exercise, cases: list[Case],
                     expected: Expected, options: GradingOptions) -> SubmissionResult:
    student = options.roster.get(submission.student, submission.student)
    if submission.rejected is not None:
        return SubmissionResult(path=submission.path, student=student, score=0.0, max_score=exercise.max_score,
                                status="rejected", reason=submission.rejected, notes=submission.notes)
    evidence = gather_evidence(submission, run, exercise, options.limits)
    questions = [judge_question(q, evidence, cases, expected) for q in exercise.questions]
    score, max_score = total(questions)
    return SubmissionResult(path=submission.path, student=student, score=score, max_score=max_score,
                            status="graded", questions=questions, notes=_notes(submission, run),
                            output=run.output if run else "")


def gather_evidence(submission: Submission, run: RunResult | None, exercise: Exercise, limits: Limits) -> Evidence:
    symbols = {q.symbol: [q.symbol, *q.aliases] for q in exercise.questions if isinstance(q, ShapeQuestion)}
    evidence = Evidence(answers=submission.answers, timeout=limits.timeout,
                        writeup_shapes=shapes_from_text(submission.writeup, symbols) if symbols else {})
    if run is None:
        return evidence
    evidence.items = run.items
    evidence.grader_error = run.grader_error
    evidence.load_status, evidence.load_errors = run.load, run.load_errors
    evidence.load_problem = _load_problem(run, limits)
    return evidence


def _load_problem(run: RunResult, limits: Limits) -> str:
    if run.load == "timeout":
        return (f"Loading your code took longer than {limits.timeout:g} s, so nothing in it could be checked: "
                "is there an endless loop or a long demo at the top level? Put demos under "
                "`if __name__ == \"__main__\":`.")
    if run.load == "crashed":
        return f"Your code ended the whole program while loading ({run.load_detail}), so nothing could be checked."
    return ""


def _notes(submission: Submission, run: RunResult | None) -> list[str]:
    notes = list(submission.notes)
    if run is None:
        return notes
    notes += run.load_errors
    notes += [f"Flagged for review: the code tried to import {name!r}, the grader's own code."
              for name in run.forbidden_imports]
    if run.output_dropped:
        notes.append(f"Your code printed {run.output_dropped + len(run.output):,} characters or more; "
                     "only the beginning was kept.")
    return notes
