"""Validated exercises kept beside their file: read back only from a sound file of this user's, validated again
whenever the text, this package's source or the versions change, or the kept file cannot be trusted or read."""

from __future__ import annotations

import io
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exercises import kept
from exercises.bank import _validated, exercise_files
from exercises.kept import FOLDER, SUFFIX, kept_exercise
from exercises.models import Exercise

BANK_FILE = exercise_files()["rnn-bptt"]
CORRECT = Path(__file__).parents[1] / "corpus" / "correct" / "student02_vectorised.py"


@pytest.fixture
def source(tmp_path, monkeypatch):
    """A copy of the bank's exercise, in a folder of its own; kept files written as a student's machine writes
    them (this suite may run with PYTHONDONTWRITEBYTECODE)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    copy = tmp_path / "exercise.yaml"
    shutil.copy(BANK_FILE, copy)
    return copy


def _kept(source: Path, validations: list[int], text: bytes | None = None) -> Exercise:
    def validate() -> Exercise:
        validations.append(1)
        return _validated(source, source.read_text())  # the bank's validation alone

    return kept_exercise(source, source.read_bytes() if text is None else text, validate)


def _pickles(source: Path) -> list[Path]:
    return sorted((source.parent / FOLDER).glob(f"*{SUFFIX}"))


def test_an_exercise_is_validated_once_then_read_back_the_same(source):
    validations: list[int] = []
    first = _kept(source, validations)
    (kept_file,) = _pickles(source)
    written = kept_file.stat()
    again = _kept(source, validations)
    assert validations == [1] and again is not first and again.model_dump() == first.model_dump()
    assert kept_file.name.startswith("exercise.yaml.") and (kept_file.stat().st_ino, kept_file.stat().st_mtime_ns) == (
        written.st_ino, written.st_mtime_ns)  # read, not written again


def test_an_edit_is_validated_again_and_replaces_the_kept_version(source):
    validations: list[int] = []
    _kept(source, validations)
    before = _pickles(source)
    source.write_bytes(source.read_bytes() + b"\n# edited\n")
    _kept(source, validations)
    assert validations == [1, 1] and len(_pickles(source)) == 1 and _pickles(source) != before


@pytest.mark.parametrize("change", ["this package's source", "a library that reads it", "Python"])
def test_an_upgrade_is_validated_again(source, tmp_path, monkeypatch, change):
    reader = tmp_path / "a_reader_of_exercises.py"
    reader.write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(kept, "READERS", (*kept.READERS, reader.stem))
    validations: list[int] = []
    _kept(source, validations)
    if change == "a library that reads it":
        reader.write_text("VERSION = 22\n")
    elif change == "Python":
        monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    else:
        package = tmp_path / "package"
        shutil.copytree(Path(kept.__file__).parent, package, ignore=shutil.ignore_patterns("bank", "__pycache__"))
        (package / "models.py").write_text((package / "models.py").read_text() + "\n# a new release\n")
        monkeypatch.setattr(kept, "__file__", str(package / "kept.py"))
    _kept(source, validations)
    assert validations == [1, 1]


def test_nothing_is_written_where_python_writes_no_bytecode(source, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    validations: list[int] = []
    _kept(source, validations)
    _kept(source, validations)
    assert validations == [1, 1] and not (source.parent / FOLDER).exists()


def test_a_folder_it_cannot_write_costs_nothing_but_the_validation(source):
    (source.parent / FOLDER.parent).write_text("a file where the folder would be")
    validations: list[int] = []
    exercise = _kept(source, validations)
    assert validations == [1] and exercise.id == "rnn-bptt"


SPOILED = ["garbage", "cut short", "group-writable", "a link", "another object", "a pipe", "too large"]


@pytest.mark.parametrize("spoil", SPOILED)
def test_a_kept_file_that_cannot_be_trusted_or_read_is_validated_again_and_replaced(source, monkeypatch, spoil):
    _kept(source, [])
    (path,) = _pickles(source)
    if spoil == "garbage":
        path.write_bytes(b"not a pickle at all")
    elif spoil == "cut short":
        path.write_bytes(path.read_bytes()[:100])
    elif spoil == "group-writable":
        path.chmod(0o664)
    elif spoil == "a link":
        elsewhere = source.parent / "elsewhere.pickle"
        path.rename(elsewhere)
        path.symlink_to(elsewhere)
    elif spoil == "another object":
        path.write_bytes(b"\x80\x04K\x07.")  # a pickled 7
    elif spoil == "a pipe":
        path.unlink()
        os.mkfifo(path)  # opening one to read would wait for a writer
    else:
        monkeypatch.setattr(kept, "MAX_BYTES", 100)
    validations: list[int] = []
    exercise = _kept(source, validations)
    assert validations == [1] and exercise.id == "rnn-bptt"
    if spoil != "too large":
        assert path.is_file() and not path.is_symlink() and path.stat().st_mode & 0o022 == 0  # a sound one now
    assert [p.name for p in (source.parent / FOLDER).iterdir()] == [path.name]  # nothing else left


def test_a_pycache_folder_python_made_group_writable_still_keeps_it(source, monkeypatch):
    """Python and pytest make `__pycache__` under the umask (0775 under Debian's and Ubuntu's 002): the kept files
    have a folder of their own in it."""
    (source.parent / FOLDER.parent).mkdir(mode=0o775)
    (source.parent / FOLDER.parent).chmod(0o775)
    previous = os.umask(0o002)
    try:
        validations: list[int] = []
        _kept(source, validations)
        _kept(source, validations)
    finally:
        os.umask(previous)
    assert validations == [1] and (source.parent / FOLDER).stat().st_mode & 0o777 == 0o755


class _Runs:
    """A pickled call: what unpickling a forged file would run, if anything but the models were built."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_kept_file_naming_anything_but_the_models_runs_nothing(source, tmp_path):
    _kept(source, [])
    (path,) = _pickles(source)
    digest = path.name.split(".")[-2]
    ran = tmp_path / "ran"
    path.write_bytes(pickle.dumps((digest, _Runs(ran))))
    validations: list[int] = []
    assert _kept(source, validations).id == "rnn-bptt" and validations == [1] and not ran.exists()


def _naming(module: str, name: str) -> bytes:
    """A pickle that names `module.name` and nothing else (protocol 4: two short strings, STACK_GLOBAL, STOP)."""
    short = [b"\x8c" + bytes([len(text)]) + text.encode() for text in (module, name)]
    return b"\x80\x04" + b"".join(short) + b"\x93."


@pytest.mark.parametrize("name", ["Path", "check_exercise", "BaseModel"])  # in the models' module, not models
def test_only_the_exercise_s_models_are_built_from_a_kept_file(name):
    with pytest.raises(pickle.UnpicklingError):
        kept._ModelsOnly(io.BytesIO(_naming("exercises.models", name))).load()
    assert kept._ModelsOnly(io.BytesIO(_naming("exercises.models", "Exercise"))).load() is Exercise


def test_a_kept_file_of_another_version_renamed_to_this_ones_name_is_not_read(source):
    _kept(source, [])
    (first,) = _pickles(source)
    first_version = first.read_bytes()
    source.write_bytes(source.read_bytes() + b"\n# edited\n")
    _kept(source, [])
    (current,) = _pickles(source)
    current.write_bytes(first_version)  # as a rename of the earlier file would leave it
    validations: list[int] = []
    _kept(source, validations)
    assert validations == [1]


def test_a_kept_file_with_another_name_too_is_not_read(source, tmp_path):
    _kept(source, [])
    (path,) = _pickles(source)
    os.link(path, tmp_path / "another name")  # whoever holds that name could write the file later
    validations: list[int] = []
    _kept(source, validations)
    assert validations == [1] and path.stat().st_nlink == 1  # replaced by a file of its own


@pytest.mark.parametrize("folder", ["a link", "group-writable", "another user's"])
def test_a_folder_that_is_not_this_users_own_is_neither_read_nor_written(source, tmp_path, folder):
    _kept(source, [])
    kept_folder = source.parent / FOLDER
    if folder == "a link":
        elsewhere = tmp_path / "elsewhere"
        kept_folder.rename(elsewhere)
        kept_folder.symlink_to(elsewhere)
        before = sorted(os.listdir(elsewhere))
    elif folder == "group-writable":
        kept_folder.chmod(0o775)
        before = sorted(os.listdir(kept_folder))
    else:
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        os.chown(kept_folder, 1234, 1234)
        before = sorted(os.listdir(kept_folder))
    validations: list[int] = []
    _kept(source, validations)
    source.write_bytes(source.read_bytes() + b"\n# edited\n")
    _kept(source, validations)
    assert validations == [1, 1] and sorted(os.listdir(kept_folder)) == before


def test_a_kits_check_keeps_its_exercise_in_the_kit(tmp_path):
    """End to end, as a student runs it: the second check reads the exercise the first one kept."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    kit = tmp_path / "kit"
    subprocess.run([sys.executable, "-m", "grader", "export", "student", "rnn-bptt", "-o", str(kit)], check=True,
                   capture_output=True, env=env)
    check = [sys.executable, str(kit / "check.py"), str(CORRECT), "--timeout", "5"]
    first = subprocess.run(check, capture_output=True, text=True, env=env)
    (kept_file,) = (kit / FOLDER).glob(f"kit.json.*{SUFFIX}")
    written = kept_file.stat().st_mtime_ns
    second = subprocess.run(check, capture_output=True, text=True, env=env)
    assert first.stdout == second.stdout and "PASS     grad_W_H" in second.stdout
    assert kept_file.stat().st_mtime_ns == written
