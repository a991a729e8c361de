"""The student kit: no model solution inside, and the same verdicts as `rnn-grader check` three ways
(its command line, pytest, a notebook's check("...")), for the default exercise, one with course modules
and an instructor's own exercise with its reference file beside it."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from exercises.bank import load_exercise
from grader.cli import main
from grader.selfcheck.notebook import check_in_notebook

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests" / "corpus"
GRU = ROOT / "tests" / "exercises" / "gru_step"
# exercise -> work to check with it (a correct file and wrong ones)
WORK = {
    "rnn-bptt": [CORPUS / "correct/student02_vectorised.py", CORPUS / "wrong/missing_tanh_derivative.py",
                 CORPUS / "wrong/truncated_bptt.py", CORPUS / "correct/notebook_homework.ipynb",
                 # write-ups: the written questions are checked from the kit's recorded reference answers
                 ROOT / "tests/examples/student_answer_rnn_bptt.md", CORPUS / "writeups/correct/handout_notation.md",
                 CORPUS / "writeups/wrong/jacobian_without_tanh.md"],
    "cs231n-rnn": sorted((CORPUS / "cs231n/correct").glob("*.py"))[:1] + sorted((CORPUS / "cs231n/wrong").glob("*.py"))[:2],
    str(GRU / "gru.yaml"): [GRU / "submissions/correct/dict_cache_slices.py",
                            GRU / "submissions/wrong/bwd_missing_sigmoid_derivative.py"],
}
# Run in the kit's subprocesses: as on a student's machine, where rnn-grader is not installed. `reference`
# cannot be imported at all, so nothing can lean on it, and `grader`/`exercises` come from the kit only.
NO_REFERENCE = """
import sys
class _NoReference:
    def find_spec(self, name, path=None, target=None):
        if name == "reference" or name.startswith("reference."):
            raise ModuleNotFoundError("the model solution is not on a student's machine")
sys.meta_path[:] = [_NoReference()] + [f for f in sys.meta_path if "editable" not in f.__module__.lower()]
"""


@pytest.fixture(scope="module", params=sorted(WORK))
def kit(request, tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("kit") / "kit"
    result = CliRunner().invoke(main, ["export", "student", request.param, "-o", str(folder)])
    assert result.exit_code == 0, result.output
    return request.param, folder


def _kit_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "block").mkdir(exist_ok=True)
    (tmp_path / "block" / "sitecustomize.py").write_text(NO_REFERENCE)
    return {**os.environ, "PYTHONPATH": str(tmp_path / "block")}


def test_the_kit_holds_no_reference_code_hidden_case_or_secret(kit):
    exercise, folder = kit
    references = list((ROOT / "reference").glob("*.py")) + list(GRU.glob("*_reference.py"))
    # the model solutions' numerical lines: what a student must not be handed
    lines = {line.strip() for path in references for line in path.read_text().splitlines()
             if len(line.strip()) > 30 and "np." in line and not line.strip().startswith(("#", '"', "'"))}
    for path in folder.rglob("*"):
        assert "reference" not in path.relative_to(folder).parts[0]
        if path.is_file() and path.suffix in (".py", ".json", ".md", ".txt"):
            text = path.read_text()
            assert not [line for line in lines if line in text], path  # no line of any model solution
    data = json.loads((folder / "kit.json").read_text())
    assert data["exercise"]["hidden"] == {"count": 0, "default_secret": "", "detailed_feedback": False}
    assert all(case["label"].startswith("public") for case in data["cases"])


def test_the_kits_readme_names_its_folder_and_questions(kit):
    exercise_id, folder = kit
    readme = (folder / "README.md").read_text()
    assert "KIT_FOLDER" not in readme and "QUESTION_ID" not in readme and "EXERCISE_ID" not in readme
    assert f"pip install -r {folder.name}/requirements.txt" in readme
    for question in load_exercise(exercise_id).questions:
        assert f"- `{question.id}`: " in readme and f"- `{question.id}`: \n" not in readme  # each described
    assert "QUESTION_ID" not in (folder / "rnn_check.py").read_text()


def test_the_kits_command_line_says_what_check_says(kit, tmp_path):
    exercise, folder = kit
    for work in WORK[exercise]:
        mine = subprocess.run([sys.executable, str(folder / "check.py"), str(work)], capture_output=True,
                              text=True, env=_kit_env(tmp_path), timeout=120)
        theirs = CliRunner().invoke(main, ["check", str(work), "--exercise", exercise])
        assert mine.returncode == theirs.exit_code, mine.stderr
        assert mine.stdout.strip() == theirs.output.strip(), work


def test_pytest_in_the_kit_has_one_test_per_question_failing_where_check_fails(kit, tmp_path):
    exercise, folder = kit
    work = WORK[exercise][1]  # a wrong one
    homework = tmp_path / "homework"
    homework.mkdir()
    shutil.copy(work, homework / work.name)
    shutil.copytree(folder, homework / "kit")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "kit"], cwd=homework,
                          capture_output=True, text=True, env=_kit_env(tmp_path), timeout=300)
    checked = CliRunner().invoke(main, ["check", str(homework), "--exercise", exercise])
    failing = checked.output.count("\nFAIL ") + checked.output.count("\nERROR ") + checked.output.count("\nMISSING ")
    summary = done.stdout.strip().splitlines()[-1]
    assert f"{failing} failed" in summary, done.stdout[-3000:]


def test_a_notebooks_check_gives_checks_verdicts_on_the_code_questions(kit, monkeypatch):
    exercise, folder = kit
    for work in WORK[exercise]:
        if work.suffix != ".py":
            continue
        namespace = {"__name__": "__main__"}
        source = work.read_text()
        if "from ." in source or "from cs231n" in source:  # a notebook imports the course module absolutely
            source = source.replace("from .layers import", "from cs231n.layers import")
            monkeypatch.syspath_prepend(str(folder / "exercise" / "provided"))
        exec(compile(source, str(work), "exec"), namespace)
        results = {r.id: r for r in check_in_notebook(folder, namespace, echo=False)}
        checked = CliRunner().invoke(main, ["check", str(work), "--exercise", exercise])
        for question_id, result in results.items():
            line = next(line for line in checked.output.splitlines() if f" {question_id} " in f"{line} ")
            assert line.split()[0] == {"passed": "PASS", "failed": "FAIL", "error": "ERROR",
                                       "missing": "MISSING", "timeout": "TIMEOUT"}[result.status], (work, question_id)


def _run_in_kernel(notebook, folder: Path) -> list:
    """Run a notebook in a real Jupyter kernel (ipykernel, through nbclient), its working folder `folder`."""
    nbclient = pytest.importorskip("nbclient")
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    return notebook.cells


def _outputs_text(cell) -> str:
    return "".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in cell.outputs)


@pytest.mark.parametrize("writeup, verdict", [
    # the derivation in the notebook's Markdown cell is read: the chain passes
    (CORPUS / "writeups/correct/handout_notation.md", "PASS"),
    # a chain that never goes back past h_t is read, and failed as truncated-bptt
    (CORPUS / "writeups/wrong/no_recursion.md", "FAIL"),
])
def test_a_notebooks_check_in_a_real_kernel_reads_its_own_markdown_and_reports_once(writeup, verdict, tmp_path,
                                                                                     monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    result = CliRunner().invoke(main, ["export", "student", "rnn-bptt", "-o", str(tmp_path / "kit")])
    assert result.exit_code == 0, result.output
    cells = [nbformat.v4.new_code_cell('import sys; sys.path.insert(0, "kit"); from rnn_check import check'),
             nbformat.v4.new_markdown_cell(writeup.read_text()),
             nbformat.v4.new_code_cell('check("derivation.chain")')]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(tmp_path / "homework.ipynb"))  # the notebook as saved: what check() reads
    # the kernel starts from this environment: the model solution cannot be imported in it
    monkeypatch.setenv("PYTHONPATH", _kit_env(tmp_path)["PYTHONPATH"])
    checked = _run_in_kernel(nbformat.read(str(tmp_path / "homework.ipynb"), as_version=4), tmp_path)[-1]
    text = _outputs_text(checked)
    assert text.count("derivation.chain") == 1, text  # the report once: no list of results echoed after it
    assert text.startswith(f"{verdict} "), text
    assert "written answers: the saved homework.ipynb" in text
    assert [out.data["text/plain"] for out in checked.outputs if out.output_type == "execute_result"] == [
        f"<check: {int(verdict == 'PASS')} of 1 passing>"]


def test_an_unknown_student_is_an_error_that_lists_the_known_ids(tmp_path):
    import yaml

    data = yaml.safe_load((ROOT / "exercises/bank/rnn-bptt.yaml").read_text())
    data["variants"] = {"seed": 11, "dimensions": {"D": [8, 16], "H": [3, 9]}}
    (tmp_path / "rnn-variants.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    work = CORPUS / "correct/student02_vectorised.py"
    made = {"alice": tmp_path / "alice-kit", None: tmp_path / "kit"}
    for student, folder in made.items():
        source = str(tmp_path / "rnn-variants.yaml") if student else "rnn-bptt"
        args = ["export", "student", source, "-o", str(folder)] + (["--student", student] if student else [])
        assert CliRunner().invoke(main, args).exit_code == 0
    # alice's kit knows alice only; a kit without variants knows no id; the bank's exercise neither
    for args, known in [(["--kit", str(made["alice"]), "--student", "bob"], "known ids: alice"),
                        (["--kit", str(made[None]), "--student", "bob"], "known ids: none"),
                        (["--exercise", "rnn-bptt", "--student", "bob"], "no ids")]:
        result = CliRunner().invoke(main, ["check", str(work), *args])
        assert result.exit_code == 2 and "--student bob" in result.output and known in result.output, result.output
    accepted = CliRunner().invoke(main, ["check", str(work), "--kit", str(made["alice"]), "--student", "alice"])
    assert accepted.exit_code in (0, 1) and "public cases" in accepted.output


def test_a_handout_names_the_kits_commands(tmp_path):
    result = CliRunner().invoke(main, ["template", "rnn-bptt", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    handout = next(tmp_path.glob("*.py")).read_text()
    assert "python kit/check.py FILE" in handout and "pytest kit" in handout and "from rnn_check import check" in handout
    assert "rnn-grader" not in handout  # not on a student's machine: it carries the model solution


def test_find_notebook_takes_the_one_the_kernel_names_else_the_one_using_the_kit(tmp_path):
    from grader.selfcheck.notebook import find_notebook

    (tmp_path / "scratch.ipynb").write_text('{"cells": []}')
    (tmp_path / "homework.ipynb").write_text('{"cells": [{"source": "from rnn_check import check"}]}')
    assert find_notebook({}, tmp_path) == tmp_path / "homework.ipynb"
    assert find_notebook({"__session__": str(tmp_path / "scratch.ipynb")}, tmp_path) == tmp_path / "scratch.ipynb"
    assert find_notebook({"__vsc_ipynb_file__": "scratch.ipynb"}, tmp_path) == tmp_path / "scratch.ipynb"
    (tmp_path / "empty").mkdir()
    assert find_notebook({}, tmp_path / "empty") is None


def _imported_from(folder: Path) -> set[str]:
    """The modules of `folder` that were imported since it was written, by every process: their bytecode."""
    names = set()
    for compiled in folder.rglob("__pycache__/*.pyc"):
        module = compiled.parent.parent.relative_to(folder).parts + (compiled.name.split(".")[0],)
        names.add(".".join(module[:-1] if module[-1] == "__init__" else module))
    return names


def test_the_kit_carries_exactly_the_modules_a_check_imports(tmp_path):
    homework = tmp_path / "homework"
    result = CliRunner().invoke(main, ["export", "student", "rnn-bptt", "-o", str(homework / "kit")])
    assert result.exit_code == 0, result.output
    code, writeup = CORPUS / "correct/student02_vectorised.py", CORPUS / "writeups/correct/handout_notation.md"
    shutil.copy(code, homework / "rnn.py")
    shutil.copy(writeup, homework / "derivation.md")
    # bytecode written for every module imported, in the sandbox's processes too: what was used
    env = {name: value for name, value in _kit_env(tmp_path).items() if name != "PYTHONDONTWRITEBYTECODE"}
    kit = homework / "kit"
    in_notebook = (f'import sys; sys.path.insert(0, "kit"); from rnn_check import check\n'
                   f'exec(open({str(code)!r}).read()); check("grad_W_H")')
    runs = [[str(kit / "check.py"), str(work)] for work in (code, CORPUS / "correct/notebook_homework.ipynb", writeup)]
    runs += [["-m", "pytest", "-q", "-p", "no:cacheprovider", "kit"], ["-c", in_notebook]]
    for run in runs:
        done = subprocess.run([sys.executable, *run], cwd=homework, capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode in (0, 1) and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    carried = {".".join(path.relative_to(kit).with_suffix("").parts).removesuffix(".__init__")
               for package in ("grader", "exercises") for path in (kit / package).rglob("*.py")}
    assert carried == _imported_from(kit) - {"check", "rnn_check", "test_kit"}
    assert not {"grader.record.merge", "grader.export", "grader.report.html", "grader.report.gradescope"} & carried
    assert not list(kit.rglob("*.j2"))  # no report templates


def test_the_kits_size_is_stated_in_the_readme(tmp_path):
    """The README's sentence is made by the command it names: `rnn-grader export student rnn-bptt -o kit`, then
    counting its files and kilobytes (what `du -k` gives for the folder's files, by their sizes)."""
    kit = tmp_path / "kit"
    assert CliRunner().invoke(main, ["export", "student", "rnn-bptt", "-o", str(kit)]).exit_code == 0
    files = [path for path in kit.rglob("*") if path.is_file()]
    kilobytes = round(sum(path.stat().st_size for path in files) / 1024)
    own = re.search(r"This kit: (\d+) files, (\d+) KB", (kit / "README.md").read_text())  # its own README says it
    assert own and int(own[1]) == len(files) and abs(int(own[2]) - kilobytes) <= 1, own
    readme = (ROOT / "README.md").read_text()
    stated = re.search(r"the kit for `rnn-bptt` is (\d+) files, (\d+) KB", readme)
    assert stated, "README.md states the kit's size"
    assert abs(int(stated[1]) - len(files)) <= 3 and abs(int(stated[2]) - kilobytes) <= 0.1 * kilobytes, (
        len(files), kilobytes)
