"""Exports: the Gradescope autograder zip run in a tree laid out like /autograder, and the GitHub Classroom
and GitLab CI files parsed as the platforms read them, their commands run on a sample repository.

The Python in the simulated trees is this test's own (RNN_GRADER_PYTHON), so setup.sh's install is
checked by reading it, except in one slow test that runs it for real with pip (as in Gradescope's
image build, minus apt).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from exercises.bank import exercise_files as bank_files
from exercises.bank import load_exercise
from grader.export import (
    ExportError,
    build_gradescope_bundle,
    question_passed,
    write_classroom_files,
)
from grader.cases.variants import for_student
from reference.rnn import shapes

PROJECT = Path(__file__).parents[2]
CORPUS = PROJECT / "tests/corpus"
GRU = PROJECT / "tests/exercises/gru_step"
CORRECT = CORPUS / "correct/student02_vectorised.py"
WRITEUP = CORPUS / "writeups/correct/handout_notation.md"  # the written Task 2 (derivation.*), done right
WRONG = CORPUS / "wrong/missing_tanh_derivative.py"
GRU_CORRECT = GRU / "submissions/correct/tuple_cache_split.py"
PYTHON = Path(sys.executable)
SECRET = "export-test-secret"

# ------------------------------------------------------------------ Gradescope's results.json spec
# gradescope-autograders.readthedocs.io/en/latest/specs/ (docs/specs.md of gradescope/autograder_samples)
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}


def run(args, **options) -> subprocess.CompletedProcess:
    """A command's exit status and output, never raising for a non-zero status."""
    return subprocess.run(args, check=False, capture_output=True, text=True, **{"timeout": 300, **options})


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def assert_gradescope_results(document: dict) -> None:
    """Every key is one the specification defines, with the type and values it allows."""
    assert isinstance(document, dict)
    assert set(document) <= TOP_KEYS, set(document) - TOP_KEYS
    tests = document.get("tests", [])
    assert isinstance(tests, list)
    # "score": optional, but required if not on each test case
    assert "score" in document or (tests and all("score" in test for test in tests))
    if "score" in document:
        assert _number(document["score"])
    if "execution_time" in document:
        assert _number(document["execution_time"])
    if "output" in document:
        assert isinstance(document["output"], str)
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in document:
            assert document[key] in FORMATS
    for key in ("visibility", "stdout_visibility"):
        if key in document:
            assert document[key] in VISIBILITY
    if "extra_data" in document:
        assert isinstance(document["extra_data"], dict)
    for test in tests:
        assert isinstance(test, dict) and set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        for key in ("score", "max_score"):
            if key in test:
                assert _number(test[key])
        if "status" in test:
            assert test["status"] in {"passed", "failed"}
        for key in ("name", "number", "output"):
            if key in test:
                assert isinstance(test[key], str)
        for key in ("name_format", "output_format"):
            if key in test:
                assert test[key] in FORMATS
        if "tags" in test:
            assert isinstance(test["tags"], list) and all(isinstance(tag, str) for tag in test["tags"])
        if "visibility" in test:
            assert test["visibility"] in VISIBILITY
        if "extra_data" in test:
            assert isinstance(test["extra_data"], dict)


# ------------------------------------------------------------------ the simulated /autograder


def unzip_like_unzip(bundle: Path, destination: Path) -> None:
    """Extract as `unzip` does on Gradescope: with the mode bits the entries carry."""
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, destination))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def autograder_tree(tmp_path: Path, bundle: Path, submission: list[Path] | None = None,
                    metadata: dict | None = None) -> Path:
    """/autograder as Gradescope lays it out: source/ (the zip), submission/, results/, run_autograder."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    unzip_like_unzip(bundle, root / "source")
    shutil.copy2(root / "source/run_autograder", root / "run_autograder")
    for file in submission or []:
        shutil.copy(file, root / "submission" / file.name)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    return root


def run_autograder(root: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "RNN_GRADER_PYTHON": str(PYTHON), **env}
    process = run(["bash", str(root / "run_autograder")], cwd=root, env=environment)
    results = root / "results/results.json"
    assert results.is_file(), process.stdout + process.stderr
    document = json.loads(results.read_text())
    assert_gradescope_results(document)
    return process, document


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return build_gradescope_bundle("rnn-bptt", tmp_path_factory.mktemp("bundle") / "autograder.zip",
                                   secret=SECRET, project_root=PROJECT)


def test_the_bundle_has_gradescopes_two_scripts_at_its_root_executable_and_the_package_to_install(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        setup_sh = archive.read("setup.sh").decode()
        run_script = archive.read("run_autograder").decode()
        secret = archive.read("secret").decode()
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & 0o111 == 0o111, script  # executable by all
        assert stat.S_ISREG(infos[script].external_attr >> 16)
    assert (infos["secret"].external_attr >> 16) & 0o077 == 0  # the owner's alone
    assert secret == SECRET + "\n"
    for name in ("rnn-grader/pyproject.toml", "rnn-grader/README.md", "rnn-grader/grader/cli.py",
                 "rnn-grader/grader/report/gradescope.py", "rnn-grader/exercises/bank/rnn-bptt.yaml",
                 "rnn-grader/exercises/bank/provided/cs231n/layers.py", "rnn-grader/reference/rnn.py"):
        assert name in infos, name
    assert not [name for name in infos if "__pycache__" in name or name.endswith(".pyc")
                or name.startswith(("rnn-grader/tests/", "rnn-grader/benchmarks/"))]
    assert not [name for name in infos if name.startswith("exercise/")]  # a bank exercise is in the package

    # Both scripts parse; setup.sh brings a Python >= 3.11 without touching the system python3, makes a
    # venv and pip-installs the bundled package; run_autograder grades as the README says.
    for script in ("setup.sh", "run_autograder"):
        path = tmp_path / script
        path.write_text(setup_sh if script == "setup.sh" else run_script)
        assert run(["bash", "-n", str(path)]).returncode == 0, script
    assert setup_sh.startswith("#!/usr/bin/env bash\n") and run_script.startswith("#!/usr/bin/env bash\n")
    assert "sys.version_info < (3, 11)" in setup_sh
    assert "apt-get install -y -q python3.11 python3.11-venv" in setup_sh
    assert "ppa:deadsnakes/ppa" in setup_sh and "uv\" python install 3.12" in setup_sh
    assert re.search(r'"\$PYTHON" -m venv --clear "\$VENV"', setup_sh)
    assert re.search(r'"\$VENV/bin/python" -m pip install --quiet "\$SOURCE/rnn-grader"', setup_sh)
    assert "update-alternatives" not in setup_sh and "ln -s" not in setup_sh  # the harness keeps its python3
    assert 'args=(grade "$ROOT/submission" --single --exercise "$EXERCISE" --format gradescope ' \
           '-o "$RESULTS/results.json")' in run_script
    assert 'args+=(--secret-file "$SOURCE/secret")' in run_script
    assert "EXERCISE=rnn-bptt\n" in run_script and 'ROOT="${AUTOGRADER_ROOT:-/autograder}"' in run_script

    again = build_gradescope_bundle("rnn-bptt", tmp_path / "again.zip", secret=SECRET, project_root=PROJECT)
    assert again.read_bytes() == bundle.read_bytes()  # reproducible: same inputs, same zip


def test_a_correct_submission_gets_full_marks_in_the_simulated_autograder(bundle, tmp_path):
    root = autograder_tree(tmp_path, bundle, [CORRECT, WRITEUP])
    process, document = run_autograder(root)
    assert process.returncode == 0, process.stderr
    exercise = load_exercise("rnn-bptt")
    assert document["score"] == exercise.max_score
    assert [test["name"] for test in document["tests"]] == [q.id for q in exercise.questions]
    assert all(test["status"] == "passed" and test["score"] == test["max_score"] for test in document["tests"])
    assert "warning: no --secret" not in process.stderr  # the bundle's secret was used
    assert stat.S_IMODE((root / "source").stat().st_mode) & 0o077 == 0  # only root may enter source/


def test_a_wrong_submission_loses_the_points_of_its_mistake(bundle, tmp_path):
    root = autograder_tree(tmp_path, bundle, [WRONG])
    process, document = run_autograder(root)
    assert process.returncode == 0, process.stderr
    assert 0 < document["score"] < load_exercise("rnn-bptt").max_score
    failed = [test for test in document["tests"] if test["status"] == "failed"]
    assert failed and all(test["score"] < test["max_score"] for test in failed)
    assert any("missing-tanh-derivative" in test.get("tags", []) for test in failed)


@pytest.mark.parametrize("broken", ["syntax_error", "empty_folder"])
def test_a_broken_submission_still_gets_a_valid_results_file(bundle, tmp_path, broken):
    files = []
    if broken == "syntax_error":
        (tmp_path / "rnn.py").write_text("import numpy as np\n\ndef rnn_step(x, h:\n    return x\n")
        files = [tmp_path / "rnn.py"]
    root = autograder_tree(tmp_path, bundle, files)
    process, document = run_autograder(root)
    assert process.returncode == 0, process.stderr
    assert document["score"] == 0
    assert document["tests"] and all(test["status"] == "failed" for test in document["tests"])
    assert all(test.get("score", 0) == 0 for test in document["tests"])
    if broken == "empty_folder":
        assert "empty" in document["output"]


def test_when_the_grader_itself_cannot_run_the_student_still_gets_a_results_file(bundle, tmp_path):
    root = autograder_tree(tmp_path, bundle, [CORRECT])
    process, document = run_autograder(root, RNN_GRADER_PYTHON="/bin/false")
    assert process.returncode != 0  # the log shows the failure
    assert document["score"] == 0 and document["tests"] == []
    assert "could not grade" in document["output"]


def test_an_instructors_own_exercise_travels_with_its_reference_file(tmp_path):
    bundle = build_gradescope_bundle(str(GRU / "gru.yaml"), tmp_path / "gru.zip", secret=None, project_root=PROJECT)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        run_script = archive.read("run_autograder").decode()
        generated_secret = archive.read("secret").decode().strip()
    assert {"exercise/gru.yaml", "exercise/gru_reference.py"} <= names
    assert not [name for name in names if name.startswith("exercise/") and name not in
                {"exercise/gru.yaml", "exercise/gru_reference.py"}]  # not its tests, not its submissions
    assert 'EXERCISE="$SOURCE"/exercise/gru.yaml\n' in run_script
    assert len(generated_secret) >= 32  # no secret given: a random one, never the exercise's default
    assert generated_secret != load_exercise(str(GRU / "gru.yaml")).hidden.default_secret

    root = autograder_tree(tmp_path, bundle, [GRU_CORRECT])
    process, document = run_autograder(root)
    assert process.returncode == 0, process.stderr
    exercise = load_exercise(str(GRU / "gru.yaml"))
    assert document["score"] == exercise.max_score and document["output"].startswith("Exercise gru-step")
    assert [test["name"] for test in document["tests"]] == [q.id for q in exercise.questions]


def test_an_exercise_with_a_helper_module_and_course_modules_brings_them_along(tmp_path):
    folder = tmp_path / "course"
    shutil.copytree(GRU, folder, ignore=shutil.ignore_patterns("submissions", "__pycache__", "test_*"))
    reference = (folder / "gru_reference.py").read_text()
    (folder / "gru_helpers.py").write_text("SCALE = 1.0\n")
    (folder / "gru_reference.py").write_text(reference.replace(
        "import numpy as np\n", "import numpy as np\n\nimport gru_helpers  # noqa: F401\n", 1))
    (folder / "provided/mycourse").mkdir(parents=True)
    (folder / "provided/mycourse/layers.py").write_text("def relu(x):\n    return x * (x > 0)\n")
    data = yaml.safe_load((folder / "gru.yaml").read_text())
    data["imports"]["provided"] = ["provided/mycourse"]
    (folder / "gru.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (folder / "notes.txt").write_text("not used by the exercise\n")

    bundle = build_gradescope_bundle(str(folder / "gru.yaml"), tmp_path / "b.zip", secret="s", project_root=PROJECT)
    names = {name for name in zipfile.ZipFile(bundle).namelist() if name.startswith("exercise/")}
    assert names == {"exercise/gru.yaml", "exercise/gru_reference.py", "exercise/gru_helpers.py",
                     "exercise/provided/mycourse/layers.py"}


def test_an_exercise_that_does_not_load_or_a_bad_secret_stops_the_export_before_writing(tmp_path):
    from exercises.bank import ExerciseError

    with pytest.raises(ExerciseError):
        build_gradescope_bundle("no-such-exercise", tmp_path / "x.zip", secret="s", project_root=PROJECT)
    with pytest.raises(ExportError):
        build_gradescope_bundle("rnn-bptt", tmp_path / "x.zip", secret="two\nlines", project_root=PROJECT)
    with pytest.raises(ExportError):
        build_gradescope_bundle("rnn-bptt", tmp_path / "x.zip", secret="s", project_root=tmp_path)
    assert not (tmp_path / "x.zip").exists()


@pytest.fixture
def variant_exercise(tmp_path) -> Path:
    data = yaml.safe_load(bank_files()["rnn-bptt"].read_text())
    data["variants"] = {"seed": 11, "dimensions": {"D": [8, 16], "H": [3, 9]}}
    path = tmp_path / "exercise/rnn-variants.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_with_variants_the_student_comes_from_gradescopes_submission_metadata(tmp_path, variant_exercise):
    bundle = build_gradescope_bundle(str(variant_exercise), tmp_path / "v.zip", secret="s", project_root=PROJECT)
    alice = for_student(load_exercise(str(variant_exercise)), "alice@example.edu").handout
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"shapes": {s: "x".join(map(str, shape)) for s, shape in shapes(**alice).items()}}))

    def shape_statuses(email: str) -> set[str]:
        metadata = {"id": 1, "users": [{"email": email, "id": 7, "name": "A Student"}]}
        root = autograder_tree(tmp_path / email, bundle, [answers], metadata=metadata)
        process, document = run_autograder(root)
        assert process.returncode == 0, process.stderr
        return {test["status"] for test in document["tests"] if test["name"].startswith("shapes.")}

    assert shape_statuses("alice@example.edu") == {"passed"}  # her own sizes
    assert "failed" in shape_statuses("bob@example.edu")  # alice's answers handed in by bob


@pytest.mark.slow
def test_setup_sh_really_installs_the_bundled_package_into_its_venv(bundle, tmp_path):
    """Gradescope's image build without apt: setup.sh with a given Python, then run_autograder on its venv."""
    root = autograder_tree(tmp_path, bundle, [CORRECT, WRITEUP])
    venv = tmp_path / "venv"
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "RNN_GRADER_PYTHON": str(PYTHON),
                   "RNN_GRADER_VENV": str(venv)}
    setup = run(["bash", str(root / "source/setup.sh")], cwd=root / "source", env=environment, timeout=900)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert (venv / "bin/rnn-grader").is_file()
    installed = run([str(venv / "bin/python"), "-P", "-c", "import grader; print(grader.__file__)"], cwd=tmp_path)
    assert str(venv) in installed.stdout  # the bundled copy, not this checkout
    assert stat.S_IMODE((root / "source").stat().st_mode) & 0o077 == 0
    process, document = run_autograder(root, RNN_GRADER_PYTHON="", RNN_GRADER_VENV=str(venv))
    assert process.returncode == 0, process.stderr
    assert document["score"] == load_exercise("rnn-bptt").max_score


# ------------------------------------------------------------------ GitHub Classroom and GitLab CI
# The actions' inputs, from their action.yml (classroom-resources/autograding-command-grader and
# classroom-resources/autograding-grading-reporter, tag v1).
COMMAND_GRADER_INPUTS = {"test-name", "setup-command", "command", "timeout", "max-score"}
COMMAND_GRADER_REQUIRED = {"test-name", "command"}
REPORTER_INPUTS = {"token", "runners"}
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def rnn_grader_on_path() -> str:
    if not (PYTHON.parent / "rnn-grader").is_file():
        pytest.skip("rnn-grader is not installed beside this Python")
    return f"{PYTHON.parent}{os.pathsep}{os.environ.get('PATH', '')}"


def sample_repository(tmp_path: Path, files: list[Path]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for file in files:
        shutil.copy(file, repo / file.name)
    (repo / "README.md").write_text("# My homework\n")
    return repo


def run_github_workflow(workflow: dict, repo: Path, tmp_path: Path, secret: str | None) -> dict:
    """The job's steps as GitHub runs them, the actions emulated from their source; what the reporter sends."""
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    path = rnn_grader_on_path()
    outputs: dict[str, dict[str, str]] = {}

    def evaluate(text: str) -> str:
        def value(match: re.Match) -> str:
            parts = match.group(1).split(".")
            if parts[0] == "secrets" and len(parts) == 2:
                return secret or ""
            if parts[0] == "steps" and parts[2] == "outputs" and len(parts) == 4:
                return outputs[parts[1]][parts[3]]
            if parts == ["runner", "temp"]:
                return str(runner_temp)
            raise AssertionError(f"unexpected expression {match.group(0)}")
        return EXPRESSION.sub(value, str(text))

    reported = None
    for step in workflow["jobs"]["run-autograding-tests"]["steps"]:
        uses = step.get("uses", "")
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            continue  # the sample repository is the checkout; this Python is the set-up one
        if "run" in step and step["run"].startswith("python -m pip install"):
            continue  # installed here already
        if "run" in step:
            github_output = tmp_path / f"output-{step.get('id', 'step')}"
            github_output.touch()
            env = {**os.environ, "PATH": path, "RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(github_output),
                   "GITHUB_ACTOR": "alice", **{key: evaluate(value) for key, value in step.get("env", {}).items()}}
            script = tmp_path / "step.sh"
            script.write_text(evaluate(step["run"]))
            assert step.get("shell") == "bash"
            process = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=repo, env=env)
            assert process.returncode == 0, process.stdout + process.stderr
            lines = [line for line in github_output.read_text().splitlines() if line]
            outputs[step.get("id", "")] = dict(line.split("=", 1) for line in lines)
        elif uses.startswith("classroom-resources/autograding-command-grader@"):
            inputs = {key: evaluate(value) for key, value in step["with"].items()}
            assert COMMAND_GRADER_REQUIRED <= set(inputs) <= COMMAND_GRADER_INPUTS
            # src/main.js: execSync(command, {env: {PATH, HOME, ...}}); exit 0 passes; score max-score or 0
            process = run(inputs["command"], shell=True, cwd=repo,
                          env={"PATH": path, "HOME": os.environ.get("HOME", "/root")})
            status = "pass" if process.returncode == 0 else "fail"
            max_score = int(inputs.get("max-score") or 0)
            result = {"version": 1, "status": status, "max_score": max_score,
                      "tests": [{"name": inputs["test-name"], "status": status,
                                 "score": max_score if status == "pass" else 0, "message": process.stdout,
                                 "test_code": inputs["command"], "filename": "", "line_no": 0}]}
            outputs[step["id"]] = {"result": base64.b64encode(json.dumps(result).encode()).decode()}
        elif uses.startswith("classroom-resources/autograding-grading-reporter@"):
            assert set(step["with"]) <= REPORTER_INPUTS and "runners" in step["with"]
            env = {key: evaluate(value) for key, value in step["env"].items()}
            runner_results = []
            for runner in step["with"]["runners"].split(","):  # src/main.js
                encoded = env[f"{runner.strip().upper()}_RESULTS"]
                runner_results.append(json.loads(base64.b64decode(encoded).decode("utf-8")))
            # src/notify-classroom.js: the points Classroom records
            counted = [results for results in runner_results if results["max_score"]]
            reported = {"results": runner_results,
                        "total": sum(test["score"] for results in counted for test in results["tests"]),
                        "max": sum(results["max_score"] for results in counted),
                        "failed": any(results["status"] in ("fail", "error") for results in runner_results)}
        else:
            raise AssertionError(f"unexpected step {step}")
    assert reported is not None, "no reporter step"
    return reported


def load_workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:  # PyYAML reads the key `on` as a YAML 1.1 boolean; GitHub reads it as "on"
        data["on"] = data.pop(True)
    return data


def assert_github_workflow_shape(workflow: dict, style: str) -> list[dict]:
    assert "push" in workflow["on"]
    job = workflow["jobs"]["run-autograding-tests"]
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]  # a pinned major version
        else:
            assert "run" in step
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert steps[1]["with"] == {"python-version": "3.12"}
    assert steps[2]["run"].startswith("python -m pip install --quiet rnn-grader==")
    grade = steps[3]
    assert grade["env"] == {"RNN_GRADER_SECRET": "${{ secrets.RNN_GRADER_SECRET }}"}
    command = r"^rnn-grader grade \. --single --exercise \S+ --format github-classroom -o "
    assert re.search(command, grade["run"], re.MULTILINE)
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    runners = reporter["with"]["runners"].split(",")
    assert all(re.fullmatch(r"[a-zA-Z0-9]+", runner) for runner in runners)  # the reporter's own pattern
    ids = {step.get("id") for step in steps}
    assert set(runners) <= ids
    assert reporter["env"] == {f"{runner.upper()}_RESULTS": f"${{{{ steps.{runner}.outputs.result }}}}"
                               for runner in runners}
    if style == "runner-result":
        assert runners == [grade["id"]] and '>> "$GITHUB_OUTPUT"' in grade["run"]
    else:
        graders = [step for step in steps if step.get("uses", "").startswith("classroom-resources/autograding-command")]
        assert [step["id"] for step in graders] == runners
        for step in graders:
            assert COMMAND_GRADER_REQUIRED <= set(step["with"]) <= COMMAND_GRADER_INPUTS
            assert isinstance(step["with"]["max-score"], int)
    return steps


@pytest.mark.parametrize("exercise, student", [("rnn-bptt", [CORRECT, WRITEUP]), (str(GRU / "gru.yaml"), [GRU_CORRECT])],
                         ids=["bank", "instructors-own"])
def test_the_classroom_workflow_reports_every_questions_points_to_the_grading_reporter(tmp_path, exercise, student):
    repo = sample_repository(tmp_path, student)
    written = write_classroom_files(exercise, repo)
    assert repo / ".github/workflows/classroom.yml" in written and repo / ".gitlab-ci.yml" in written
    if exercise.endswith(".yaml"):
        assert (repo / ".rnn-grader/exercise/gru_reference.py").is_file()
    workflow = load_workflow(repo / ".github/workflows/classroom.yml")
    assert_github_workflow_shape(workflow, "runner-result")

    reported = run_github_workflow(workflow, repo, tmp_path, secret=SECRET)
    loaded = load_exercise(exercise)
    assert reported["max"] == loaded.max_score and reported["total"] == loaded.max_score
    assert not reported["failed"]
    assert [test["name"] for test in reported["results"][0]["tests"]] == [q.id for q in loaded.questions]
    assert (tmp_path / "runner-temp/rnn-grader-result.json").is_file()


def test_a_wrong_repository_keeps_partial_credit_per_question_and_fails_the_job(tmp_path):
    repo = sample_repository(tmp_path, [WRONG])
    write_classroom_files("rnn-bptt", repo, gitlab=False)
    assert not (repo / ".gitlab-ci.yml").exists()
    reported = run_github_workflow(load_workflow(repo / ".github/workflows/classroom.yml"), repo, tmp_path, secret=None)
    assert 0 < reported["total"] < reported["max"] and reported["failed"]


def test_the_command_grader_style_gives_each_question_its_own_step(tmp_path):
    repo = sample_repository(tmp_path, [WRONG])
    write_classroom_files("rnn-bptt", repo, style="command-grader", gitlab=False)
    workflow = load_workflow(repo / ".github/workflows/classroom.yml")
    steps = assert_github_workflow_shape(workflow, "command-grader")
    exercise = load_exercise("rnn-bptt")
    graders = [step for step in steps if "autograding-command-grader" in step.get("uses", "")]
    assert [step["with"]["test-name"] for step in graders] == [q.id for q in exercise.questions]
    assert [step["with"]["max-score"] for step in graders] == [int(q.points) for q in exercise.questions]

    reported = run_github_workflow(workflow, repo, tmp_path, secret=SECRET)
    by_name = {results["tests"][0]["name"]: results["tests"][0] for results in reported["results"]}
    assert reported["max"] == exercise.max_score
    assert 0 < reported["total"] < reported["max"] and reported["failed"]
    assert by_name["shapes.W_H"]["status"] == "pass"
    assert any(test["status"] == "fail" for test in by_name.values())


def test_the_command_grader_style_refuses_fractional_points(tmp_path):
    data = yaml.safe_load(bank_files()["rnn-bptt"].read_text())
    data["questions"][0]["points"] = 0.5
    path = tmp_path / "half.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ExportError, match="whole points"):
        write_classroom_files(str(path), tmp_path / "repo", style="command-grader")


def test_the_gitlab_example_publishes_a_junit_report(tmp_path):
    repo = sample_repository(tmp_path, [CORRECT, WRITEUP])
    write_classroom_files("rnn-bptt", repo, grader_requirement="rnn-grader @ git+https://example.org/rnn-grader@v1")
    data = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    job = data["rnn-grader"]
    assert job["image"] == "python:3.12"
    assert job["artifacts"] == {"when": "always", "reports": {"junit": "report.xml"}}
    install = "python -m pip install --quiet 'rnn-grader @ git+https://example.org/rnn-grader@v1'"
    assert job["before_script"] == [install]
    script = "\n".join(job["script"])
    command = r"^rnn-grader grade \. --single --exercise rnn-bptt --format junit -o report.xml"
    assert re.search(command, script, re.MULTILINE)

    environment = {**os.environ, "PATH": rnn_grader_on_path(), "RNN_GRADER_SECRET": SECRET,
                   "TMPDIR": str(tmp_path), "GITLAB_USER_LOGIN": "alice"}
    process = run(["sh", "-e", "-c", script], cwd=repo, env=environment)
    assert process.returncode == 0, process.stdout + process.stderr
    assert "warning: no RNN_GRADER_SECRET" not in process.stdout
    suite = ET.parse(repo / "report.xml").getroot()
    cases = suite.findall(".//testcase")
    assert [case.get("name") for case in cases] == [q.id for q in load_exercise("rnn-bptt").questions]
    assert not suite.findall(".//failure") and not suite.findall(".//error")


def test_classroom_with_variants_grades_the_pushers_variant(tmp_path, variant_exercise):
    alice = for_student(load_exercise(str(variant_exercise)), "alice").handout
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"shapes": {s: "x".join(map(str, shape)) for s, shape in shapes(**alice).items()}}))
    repo = sample_repository(tmp_path, [answers])
    write_classroom_files(str(variant_exercise), repo, gitlab=False)
    workflow = load_workflow(repo / ".github/workflows/classroom.yml")
    grade_step = workflow["jobs"]["run-autograding-tests"]["steps"][3]
    assert '--roster "$RUNNER_TEMP/rnn-grader-roster.csv"' in grade_step["run"]
    reported = run_github_workflow(workflow, repo, tmp_path, secret=SECRET)  # pushed by alice
    shape_tests = [test for test in reported["results"][0]["tests"] if test["name"].startswith("shapes.")]
    assert shape_tests and all(test["status"] == "pass" for test in shape_tests)


def test_question_passed_reads_the_runner_result(tmp_path, capsys):
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"version": 1, "status": "fail", "max_score": 2, "tests": [
        {"name": "a", "status": "pass", "score": 1, "message": None},
        {"name": "b", "status": "fail", "score": 0.5, "message": "b is off"}]}))
    assert question_passed.main([str(result), "a"]) == 0
    assert question_passed.main([str(result), "b"]) == 1 and "b is off" in capsys.readouterr().out
    result.write_text(json.dumps({"tests": [{"name": "submission", "status": "error", "message": "it is empty"}]}))
    assert question_passed.main([str(result), "a"]) == 1 and "it is empty" in capsys.readouterr().out
    assert question_passed.main([str(tmp_path / "missing.json"), "a"]) == 2


def test_classroom_export_refuses_bad_options(tmp_path):
    with pytest.raises(ExportError):
        write_classroom_files("rnn-bptt", tmp_path, style="nope")
    with pytest.raises(ExportError):
        write_classroom_files("rnn-bptt", tmp_path, python_version="3.10")
    with pytest.raises(ExportError):
        write_classroom_files("rnn-bptt", tmp_path, secret_variable="lower-case")
    assert not list(tmp_path.iterdir())


def test_export_modules_do_not_import_click():
    code = ("import sys; import grader.export.gradescope_bundle, grader.export.github_classroom, "
            "grader.export.question_passed; sys.exit('click' in sys.modules)")
    assert run([str(PYTHON), "-c", code], cwd=PROJECT).returncode == 0
