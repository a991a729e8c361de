"""A stable share of a class for one machine of N (`rnn-grader grade --shard K/N`).

A submission's shard is drawn from its student's id (the name `discover` gives its file or folder,
mapped by the roster), hashed with SHA-256: the same share for the same class on every machine and
every run, and one student's work never split: a folder is one entry, and `alice.py` beside
`alice.md` both belong to `alice`. Nothing is read or run to decide.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

from grader.read.submission import Submission, student_name

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A --shard value that is not K/N with 1 <= K <= N."""


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, student: str) -> bool:
        return shard_of(student, self.count) == self.index

    def select(self, submissions: Iterable[Submission], roster: Mapping[str, str]) -> list[Submission]:
        """The submissions of this shard's students, in the order given."""
        return [submission for submission in submissions if self.holds(shard_key(submission.path, roster))]

    def count_entries(self, paths: Iterable[Path], single: bool, roster: Mapping[str, str]) -> int:
        """How many submissions of `paths` fall in this shard, counted from names alone (for a progress bar)."""
        return sum(1 for entry in _entries(paths, single) if self.holds(shard_key(str(entry), roster)))


def parse_shard(text: str) -> Shard:
    match = _FORM.match(text)
    if not match:
        raise ShardError(f"--shard {text!r}: expected K/N, for example 2/8 (the 2nd of 8 shards)")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text!r}: K must be between 1 and N (shards are numbered from 1)")
    return Shard(index, count)


def shard_of(student: str, count: int) -> int:
    """The 1-based shard of a student id among `count`: SHA-256, never Python's salted hash()."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard_key(path: str, roster: Mapping[str, str]) -> str:
    """The student a submission at `path` belongs to: its file stem or folder name, mapped by the roster."""
    name = student_name(Path(path))
    return roster.get(name, name)


def submission_key(path: str) -> str:
    """One submission whichever way its path was typed (`./subs/alice.py`, `/scratch/subs/alice.py`): its entry in
    the class, the file or folder name its student id is drawn from (`shard_key`), so alice.py and alice.md stay two."""
    return PurePath(path).name


def _entries(paths: Iterable[Path], single: bool) -> Iterable[Path]:
    for path in paths:
        if path.is_file() or single:
            yield path
        else:
            yield from (entry for entry in path.iterdir() if not entry.name.startswith((".", "__")))
