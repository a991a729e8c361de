"""The pipeline: exercise → cases → submissions → sandbox runs → verdicts → results.

Each submission's result is final as soon as its run is judged; it goes to the gradebook (when
there is one) in its own transaction before the next one is looked at, so a batch killed
half-way loses nothing that was finished.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from exercises.bank import exercise_folder
from exercises.models import (
    BackwardQuestion,
    Exercise,
    FunctionQuestion,
    NumericQuestion,
    ShapeQuestion,
    WrittenQuestion,
)
from grader.cases.draw import Case, build_cases
from grader.cases.variants import for_student
from grader.judge.expected import Expected, call_args
from grader.judge.numerical_gradient import gradient_check_id, probe_calls
from grader.read.flags import PROTECTED_PACKAGES, flagged_imports, most_used, plotting_packages
from grader.read.submission import Submission, discover
from grader.run.client import Job, SandboxPool
from grader.run.protocol import Item, Limits, RunResult, encode_array
from grader.selfcheck.server import servers_folder

if TYPE_CHECKING:
    # A student's check keeps no gradebook: its modules load only when one is opened. The judging of questions
    # (grader.judge.questions and what it imports) loads once a lone submission's job is prepared, while it runs.
    from grader.judge.questions import Evidence
    from grader.record.gradebook import Gradebook
    from grader.record.shard import Shard
    from grader.record.stored import StoredResults
    from grader.results import GradingResults, QuestionResult, SubmissionResult

SHAPES_VARIABLE = "SHAPES"


@dataclass(frozen=True)
class GradingOptions:
    """How to grade: limits for student code, parallelism, which cases, where results are kept."""

    limits: Limits = field(default_factory=Limits)
    jobs: int = 1
    secret: str | None = None
    public_only: bool = False
    single: bool = False
    roster: dict[str, str] = field(default_factory=dict)
    gradebook: Path | None = None
    resume: bool = False
    isolation: str = "auto"
    private_folders: tuple[Path, ...] = ()  # also hidden from student code (where results are written)
    student: str | None = None  # whose variant a single submission is (check --student)
    kit: Path | None = None  # a student kit: its public cases and answers instead of the references


@dataclass
class _Setting:
    """What grading needs of one variant of the exercise (the exercise itself when it has no variants)."""

    exercise: Exercise
    cases: list[Case]
    expected: Expected
    items: list[Item] = field(default_factory=list)
    error: str | None = None  # the variant could not be built: its students get grader errors, the batch goes on


@dataclass
class _Batch:
    """Everything one grading run shares."""

    exercise: Exercise
    options: GradingOptions
    context: str
    private_folders: list[Path] = field(default_factory=list)  # hidden from student code where mounts allow
    levels: set[str] = field(default_factory=set)  # isolation levels the runs reported
    settings: dict[str | None, _Setting] = field(default_factory=dict)
    plotting: dict[str, set[str]] = field(default_factory=dict)  # by submission path: the plotting packages it imports

    def student(self, submission: Submission) -> str:
        return self.options.student or self.options.roster.get(submission.student, submission.student)

    def setting(self, submission: Submission) -> _Setting:
        """The variant this submission's student is graded against: cases and answers computed once each."""
        key = self.student(submission) if self.exercise.variants and not self.options.kit else None
        if key not in self.settings and self.options.kit is not None:
            from grader.selfcheck.kit import load_kit  # the kit's package imports this pipeline

            kit = load_kit(self.options.kit)
            self.settings[key] = _Setting(kit.exercise, kit.cases, kit.expected, build_items(kit.exercise, kit.cases))
        if key not in self.settings:
            self.settings[key] = self._build_setting(key)
        return self.settings[key]

    def _build_setting(self, student: str | None) -> _Setting:
        try:
            exercise = for_student(self.exercise, student)
            cases = build_cases(exercise, secret=self.options.secret, include_hidden=not self.options.public_only)
            return _Setting(exercise, cases, Expected(exercise), build_items(exercise, cases))
        except Exception:  # noqa: BLE001 - the exercise's fault, not the student's: a grader error for them
            return _Setting(self.exercise, [], Expected(self.exercise), error=traceback.format_exc())


def grade(
    paths: list[Path],
    exercise: Exercise,
    options: GradingOptions,
    on_result: Callable[[SubmissionResult], None] | None = None,
    shard: Shard | None = None,
) -> GradingResults:
    """Grade every submission under `paths` (only `shard`'s students, given one); one submission's failure
    never touches another's result. The results are kept in memory (`grade_stored` keeps a class on disk)."""
    kept: dict[int, SubmissionResult] = {}
    isolation = _grade_each(paths, exercise, options, kept.__setitem__, on_result, shard)
    from grader.results import GradingResults  # loaded by judging, once a lone submission's job is handed over

    return GradingResults(exercise=exercise.id, submissions=[kept[i] for i in sorted(kept)], isolation=isolation)


def grade_stored(
    paths: list[Path],
    exercise: Exercise,
    options: GradingOptions,
    on_result: Callable[[SubmissionResult], None] | None = None,
    shard: Shard | None = None,
) -> StoredResults:
    """As `grade`, each result written to disk as soon as it is final, so memory does not grow with the class;
    the caller closes the store (a file with no name, which student code cannot open)."""
    from grader.record.stored import StoredResults

    store = StoredResults(exercise.id)
    try:
        store.isolation = _grade_each(paths, exercise, options, store.add, on_result, shard)
    except BaseException:
        store.close()
        raise
    return store


def _grade_each(
    paths: list[Path],
    exercise: Exercise,
    options: GradingOptions,
    keep: Callable[[int, SubmissionResult], None],
    on_result: Callable[[SubmissionResult], None] | None,
    shard: Shard | None,
) -> str:
    """Grade, handing `keep` each result (with its place in the batch) as it becomes final, recorded first in
    the gradebook when there is one; the isolation levels the runs reported."""
    batch = _Batch(exercise, options, _context(exercise, options), _private_folders(paths, exercise, options))
    submissions = discover(paths, single=options.single)
    if shard is not None:
        submissions = shard.select(submissions, options.roster)
    with _open_gradebook(options) as gradebook:
        for index, result, is_new in _results(submissions, batch, gradebook):
            if gradebook is not None:
                result = _recorded(gradebook, submissions[index], batch, result, is_new)
            keep(index, result)
            if on_result is not None:
                on_result(result)
    return ", ".join(sorted(batch.levels))


def _results(
    submissions: list[Submission], batch: _Batch, gradebook: Gradebook | None
) -> Iterator[tuple[int, SubmissionResult, bool]]:
    """(index, result, newly graded?) for every submission, as each becomes final. The sandbox boots while the
    cases and expected answers are made; submissions without code (write-ups, answer files) are judged while
    it runs the others."""
    fresh = []
    for index, submission in enumerate(submissions):
        stored = _stored(submission, batch, gradebook)
        if stored is None:
            fresh.append(index)
        else:
            yield index, stored, False
    with open_sandbox(batch, [submissions[i] for i in fresh]) as pool:
        to_run = {i: submissions[i] for i in fresh if _runs(submissions[i], batch)}
        runs = sandbox_runs(pool, to_run, batch) if pool is not None and to_run else iter(())
        for index in fresh:  # judged while the sandbox runs the others
            if index not in to_run:
                yield index, judge_submission(submissions[index], None, batch), True
        # One submission with code to run (a check, a CI job): once its job is prepared, its write-up is read, and
        # the answers it is judged against computed, while the sandbox starts or its code runs.
        written = {}
        if len(to_run) == 1 and pool is not None and _spare_core():
            pool.await_first_job()
            written = {i: _ahead_of_judging(s, batch) for i, s in to_run.items()}
        for count, run in enumerate(runs, 1):
            if pool is not None and count == len(to_run):
                pool.release()  # the last run: the sandbox stops while it is judged
            index = int(run.key)
            yield index, judge_submission(submissions[index], run, batch, written.get(index)), True


def _spare_core() -> bool:
    """Whether a core is left for the grader while a student's code runs: on one, work done meanwhile would only
    lengthen the run, whose time limit is on the wall clock."""
    return len(os.sched_getaffinity(0)) > 1


def _ahead_of_judging(submission: Submission, batch: _Batch) -> dict[str, QuestionResult]:
    """What judging a submission needs that does not depend on its code's results: its written questions'
    results (returned) and the references' answers (kept by the setting's Expected)."""
    setting = batch.setting(submission)
    setting.expected.compute_ahead(setting.cases)
    return written_results(submission, batch)


def _runs(submission: Submission, batch: _Batch) -> bool:
    """Whether a submission has code for the sandbox (its variant's cases are made here, once)."""
    return _has_code(submission) and batch.setting(submission).error is None


def _has_code(submission: Submission) -> bool:
    return submission.rejected is None and bool(submission.units)


def _private_folders(paths: list[Path], exercise: Exercise, options: GradingOptions) -> list[Path]:
    """The folders of every submission, the exercise (an instructor's reference files), the gradebook and the
    outputs: no student's code may read them."""
    folders = [path.resolve() if path.is_dir() else path.resolve().parent for path in paths]
    folders.append(exercise_folder(exercise).resolve())
    if options.gradebook is not None:
        folders.append(options.gradebook.resolve().parent)
    if os.path.isdir(servers := servers_folder()):  # where a student's checks are served: no code may ask there
        folders.append(Path(servers).resolve())
    return folders + [folder.resolve() for folder in options.private_folders]


def _stored(submission: Submission, batch: _Batch, gradebook: Gradebook | None) -> SubmissionResult | None:
    if gradebook is None or not batch.options.resume:
        return None
    return gradebook.stored(batch.exercise.id, submission.path, _fingerprint(submission, batch))


def _recorded(
    gradebook: Gradebook, submission: Submission, batch: _Batch, result: SubmissionResult, is_new: bool
) -> SubmissionResult:
    """Record a new result; either way, the result as the gradebook shows it: with instructors' reviews."""
    from grader.record.gradebook import answer_fingerprint

    if is_new:
        answer = answer_fingerprint(submission.files)
        gradebook.record(batch.exercise.id, _fingerprint(submission, batch), result, answer)
    return gradebook.reviewed(batch.exercise.id, result)


def _fingerprint(submission: Submission, batch: _Batch) -> str:
    from grader.record.gradebook import fingerprint

    return fingerprint(submission.files, batch.context)


def _context(exercise: Exercise, options: GradingOptions) -> str:
    """What a gradebook's stored results depend on besides the files (none without a gradebook)."""
    if options.gradebook is None:
        return ""
    from grader.record.gradebook import grading_context

    settings = {
        "timeout": options.limits.timeout,
        "memory_mb": options.limits.memory_mb,
        "public_only": options.public_only,
        "roster": options.roster,
    }
    return grading_context(exercise.model_dump_json(), options.secret, settings)


def _open_gradebook(options: GradingOptions):
    if options.gradebook is None:
        return nullcontext()
    from grader.record.gradebook import Gradebook

    return Gradebook(options.gradebook)


@contextmanager
def open_sandbox(batch: _Batch, submissions: Iterable[Submission]) -> Iterator[SandboxPool | None]:
    """The sandbox for these submissions, booting as soon as this is entered; None when none has code."""
    with_code = [s for s in submissions if _has_code(s)]
    if not with_code:
        yield None
        return
    options = batch.options
    batch.plotting = {s.path: plotting_packages(s) for s in with_code}
    with SandboxPool(
        options.limits,
        options.jobs,
        isolation=options.isolation,
        protected_packages=PROTECTED_PACKAGES,
        private_folders=batch.private_folders,
        preload=most_used(batch.plotting.values()),
        plain=not all(batch.plotting.values()),  # one plotting notebook: one warm process
        own_work=options.public_only,  # a student's check
    ) as pool:
        yield pool


def run_submissions(submissions: dict[int, Submission], batch: _Batch) -> Iterator[RunResult]:
    """Run submissions with code in the sandbox, `jobs` at a time, yielding each run as it ends."""
    with open_sandbox(batch, submissions.values()) as pool:
        if pool is not None:
            yield from sandbox_runs(pool, {i: s for i, s in submissions.items() if _has_code(s)}, batch)


def sandbox_runs(pool: SandboxPool, submissions: dict[int, Submission], batch: _Batch) -> Iterator[RunResult]:
    """The submissions' runs, started at once, as they end."""
    provided, imports = provided_files(batch.exercise), batch.exercise.imports
    allowed = [*imports.allowed, "numpy"]
    plotting = bool(pool.preload)
    jobs = [
        Job(
            str(index),
            s.files + provided,
            s.units,
            batch.setting(s).items,
            imports.package,
            allowed,
            plots=plotting and bool(batch.plotting.get(s.path)),
        )
        for index, s in submissions.items()
    ]
    return _noting_levels(pool.run(jobs), batch)


def _noting_levels(runs: Iterator[RunResult], batch: _Batch) -> Iterator[RunResult]:
    for run in runs:
        if run.level:
            batch.levels.add(run.level)
        yield run


def provided_files(exercise: Exercise) -> list[tuple[Path, str]]:
    """The course modules an exercise provides, as (file, name in the student's folder)."""
    folder = exercise_folder(exercise)
    files = []
    for entry in exercise.imports.provided:
        source = folder / entry
        paths = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts) if source.is_dir() else [source]
        files += [(path, str(path.relative_to(source.parent))) for path in paths]
    return files


def build_items(exercise: Exercise, cases: list[Case]) -> list[Item]:
    """What to fetch from every submission's code: each function on every case, and the answer values."""
    items = []
    for question in exercise.questions:
        if isinstance(question, FunctionQuestion):
            items.append(
                Item(
                    id=question.id,
                    kind="call",
                    name=question.function,
                    drop=_cache_index(question),
                    calls=[_encoded(call_args(question, case)) for case in cases],
                )
            )
        elif isinstance(question, BackwardQuestion):
            items += _backward_items(question, exercise.forward_of(question), cases)
        elif isinstance(question, NumericQuestion):
            items.append(Item(id=question.id, kind="value", name=question.name))
    if any(isinstance(q, ShapeQuestion) for q in exercise.questions):
        items.append(Item(id=SHAPES_VARIABLE, kind="value", name=SHAPES_VARIABLE))
    return items


def _backward_items(question: BackwardQuestion, forward: FunctionQuestion, cases: list[Case]) -> list[Item]:
    """The student's backward fed by the student's forward; and, for a gradient check, the forward probed."""
    chain = Item(
        id=question.id,
        kind="chain",
        name=question.function,
        forward=forward.function,
        drop=_cache_index(forward),
        split=len(forward.args),
        calls=[_encoded(call_args(forward, case) + call_args(question, case)) for case in cases],
    )
    if not question.gradient_check:
        return [chain]
    probes = [_encoded(call) for case in cases for call in probe_calls(call_args(forward, case), case)]
    return [
        chain,
        Item(
            id=gradient_check_id(question), kind="call", name=forward.function, drop=_cache_index(forward), calls=probes
        ),
    ]


def _cache_index(question: FunctionQuestion) -> int | None:
    return question.outputs.index(question.cache) if question.cache is not None else None


def _encoded(arrays: list) -> list[dict]:
    return [encode_array(array) for array in arrays]


def judge_submission(
    submission: Submission, run: RunResult | None, batch: _Batch, written: dict[str, QuestionResult] | None = None
) -> SubmissionResult:
    """The submission's result; `written`: its written questions' results, when they were judged already."""
    from grader.judge.questions import grader_error, judge_question, trace_root_causes
    from grader.results import SubmissionResult, total

    exercise, options = batch.exercise, batch.options
    student = batch.student(submission)
    if submission.rejected is not None:
        return SubmissionResult(
            path=submission.path,
            student=student,
            score=0.0,
            max_score=exercise.max_score,
            status="rejected",
            reason=submission.rejected,
            notes=submission.notes,
        )
    setting = batch.setting(submission)
    if setting.error is not None:
        questions = [grader_error(q, setting.error) for q in setting.exercise.questions]
    else:
        evidence = gather_evidence(submission, run, setting.exercise, options.limits)
        done = written or {}
        questions = trace_root_causes(
            [
                done[q.id] if q.id in done else judge_question(q, evidence, setting.cases, setting.expected)
                for q in setting.exercise.questions
            ]
        )
    score, max_score = total(questions)
    return SubmissionResult(
        path=submission.path,
        student=student,
        score=score,
        max_score=max_score,
        status="graded",
        questions=questions,
        notes=_notes(submission, run),
        output=run.output if run else "",
        seconds=run.seconds if run else None,
        cpu_s=run.cpu_s if run else 0.0,
        wall_s=run.wall_s if run else 0.0,
    )


def written_results(submission: Submission, batch: _Batch) -> dict[str, QuestionResult]:
    """The results of the written questions, which read the write-up only (never the code's run)."""
    from grader.judge.questions import judge_question

    setting = batch.setting(submission)
    if setting.error is not None:
        return {}
    evidence = gather_evidence(submission, None, setting.exercise, batch.options.limits)
    return {
        q.id: judge_question(q, evidence, setting.cases, setting.expected)
        for q in setting.exercise.questions
        if isinstance(q, WrittenQuestion)
    }


def gather_evidence(submission: Submission, run: RunResult | None, exercise: Exercise, limits: Limits) -> Evidence:
    from grader.judge.questions import Evidence

    symbols = {q.symbol: [q.symbol, *q.aliases] for q in exercise.questions if isinstance(q, ShapeQuestion)}
    evidence = Evidence(
        answers=submission.answers,
        timeout=limits.timeout,
        writeup_shapes=_writeup_shapes(submission.writeup, symbols),
        writeup=submission.writeup,  # read by written questions (grader/judge/written/), never run
    )
    if run is None:
        return evidence
    evidence.items = run.items
    evidence.grader_error = run.grader_error
    evidence.load_status, evidence.load_errors = run.load, run.load_errors
    evidence.load_problem = _load_problem(run, limits)
    evidence.import_problem = import_problem(run.load_errors, exercise)
    return evidence


_MISSING_MODULE = re.compile(
    r"^(?P<file>.+?) raised ModuleNotFoundError: No module named '(?P<module>[^']+)'"
    r"(?: \((?:.*, )?line (?P<line>\d+)\))?"
)


def import_problem(load_errors: list[str], exercise: Exercise) -> str:
    """One line on the first import that stopped the student's code, and what the grader provides."""
    for error in load_errors:
        match = _MISSING_MODULE.match(error)
        if match:
            where = match["file"] + (f", line {match['line']}" if match["line"] else "")
            return (
                f"{where}: `import {match['module']}` stopped your code, so nothing after it ran: the "
                f"grader provides {_provided(exercise)}. Remove that import or use what is provided."
            )
    return ""


def _provided(exercise: Exercise) -> str:
    packages = sorted({"numpy", *exercise.imports.allowed})
    text = ", ".join(packages) + " and Python's standard library"
    modules = sorted({name for _, name in provided_files(exercise)})
    if modules:
        text += "; course modules: " + ", ".join(name.removesuffix(".py").replace("/", ".") for name in modules)
    return text


def _load_problem(run: RunResult, limits: Limits) -> str:
    if run.load == "timeout":
        return (
            f"Loading your code took longer than {limits.timeout:g} s, so nothing in it could be checked: "
            "is there an endless loop or a long demo at the top level? Put demos under "
            '`if __name__ == "__main__":`.'
        )
    if run.load == "crashed":
        return f"Your code ended the whole program while loading ({run.load_detail}), so nothing could be checked."
    return ""


def _notes(submission: Submission, run: RunResult | None) -> list[str]:
    notes = list(submission.notes) + flagged_imports(submission)
    if run is None:
        return notes
    notes += run.load_errors
    named = " ".join(notes)
    notes += [
        f"Flagged for review: the code tried to import {name!r}, the grader's own code."
        for name in run.forbidden_imports
        if repr(name.split(".")[0]) not in named
    ]
    if run.output_dropped:
        notes.append(
            f"Your code printed {run.output_dropped + len(run.output):,} characters or more; "
            "only the beginning was kept."
        )
    return notes


def _writeup_shapes(writeup: str, symbols: dict[str, list[str]]) -> dict[str, str]:
    if not (symbols and writeup):
        return {}
    from grader.read.writeup import shapes_from_text  # its patterns compile with the first write-up

    return shapes_from_text(writeup, symbols)
