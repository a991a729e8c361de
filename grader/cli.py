"""The command line: parses options and calls the library. The only module that imports click."""

from __future__ import annotations

import atexit
import builtins
import importlib
import importlib.machinery
import os
import re
import signal
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any, NoReturn

import click

from grader.launch import OUTPUT_LOST, nowhere_to_write

# The library is imported inside the commands, so `--help` answers without loading numpy or pydantic.
DEFAULT_EXERCISE = "rnn-bptt"
MATHS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"
PYDANTIC_PLUGINS_OFF = ("__all__", "1", "true")  # values of PYDANTIC_DISABLE_PLUGINS that turn every plugin off


class UsageProblem(click.ClickException):
    """A usage error: one line on stderr, exit code 2."""

    exit_code = 2


class FormatChoice(click.Choice):
    """`--format`: the formats in grader.report's registry when the option is read (one added later counts)."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from grader.report import FORMATS

        return tuple(FORMATS)

    @choices.setter
    def choices(self, value: object) -> None:
        """click.Choice sets it; the registry is the only source."""


def _exercise(exercise_id: str, secret: str | None = None):
    from exercises.bank import ExerciseError
    from grader.judge.exercise_check import load_checked_exercise

    try:
        return load_checked_exercise(exercise_id, secret)
    except ExerciseError as exc:
        raise UsageProblem(str(exc)) from None


def _start_the_sandbox(paths: tuple[str, ...], isolation: str = "auto", own_work: bool = False) -> None:
    """The sandbox's interpreter starts now, if the entry point has not started it (grader.launch), and stops with
    the command if nothing uses it."""
    from grader.launch import sandbox_for

    click.get_current_context().with_resource(sandbox_for(paths, isolation, own_work))


def _existing(paths: tuple[str, ...]) -> list[Path]:
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageProblem(f"no such file or folder: {missing[0]}")
    return [Path(p) for p in paths]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnn-grader")
def main() -> None:
    """Grade and self-check RNN / backpropagation-through-time homework."""
    signal.signal(signal.SIGTERM, stop_on_terminate)


def run(args: list[str] | None = None) -> NoReturn:
    """The command as installed: `main`, then an exit without the interpreter's teardown of every module (about
    50 ms once numpy and pydantic are loaded, a sixth of a student's check). Exit handlers still run and the output
    is flushed first. The ordinary exit where something may still need the interpreter: a thread of the command
    still running, or an interactive session (`python -i`, IPython's `%run`) that carries on after the command."""
    prepare_the_process()
    code = run_for_exit_code(args)
    if _interpreter_carries_on():
        sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(_flushed(code))


def prepare_the_process() -> None:
    """What the process running commands sets once, before numpy and pydantic load."""
    _one_maths_thread()
    _no_pydantic_plugins()


def run_for_exit_code(args: list[str] | None) -> int:
    """`main` run to its end: its exit code (a message it exits with is written to stderr, with code 1). A SIGTERM
    is not the command's to answer: it goes on up (`Terminated`)."""
    try:
        main(args)
        code: str | int | None = 0
    except Terminated:
        raise
    except SystemExit as stop:
        code = stop.code
    except OSError as error:  # (click itself ends a closed pipe, `| head`, with exit code 1)
        if not nowhere_to_write(error):
            raise
        _say(f"rnn-grader: {error.strerror}")
        code = OUTPUT_LOST
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    return code or 0


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, AttributeError, ValueError):  # stderr is gone too
        pass


def _one_maths_thread() -> None:
    """numpy's maths library on one thread in the grader's process, unless the environment says otherwise: its
    arrays are small, and at import the library's threads spin on the other core (about 0.1 s of CPU) while the
    sandbox's interpreter starts there, and during a class they take CPU from the students' jobs."""
    for name in MATHS_THREADS_ENV:
        os.environ.setdefault(name, "1")


def _no_pydantic_plugins() -> None:
    """pydantic looks for plugins (hooks of observability tools) when it builds its first validator: it imports
    importlib.metadata and reads every installed package's entry points, 30 to 40 ms of a student's check, for
    plugins a grader never uses. Its loader is one that finds none, unless `PYDANTIC_DISABLE_PLUGINS` (pydantic's
    own setting) names plugins to leave out or is empty: then pydantic looks, as it would. Any other name asked
    of the loader loads pydantic's own."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS", "__all__") not in PYDANTIC_PLUGINS_OFF:
        return
    if PYDANTIC_PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(PYDANTIC_PLUGIN_LOADER, "pydantic's plugin loader, finding no plugins")
    loader.__spec__ = importlib.machinery.ModuleSpec(PYDANTIC_PLUGIN_LOADER, None)
    vars(loader).update(get_plugins=lambda: (), __getattr__=_pydantic_plugin_loader)
    sys.modules[PYDANTIC_PLUGIN_LOADER] = loader


def _pydantic_plugin_loader(name: str) -> object:
    """A name the loader above does not have: pydantic's own loader takes its place (once), and answers. Not for a
    module's special names, which tools walking `sys.modules` ask of every module."""
    if name.startswith("__"):
        raise AttributeError(name)
    present = sys.modules.get(PYDANTIC_PLUGIN_LOADER)
    if present is not None and vars(present).get("__getattr__") is _pydantic_plugin_loader:
        sys.modules.pop(PYDANTIC_PLUGIN_LOADER, None)
    return getattr(importlib.import_module(PYDANTIC_PLUGIN_LOADER), name)


def _interpreter_carries_on() -> bool:
    threads = any(thread is not threading.main_thread() and not thread.daemon for thread in threading.enumerate())
    interactive = sys.flags.inspect or hasattr(sys, "ps1") or "__IPYTHON__" in vars(builtins)
    return threads or bool(interactive)


def _flushed(code: int) -> int:
    """The exit code once stdout and stderr are flushed: 120, as Python's own exit gives, when output was lost
    (a full disk), unless the command had failed already. A closed pipe (`| head`) loses nothing anyone reads, and
    a stream closed (or never opened) has nothing to flush."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            pass
        except OSError:
            code = code or OUTPUT_LOST
    return code


class Terminated(SystemExit):
    """The process was asked to stop (SIGTERM)."""


def stop_on_terminate(signum: int, frame: object) -> None:
    """SIGTERM (a CI cancel, a platform time limit) unwinds like Ctrl-C: the sandbox is cleaned up, and no check
    server is left behind."""
    from grader.selfcheck.server import no_start_later

    no_start_later()
    if _in_a_finalizer(frame):  # raised in a `__del__`, it would be printed and dropped: raise it just after
        signal.signal(signal.SIGALRM, lambda _, later: stop_on_terminate(signum, later))
        signal.setitimer(signal.ITIMER_REAL, 0.001)
        return
    raise Terminated(128 + signum)


def _in_a_finalizer(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


@main.command("grade")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--exercise",
    "exercise_id",
    default=DEFAULT_EXERCISE,
    show_default=True,
    help="Exercise id from the bank, or the path of an exercise YAML file.",
)
@click.option("--format", "fmt", type=FormatChoice(), default="table", show_default=True, help="Output format.")
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Write here instead of stdout (a folder for gradescope/github-classroom with several submissions).",
)
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Submissions graded at the same time."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=5.0,
    show_default=True,
    help="Seconds allowed for one question's run of student code (and for loading it).",
)
@click.option(
    "--memory-mb",
    type=click.IntRange(64, 65536),
    default=1024,
    show_default=True,
    help="Memory limit of student code, in MB.",
)
@click.option(
    "--secret",
    help="Instructor secret the hidden cases are generated from (visible in the process list: prefer --secret-file).",
)
@click.option(
    "--secret-file",
    type=click.Path(exists=True, dir_okay=False),
    help="File whose first line is the instructor secret.",
)
@click.option("--single", is_flag=True, help="Grade a folder as ONE student's submission.")
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV mapping file/folder names to students: columns submission,student, or Canvas's own "
    "gradebook export (Student, ID, SIS User ID, SIS Login ID, Section; keyed by a `submission` column, "
    "else SIS Login ID, SIS User ID or ID).",
)
@click.option(
    "--assignment", help='With --format canvas: the gradebook column, "Name (id)" for an existing Canvas assignment.'
)
@click.option(
    "--gradebook",
    type=click.Path(dir_okay=False),
    help="SQLite file that records every result as it is made (history kept across regrades).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="With --gradebook: reuse results of unchanged submissions already "
    "recorded, grading only the rest (after an interrupted batch).",
)
@click.option(
    "--isolation",
    type=click.Choice(["auto", "rlimits"]),
    default="auto",
    show_default=True,
    help="auto: the strongest isolation this machine offers; rlimits: limits and process tracking only.",
)
@click.option(
    "--shard",
    "shard_text",
    metavar="K/N",
    help="Grade only shard K of N (1-based): a stable share of the class by student id, the same on every "
    "machine; with --gradebook, join the shards' gradebooks with `rnn-grader merge`.",
)
def grade_command(
    paths,
    exercise_id,
    fmt,
    output,
    jobs,
    timeout,
    memory_mb,
    secret,
    secret_file,
    single,
    roster,
    assignment,
    gradebook,
    resume,
    isolation,
    shard_text,
) -> None:
    """Grade submissions (files, or folders of them) and report scores and feedback."""
    _start_the_sandbox(paths, isolation)
    from grader.pipeline import GradingOptions
    from grader.run.protocol import Limits

    if secret_file:
        secret = _read_secret(Path(secret_file))
    shard = _parse_shard(shard_text)
    exercise = _exercise(exercise_id, secret)
    if resume and not gradebook:
        raise UsageProblem("--resume needs --gradebook FILE (where the finished results are)")
    roster_rows = _read_roster(roster) if roster else {}
    format_options = _format_options(fmt, roster_rows, assignment)
    options = GradingOptions(
        limits=Limits(timeout=timeout, memory_mb=memory_mb),
        jobs=jobs,
        secret=secret,
        single=single,
        roster=_student_ids(roster_rows),
        gradebook=Path(gradebook) if gradebook else None,
        resume=resume,
        isolation=isolation,
        private_folders=(Path(output).absolute().parent,) if output else (),
    )
    started = time.monotonic()
    existing = _existing(paths)
    _check_destination(fmt, output, existing, single)
    if shard and not gradebook:
        click.echo("note: --shard without --gradebook: `rnn-grader merge` joins shards' gradebooks", err=True)
    if exercise.hidden.count and not secret:
        click.echo(
            "warning: no --secret: the hidden cases come from the exercise file's default secret, "
            "which students can read",
            err=True,
        )
    total = shard.count_entries(existing, single, options.roster) if shard else _count_submissions(existing, single)
    with _run(existing, exercise, options, total=total, shard=shard, stored=True) as store:  # results on disk
        results = store.results()
        _emit(results, fmt, output, format_options)
        from grader.progress import batch_summary

        for line in batch_summary(results):
            click.echo(line, err=True)
    level = f"; isolation: {results.isolation}" if results.isolation else ""
    share = f" (shard {shard})" if shard else ""
    click.echo(
        f"graded {store.count()} submission(s){share} in {time.monotonic() - started:.2f} s{level}",
        err=True,
    )


def _parse_shard(text: str | None):
    from grader.record.shard import ShardError, parse_shard

    if text is None:
        return None
    try:
        return parse_shard(text)
    except ShardError as exc:
        raise UsageProblem(str(exc)) from None


@main.command("merge")
@click.argument("gradebooks", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=FormatChoice(), default="table", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(), help="Write here instead of stdout (as `grade -o`).")
@click.option("--exercise", "exercise_id", help="Which exercise, when the gradebooks hold several.")
@click.option(
    "--class",
    "class_paths",
    multiple=True,
    help="A submission path given to `grade` (repeat for each): lists the class's submissions no shard "
    "graded, and orders the result as an unsharded run does.",
)
@click.option("--single", is_flag=True, help="As `grade --single`: each --class folder is ONE student's work.")
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False),
    help="The roster given to `grade`: its students without a graded submission are listed (and, with "
    "--format canvas, it is the import's rows).",
)
@click.option("--assignment", help='With --format canvas: the gradebook column, "Name (id)".')
@click.option("--allow-missing", is_flag=True, help="Write the result even when --class submissions were not graded.")
def merge_command(gradebooks, fmt, output, exercise_id, class_paths, single, roster, assignment, allow_missing) -> None:
    """Join the gradebooks of `grade --shard K/N --gradebook G` into one result, in any format.

    Exit 1 when a submission was graded twice with different results, or when a --class submission
    was graded by no shard (unless --allow-missing); both are listed."""
    from grader.read.submission import discover
    from grader.record.merge import MergeError, merge

    roster_rows = _read_roster(roster) if roster else {}
    format_options = _format_options(fmt, roster_rows, assignment)
    klass = discover(_existing(class_paths), single=single) if class_paths else None
    try:
        merged = merge([Path(g) for g in gradebooks], exercise_id, klass)
    except MergeError as exc:
        raise click.ClickException(str(exc)) from None
    with merged:  # the joined results are on disk until written
        _report_merge_gaps(merged, roster_rows, allow_missing or klass is None, fmt)
        _check_destination(fmt, output, [Path(s.path) for s in merged.results.submissions], single=True)
        _emit(merged.results, fmt, output, format_options)
    click.echo(f"merged {len(merged.results.submissions)} submission(s) from {len(gradebooks)} gradebook(s)", err=True)


def _report_merge_gaps(merged, roster_rows: dict, allow_missing: bool, fmt: str) -> None:
    """List, on stderr, what the shards left out or graded from two paths; fail on class submissions nobody graded."""
    from grader.report import FORMATS
    from grader.report.canvas import describe, missing_students

    for warning in merged.warnings:
        click.echo(f"warning: {warning}", err=True)
    for result in merged.outside:
        click.echo(f"not in the --class paths: {result.student} ({result.path})", err=True)
    if roster_rows and "roster" not in FORMATS[fmt].reads:  # a format that reads the roster lists these itself
        for line in describe(missing_students(merged.results, roster_rows)):
            click.echo(f"no submission: {line}", err=True)
    if not merged.missing:
        return
    listed = "\n".join(f"  {submission.student} ({submission.path})" for submission in merged.missing)
    message = f"{len(merged.missing)} submission(s) of the class graded by no shard:\n{listed}"
    if not allow_missing:
        raise click.ClickException(message + "\n(a shard's gradebook left out? --allow-missing writes the rest)")
    click.echo(f"warning: {message}", err=True)


@main.command("check")
@click.argument("path")
@click.option(
    "--exercise",
    "exercise_id",
    default=DEFAULT_EXERCISE,
    show_default=True,
    help="Exercise id from the bank, or the path of an exercise YAML file.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=5.0,
    show_default=True,
    help="Seconds allowed for one question's run of your code.",
)
@click.option("--student", help="Your student id, for an exercise with a variant per student.")
@click.option(
    "--kit",
    type=click.Path(file_okay=False),
    help="A self-check kit folder (from `export student`) instead of an exercise of the bank.",
)
def check_command(path, exercise_id, timeout, student, kit) -> None:
    """Check your own work on the public cases; exit 0 only when every question passes."""
    _start_the_sandbox((path,), own_work=True)
    from grader.pipeline import GradingOptions
    from grader.run.protocol import Limits

    exercise = _kit_exercise(kit, student) if kit else _checking_exercise(exercise_id)
    if exercise.variants is not None and not student and not kit:
        raise UsageProblem(f"{exercise.id} gives each student their own sizes: add --student YOUR_ID")
    if exercise.variants is None and student and not kit:
        raise UsageProblem(f"--student {student}: {exercise.id} is the same for every student (no ids): leave it out")
    work = _existing((path,))
    _one_students_work(work[0])
    options = GradingOptions(
        limits=Limits(timeout=timeout), public_only=True, single=True, student=student, kit=Path(kit) if kit else None
    )
    results = _run(work, exercise, options)
    from grader.report.feedback import render_check  # after the run: the job is handed over sooner

    click.echo(render_check(results))
    submission = results.submissions[0]
    all_passed = submission.status == "graded" and all(q.status == "passed" for q in submission.questions)
    sys.exit(0 if all_passed else 1)


@main.command("validate")
@click.argument("exercise_id", required=False)
def validate_command(exercise_id) -> None:
    """Check an exercise (all shipped ones without an argument): the reference earns full marks and
    every listed mistake loses points and is named. Exit 1 otherwise."""
    from exercises.bank import exercise_files
    from grader.authoring.validate import render_validation, validate

    results = [validate(_exercise(name)) for name in ([exercise_id] if exercise_id else list(exercise_files()))]
    click.echo("\n\n".join(render_validation(result) for result in results))
    sys.exit(0 if all(result.ok for result in results) else 1)


@main.command("template")
@click.argument("exercise_id")
@click.option("--student", help="The student whose variant to write (for exercises with variants).")
@click.option(
    "-o",
    "--output",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder the handout is written to.",
)
def template_command(exercise_id, student, output) -> None:
    """Write one student's handout: a .py file and a notebook with stubs, in their sizes."""
    from grader.authoring.template import write_handout

    exercise = _exercise(exercise_id)
    if exercise.variants is not None and not student:
        raise UsageProblem(f"{exercise.id} gives each student their own sizes: add --student ID")
    for path in write_handout(exercise, student, Path(output)):
        click.echo(str(path))


def _checking_exercise(exercise_id: str):
    """`check`'s exercise. The bank's own are checked by `validate` in CI, so a student's loop does not run
    their references on every check; a file given by path is checked as it is loaded, as `grade` does."""
    from exercises.bank import ExerciseError, exercise_files, load_exercise

    if exercise_id not in exercise_files():
        return _exercise(exercise_id)
    try:
        return load_exercise(exercise_id)
    except ExerciseError as exc:
        raise UsageProblem(str(exc)) from None


def _kit_exercise(folder: str, student: str | None):
    """The kit's exercise; `--student` must be the one the kit was made for, if any."""
    from grader.selfcheck.kit import KitError, load_kit

    try:
        kit = load_kit(Path(folder))
    except KitError as exc:
        raise UsageProblem(str(exc)) from None
    if student is not None and student != kit.student:
        known = f"{kit.student}; ask your course for your own kit" if kit.student else "none, it is the same for all"
        raise UsageProblem(f"--student {student}: this kit is not made for that student (known ids: {known})")
    return kit.exercise


def _one_students_work(path: Path) -> None:
    """`check` takes one student's work: a folder of several students' folders is refused with a hint."""
    from grader.read import CODE_SUFFIXES

    if not path.is_dir():
        return
    with_code = [
        entry.name
        for entry in sorted(path.iterdir())
        if entry.is_dir()
        and not entry.name.startswith(".")
        and any(f.suffix in CODE_SUFFIXES for f in entry.rglob("*"))
        and not (entry / "kit.json").exists()
    ]
    if len(with_code) >= 2:
        raise UsageProblem(
            f"{path} holds several folders of work ({', '.join(with_code[:3])}, ...): check takes "
            "one student's work; give one of them, or grade a class with `rnn-grader grade`"
        )


@main.group("export")
def export_group() -> None:
    """Write what a platform or a student needs: a self-check kit, a Gradescope bundle, a Classroom workflow."""


@export_group.command("student")
@click.argument("exercise_id")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder to write the kit to.")
@click.option("--student", help="The student whose variant it is (for exercises with variants).")
def export_student_command(exercise_id, output, student) -> None:
    """A self-check kit: public cases and their answers as data, and the checker; no model solution."""
    from grader.selfcheck.kit import export_kit

    exercise = _exercise(exercise_id)
    if exercise.variants is not None and not student:
        raise UsageProblem(f"{exercise.id} gives each student their own sizes: add --student ID")
    folder = export_kit(exercise, Path(output), student=student)
    click.echo(f"wrote the self-check kit of {exercise.id} to {folder} (see its README.md)")


@export_group.command("gradescope")
@click.argument("exercise_id")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The zip to write.")
@click.option("--secret", help="Secret of the hidden cases (default: a random one, kept in the bundle).")
@click.option("--secret-file", type=click.Path(exists=True, dir_okay=False), help="File whose first line is it.")
@click.option(
    "--student-field",
    default="email",
    show_default=True,
    help="Key of Gradescope's submission metadata that names the student (per-student variants).",
)
def export_gradescope_command(exercise_id, output, secret, secret_file, student_field) -> None:
    """A Gradescope autograder zip (setup.sh, run_autograder) that installs this grader and grades with it."""
    from exercises.bank import ExerciseError
    from grader.export import ExportError, build_gradescope_bundle

    secret = _read_secret(Path(secret_file)) if secret_file else secret
    try:
        path = build_gradescope_bundle(
            exercise_id,
            Path(output),
            secret=secret,
            student_field=student_field,
            project_root=Path(__file__).resolve().parents[1],
        )
    except (ExportError, ExerciseError) as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"wrote {path}" + ("" if secret else " (with a random secret of its own, in its `secret` file)"))


@export_group.command("github-classroom")
@click.argument("exercise_id")
@click.option(
    "-o",
    "--output",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The template repository to write the workflow into.",
)
@click.option("--requirement", help="What the workflow pip-installs (default: this version of rnn-grader).")
@click.option(
    "--style",
    type=click.Choice(["runner-result", "command-grader"]),
    default="runner-result",
    show_default=True,
    help="One runner with per-question points, or one all-or-nothing step per question.",
)
@click.option("--timeout-minutes", type=click.IntRange(1, 360), default=10, show_default=True)
@click.option("--no-gitlab", is_flag=True, help="Do not write the GitLab CI example.")
def export_classroom_command(exercise_id, output, requirement, style, timeout_minutes, no_gitlab) -> None:
    """A GitHub Classroom workflow (and a GitLab CI example with a JUnit report) that grades on push."""
    from exercises.bank import ExerciseError
    from grader.export import ExportError, write_classroom_files

    try:
        paths = write_classroom_files(
            exercise_id,
            Path(output),
            grader_requirement=requirement,
            style=style,
            timeout_minutes=timeout_minutes,
            gitlab=not no_gitlab,
        )
    except (ExportError, ExerciseError) as exc:
        raise UsageProblem(str(exc)) from None
    for path in paths:
        click.echo(str(path))


@main.command("list")
def list_command() -> None:
    """List the exercises in the bank."""
    from exercises.bank import exercise_files, load_exercise

    for exercise_id in exercise_files():
        exercise = load_exercise(exercise_id)
        click.echo(f"{exercise.id:<20} {exercise.max_score:g} points  {exercise.title}")


@main.command("show")
@click.argument("exercise_id")
def show_command(exercise_id) -> None:
    """Show one exercise's questions and points."""
    from exercises.models import NumericQuestion
    from grader.cases.draw import describe_numeric_case

    exercise = _exercise(exercise_id)
    click.echo(f"{exercise.id}: {exercise.title} ({exercise.max_score:g} points)")
    width = max(len(question.id) for question in exercise.questions)
    for question in exercise.questions:
        click.echo(f"  {question.id:<{width}} {question.points:>4g}  {_describe_question(question)}")
    cases: dict[str, list[str]] = {}
    for question in exercise.questions:
        if isinstance(question, NumericQuestion):
            cases.setdefault(describe_numeric_case(exercise, question), []).append(question.id)
    for text, ids in cases.items():
        click.echo(f"\nThe case {', '.join(ids)} ask about:\n{text}")


def _describe_question(question) -> str:
    from exercises.models import BackwardQuestion, FunctionQuestion, NumericQuestion, ShapeQuestion

    if isinstance(question, ShapeQuestion):
        return f"shape of {question.symbol}"
    if isinstance(question, FunctionQuestion):
        return f"{question.function}({', '.join(question.args)})"
    if question.kind in ("equations", "chain", "gradient"):
        return f"written: {question.title or question.kind} (in your write-up)"
    if isinstance(question, BackwardQuestion):
        return f"{question.function}({', '.join([*question.upstream, 'cache'])}) after {question.forward}"
    if isinstance(question, NumericQuestion):
        return f"value of {question.name}"
    return ""


def _run(paths: list[Path], exercise, options, total: int | None = None, shard=None, stored: bool = False):
    """The results, in memory, or with `stored` on disk as they are judged (closed by the caller)."""
    from grader.pipeline import grade, grade_stored
    from grader.progress import Progress
    from grader.record import GradebookError
    from grader.run.boot import SandboxError

    try:
        with Progress(total) as bar:
            return (grade_stored if stored else grade)(paths, exercise, options, on_result=bar.on_result, shard=shard)
    except SandboxError as exc:
        raise click.ClickException(f"the sandbox failed: {exc}") from None
    except GradebookError as exc:
        raise UsageProblem(str(exc)) from None


def _format_options(fmt: str, roster_rows: dict, assignment: str | None):
    """What the format reads besides the results, refused before any grading if it cannot use them."""
    from grader.report import FORMATS, FormatError, FormatOptions

    options = FormatOptions(roster=roster_rows, assignment=assignment)
    try:
        FORMATS[fmt].check(options)
    except FormatError as exc:
        raise UsageProblem(str(exc)) from None
    return options


def _check_destination(fmt: str, output: str | None, paths: list[Path], single: bool) -> None:
    """Refuse, before any grading, an output that could not be written."""
    from grader.report import FORMATS

    several = len(paths) > 1 or (not single and any(path.is_dir() for path in paths))
    per_submission = FORMATS[fmt].output == "per-submission"
    if per_submission and several and not output:
        raise UsageProblem(f"--format {fmt} describes one submission; for a class, give -o FOLDER")
    if FORMATS[fmt].output == "folder":
        if not output or (Path(output).exists() and not Path(output).is_dir()):
            raise UsageProblem(f"--format {fmt} writes a folder: give -o FOLDER")
        return
    if not output:
        return
    target = Path(output)
    if per_submission and several and target.exists() and not target.is_dir():
        raise UsageProblem(f"cannot write {output}: one file per student needs a folder, and it is a file")
    if not per_submission and target.is_dir():
        raise UsageProblem(f"cannot write {output}: it is a folder")
    folder = target if target.is_dir() else target.absolute().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UsageProblem(f"cannot write {output}: its folder does not exist or is not writable")


def _emit(results, fmt: str, output: str | None, options=None) -> None:
    """Write the results in format `fmt` where -o says (stdout without it), then the format's remarks."""
    from grader.report import FORMATS, FormatError, ending_in_newline

    chosen = FORMATS[fmt]
    into_folder = len(results.submissions) != 1 or (output and Path(output).is_dir())
    try:
        if chosen.output == "folder":
            click.echo(chosen.write(results, _output_folder(fmt, output), options), err=True)
        elif chosen.output == "per-submission" and into_folder:
            _write_each(results, fmt, _output_folder(fmt, output))
        elif output:
            pieces = ending_in_newline(chosen.stream(results, options), only_one=False)
            first = next(pieces)  # a format that refuses these results does so before the file is made
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(first)
                handle.writelines(pieces)
        else:
            for piece in ending_in_newline(chosen.stream(results, options), only_one=True):
                click.echo(piece, nl=False)
    except FormatError as exc:
        raise UsageProblem(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write the results: {exc}") from None
    for line in chosen.remarks(results, options):
        click.echo(line, err=True)


def _output_folder(fmt: str, output: str | None) -> Path:
    """The -o FOLDER of a format that writes several files (`_check_destination` asks for it before grading)."""
    if output is None:
        raise UsageProblem(f"--format {fmt} writes a file per submission: give -o FOLDER")
    return Path(output)


@main.command("report")
@click.argument("gradebook", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder for the pages.")
@click.option("--exercise", "exercise_id", help="Which exercise, when the gradebook holds several.")
def report_command(gradebook, output, exercise_id) -> None:
    """The HTML class page and a page per student, from a gradebook's current grades."""
    from grader.record.gradebook import Gradebook, GradebookError

    try:
        with Gradebook(Path(gradebook)) as book:
            store = book.current_stored(exercise_id)  # a class's grades on disk, not in memory
    except GradebookError as exc:
        raise UsageProblem(str(exc)) from None
    with store:
        _emit(store.results(), "html", output)


@main.command("review")
@click.argument("gradebook", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--scores",
    type=click.Path(exists=True, dir_okay=False),
    help="A CSV with the columns student,question,score,comment: records every row (any question: regrades too), "
    "or none when a row names an unknown student or question or a score out of range (exit 2).",
)
@click.option("--exercise", "exercise_id", help="Which exercise, when the gradebook holds several.")
@click.option("--history", is_flag=True, help="List every review recorded: when, which part, score before and after.")
def review_command(gradebook, scores, exercise_id, history) -> None:
    """What the grader could not verify, for a person: list the parts awaiting review, record scores and comments.

    On a terminal, asks for each part's score (blank skips it) and a comment, recording each as it is entered;
    otherwise only lists them. Every output made from the gradebook then uses the reviewed scores."""
    from grader.record.gradebook import Gradebook, GradebookError
    from grader.record.review import render_history

    try:
        with Gradebook(Path(gradebook)) as book:
            exercise = book.exercise(exercise_id)
            if history:
                click.echo(render_history(book.reviews(exercise)))
            elif scores:
                _record_scores(book, exercise, Path(scores))
            elif sys.stdin.isatty() and sys.stdout.isatty():
                _review_interactively(book, exercise)
            else:
                _list_pending(book.current(exercise))
    except GradebookError as exc:
        raise UsageProblem(str(exc)) from None


def _list_pending(results) -> None:
    from grader.record.review import SCORE_COLUMNS, pending_parts, render_pending

    click.echo(render_pending(results))
    if pending_parts(results):
        click.echo(f"to score them: on a terminal, or with --scores FILE ({','.join(SCORE_COLUMNS)})", err=True)


def _record_scores(book, exercise: str, path: Path) -> None:
    """All of a CSV's scores in one transaction, or none (exit 2, a line per bad row)."""
    from grader.record.review import ScoresError, pending_parts, read_scores, render_review

    try:
        scores = read_scores(path, book.current(exercise))
    except ScoresError as exc:
        raise UsageProblem(f"nothing recorded from {path}:\n{exc}") from None
    for review in book.add_reviews(exercise, scores.scorings):
        click.echo(f"recorded: {render_review(review)}")
    skipped = f" ({scores.skipped} row(s) without a score skipped)" if scores.skipped else ""
    left = len(pending_parts(book.current(exercise)))
    click.echo(f"{len(scores.scorings)} review(s) recorded{skipped}; {left} part(s) still await review")


def _review_interactively(book, exercise: str) -> None:
    """Part by part: show it, ask for a score and a comment, record it at once. Ctrl-D or Ctrl-C stops."""
    from grader.record.review import describe_part, pending_parts, render_pending

    parts = pending_parts(book.current(exercise))
    click.echo(render_pending(book.current(exercise)).splitlines()[0])
    if parts:
        click.echo("For each: a score (blank skips it), then a comment; each is recorded as soon as it is entered.")
    try:
        for number, part in enumerate(parts, start=1):
            click.echo(f"\n[{number}/{len(parts)}] " + "\n".join(describe_part(part)))
            _review_part(book, exercise, part)
    except click.Abort:
        click.echo("\nstopped; what was entered before is recorded")
    if parts:
        click.echo(f"{len(pending_parts(book.current(exercise)))} part(s) still await review")


def _review_part(book, exercise: str, part) -> None:
    from grader.record.gradebook import GradebookError
    from grader.record.review import render_review
    from grader.record.reviewed import Scoring

    score = _ask_score(part.question.max_score)
    if score is None:
        return
    comment = click.prompt("comment", default="", show_default=False).strip()
    try:
        scoring = Scoring(part.submission.student, part.question.id, score, comment, part.submission.path)
        [review] = book.add_reviews(exercise, [scoring])
    except GradebookError as exc:
        click.echo(f"not recorded: {exc}")
        return
    click.echo(f"recorded: {render_review(review)}")


def _ask_score(max_score: float) -> float | None:
    """A score in 0..max_score typed on the terminal (asked again until it is one), or None for a blank."""
    from grader.record.review import read_score

    while True:
        text = click.prompt(f"score (0..{max_score:g}, blank to skip)", default="", show_default=False)
        if not text.strip():
            return None
        try:
            return read_score(text, max_score)
        except ValueError as exc:
            click.echo(f"  {exc}")


def _write_each(results, fmt: str, folder: Path) -> None:
    """One `<student><suffix>` per submission; names that clean up alike get -2, -3, …"""
    from grader.report import FORMATS, each_rendered

    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for student, text in each_rendered(fmt, results):
        name = base = _safe_file_name(student)
        counter = 1
        while name in taken:
            counter += 1
            name = f"{base}-{counter}"
        taken.add(name)
        (folder / f"{name}{FORMATS[fmt].suffix}").write_text(text, encoding="utf-8")


def _safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._")
    return cleaned or "submission"


def _read_secret(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    if not lines or not lines[0].strip():
        raise UsageProblem(f"{path}: the secret file is empty")
    return lines[0].strip()


def _read_roster(path: str) -> dict:
    from grader.report.canvas import RosterError, read_canvas_roster

    try:
        return read_canvas_roster(path)
    except RosterError as exc:
        raise UsageProblem(str(exc)) from None


def _student_ids(rows: dict) -> dict[str, str]:
    from grader.report.canvas import student_ids

    return student_ids(rows) if rows else {}


def _count_submissions(paths: list[Path], single: bool) -> int:
    """How many submissions a batch holds, counted cheaply for the progress bar (nothing is read)."""
    return sum(
        1 if path.is_file() or single else sum(1 for entry in path.iterdir() if not entry.name.startswith((".", "__")))
        for path in paths
    )


if __name__ == "__main__":
    main()
