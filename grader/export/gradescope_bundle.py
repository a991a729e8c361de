"""A Gradescope autograder zip that installs this package and grades one exercise.

Gradescope's specification (gradescope-autograders.readthedocs.io/en/latest/specs/, docs/specs.md of
gradescope/autograder_samples): the zip holds `setup.sh` and `run_autograder` at its root; the image
build extracts it into /autograder/source and runs setup.sh there once, as root, with network; each
submission then runs /autograder/run_autograder as root from /autograder, with the student's files in
/autograder/submission, and reads /autograder/results/results.json. /autograder/submission_metadata.json
describes the submission (its `users`).

The zip:

    setup.sh            finds or installs Python >= 3.11, makes a venv, pip-installs rnn-grader/
    run_autograder      rnn-grader grade /autograder/submission --single ... --format gradescope
    rnn-grader/         this project's source (pyproject.toml, README, grader/, exercises/, reference/)
    exercise/           an instructor's own exercise: its YAML and the files beside it it uses
    secret              the instructor's secret (hidden cases); one line

Python: Gradescope's default base image is Ubuntu 22.04, whose python3 is 3.10; Gradescope's harness
runs on that python3, so it is left alone and rnn-grader gets a Python of its own (see SETUP_SH).

Environment variables read by the scripts (for tests, and for other hosts laid out like Gradescope):
AUTOGRADER_ROOT (default /autograder); RNN_GRADER_PYTHON (setup.sh: a Python >= 3.11 to make the venv
from, nothing installed with apt; run_autograder: a Python in which rnn-grader is installed, used
instead of the venv's); RNN_GRADER_VENV (default /opt/rnn-grader-venv).
"""

from __future__ import annotations

import secrets as secrets_module
import shlex
import stat
import zipfile
from pathlib import Path

from grader.export.sources import (
    ExportError,
    exercise_files,
    is_exercise_path,
    project_files,
)

PACKAGE_FOLDER = "rnn-grader"
EXERCISE_FOLDER = "exercise"
SECRET_FILE = "secret"
DEFAULT_VENV = "/opt/rnn-grader-venv"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs make the same zip
GENERATED_SECRET_BYTES = 32


def build_gradescope_bundle(
    exercise_path_or_id: str, output_zip: Path, *, secret: str | None, project_root: Path, student_field: str = "email"
) -> Path:
    """Write Gradescope's autograder zip for one exercise (a bank id or a YAML path) and return its path.

    `secret` generates the hidden cases; None puts a random one in the bundle (its `secret` file), so
    that hidden cases never come from the default secret printed in the exercise file. `project_root`
    is the checkout whose source is bundled and installed. `student_field` is the key of
    submission_metadata.json's `users[0]` that names the student, for an exercise with per-student
    variants (the id `rnn-grader template --student` was given).
    Raises ExportError (and ExerciseError for an exercise that does not load) before writing anything.
    """
    from grader.judge.exercise_check import load_checked_exercise

    exercise = load_checked_exercise(exercise_path_or_id)  # the same checks `grade` makes, now not at grading
    if secret is None:
        secret = secrets_module.token_urlsafe(GENERATED_SECRET_BYTES)
    secret = secret.strip()
    if not secret or "\n" in secret or "\r" in secret:
        raise ExportError("the secret must be one non-empty line")
    if not student_field.isidentifier():
        raise ExportError(f"student_field must be a JSON key such as email or sid, not {student_field!r}")
    project_root = Path(project_root)
    package = project_files(project_root)

    entries: list[tuple[str, bytes, int]] = []  # (name in the zip, content, mode)
    if is_exercise_path(exercise_path_or_id):
        found = exercise_files(Path(exercise_path_or_id))
        for relative in found.files:
            entries.append((f"{EXERCISE_FOLDER}/{relative.as_posix()}", (found.root / relative).read_bytes(), 0o644))
        exercise_argument = f'"$SOURCE"/{shlex.quote(f"{EXERCISE_FOLDER}/{found.yaml_file.as_posix()}")}'
    else:
        exercise_argument = shlex.quote(exercise.id)
    for relative in package:
        entries.append((f"{PACKAGE_FOLDER}/{relative.as_posix()}", (project_root / relative).read_bytes(), 0o644))
    entries.append((SECRET_FILE, (secret + "\n").encode(), 0o600))
    entries.append(("setup.sh", _script(SETUP_SH, exercise_argument, student_field), 0o755))
    entries.append(
        (
            "run_autograder",
            _script(RUN_AUTOGRADER, exercise_argument, student_field, variants=exercise.variants is not None),
            0o755,
        )
    )

    output_zip = Path(output_zip)
    output_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = output_zip.with_name(output_zip.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content, mode in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix: unzip restores the mode bits below
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    partial.replace(output_zip)
    return output_zip


def _script(template: str, exercise_argument: str, student_field: str, *, variants: bool = False) -> bytes:
    text = template.replace("@EXERCISE@", exercise_argument).replace("@DEFAULT_VENV@", DEFAULT_VENV)
    text = text.replace("@STUDENT_FIELD@", student_field).replace("@VARIANTS@", "1" if variants else "0")
    return text.encode()


SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (the zip is extracted in
# /autograder/source, and the network is available). It installs the rnn-grader bundled in this zip,
# with its dependencies, into a virtual environment of its own, and checks that the exercise loads.
#
# rnn-grader needs Python >= 3.11. Gradescope's default base image is Ubuntu 22.04, whose python3 is
# 3.10, and Gradescope's own harness runs on that python3: it is never replaced. In order, this uses:
#   1. $RNN_GRADER_PYTHON when set (any Python >= 3.11; nothing is installed with apt);
#   2. python3.13, python3.12, python3.11 or python3 when one is >= 3.11 and can make a venv
#      (an image variant with a newer Python, Ubuntu 24.04);
#   3. with apt-get: Ubuntu's own python3.11 and python3.11-venv (22.04 has them in its universe
#      component), or python3-venv when the image's python3 is already >= 3.11;
#   4. with apt-get: the deadsnakes PPA's python3.12 and python3.12-venv (for 20.04 and 22.04);
#   5. else uv (pip-installed) and the standalone Python 3.12 that `uv python install` downloads.
# AUTOGRADER_ROOT (default /autograder) and RNN_GRADER_VENV (default @DEFAULT_VENV@) move things.
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${RNN_GRADER_VENV:-@DEFAULT_VENV@}"
EXERCISE=@EXERCISE@

log() { echo "setup.sh: $*" >&2; }

# A Python >= 3.11 that can make a virtual environment with pip in it (Debian and Ubuntu keep
# ensurepip in a separate -venv package, so only making one proves it).
usable() {
  local candidate="$1" probe
  [ -n "$candidate" ] && command -v "$candidate" > /dev/null 2>&1 || return 1
  "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' > /dev/null 2>&1 || return 1
  probe="$(mktemp -d)"
  if "$candidate" -m venv "$probe/venv" > /dev/null 2>&1; then rm -rf "$probe"; return 0; fi
  rm -rf "$probe"
  return 1
}

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if usable "$candidate"; then command -v "$candidate"; return 0; fi
  done
  return 1
}

install_with_apt() {
  command -v apt-get > /dev/null 2>&1 || return 1
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || return 1
  if command -v python3 > /dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y -q python3-venv && return 0
  fi
  log "installing python3.11 and python3.11-venv from the distribution's archive"
  apt-get install -y -q python3.11 python3.11-venv && return 0
  log "no python3.11 in this image's archive: trying the deadsnakes PPA's python3.12"
  apt-get install -y -q software-properties-common gpg-agent || return 1
  add-apt-repository -y ppa:deadsnakes/ppa || return 1
  apt-get update -q || return 1
  apt-get install -y -q python3.12 python3.12-venv
}

install_with_uv() {
  local tools="$ROOT/uv-tools" base
  base="$(command -v python3 || true)"
  [ -n "$base" ] || return 1
  "$base" -m pip --version > /dev/null 2>&1 || return 1
  log "installing a standalone Python 3.12 with uv"
  "$base" -m pip install --quiet --target "$tools" uv >&2 || return 1
  UV_PYTHON_INSTALL_DIR=/opt/rnn-grader-python "$tools/bin/uv" python install 3.12 >&2 || return 1
  UV_PYTHON_INSTALL_DIR=/opt/rnn-grader-python "$tools/bin/uv" python find 3.12
}

if [ -n "${RNN_GRADER_PYTHON:-}" ]; then
  if ! usable "$RNN_GRADER_PYTHON"; then
    log "RNN_GRADER_PYTHON=$RNN_GRADER_PYTHON is not a Python >= 3.11 that can make a venv"
    exit 1
  fi
  PYTHON="$RNN_GRADER_PYTHON"
elif PYTHON="$(find_python)"; then
  :
elif install_with_apt && PYTHON="$(find_python)"; then
  :
elif PYTHON="$(install_with_uv)" && usable "$PYTHON"; then
  :
else
  log "could not find or install Python >= 3.11"
  exit 1
fi
log "using $PYTHON ($("$PYTHON" --version 2>&1))"

# The bundled rnn-grader, in its own virtual environment.
"$PYTHON" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$SOURCE/rnn-grader"
"$VENV/bin/python" -P -m grader --version

# Only root may enter the source folder: the secret and an instructor's reference files stay out of
# reach of student code, which rnn-grader runs as another user. The venv stays readable.
chmod go-rwx "$SOURCE"

# The exercise loads and checks itself now, rather than at the first submission.
"$VENV/bin/python" -P -m grader show "$EXERCISE" > /dev/null
log "rnn-grader is installed in $VENV"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, from /autograder: it grades the files in
# /autograder/submission as one student's work and writes /autograder/results/results.json
# (`rnn-grader grade /autograder/submission --single --format gradescope`). A results.json is
# written even when the grader cannot run, so the student sees a message instead of a blank page.
# AUTOGRADER_ROOT (default /autograder), RNN_GRADER_VENV (default @DEFAULT_VENV@) and
# RNN_GRADER_PYTHON (a Python with rnn-grader installed, instead of the venv's) move things.
set -uo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
RESULTS="$ROOT/results"
PYTHON="${RNN_GRADER_PYTHON:-${RNN_GRADER_VENV:-@DEFAULT_VENV@}/bin/python}"
EXERCISE=@EXERCISE@
VARIANTS=@VARIANTS@

cd "$ROOT" || exit 1
mkdir -p "$RESULTS"
rm -f "$RESULTS/results.json"
chmod go-rwx "$SOURCE" 2> /dev/null || true  # as setup.sh left it: the secret is root's alone

args=(grade "$ROOT/submission" --single --exercise "$EXERCISE" --format gradescope -o "$RESULTS/results.json")
if [ -s "$SOURCE/secret" ]; then
  args+=(--secret-file "$SOURCE/secret")
fi

# Per-student variants: the student's id comes from Gradescope's submission metadata, as a roster
# entry for the submission folder.
if [ "$VARIANTS" = 1 ]; then
  roster="$RESULTS/.roster.csv"
  if "$PYTHON" -P - "$ROOT/submission_metadata.json" "$roster" "$(basename "$ROOT/submission")" <<'PY'
import csv, json, sys
metadata, roster, folder = sys.argv[1:4]
try:
    with open(metadata, encoding="utf-8") as handle:
        student = str(json.load(handle)["users"][0]["@STUDENT_FIELD@"]).strip()
except (OSError, ValueError, LookupError, TypeError) as exc:
    sys.exit(f"run_autograder: no student id in {metadata} ({type(exc).__name__}: {exc})")
if not student:
    sys.exit(f"run_autograder: the student id in {metadata} is empty")
with open(roster, "w", newline="", encoding="utf-8") as handle:
    csv.writer(handle).writerows([["submission", "student"], [folder, student]])
PY
  then
    args+=(--roster "$roster")
  else
    echo "run_autograder: grading against the exercise's handout sizes"
  fi
fi

# `rnn-grader grade ...`; -P keeps the working directory off the module path.
"$PYTHON" -P -m grader "${args[@]}"
status=$?
rm -f "$RESULTS/.roster.csv"

if [ ! -s "$RESULTS/results.json" ]; then
  cat > "$RESULTS/results.json" <<JSON
{
  "score": 0.0,
  "output": "The autograder could not grade this submission (rnn-grader exited with status $status). \
This is not a verdict on your work: tell your course staff, who can see the autograder's log.",
  "output_format": "text",
  "stdout_visibility": "hidden",
  "tests": []
}
JSON
  exit "$status"
fi
exit 0
"""
