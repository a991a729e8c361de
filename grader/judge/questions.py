"""Verdicts: raw values from the sandbox (or answers read from files) against the reference.

Runs in the grader's own process and knows nothing of processes: it takes what came back,
one question at a time, and returns a `QuestionResult` with feedback for the student.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from exercises.models import (
    BackwardQuestion,
    CodeQuestion,
    Exercise,
    FunctionQuestion,
    NumericQuestion,
    ShapeQuestion,
    WrittenQuestion,
)
from grader.cases.draw import Case
from grader.judge import numerical_gradient
from grader.judge.compare import (
    Comparison,
    answer_count_problem,
    compare,
    compare_each,
    output_names,
    tolerance_for,
    within_each,
)
from grader.judge.diagnoses import GENERIC, generic_hint
from grader.judge.expected import Expected, call_args, output_count
from grader.judge.hidden_feedback import case_name, detailed, raised
from grader.judge.outputs import (
    RIGHT,
    WRONG,
    PartVerdict,
    diagnose_parts,
    dominant,
    output_hints,
    output_results,
    outputs_summary,
    part,
)
from grader.judge.written import WrittenUnavailable, judge_written
from grader.read.shapes import ShapeParseError, describe, parse_shape
from grader.results import QuestionResult, QuestionStatus
from grader.run.protocol import ItemResult, Record

MAX_SHOWN_ERRORS = 2


@dataclass
class Evidence:
    """What one submission gave, gathered from every source, ready to judge."""

    items: dict[str, ItemResult] = field(default_factory=dict)  # by question id (and "SHAPES")
    answers: dict[str, Any] = field(default_factory=dict)  # from answer files
    writeup_shapes: dict[str, str] = field(default_factory=dict)  # symbol -> raw text
    writeup: str = ""  # the Markdown/LaTeX text of write-ups and notebook Markdown cells, for written questions
    load_problem: str = ""  # why the code could not be loaded at all
    load_status: str = "ok"  # ok, timeout, crashed
    load_errors: list[str] = field(default_factory=list)
    import_problem: str = ""  # an import the grader does not provide stopped the code
    grader_error: str | None = None
    timeout: float = 0.0


def judge_question(question: Any, evidence: Evidence, cases: list[Case], expected: Expected) -> QuestionResult:
    """One question's verdict; a failure of the grader itself becomes a visible grader error."""
    try:
        if isinstance(question, ShapeQuestion):
            return judge_shape(question, evidence, expected)
        if isinstance(question, (FunctionQuestion, BackwardQuestion)):
            return judge_function(question, evidence, cases, expected)
        if isinstance(question, WrittenQuestion):
            return judge_writeup(question, evidence, expected)
        return judge_numeric(question, evidence, expected)
    except WrittenUnavailable as exc:
        return grader_error(question, f"WrittenUnavailable: {exc}")
    except Exception:  # noqa: BLE001 - the grader's fault, shown as such and kept for staff
        return grader_error(question, traceback.format_exc())


def grader_error(question: Any, log: str) -> QuestionResult:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return QuestionResult(
        id=question.id,
        score=0.0,
        max_score=question.points,
        status="error",
        feedback="Grader error while checking this question (not a problem in your work); "
        "the course staff have the details.",
        grader_error=lines[-1][:300] if lines else "unknown",
        staff_log=log,
    )


def _result(
    question: Any, fraction: float, status: QuestionStatus, feedback: str, diagnosis: str | None = None
) -> QuestionResult:
    score = question.points * max(0.0, min(1.0, fraction))  # exact: rounded once, where it is shown
    return QuestionResult(
        id=question.id, score=score, max_score=question.points, status=status, feedback=feedback, diagnosis=diagnosis
    )


def trace_root_causes(results: list[QuestionResult]) -> list[QuestionResult]:
    """A mistake that shows in several questions is traced to the first one (in report order) that shows it:
    the later ones say so, so a student fixes the cause once instead of chasing each symptom."""
    first_with: dict[str, str] = {}
    traced = []
    for result in results:
        root = first_with.setdefault(result.diagnosis, result.id) if result.diagnosis else None
        if root is not None and root != result.id and result.diagnosis not in GENERIC:
            result = result.model_copy(
                update={
                    "feedback": f"{result.feedback} The same mistake "
                    f"({result.diagnosis}) shows in {root}: fixing it there is likely "
                    "to fix this too."
                }
            )
        traced.append(result)
    return traced


# ---------------------------------------------------------------- shapes


def judge_shape(question: ShapeQuestion, evidence: Evidence, expected: Expected) -> QuestionResult:
    raw, source = find_shape_answer(question, evidence)
    symbol = question.symbol
    if raw is None and evidence.import_problem:
        return _result(question, 0, "error", evidence.import_problem)
    if raw is None:
        return _result(
            question,
            0,
            "missing",
            f"No shape given for {symbol} (looked for SHAPES in your "
            "code, answer files, and shape statements in your write-up).",
        )
    try:
        given = parse_shape(raw)
    except ShapeParseError as exc:
        return _result(question, 0, "failed", f"{symbol} ({source}): {exc}. Write a shape like 7x1.")
    return _verdict_on_shape(question, given, expected.shapes[symbol], source)


def _verdict_on_shape(
    question: ShapeQuestion, given: tuple[int, ...], want: tuple[int, ...], source: str
) -> QuestionResult:
    symbol, shown = question.symbol, describe(given)
    if given == want:
        return _result(question, 1, "passed", f"{symbol}: {shown} is right ({source}).")
    if len(want) == 2 and want[1] == 1 and given == want[:1]:
        return _result(
            question, 1, "passed", f"{symbol}: {shown} accepted ({source}); the handout writes vectors as columns, n×1."
        )
    if len(given) == len(want) == 2 and given == want[::-1]:
        return _result(
            question,
            0,
            "failed",
            f"{symbol}: {shown} ({source}) is transposed: rows and columns are swapped.",
            "transposed",
        )
    return _result(
        question,
        0,
        "failed",
        f"{symbol}: {shown} ({source}) is not its shape. Check the "
        f"sizes of what {symbol} multiplies, or is multiplied by, in the equations.",
    )


def find_shape_answer(question: ShapeQuestion, evidence: Evidence) -> tuple[Any, str]:
    """The student's raw answer for a symbol and where it came from; code first, then files, then prose."""
    names = [question.symbol, *question.aliases]
    shapes_item = evidence.items.get("SHAPES")
    code_value = shapes_item.records[0].value if shapes_item and shapes_item.records else None
    for source, mapping in (
        ("SHAPES in your code", code_value),
        ("your answers file", evidence.answers),
        ("your write-up", evidence.writeup_shapes),
    ):
        if isinstance(mapping, dict):
            found = lookup_key(mapping, names, prefix="shapes.")
            if found is not None:
                return _plain_python(found), source
    return None, ""


def _plain_python(value: Any) -> Any:
    """Values that came back from code as arrays (a tuple (7, 1) arrives as two 0-d arrays) as plain numbers."""
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else [_plain_python(v) for v in value]
    if isinstance(value, list):
        return [_plain_python(v) for v in value]
    return value


def lookup_key(mapping: dict[str, Any], names: list[str], prefix: str = "") -> Any:
    """mapping[name] for the first name present (also with `prefix`), then case-insensitively."""
    plain = {str(key).removeprefix(prefix).strip(): value for key, value in mapping.items()}
    for name in names:
        if name in plain:
            return plain[name]
    folded = {key.lower(): value for key, value in plain.items()}
    return next((folded[name.lower()] for name in names if name.lower() in folded), None)


# ---------------------------------------------------------------- functions
#
# A function returning several values is judged output by output (`grader/judge/outputs.py`): each output earns
# its share of the points on the cases where it is right. A wrong output's diagnosis is chosen here, in this
# order; on each failing case the first of these that applies names it (`_case_diagnoses`):
#   1. wrong-forward: a backward fails where its own forward fails too, and that forward's cache fed it;
#   2. a known mistake: the answer equals a generic slip (transposed, then sign-flipped) or, failing those, one
#      of the question's listed mistakes, in the order listed; a mistake that explains every wrong output of the
#      case names them all, else each output takes the first that explains it;
#   3. scaled-by-constant: the output is the expected one times a constant.
# Then the question's diagnosis (`_question_diagnosis`): hard-coded-sizes when it passes exactly on the cases at
# the handout's sizes, whatever its cases were named; else the one at least half its wrong outputs share.


@dataclass(frozen=True)
class _CaseVerdict:
    case: Case
    passed: bool
    problem: str = ""
    raised: bool = False
    note: str = ""  # said once, whatever the verdict (a backward excused by its own forward)
    parts: tuple[PartVerdict, ...] = ()  # one per output (`expected.output_count`); none: every one as `passed`

    def output(self, index: int) -> PartVerdict:
        if self.parts:
            return self.parts[index]
        return RIGHT if self.passed else WRONG


def judge_function(question: CodeQuestion, evidence: Evidence, cases: list[Case], expected: Expected) -> QuestionResult:
    unavailable = _unavailable(question, evidence)
    if unavailable is not None:
        return unavailable
    item = evidence.items[question.id]
    if item.records and item.records[0].missing:
        status: QuestionStatus = "error" if evidence.load_errors else "missing"
        return _result(question, 0, status, evidence.import_problem or _missing_message(question.function, evidence))
    if item.records and item.records[0].error and len(item.records) == 1 and len(cases) > 1:
        return _result(question, 0, "error", f"{question.function}: {item.records[0].error}")
    count = output_count(question)
    right = _right_in_bulk(question, item.records, cases, expected)
    verdicts = [
        _CaseVerdict(case, True, parts=(RIGHT,) * count)
        if ok
        else _judge_code_case(question, record, index, case, evidence, expected)
        for index, (record, case, ok) in enumerate(zip(item.records, cases, right))
    ]
    if item.status == "done":  # finished, yet some results are missing: the student's code removed them
        verdicts += [_CaseVerdict(case, False, "gave no result that could be read") for case in cases[len(verdicts) :]]
    diagnosis = _question_diagnosis(verdicts, expected.exercise.handout, output_count(question))
    return _function_result(question, verdicts, diagnosis, item, cases, expected.exercise, evidence.timeout)


def _right_in_bulk(question: CodeQuestion, records: list[Record], cases: list[Case], expected: Expected) -> list[bool]:
    """Per case, whether the answer is right on it, judged in bulk for every case at once (False: judge that case on
    its own, which says what is wrong, or accepts an answer in another form)."""
    count = output_count(question)
    pairs: list[tuple[Any, Any]] = []
    owners: list[int] = []  # the case of each pair
    for index, (record, case) in enumerate(zip(records, cases)):
        parts = [record.value] if count == 1 else record.value
        if record.error is not None or not isinstance(parts, list) or len(parts) != count:
            continue
        want = expected.answer(question, case)
        wants = [want] if count == 1 else list(want) if isinstance(want, tuple) else []
        if len(wants) == count:
            pairs += zip(parts, wants)
            owners += [index] * count
    right = [False] * min(len(records), len(cases))
    for index in owners:
        right[index] = True
    for index, ok in zip(owners, within_each(pairs, tolerance_for(question, expected.exercise))):
        right[index] = right[index] and ok
    return right


def _unavailable(question: Any, evidence: Evidence) -> QuestionResult | None:
    """A verdict when the code never got to run this question, else None."""
    if evidence.grader_error:
        return grader_error(question, evidence.grader_error)
    if evidence.load_problem:
        status: QuestionStatus = "timeout" if evidence.load_status == "timeout" else "error"
        return _result(question, 0, status, evidence.load_problem)
    if question.id not in evidence.items:
        return _result(question, 0, "missing", "Your submission has no code to run, so this question has no answer.")
    return None


def _missing_message(name: str, evidence: Evidence) -> str:
    message = f"No function named {name} was found in your code."
    if any("SyntaxError" in error for error in evidence.load_errors):
        return f"{message} Your code has a syntax error, so none of it could run: {evidence.load_errors[0]}."
    if evidence.load_errors:
        message += f" Note that {evidence.load_errors[0]}: was {name} defined after that point?"
    return message


def _judge_code_case(
    question: CodeQuestion, record: Record, index: int, case: Case, evidence: Evidence, expected: Expected
) -> _CaseVerdict:
    verdict = _judge_case(question, record, case, expected)
    if verdict.passed:
        return verdict
    forward = _failing_forward(question, index, case, evidence, expected)
    if forward is not None and _consistent_with_own_forward(question, forward, record, index, case, evidence):
        note = (
            f"Your {forward.function} is wrong on some cases, but {question.function} is the right derivative of "
            f"it there, so only {forward.function} loses points for it."
        )
        return _CaseVerdict(case, True, note=note)
    found = _case_diagnoses(question, record, case, expected, forward, verdict)
    parts = tuple(
        replace(p, diagnosis=found[n][0], hint=found[n][1]) if n in found else p for n, p in enumerate(verdict.parts)
    )
    return replace(verdict, parts=parts)


def _case_diagnoses(
    question: CodeQuestion,
    record: Record,
    case: Case,
    expected: Expected,
    failing_forward: FunctionQuestion | None,
    verdict: _CaseVerdict,
) -> dict[int, tuple[str, str]]:
    """What one failing case shows, per wrong output: the first of steps 1 to 3 above that applies, with its hint."""
    wrong = [n for n, p in enumerate(verdict.parts) if not p.right]
    if failing_forward is not None:
        names = {"forward": failing_forward.function, "function": question.function}
        return dict.fromkeys(wrong, ("wrong-forward", generic_hint("wrong-forward", **names)))
    count = output_count(question)
    if record.error is not None or (count > 1 and answer_count_problem(record.value, question.compared_outputs)):
        return {}
    want = expected.answer(question, case)
    got, wanted = [part(record.value, n, count) for n in range(count)], [part(want, n, count) for n in range(count)]
    shown_on = None if case.hidden else case.label
    context = (output_names(question.compared_outputs, count), tolerance_for(question, expected.exercise), shown_on)
    return diagnose_parts(got, wanted, wrong, expected.mistake_table(question, case), context)


def _question_diagnosis(verdicts: list[_CaseVerdict], handout: dict[str, int], count: int) -> tuple[str | None, str]:
    """The question's diagnosis and hint, from its cases (the last step of the order above)."""
    at_handout = [v.case.sizes == handout for v in verdicts]
    if any(at_handout) and not all(at_handout) and all(v.passed == here for v, here in zip(verdicts, at_handout)):
        return "hard-coded-sizes", generic_hint("hard-coded-sizes")
    return dominant([v.output(n) for v in verdicts for n in range(count)])


def _failing_forward(
    question: CodeQuestion, index: int, case: Case, evidence: Evidence, expected: Expected
) -> FunctionQuestion | None:
    """A backward's forward when it is wrong on this case too (its cache fed the backward), else None."""
    if not isinstance(question, BackwardQuestion):
        return None
    forward = expected.exercise.forward_of(question)
    return None if _case_passes(forward, evidence, index, case, expected) else forward


def _case_passes(question: CodeQuestion, evidence: Evidence, index: int, case: Case, expected: Expected) -> bool:
    item = evidence.items.get(question.id)
    if item is None or index >= len(item.records):
        return False
    return _judge_case(question, item.records[index], case, expected).passed


def _consistent_with_own_forward(
    question: CodeQuestion, forward: FunctionQuestion, record: Record, index: int, case: Case, evidence: Evidence
) -> bool:
    """With gradient_check, is the backward the derivative of the student's own forward on this case?"""
    if not isinstance(question, BackwardQuestion) or not question.gradient_check:
        return False
    probes = evidence.items.get(numerical_gradient.gradient_check_id(question))
    if probes is None or record.error is not None:
        return False
    args = call_args(forward, case)
    stride = len(numerical_gradient.probe_calls(args, case))
    outputs = probes.records[index * stride : (index + 1) * stride]
    if len(outputs) < stride or any(o.error is not None or o.missing for o in outputs):
        return False
    return bool(
        numerical_gradient.consistent(args, case, [o.value for o in outputs], call_args(question, case), record.value)
    )


def _judge_case(question: CodeQuestion, record: Record, case: Case, expected: Expected) -> _CaseVerdict:
    """Right or wrong on one case, output by output, and what the student is told of it (what it shows:
    `_case_diagnoses`)."""
    count, exercise = output_count(question), expected.exercise
    if record.error is not None:
        return _CaseVerdict(case, False, raised(record.error, case, exercise), raised=True, parts=(WRONG,) * count)
    want, tolerance = expected.answer(question, case), tolerance_for(question, exercise)
    names = question.compared_outputs
    outcomes = (
        compare_each(record.value, want, tolerance, names) if count > 1 else [compare(record.value, want, tolerance)]
    )
    if all(outcome.ok for outcome in outcomes):
        return _CaseVerdict(case, True, parts=(RIGHT,) * count)
    parts = tuple(PartVerdict(o.ok, _told(o, case, exercise)) for o in outcomes)
    whole = count == 1 or answer_count_problem(record.value, names)
    problem = (
        parts[0].problem
        if whole
        else "; ".join(f"{name}: {p.problem}" for name, p in zip(output_names(names, count), parts) if not p.right)
    )
    return _CaseVerdict(case, False, problem, parts=parts)


def _told(outcome: Comparison, case: Case, exercise: Exercise) -> str:
    """What the student reads of a wrong output. Hidden cases say what is wrong, never how far off or where
    (that would leak the expected values), and by default nothing the student's code chose."""
    if outcome.ok:
        return ""
    if not detailed(case, exercise):
        return outcome.hidden_problem
    return outcome.problem if case.hidden or not outcome.detail else f"{outcome.problem}: {outcome.detail}"


def _function_result(
    question: CodeQuestion,
    verdicts: list[_CaseVerdict],
    diagnosis_and_hint: tuple[str | None, str],
    item: ItemResult,
    cases: list[Case],
    exercise: Exercise,
    timeout: float,
) -> QuestionResult:
    count, diagnosis = output_count(question), diagnosis_and_hint[0]
    judged = len(cases) or 1
    columns = [[v.output(n) for v in verdicts] for n in range(count)]
    outputs = output_results(question, columns, judged) if count > 1 else []
    passed = sum(v.passed for v in verdicts)
    parts = [f"Passed {passed} of {len(cases)} cases."]
    if outputs and passed < len(cases):
        parts.append(outputs_summary(outputs, columns, judged))
    parts += (
        output_hints(diagnosis_and_hint[1], columns, outputs) if outputs else [h for h in diagnosis_and_hint[1:] if h]
    )
    parts += sorted({v.note for v in verdicts if v.note})
    failures = [v for v in verdicts if not v.passed]
    parts += [f"{case_name(v.case, exercise)}: {question.function} {v.problem}." for v in failures[:MAX_SHOWN_ERRORS]]
    if len(failures) > MAX_SHOWN_ERRORS:
        parts.append(f"({len(failures) - MAX_SHOWN_ERRORS} more failing cases not shown.)")
    if item.status in ("timeout", "crashed"):
        parts.append(_interrupted(question.function, item, cases, len(verdicts), exercise, timeout))
    fraction = sum(o.score for o in outputs) / question.points if outputs else passed / judged
    result = _result(question, fraction, _function_status(verdicts, item, cases), " ".join(parts), diagnosis)
    return result.model_copy(update={"outputs": outputs}) if outputs else result


def _function_status(verdicts: list[_CaseVerdict], item: ItemResult, cases: list[Case]) -> QuestionStatus:
    if item.status == "timeout":
        return "timeout"
    if item.status == "crashed" or (verdicts and all(v.raised for v in verdicts)):
        return "error"
    return "passed" if len(verdicts) == len(cases) and all(v.passed for v in verdicts) else "failed"


def _interrupted(
    name: str, item: ItemResult, cases: list[Case], finished: int, exercise: Exercise, timeout: float
) -> str:
    case = cases[finished] if finished < len(cases) else None
    where = case_name(case, exercise) if case is not None else "the last case"
    if item.status == "timeout":
        return f"{name} did not finish {where} within {timeout:g} s (an endless loop?); later cases were not run."
    how = f": {item.detail}" if case is None or detailed(case, exercise) else " (it exited or was killed)"
    return f"{name} stopped the whole program on {where}{how}; later cases were not run."


# ---------------------------------------------------------------- written derivations


def judge_writeup(question: WrittenQuestion, evidence: Evidence, expected: Expected) -> QuestionResult:
    """A written part of the derivation, read from the write-up's math (grader/judge/written/)."""
    if not evidence.writeup.strip():
        return _result(
            question,
            0,
            "missing",
            "Your submission has no write-up (Markdown/LaTeX, or a notebook's Markdown cells), "
            "so this written question has no answer.",
        )
    exercise = expected.exercise
    verdict = judge_written(question, evidence.writeup, exercise.handout, expected.resolve)
    status: QuestionStatus = verdict.status  # type: ignore[assignment]
    return _result(question, verdict.fraction, status, verdict.feedback, verdict.diagnosis)


# ---------------------------------------------------------------- numbers


def judge_numeric(question: NumericQuestion, evidence: Evidence, expected: Expected) -> QuestionResult:
    raw, source = _find_numeric_answer(question, evidence)
    if raw is None:
        message = f"No value given for {question.name} (looked in your code and answer files)."
        if source:
            message = f"No value given for {question.name}: {source}."
        if evidence.load_errors:
            message += f" Note that {evidence.load_errors[0]}: was {question.name} set after that point?"
        return _result(question, 0, "missing", message)
    value = _numeric_value(raw)
    outcome = compare(value, expected.numeric_answer(question), tolerance_for(question, expected.exercise))
    if outcome.ok:
        return _result(question, 1, "passed", f"{question.name} ({source}) is right.")
    if outcome.detail:  # a public, hand-worked case: how far off is fair to say
        return _result(question, 0, "failed", f"{question.name} ({source}) is off: {outcome.detail}.")
    return _result(question, 0, "failed", f"{question.name} ({source}): {outcome.problem}.")


def _find_numeric_answer(question: NumericQuestion, evidence: Evidence) -> tuple[Any, str]:
    """The code's value, else the answers file's; a value the code could not give falls back too."""
    item = evidence.items.get(question.id)
    record = item.records[0] if item and item.records else None
    if record is not None and not record.missing and record.error is None:
        return record.value, "in your code"
    found = lookup_key(evidence.answers, [question.name, question.id])
    if found is not None:
        return found, "in your answers file"
    if record is not None and record.error is not None:
        return None, f"reading it from your code raised {record.error}"
    return None, ""


def _numeric_value(raw: Any) -> Any:
    """Answers-file values (numbers, nested lists, numeric strings) as arrays; code values as they are."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return np.asarray(float(raw))
    if isinstance(raw, str):
        try:
            return np.asarray(float(raw.strip()))
        except ValueError:
            return raw
    if isinstance(raw, list):
        try:
            return np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            return raw
    return raw
