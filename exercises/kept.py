"""Validated exercises kept between runs: a student's check reads the same exercise at every edit, and validating
it (pydantic building a validator for each of its models, then running them) cost about a fifth of the check.

An exercise is kept pickled beside the file it was read from, in its `__pycache__` folder, as Python keeps the
bytecode of a module beside its source: `exercises/bank/__pycache__/rnn-grader/rnn-bptt.yaml.<digest>.pickle`, or
in a kit's folder. Whoever can write there can already change the grader's modules, or the exercise file and the
references it names; at the isolation levels with namespaces, student code sees none of those folders. Even so,
reading one builds nothing but the exercise's own models (no other class, so no code runs but theirs), and only
from a regular file with one name, not a link, of this user's or root's that nobody else may write, in a folder
that is the same. The digest covers the text, this package's source, the libraries that read and validate the
text, and Python's and pydantic's versions, and is kept inside the file too (a file renamed to another digest is
not read). Nothing is written when Python is told not to write bytecode (`PYTHONDONTWRITEBYTECODE`). Anything
unexpected is validated as if nothing were kept.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import pickle
import re
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pydantic

from exercises import models
from exercises.models import Exercise

FOLDER = Path("__pycache__", "rnn-grader")  # a folder of its own: Python makes `__pycache__` group-writable
SUFFIX = ".pickle"  # under a umask of 002, which `_trusted` refuses
MAX_BYTES = 16 << 20
READERS = ("yaml", "simpleeval")  # what turns the text into the data validated, and evaluates its expressions


def kept_exercise(source: Path, text: bytes, validate: Callable[[], Exercise]) -> Exercise:
    """The exercise `validate` makes from `text`, what `source` holds: read back from beside `source` when it was
    kept there, else validated and kept there."""
    try:
        digest = _digest(text)
    except (OSError, ValueError, ImportError):  # sources that cannot be read (a zip import): nothing is kept
        return validate()
    name = f"{source.name}.{digest}{SUFFIX}"
    with _own_folder(source.parent / FOLDER) as folder:
        exercise = _read(folder, name, digest) if folder is not None else None
    if exercise is not None:
        return exercise
    exercise = validate()
    if not sys.dont_write_bytecode:
        _keep(source, name, digest, exercise)
    return exercise


def _digest(text: bytes) -> str:
    made_by = hashlib.sha256(f"{sys.version}\0{pydantic.VERSION}\0".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):  # the models, their validators, the loaders
        made_by.update(module.read_bytes())
    for reader in READERS:  # an upgrade replaces its file
        spec = importlib.util.find_spec(reader)
        if spec is not None and spec.origin:
            found = os.stat(spec.origin)
            made_by.update(f"{spec.origin}\0{found.st_size}\0{found.st_mtime_ns}\0".encode())
    return hashlib.sha256(made_by.digest() + text).hexdigest()


def _trusted(info: os.stat_result) -> bool:
    """This user's or root's, and nobody else may write it."""
    return info.st_uid in (os.geteuid(), 0) and not info.st_mode & 0o022


@contextmanager
def _own_folder(path: Path) -> Iterator[int | None]:
    """The folder, opened, if it is a folder (not a link) that `_trusted` allows; else None."""
    try:
        folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        yield None
        return
    try:
        yield folder if _trusted(os.fstat(folder)) else None
    finally:
        os.close(folder)


def _read(folder: int, name: str, digest: str) -> Exercise | None:
    try:
        file = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return None
    with os.fdopen(file, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or not _trusted(info) or info.st_nlink != 1 or info.st_size > MAX_BYTES:
            return None
        try:
            kept_digest, exercise = _ModelsOnly(io.BytesIO(handle.read(MAX_BYTES))).load()
        except Exception:  # noqa: BLE001 - cut short, of a class that changed, not ours: validated again
            return None
    return exercise if kept_digest == digest and isinstance(exercise, Exercise) else None


class _ModelsOnly(pickle.Unpickler):
    """Builds the exercise's models and nothing else: a file that names any other class is refused."""

    def find_class(self, module: str, name: str) -> type:
        found = getattr(models, name, None) if module == models.__name__ else None
        if isinstance(found, type) and issubclass(found, pydantic.BaseModel) and found.__module__ == module:
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not one of the exercise's models")


def _keep(source: Path, name: str, digest: str, exercise: Exercise) -> None:
    """Written whole under another name, then renamed (a reader sees the old file, the new one, or none), readable
    by whom the source is; the file's earlier versions, and what a process stopped while writing left, are
    removed. A folder that cannot be made, or is not `_trusted`, keeps nothing."""
    for level in (source.parent / FOLDER.parent, source.parent / FOLDER):
        with suppress(OSError):
            os.mkdir(level, 0o755)
    with _own_folder(source.parent / FOLDER) as folder:
        if folder is None:
            return
        partial = f"{source.name}.{os.urandom(6).hex()}.partial"
        try:
            mode = stat.S_IMODE(os.stat(source).st_mode) & 0o644
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(partial, flags, mode, dir_fd=folder), "wb") as file:
                pickle.dump((digest, exercise), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, name, src_dir_fd=folder, dst_dir_fd=folder)
        except Exception:  # noqa: BLE001 - a folder it may not write, what pickle cannot write: kept nowhere
            with suppress(OSError):
                os.unlink(partial, dir_fd=folder)
            return
        with suppress(OSError):
            _remove_earlier(folder, source.name, name)


def _remove_earlier(folder: int, source_name: str, kept: str) -> None:
    ours = re.compile(re.escape(f"{source_name}.") + r"([0-9a-f]{64}" + re.escape(SUFFIX) + r"|[0-9a-f]{12}\.partial)")
    for entry in os.listdir(folder):
        if entry != kept and ours.fullmatch(entry):
            with suppress(OSError):
                os.unlink(entry, dir_fd=folder)
