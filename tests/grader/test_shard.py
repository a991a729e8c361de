"""`grade --shard K/N --gradebook G` and `merge`: a class graded in shards and joined equals one unsharded
run, byte for byte, in every format; conflicts and gaps are refused with a list; and the deploy files run
the documented commands (executed here with the variables each platform would set)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from exercises.bank import load_exercise
from grader.cli import _emit, _read_roster, _student_ids, main
from grader.record.gradebook import Gradebook
from grader.pipeline import GradingOptions, grade
from grader.report import FORMATS as RENDERERS
from grader.report import FormatOptions
from grader.record.shard import Shard, ShardError, parse_shard, shard_key
from grader.read.submission import discover

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests/corpus"
DEPLOY = ROOT / "deploy"
SHARDS = 4
ASSIGNMENT = "RNN homework (1234)"
FORMATS = ["table", "json", "csv", "junit", "gradescope", "github-classroom", "canvas"]
WRONG = [
    "dW_H_transposed", "dW_x_transposed", "forward_returns_logits", "grad_W_y_halved", "hard_coded_sizes",
    "last_step_only", "mean_loss", "missing_tanh_derivative", "sign_flipped_W_y", "syntax_error",
    "truncated_bptt", "wrong_shapes", "raises_for_T1",
]  # fmt: skip


def make_class(folder: Path) -> Path:
    """~30 submissions: right and wrong code, folders, notebooks, answers, and alice.py beside alice.md."""
    folder.mkdir(parents=True)
    for source in sorted((CORPUS / "correct").glob("student*.py")):
        if "chatty" not in source.name:  # prints random numbers: its `output` differs between any two runs
            shutil.copy(source, folder / source.name)
    for name in WRONG:
        shutil.copy(CORPUS / f"wrong/{name}.py", folder / f"{name}.py")
    for name in ("folder_submission", "json_answers", "markdown_answers"):
        shutil.copytree(CORPUS / "correct" / name, folder / name)
    shutil.copy(CORPUS / "correct/notebook_homework.ipynb", folder / "nb_student.ipynb")
    shutil.copy(CORPUS / "wrong/mean_loss.py", folder / "alice.py")
    shutil.copy(ROOT / "tests/examples/student_answer_rnn_bptt.md", folder / "alice.md")
    return folder


def make_roster(path: Path, folder: Path) -> Path:
    names = sorted({entry.stem if entry.is_file() else entry.name for entry in folder.iterdir()})
    rows = [f"{name},id-{name}" for name in names if name != "alice"] + ["zed,id-zed"]  # zed handed nothing in
    path.write_text("submission,student\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The class graded once unsharded (as `grade` emits it) and once in 4 shards through the CLI."""
    root = tmp_path_factory.mktemp("sharded")
    folder = make_class(root / "class")
    roster = make_roster(root / "roster.csv", folder)
    for k in range(1, SHARDS + 1):
        result = invoke(
            "grade", folder, "--jobs", "2", "--roster", roster, "--shard", f"{k}/{SHARDS}",
            "--gradebook", root / f"g{k}.sqlite", "--format", "csv", "-o", root / f"shard{k}.csv",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"(shard {k}/{SHARDS})" in result.stderr
    options = GradingOptions(jobs=2, roster=_student_ids(_read_roster(str(roster))))
    unsharded = grade([folder], load_exercise("rnn-bptt"), options)
    return root, folder, roster, unsharded


def books(root: Path, *numbers: int) -> list[Path]:
    return [root / f"g{k}.sqlite" for k in numbers or range(1, SHARDS + 1)]


def emitted(results, fmt: str, out: Path, roster: Path) -> None:
    """What `grade --format fmt -o out` writes for these results: the grade command's own emitter."""
    _emit(results, fmt, str(out), FormatOptions(roster=_read_roster(str(roster)), assignment=ASSIGNMENT))


def read_output(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir())}
    return {path.name: path.read_bytes()}


@pytest.mark.parametrize("fmt", FORMATS)
def test_merged_shards_equal_one_unsharded_run(world, fmt, tmp_path):
    root, folder, roster, unsharded = world
    if fmt == "json":  # the gradebook keeps no isolation level: the one key merge cannot give back
        unsharded = unsharded.model_copy(update={"isolation": ""})
    expected, merged = tmp_path / "expected", tmp_path / "merged"
    for target in (expected, merged):
        target.mkdir()
    out = "out" if fmt in ("gradescope", "github-classroom") else "out.txt"
    emitted(unsharded, fmt, expected / out, roster)
    extra = ["--roster", roster, "--assignment", ASSIGNMENT] if fmt == "canvas" else []
    result = invoke("merge", *books(root), "--class", folder, "--format", fmt, "-o", merged / out, *extra)
    assert result.exit_code == 0, result.output
    if fmt == "json":  # and the times of each run, which two runs of the same code never share
        assert _untimed(merged / out) == _untimed(expected / out)
    else:
        assert read_output(merged / out) == read_output(expected / out)
    assert len(read_output(expected / out)) == (len(unsharded.submissions) if out == "out" else 1)
    assert f"merged {len(unsharded.submissions)} submission(s) from 4 gradebook(s)" in result.stderr


def test_merged_table_on_stdout_and_native_json_differs_only_in_isolation(world):
    root, folder, roster, unsharded = world
    table = invoke("merge", *books(root), "--class", folder)
    assert table.exit_code == 0 and table.stdout == _rendered(unsharded, "table")
    merged = json.loads(invoke("merge", *books(root), "--class", folder, "--format", "json").stdout)
    whole = json.loads(_rendered(unsharded, "json"))
    assert whole.pop("isolation") and _without_times(merged) == _without_times(whole)


def _untimed(path: Path) -> dict:
    return _without_times(json.loads(path.read_text(encoding="utf-8")))


def _without_times(document: dict) -> dict:
    """The native JSON without each submission's `cpu_s` and `wall_s`, which differ from run to run."""
    for submission in document["submissions"]:
        times = [submission.pop("cpu_s", None), submission.pop("wall_s", None)]
        assert (None not in times) == (submission["status"] == "graded")
    return document


def _rendered(results, fmt: str) -> str:
    return RENDERERS[fmt].render(results).rstrip("\n") + "\n"


def test_without_the_class_a_folder_is_still_in_discover_order(world):
    root, folder, _, unsharded = world
    result = invoke("merge", *books(root), "--format", "csv")
    assert result.exit_code == 0 and result.stdout == _rendered(unsharded, "csv")


def test_roster_students_without_a_submission_are_listed(world):
    root, folder, roster, _ = world
    result = invoke("merge", *books(root), "--class", folder, "--roster", roster, "--format", "csv")
    assert result.exit_code == 0 and "no submission: id-zed" in result.stderr


def test_shards_are_disjoint_cover_the_class_and_keep_a_student_together(world):
    root, folder, _, unsharded = world
    graded = []
    for book in books(root):
        with Gradebook(book) as opened:
            graded.append({sub.path for sub in opened.current("rnn-bptt").submissions})
    assert all(graded) and sum(map(len, graded)) == len(unsharded.submissions)  # none empty, none twice
    assert set().union(*graded) == {sub.path for sub in unsharded.submissions}
    alice = {str(folder / "alice.py"), str(folder / "alice.md")}
    assert sum(1 for paths in graded if alice <= paths) == 1  # both of alice's files in one shard


def test_shards_are_stable_and_follow_the_roster_id():
    submissions = discover([CORPUS / "wrong"])
    shares = [[s.path for s in Shard(k, 3).select(submissions, {})] for k in (1, 2, 3)]
    assert shares == [[s.path for s in Shard(k, 3).select(discover([CORPUS / "wrong"]), {})] for k in (1, 2, 3)]
    assert sorted(p for share in shares for p in share) == sorted(s.path for s in submissions)
    assert shard_key("class/alice.py", {}) == shard_key("class/alice.md", {}) == "alice"
    assert shard_key("class/alice.py", {"alice": "s1"}) == "s1"
    # sha256, not Python's salted hash(): the same share in a fresh interpreter with another hash seed
    code = "from grader.record.shard import shard_of; print([shard_of(f's{i}', 4) for i in range(20)])"
    runs = {
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                       capture_output=True, text=True, check=True).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(runs) == 1


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "2", "-1/3"])
def test_bad_shards_are_usage_errors(text, tmp_path):
    with pytest.raises(ShardError):
        parse_shard(text)
    result = invoke("grade", CORPUS / "correct/student01_loops.py", "--shard", text)
    assert result.exit_code == 2 and "--shard" in result.stderr and "Traceback" not in result.stderr
    assert parse_shard(" 3 / 4 ") == Shard(3, 4)


def test_identical_duplicates_are_accepted(world, tmp_path):
    root, folder, _, unsharded = world
    again = shutil.copy(root / "g2.sqlite", tmp_path / "g2-again.sqlite")
    result = invoke("merge", *books(root), again, "--class", folder, "--format", "csv")
    assert result.exit_code == 0 and result.stdout == _rendered(unsharded, "csv")


def test_a_student_graded_twice_differently_is_refused_with_a_list(world, tmp_path):
    root, folder, _, _ = world
    with Gradebook(root / "g1.sqlite") as book:
        victim = book.current("rnn-bptt").submissions[0]
    other = tmp_path / "other.sqlite"
    with Gradebook(other) as book:
        changed = victim.model_copy(update={"score": 0.0, "questions": [], "seconds": None})
        book.record("rnn-bptt", "fingerprint", changed)
    result = invoke("merge", *books(root), other, "--class", folder, "-o", tmp_path / "out.txt")
    assert result.exit_code == 1 and not (tmp_path / "out.txt").exists()
    assert "graded twice with different results" in result.stderr
    assert f"{victim.student} ({victim.path})" in result.stderr and "other.sqlite" in result.stderr


def test_seconds_alone_do_not_make_a_conflict(world, tmp_path):
    root, folder, _, _ = world
    with Gradebook(root / "g3.sqlite") as book:
        first = book.current("rnn-bptt").submissions[0]
    slower = tmp_path / "slower.sqlite"
    with Gradebook(slower) as book:
        book.record("rnn-bptt", "fingerprint", first.model_copy(update={"seconds": 99.0}))
    assert invoke("merge", *books(root), slower, "--class", folder, "--format", "csv").exit_code == 0


def test_a_shard_left_out_is_listed(world, tmp_path):
    root, folder, _, _ = world
    with Gradebook(root / "g2.sqlite") as book:
        lost = book.current("rnn-bptt").submissions
    result = invoke("merge", *books(root, 1, 3, 4), "--class", folder, "-o", tmp_path / "out.txt")
    assert result.exit_code == 1 and not (tmp_path / "out.txt").exists()
    assert f"{len(lost)} submission(s) of the class graded by no shard" in result.stderr
    assert all(sub.path in result.stderr for sub in lost)
    allowed = invoke("merge", *books(root, 1, 3, 4), "--class", folder, "--allow-missing", "--format", "csv")
    assert allowed.exit_code == 0 and "warning:" in allowed.stderr
    assert len(allowed.stdout.strip().splitlines()) == 1 + sum(
        len(Gradebook(b).current("rnn-bptt").submissions) for b in books(root, 1, 3, 4)
    )


def test_merge_usage_errors(world, tmp_path):
    root, folder, _, _ = world
    assert invoke("merge", tmp_path / "none.sqlite").exit_code == 2
    assert invoke("merge", *books(root), "--exercise", "nope").exit_code == 1
    not_a_book = tmp_path / "x.sqlite"
    not_a_book.write_text("hello")
    result = invoke("merge", not_a_book)
    assert result.exit_code == 1 and "not a usable gradebook" in result.stderr
    assert invoke("merge", *books(root), "--format", "gradescope").exit_code == 2  # a folder is needed


# ------------------------------------------------------------------------------------------- deploy files


@pytest.fixture
def small_class(tmp_path):
    """A workspace holding a four-submission class in `submissions/` and a secret."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(CORPUS / "correct/student01_loops.py", folder / "ann.py")
    shutil.copy(CORPUS / "wrong/missing_tanh_derivative.py", folder / "bo.py")
    shutil.copy(CORPUS / "wrong/mean_loss.py", folder / "alice.py")
    shutil.copy(ROOT / "tests/examples/student_answer_rnn_bptt.md", folder / "alice.md")
    (tmp_path / "secret").write_text("a test secret\n")
    return tmp_path


def run_shell(script: str, cwd: Path, env: dict[str, str], shell: str = "bash") -> None:
    environ = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env}
    environ.pop("CI", None)
    done = subprocess.run([shell, "-c", script], cwd=cwd, env=environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def assert_whole_class(results_json: Path) -> None:
    """Every student of the small class once, in discover (name) order."""
    paths = [s["path"] for s in json.loads(results_json.read_text())["submissions"]]
    assert paths == [f"submissions/{name}" for name in ("alice.md", "alice.py", "ann.py", "bo.py")]


def _expressions(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: values[m[1]], text)


def test_github_actions_workflow(small_class):
    workflow = yaml.safe_load((DEPLOY / "github-actions/grade-class.yml").read_text())
    grade_job, merge_job = workflow["jobs"]["grade"], workflow["jobs"]["merge"]
    shards = grade_job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and merge_job["needs"] == "grade"
    upload = next(s for s in grade_job["steps"] if s.get("uses") == "actions/upload-artifact@v4")
    assert "${{ matrix.shard }}" in upload["with"]["name"] and upload["with"]["path"].endswith(".sqlite")
    download = next(s for s in merge_job["steps"] if s.get("uses") == "actions/download-artifact@v4")
    assert download["with"]["merge-multiple"] is True and download["with"]["pattern"] == "gradebook-*"
    step = next(s for s in grade_job["steps"] if "rnn-grader grade" in s.get("run", ""))
    assert "--shard" in step["run"] and "--gradebook" in step["run"]
    merge_run = next(s["run"] for s in merge_job["steps"] if "rnn-grader merge" in s.get("run", ""))
    env = {key: str(value) for key, value in workflow["env"].items()} | {"RUNNER_TEMP": str(small_class)}
    for shard in shards:  # each matrix job, with the values GitHub substitutes
        values = {"matrix.shard": str(shard), "strategy.job-total": str(len(shards)), "secrets.RNN_GRADER_SECRET": "s"}
        step_env = {key: _expressions(str(value), values) for key, value in step["env"].items()}
        run_shell(step["run"], small_class, env | step_env)
        artifact = small_class / _expressions(upload["with"]["path"], values)
        (small_class / download["with"]["path"]).mkdir(exist_ok=True)
        shutil.move(artifact, small_class / download["with"]["path"] / artifact.name)  # download, merge-multiple
    run_shell(merge_run, small_class, env)
    assert_whole_class(small_class / "results.json")
    assert (small_class / "grades.csv").is_file() and (small_class / "report/index.html").is_file()


def test_slurm_script(small_class):
    script = DEPLOY / "slurm/grade-class.sh"
    text = script.read_text()
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert re.search(r"^#SBATCH --array=1-\d+$", text, re.MULTILINE)
    env = {"SHARDS": "2", "CLASS": "submissions", "SECRET_FILE": str(small_class / "secret"), "OUT": "grading"}
    (small_class / "grading").mkdir()
    for task in ("1", "2"):  # what each array task runs
        run_shell(f"bash {script}", small_class, env | {"SLURM_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": task,
                                                         "SLURM_ARRAY_TASK_COUNT": "2"})  # fmt: skip
    run_shell(f"bash {script} merge", small_class, env | {"SLURM_JOB_ID": "8"})
    assert_whole_class(small_class / "grading/results.json")
    # Run by hand: it submits the array, then the merge after it (a stand-in sbatch records the calls).
    fake = small_class / "bin"
    fake.mkdir()
    (fake / "sbatch").write_text('#!/bin/sh\necho "$@" >> "$SBATCH_LOG"\necho "4242;cluster"\n')
    (fake / "sbatch").chmod(0o755)
    log = small_class / "sbatch.log"
    run_shell(f"PATH={fake}:$PATH bash {script}", small_class, env | {"SBATCH_LOG": str(log)})
    array, merge = log.read_text().splitlines()
    assert "--parsable --array=1-2" in array and array.endswith("grade-class.sh")
    assert "--dependency=afterok:4242 " in merge and "--wrap" in merge and merge.endswith("grade-class.sh merge")


def test_kubernetes_indexed_job(small_class):
    grade_job, merge_job = yaml.safe_load_all((DEPLOY / "kubernetes/grade-class.yaml").read_text())
    spec = grade_job["spec"]
    assert spec["completionMode"] == "Indexed" and grade_job["kind"] == merge_job["kind"] == "Job"
    container = spec["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["SHARDS"] == str(spec["completions"]) and "JOB_COMPLETION_INDEX + 1" in container["args"][0]
    assert grade_job["metadata"]["labels"]["step"] == "grade" and merge_job["metadata"]["labels"]["step"] == "merge"
    local = {"CLASS": "submissions", "OUT": "grading", "SECRET_FILE": str(small_class / "secret")}
    for index in range(spec["completions"]):  # the pods, with the 0-based index Kubernetes sets
        run_shell(container["args"][0], small_class, env | local | {"JOB_COMPLETION_INDEX": str(index)}, "sh")
    assert sorted(p.name for p in (small_class / "grading").glob("*.sqlite")) == [
        f"gradebook-{k}.sqlite" for k in range(1, spec["completions"] + 1)
    ]
    merger = merge_job["spec"]["template"]["spec"]["containers"][0]
    assert merger["args"][0].startswith("rnn-grader merge")
    run_shell(merger["args"][0], small_class, local, "sh")
    assert_whole_class(small_class / "grading/results.json")


def test_shards_graded_from_different_paths_merge_with_each_student_once(small_class, monkeypatch):
    monkeypatch.chdir(small_class)
    absolute = str(small_class / "submissions")
    # shard 1 from a relative path, shard 2 from the absolute one, and shard 1 again from the absolute one
    for book, path, shard in (("g1", "submissions", "1/2"), ("g2", absolute, "2/2"), ("again", absolute, "1/2")):
        graded = invoke("grade", path, "--shard", shard, "--gradebook", f"{book}.sqlite", "--secret", "s")
        assert graded.exit_code == 0, graded.output
    merged = invoke("merge", "g1.sqlite", "g2.sqlite", "again.sqlite", "--class", "submissions", "--format", "json")
    assert merged.exit_code == 0, merged.output
    students = [sub["student"] for sub in json.loads(merged.stdout)["submissions"]]
    assert students == ["alice.md", "alice.py", "ann", "bo"]  # each once, in the class's order
    assert "graded from two paths" in merged.stderr and "graded by no shard" not in merged.stderr


def test_an_empty_shard_gradebook_merges(world, tmp_path):
    root, folder, _, unsharded = world
    with Gradebook(tmp_path / "empty.sqlite"):
        pass  # what a shard holding no student leaves
    result = invoke("merge", tmp_path / "empty.sqlite", *books(root), "--class", folder, "--format", "csv")
    assert result.exit_code == 0 and result.stdout == _rendered(unsharded, "csv")
    assert invoke("merge", tmp_path / "empty.sqlite").exit_code == 1  # nothing to merge: no exercise
