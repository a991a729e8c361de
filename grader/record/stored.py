"""A class's results kept on disk while it is graded, and read back one at a time in the batch's order.

A batch of thousands keeps no finished result in memory: each is appended to a temporary file as soon as it
is final (results become final out of order: stored ones first, then runs as they end), and every pass a
report makes over the class reads them back one by one, in the order of the batch. The file has no name in
any folder (unlinked as it is made): no other process can open it, and a grader killed outright leaves
nothing behind.

`StoredResults.results()` is a `GradingResults` whose `submissions` is a `StoredSubmissions`: a read-only
sequence (count, index, iterate, each pass from the file), which is all the report formats do with it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, overload

from pydantic_core import PydanticSerializationError

from grader.results import GRADER_VERSION, GradingResults, SubmissionResult

_ESCAPED = b"~"  # a record written by `json` (text with lone surrogates, which pydantic cannot encode)


class StoredResults:
    """Results written as they are judged, keyed by their place in the batch. Use as a context manager."""

    def __init__(self, exercise: str) -> None:
        self.exercise = exercise
        self.isolation = ""
        self._file: IO[bytes] = tempfile.TemporaryFile()  # closed by close(), gone with the process
        self._where: dict[int, tuple[int, int]] = {}  # place in the batch: (offset, length) in the file
        self._order: list[int] | None = None

    def __enter__(self) -> StoredResults:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def add(self, place: int, result: SubmissionResult) -> None:
        """Keep `result` as the batch's `place`-th submission."""
        record = _encoded(result)
        self._file.seek(0, os.SEEK_END)
        self._where[place] = (self._file.tell(), len(record))
        self._file.write(record + b"\n")
        self._order = None

    def results(self) -> GradingResults:
        """The run as report formats read it, its submissions read from the file on each pass."""
        return GradingResults.model_construct(
            exercise=self.exercise,
            grader_version=GRADER_VERSION,
            submissions=StoredSubmissions(self),
            isolation=self.isolation,
        )

    def count(self) -> int:
        return len(self._where)

    def arrange(self, places: list[int]) -> None:
        """Read the results back in the order of `places` (every place kept, once), not in the places' order."""
        if sorted(places) != sorted(self._where):
            raise ValueError("an arrangement names every place kept, once")
        self._order = list(places)

    def read(self, position: int) -> SubmissionResult:
        """The submission at `position` in the batch's order (0 is the first one kept)."""
        if self._order is None:
            self._order = sorted(self._where)
        return self.kept(self._order[position])

    def kept(self, place: int) -> SubmissionResult:
        """The result kept as the `place`-th."""
        self._file.flush()
        offset, length = self._where[place]
        self._file.seek(offset)
        return _decoded(self._file.read(length))


class StoredSubmissions(Sequence[SubmissionResult]):
    """The submissions of a `StoredResults`, in the batch's order, each read from disk when asked for."""

    def __init__(self, store: StoredResults) -> None:
        self._store = store

    def __len__(self) -> int:
        return self._store.count()

    @overload
    def __getitem__(self, index: int) -> SubmissionResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[SubmissionResult]: ...

    def __getitem__(self, index: int | slice) -> SubmissionResult | list[SubmissionResult]:
        if isinstance(index, slice):
            return [self._store.read(i) for i in range(len(self))[index]]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self._store.read(index % len(self))

    def __iter__(self) -> Iterator[SubmissionResult]:
        for position in range(len(self)):
            yield self._store.read(position)


def _encoded(result: SubmissionResult) -> bytes:
    try:
        return result.model_dump_json().encode()
    except PydanticSerializationError:  # a lone surrogate (an undecodable file name): json escapes it
        return _ESCAPED + json.dumps(result.model_dump()).encode()


def _decoded(record: bytes) -> SubmissionResult:
    if record.startswith(_ESCAPED):
        return SubmissionResult.model_validate(json.loads(record[len(_ESCAPED) :]))
    return SubmissionResult.model_validate_json(record)
