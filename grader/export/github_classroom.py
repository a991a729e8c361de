"""Workflow files that grade a student's repository: GitHub Classroom (GitHub Actions) and GitLab CI.

GitHub Classroom records the points of a workflow run from the notice that its grading reporter,
classroom-resources/autograding-grading-reporter@v1, writes. Read in its source (action.yml,
src/main.js, src/notify-classroom.js, src/helpers/test-helpers.js):
- input `runners`: a comma-separated list of step ids; for each id the reporter reads the environment
  variable `<ID in upper case>_RESULTS` (hyphens kept), a base64-encoded runner result
  `{"version": 1, "status", "max_score", "tests": [{"name", "status", "score", ...}]}`;
- the points sent to Classroom are the sum of every runner's `tests[].score` over the sum of the
  `max_score`s, so a runner result with one test per question gives per-question, partial points;
- it fails the job when a runner's status is "fail" or "error".
The command grader, classroom-resources/autograding-command-grader@v1 (action.yml, src/main.js), has
inputs `test-name` (required), `setup-command`, `command` (required; exit 0 passes), `timeout`
(minutes, default 10) and `max-score` (parsed with parseInt: whole points), and output `result`, a
runner result with one test scored `max-score` or 0. It runs commands with only PATH and HOME.

Two styles, both grading once per push:
- "runner-result" (default): one step runs `rnn-grader grade . --single --format github-classroom` and
  hands its runner result to the reporter as its `result` output: one line per question, partial
  credit kept.
- "command-grader": the same grading step, then one command-grader step per question whose command
  exits 0 only when that question passed (`python -P -m grader.export.question_passed`); each
  question is all or nothing, and its points must be whole.
The GitLab example runs `rnn-grader grade . --single --format junit -o report.xml` and publishes it with
`artifacts:reports:junit` (one test case per question).

Hidden cases come from a secret (GitHub: a repository or organisation secret; GitLab: a masked CI/CD
variable) named `secret_variable`; without it grading uses the exercise's default secret and says so.
Anything in a student's repository, workflow included, is the student's to read and change: an
instructor's own exercise is copied into `.rnn-grader/exercise/`, reference file included.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from grader.export.sources import ExportError, exercise_files, is_exercise_path

STYLES = ("runner-result", "command-grader")
CHECKOUT = "actions/checkout@v4"
SETUP_PYTHON = "actions/setup-python@v5"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
GRADE_STEP_ID = "rnngrader"  # letters and digits only: the reporter's own check of `runners` allows no more
WORKFLOW_PATH = Path(".github/workflows/classroom.yml")
GITLAB_PATH = Path(".gitlab-ci.yml")
EXERCISE_FOLDER = Path(".rnn-grader/exercise")  # a dot folder: never read as part of the submission
RESULT_FILE = "rnn-grader-result.json"
GITLAB_IMAGE = "python:{version}"


def write_classroom_files(
    exercise: str,
    folder: Path,
    *,
    grader_requirement: str | None = None,
    python_version: str = "3.12",
    timeout_minutes: int = 10,
    secret_variable: str = "RNN_GRADER_SECRET",
    style: str = "runner-result",
    gitlab: bool = True,
) -> list[Path]:
    """Write `.github/workflows/classroom.yml` (and `.gitlab-ci.yml`) into a template repository.

    `exercise` is a bank id or the path of an exercise YAML (then copied, with the files it uses, into
    `.rnn-grader/exercise/`). `grader_requirement` is what pip installs (default: this version,
    `rnn-grader==X.Y.Z`; a `rnn-grader @ git+https://...@TAG` requirement works the same).
    Returns the files written. Raises ExportError, or ExerciseError for an exercise that does not load.
    """
    from grader.judge.exercise_check import load_checked_exercise

    if style not in STYLES:
        raise ExportError(f"unknown style {style!r}: one of {', '.join(STYLES)}")
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", secret_variable):
        raise ExportError(f"secret_variable must be an upper-case variable name, not {secret_variable!r}")
    if not re.fullmatch(r"3\.\d+", python_version) or int(python_version.split(".")[1]) < 11:
        raise ExportError(f"python_version must be 3.11 or later, such as 3.12, not {python_version!r}")
    if not 1 <= timeout_minutes <= 360:
        raise ExportError("timeout_minutes must be between 1 and 360")
    loaded = load_checked_exercise(exercise)
    if style == "command-grader":
        fractional = [q.id for q in loaded.questions if q.points != int(q.points)]
        if fractional:
            raise ExportError(
                f"the command grader awards whole points only (max-score is parsed with parseInt); "
                f"{', '.join(fractional)} have fractions: use style runner-result"
            )
    requirement = grader_requirement or _this_version()

    folder = Path(folder)
    written: list[Path] = []
    exercise_argument = loaded.id
    if is_exercise_path(exercise):
        found = exercise_files(Path(exercise))
        target = folder / EXERCISE_FOLDER
        if target.exists():
            shutil.rmtree(target)
        for relative in found.files:
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found.root / relative, destination)
            written.append(destination)
        exercise_argument = (EXERCISE_FOLDER / found.yaml_file).as_posix()

    grading = _Grading(
        exercise_id=loaded.id,
        exercise_argument=exercise_argument,
        requirement=requirement,
        secret_variable=secret_variable,
        variants=loaded.variants is not None,
        copied=is_exercise_path(exercise),
    )
    workflow = folder / WORKFLOW_PATH
    workflow.parent.mkdir(parents=True, exist_ok=True)
    questions = [(q.id, int(q.points)) for q in loaded.questions]
    workflow.write_text(_github_workflow(grading, python_version, timeout_minutes, style, questions), encoding="utf-8")
    written.append(workflow)
    if gitlab:
        (folder / GITLAB_PATH).write_text(_gitlab_ci(grading, python_version), encoding="utf-8")
        written.append(folder / GITLAB_PATH)
    return written


def _this_version() -> str:
    try:
        return f"rnn-grader=={metadata.version('rnn-grader')}"
    except metadata.PackageNotFoundError:
        raise ExportError(
            "rnn-grader is not installed, so its version is unknown: give the requirement to "
            "install (such as rnn-grader @ git+https://.../rnn-grader@TAG)"
        ) from None


@dataclass(frozen=True)
class _Grading:
    """What every generated grading step shares."""

    exercise_id: str
    exercise_argument: str  # --exercise: the bank id, or the copied YAML's path in the repository
    requirement: str  # what pip installs
    secret_variable: str
    variants: bool
    copied: bool  # the exercise's files are in the repository

    def script(self, *, fmt: str, output: str, temp: str, student: str) -> list[str]:
        """POSIX sh lines: the secret into a file (when set), a roster for variants, then `rnn-grader grade`."""
        secret = f"{temp}/rnn-grader-secret"
        lines = [
            "set --",
            f'if [ -n "${{{self.secret_variable}:-}}" ]; then',
            f'  printf \'%s\\n\' "${self.secret_variable}" > "{secret}"',
            f'  set -- --secret-file "{secret}"',
            "else",
            f'  echo "warning: no {self.secret_variable}: the hidden cases come from the exercise\'s default secret"',
            "fi",
        ]
        target = "."
        if self.variants:  # whose variant: the roster names the checked-out folder after the pusher
            roster = f"{temp}/rnn-grader-roster.csv"
            lines += [
                f'printf \'submission,student\\n%s,%s\\n\' "$(basename "$PWD")" "${student}" > "{roster}"',
                f'set -- "$@" --roster "{roster}"',
            ]
            target = '"$PWD"'
        lines.append(
            f"rnn-grader grade {target} --single --exercise {shlex.quote(self.exercise_argument)} "
            f'--format {fmt} -o {output} "$@"'
        )
        return lines

    def install(self) -> str:
        return f"python -m pip install --quiet {shlex.quote(self.requirement)}"

    def header(self, what: str) -> list[str]:
        lines = [
            f"# {what} for the exercise {self.exercise_id}, written by `rnn-grader export github-classroom`.",
            "# rnn-grader grades this repository as one student's submission. Hidden cases come from the",
            f"# secret {self.secret_variable} (without it, from the exercise's default secret, which students",
            "# can read).",
        ]
        if self.copied:
            lines.append(
                f"# The exercise is in {EXERCISE_FOLDER.as_posix()}/: anyone who can read this repository can "
                "read it, reference included."
            )
        if self.variants:
            lines.append("# Per-student variants: the student is whoever pushed (their login).")
        return lines


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text)


def _block(lines: list[str], indent: int) -> str:
    pad = " " * indent
    return "\n".join(pad + line if line else "" for line in lines)


def _github_workflow(
    grading: _Grading, python_version: str, timeout_minutes: int, style: str, questions: list[tuple[str, int]]
) -> str:
    result = f"$RUNNER_TEMP/{RESULT_FILE}"
    script = grading.script(fmt="github-classroom", output=f'"{result}"', temp="$RUNNER_TEMP", student="GITHUB_ACTOR")
    lines = grading.header("GitHub Classroom autograding")
    if style == "runner-result":
        lines += [
            "# The grading step's runner result (one test per question, partial credit kept) goes to the",
            "# grading reporter, which sends Classroom the sum of the questions' scores.",
        ]
        script = script + [f'echo "result=$(base64 -w0 < "{result}")" >> "$GITHUB_OUTPUT"']
    else:
        lines += [
            "# One command-grader step per question: its max-score when that question passed, else 0.",
        ]
    lines += [
        "name: Autograding Tests",
        "on:",  # a mapping: actionlint refuses repository_dispatch (which takes types) in a list
        "  push:",
        "  workflow_dispatch:",
        "  repository_dispatch:",
        "permissions:",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        f"        uses: {CHECKOUT}",
        "      - name: Set up Python",
        f"        uses: {SETUP_PYTHON}",
        "        with:",
        f"          python-version: {_q(python_version)}",
        "      - name: Install rnn-grader",
        f"        run: {_q(grading.install())}",
        f"      - name: {_q('Grade ' + grading.exercise_id)}",
        f"        id: {GRADE_STEP_ID}",
        f"        timeout-minutes: {timeout_minutes}",
        "        shell: bash",
        "        env:",
        f"          {grading.secret_variable}: ${{{{ secrets.{grading.secret_variable} }}}}",
        "        run: |",
        _block(script, 10),
    ]
    if style == "runner-result":
        runners = [GRADE_STEP_ID]
    else:
        runners = []
        for number, (question_id, points) in enumerate(questions, start=1):
            step_id = f"q{number}"
            runners.append(step_id)
            command = (
                f'python -P -m grader.export.question_passed "${{{{ runner.temp }}}}/{RESULT_FILE}" '
                f"{shlex.quote(question_id)}"
            )
            lines += [
                f"      - name: {_q(question_id)}",
                f"        id: {step_id}",
                f"        uses: {COMMAND_GRADER}",
                "        with:",
                f"          test-name: {_q(question_id)}",
                f"          command: {_q(command)}",
                "          timeout: 1",
                f"          max-score: {points}",
            ]
    lines += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
        *[f'          {runner.upper()}_RESULTS: "${{{{ steps.{runner}.outputs.result }}}}"' for runner in runners],
        "        with:",
        f"          runners: {','.join(runners)}",
    ]
    return "\n".join(lines) + "\n"


def _gitlab_ci(grading: _Grading, python_version: str) -> str:
    script = grading.script(fmt="junit", output="report.xml", temp="${TMPDIR:-/tmp}", student="GITLAB_USER_LOGIN")
    lines = grading.header("GitLab CI grading")
    lines += [
        "# The JUnit report (one test case per question, a failure for each lost point) shows in the",
        "# pipeline's Tests tab and in merge requests. The job passes whenever grading happened.",
        "rnn-grader:",
        f"  image: {_q(GITLAB_IMAGE.format(version=python_version))}",
        "  before_script:",
        f"    - {_q(grading.install())}",
        "  script:",
        "    - |",
        _block(script, 6),
        "  artifacts:",
        "    when: always",
        "    reports:",
        "      junit: report.xml",
    ]
    return "\n".join(lines) + "\n"
