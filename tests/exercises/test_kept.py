"""Validated exercises kept between a student's checks: read back only from a file of this user's that no one else
may write, validated again whenever the text, the models or anything unreadable says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exercises.bank import exercise_files, load_exercise_file
from exercises.kept import SUFFIX, kept_exercise
from exercises.models import Exercise

BANK_FILE = exercise_files()["rnn-bptt"]
CORRECT = Path(__file__).parents[1] / "corpus" / "correct" / "student02_vectorised.py"


def _validating(count: list[int]):
    def validate() -> Exercise:
        count.append(1)
        return load_exercise_file.__wrapped__(BANK_FILE)  # the bank's own validation, not its in-process memo

    return validate


@pytest.fixture
def folder(tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir(mode=0o700)
    return kept


def test_an_exercise_is_validated_once_then_read_back_the_same(folder):
    validations: list[int] = []
    text = BANK_FILE.read_bytes()
    first = kept_exercise(folder, text, _validating(validations))
    again = kept_exercise(folder, text, _validating(validations))
    assert len(validations) == 1 and len(list(folder.glob(f"*{SUFFIX}"))) == 1
    assert again is not first and again.model_dump() == first.model_dump()
    assert again.questions[0].__class__ is first.questions[0].__class__


def test_another_text_is_validated_again(folder):
    validations: list[int] = []
    kept_exercise(folder, BANK_FILE.read_bytes(), _validating(validations))
    kept_exercise(folder, BANK_FILE.read_bytes() + b"\n# edited\n", _validating(validations))
    assert len(validations) == 2 and len(list(folder.glob(f"*{SUFFIX}"))) == 2


def test_nothing_is_kept_without_a_folder(tmp_path):
    validations: list[int] = []
    for _ in range(2):
        kept_exercise(None, BANK_FILE.read_bytes(), _validating(validations))
    assert len(validations) == 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("spoil", ["garbage", "cut short", "group-writable", "a link", "another object"])
def test_a_kept_file_that_cannot_be_trusted_or_read_is_validated_again(folder, tmp_path, spoil):
    text = BANK_FILE.read_bytes()
    kept_exercise(folder, text, _validating([]))
    (path,) = folder.glob(f"*{SUFFIX}")
    if spoil == "garbage":
        path.write_bytes(b"not a pickle at all")
    elif spoil == "cut short":
        path.write_bytes(path.read_bytes()[:100])
    elif spoil == "group-writable":
        path.chmod(0o664)
    elif spoil == "a link":
        elsewhere = tmp_path / "elsewhere.pickle"
        path.rename(elsewhere)
        path.symlink_to(elsewhere)
    else:
        path.write_bytes(b"\x80\x04K\x07.")  # a pickled 7
    validations: list[int] = []
    exercise = kept_exercise(folder, text, _validating(validations))
    assert validations == [1] and exercise.id == "rnn-bptt"
    assert not path.is_symlink() and path.stat().st_mode & 0o022 == 0  # replaced by a sound file
    assert len(list(folder.iterdir())) == 1  # no partial file left


def test_a_folder_it_cannot_write_costs_nothing_but_the_validation(tmp_path):
    validations: list[int] = []
    exercise = kept_exercise(tmp_path / "gone", BANK_FILE.read_bytes(), _validating(validations))
    assert validations == [1] and exercise.id == "rnn-bptt" and not (tmp_path / "gone").exists()


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, env=env)


def test_a_students_check_keeps_its_exercise_and_an_instructors_grading_does_not(tmp_path):
    cache = tmp_path / "cache"
    first = _cli("check", str(CORRECT), "--timeout", "5", cache=cache)
    kept = list((cache / "rnn-grader" / "exercises").glob(f"*{SUFFIX}"))
    second = _cli("check", str(CORRECT), "--timeout", "5", cache=cache)
    assert len(kept) == 1 and first.stdout == second.stdout and "PASS     grad_W_H" in second.stdout
    assert list((cache / "rnn-grader" / "exercises").glob(f"*{SUFFIX}")) == kept

    graded = _cli("grade", str(CORRECT), "--secret", "s", cache=tmp_path / "grading")
    assert graded.returncode == 0, graded.stderr
    assert not (tmp_path / "grading" / "rnn-grader" / "exercises").exists()
