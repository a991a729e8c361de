"""What crosses the sandbox boundary: requests in, statuses and raw values out.

Shared by the grader process and the sandbox; imports nothing but the standard library, numpy and the
code units a submission was read into (grader/read/units.py). Requests and statuses are JSON, and so are the
arrays the grader sends (base64 of their bytes). A returned value is a record: one line of JSON that describes it,
each array by a dtype from a short allow-list and a shape, followed by those arrays' raw bytes, in the order the
line names them. Nothing is ever unpickled.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from grader.read.units import Unit

ALLOWED_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]
)


@dataclass(frozen=True)
class TimeLimits:
    """Every time limit on one submission's run, in seconds, each a backstop for the one before it."""

    step: float  # loading the code, or one item's calls: past it, that step is a timeout
    cpu: int  # CPU seconds of one student process (RLIMIT_CPU): its steps' CPU, whatever the wall clock says
    job: float  # the whole submission, reloading after a hang included: the supervisor stops there
    guard: float  # the grader stops a supervisor still running past this: only a stuck supervisor gets there


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's student code."""

    timeout: float = 5.0
    memory_mb: int = 1024
    file_size_mb: int = 16
    max_processes: int = 256
    output_cap: int = 64_000
    max_elements: int = 4_000_000
    scratch_mb: int = 64  # each private /tmp, /var/tmp, /dev/shm of a job (where namespaces allow)
    scratch_files: int = 2_000  # files and folders each of them may hold

    def times(self, item_count: int) -> TimeLimits:
        """The time limits of a submission with `item_count` items, all from `timeout`, the one a user sets."""
        job = self.timeout * (2 * item_count + 2) + 2.0  # loading, each item, and reloading after each hang
        cpu = int(self.timeout * (item_count + 1)) + 2  # loading and each item once
        return TimeLimits(step=self.timeout, cpu=cpu, job=job, guard=job + 30.0)


@dataclass(frozen=True)
class Item:
    """One thing to fetch from the loaded code: call a function on each argument list, or read a value."""

    id: str
    kind: str  # "call", "chain" or "value"
    name: str
    calls: list[list[dict]] = field(default_factory=list)  # encoded arrays, one list per call
    drop: int | None = None  # index of a returned value that stays in the sandbox (a layer's cache)
    forward: str = ""  # "chain": call `forward` on the first `split` arrays, then `name` on the rest
    split: int = 0  # and the value at `drop` of what `forward` returned


@dataclass(frozen=True)
class Request:
    """Everything the sandbox needs for one submission."""

    units: list[Unit]
    items: list[Item]
    limits: Limits
    forbidden_modules: list[str] = field(default_factory=list)
    job_number: int = 0  # unique in the batch
    uid_base: int = 0  # as root: student code runs as uid_base + job_number; 0 for no separate uid
    isolation: str = "auto"  # "auto": the strongest available; "rlimits": limits and process tracking only
    hidden_paths: list[str] = field(default_factory=list)  # covered where mounts allow (the own box stays)
    package: str | None = None  # load module units as modules of this package (relative imports work)
    allowed_modules: list[str] | None = None  # beyond the standard library and the box's own files; None: any
    records: str = ""  # the folder the values go to; "": `out` beside the box

    def to_json(self, items_file: str) -> dict[str, Any]:
        """As JSON, with the items (the same for every submission of a batch) in a file written once, and without the
        code units: those go in a file of their own (`units_json`) that only the student process reads, so that the
        sandbox's own processes never hold a student's code."""
        data = {name: value for name, value in shallow_fields(self).items() if name not in ("items", "units")}
        return {**data, "limits": shallow_fields(self.limits), "items_file": items_file}

    @classmethod
    def from_json(cls, data: dict[str, Any], items: list[Item]) -> Request:
        """`items`: those of the file `data["items_file"]` names, read once for every job of a batch."""
        return cls(
            units=[],
            items=items,
            limits=Limits(**data["limits"]),
            forbidden_modules=list(data["forbidden_modules"]),
            job_number=int(data["job_number"]),
            uid_base=int(data["uid_base"]),
            isolation=str(data["isolation"]),
            hidden_paths=[str(path) for path in data["hidden_paths"]],
            package=data.get("package"),
            allowed_modules=data.get("allowed_modules"),
            records=str(data.get("records", "")),
        )


STOP_MARK = "stop"  # a file the grader makes in an overdue job's folder before it signals the job's supervisor
JOB_RECORD = 1024  # bytes of one job handed to the sandbox, padded: a pipe write this size is atomic


def job_record(job_dir: Path) -> bytes:
    """The record that hands over a job: its folder, padded (grader/run/zygote.py's `read_job`)."""
    data = os.fsencode(job_dir)
    if len(data) > JOB_RECORD:
        raise ValueError(f"a job's folder is longer than {JOB_RECORD} bytes: {str(job_dir)[:100]}…")
    return data.ljust(JOB_RECORD, b"\0")


OUTPUT_FILE = "output"  # in a job's folder: what its student code printed, up to the cap, as bytes
LOAD_ERRORS_FILE = "load-errors.json"  # beside the records: the messages of what stopped parts of the code as it loaded
MAX_LOAD_ERRORS = 50  # messages kept, each cut at MAX_LOAD_ERROR_CHARS
MAX_LOAD_ERROR_CHARS = 500
MAX_LOAD_ERROR_BYTES = MAX_LOAD_ERRORS * (12 * MAX_LOAD_ERROR_CHARS + 8)  # the file: each message at its longest
UNITS_FILE = "units.json"  # in a job's folder, beside its box: the code units, read by the student process only


def units_json(units: list[Unit]) -> str:
    return json.dumps([shallow_fields(unit) for unit in units])


def shallow_fields(instance: Any) -> dict[str, Any]:
    """A dataclass's fields as they are, for JSON: `asdict` deep-copies every list and dict first, which a job
    handed over, or its outcome, paid for every time."""
    return {f.name: getattr(instance, f.name) for f in fields(instance)}


def read_units(path: Path) -> list[Unit]:
    """The code units the grader wrote for a job (`units_json`)."""
    return [Unit(**unit) for unit in json.loads(path.read_text(encoding="utf-8"))]


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """A trusted array (one the grader made) as JSON."""
    return {
        "dtype": array.dtype.name,
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes(order="C")).decode("ascii"),
    }


def decode_array(data: dict[str, Any], max_elements: int) -> np.ndarray:
    """An array from JSON, refusing unknown dtypes, bad sizes and oversized shapes."""
    dtype = _dtype(data.get("dtype"))
    shape = _shape(data.get("shape"))
    if elements_bound(shape) > max_elements:
        raise ValueError(f"array of shape {shape} is larger than allowed")
    text = data.get("data")
    if not isinstance(text, str):
        raise ValueError("array without its data")
    raw = binascii.a2b_base64(text, strict_mode=True)  # as base64.b64decode(validate=True), stricter on padding
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


_DTYPES = {name: np.dtype(name) for name in ALLOWED_DTYPES}
DTYPE_NAMES = {dtype: name for name, dtype in _DTYPES.items()}  # in this machine's byte order only
MAX_DIMENSIONS = 64  # numpy's own limit: a shape of more is no array's
MAX_SIZE = np.iinfo(np.intp).max  # and no dimension is larger


def elements_bound(shape: tuple[int, ...] | list[int]) -> int:
    """The elements an array of `shape` counts against the size limit: an empty dimension does not excuse a huge
    one (the sandbox sends as too big what the grader would refuse)."""
    return math.prod(max(size, 1) for size in shape)


def _dtype(name: Any) -> np.dtype:
    dtype = _DTYPES.get(name) if type(name) is str else None
    if dtype is None:
        raise ValueError(f"array of unsupported dtype {name!r}")
    return dtype


def _shape(value: Any) -> tuple[int, ...]:
    """A shape as JSON: a list of at most MAX_DIMENSIONS ints, each from 0 to the largest an array's size can be
    (what comes back is untrusted: a longer list, or larger ints, would cost the grader a product of huge numbers)."""
    if (
        type(value) is not list
        or len(value) > MAX_DIMENSIONS  # first: a longer list is never walked
        or not all(type(n) is int and 0 <= n <= MAX_SIZE for n in value)
    ):
        raise ValueError(f"malformed shape {reprlib.repr(value)}")
    return tuple(value)


@dataclass(frozen=True)
class Unsupported:
    """A returned value that is not numbers, text or containers of them (named, never kept)."""

    type_name: str


@dataclass(frozen=True)
class TooBig:
    """A returned array over the size limit: only its shape came back."""

    shape: tuple[int, ...]


RECORDS_SUFFIX = ".rec"  # an item's file of returned records, `<item index>.rec`
MAX_RECORD_LINE = 4 * 1024 * 1024  # bytes of a record's line: 10,000 numbers in a list take under half a megabyte


def write_file(path: Path, data: memoryview | bytes, flags: int = os.O_TRUNC, mode: int = 0o644) -> None:
    """`data` into a file made at `path` (os.open's `flags` added), never through a link planted there nor waiting
    on a FIFO."""
    data = memoryview(data)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | flags, mode)
    try:
        while data:
            data = data[os.write(descriptor, data) :]
    finally:
        os.close(descriptor)


def record_bytes(record: dict[str, Any], arrays: list[np.ndarray]) -> bytes:
    """One record as written: its line of JSON (which escapes line breaks), then its arrays' bytes in C order. A value
    whose line would be longer than the grader reads is sent as unsupported."""
    line = json.dumps(record).encode()
    if len(line) > MAX_RECORD_LINE:
        line, arrays = json.dumps({"value": {"t": "unsupported", "type": "value too large to describe"}}).encode(), []
    return b"".join([line, b"\n", *(array.tobytes(order="C") for array in arrays)])


class RawBytes:
    """A records file's bytes, read array by array from `at` (where a record's line ends)."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data, self.at = data, at

    def take(self, size: int) -> int:
        """Where the next `size` bytes start; ValueError when the file ends first."""
        start, self.at = self.at, self.at + size
        if self.at > len(self.data):
            raise ValueError("the data ended inside an array")
        return start


def decode_raw(tree: Any, max_elements: int, raw: RawBytes) -> Any:
    """A value tree written by the sandbox, its arrays' bytes taken from `raw`, checked node by node; raises
    ValueError on anything odd."""
    return value_from(value_plan(tree, max_elements), raw)


# A value's plan: the tree checked, with what each node needs from the bytes that follow its line. The same line
# always has the same plan, so a class's thousands of records of a few shapes are checked once per line.
ARRAY, SEQ, MAP, FIXED = range(4)


def value_plan(tree: Any, max_elements: int, depth: int = 0) -> tuple:
    """`tree` checked node by node (ValueError on anything odd): (ARRAY, dtype, shape, count), (SEQ, plans),
    (MAP, (key, plan) pairs) or (FIXED, an immutable value)."""
    if type(tree) is not dict or depth > 10:
        raise ValueError("malformed value")
    kind = tree.get("t")
    if kind == "array":
        return _array_plan(tree, max_elements)
    if kind == "seq":
        return SEQ, tuple(value_plan(item, max_elements, depth + 1) for item in _items(tree))
    if kind == "none":
        return FIXED, None
    if kind == "text":
        return FIXED, str(tree.get("v", ""))[:2000]
    if kind == "map":
        pairs = _items(tree, pairs=True)
        return MAP, tuple((str(key), value_plan(value, max_elements, depth + 1)) for key, value in pairs)
    if kind == "too-big":
        return FIXED, TooBig(_shape(tree.get("shape", [])))
    if kind == "unsupported":
        return FIXED, Unsupported(str(tree.get("type", "object"))[:100])
    raise ValueError(f"unknown value kind {kind!r}")


def _array_plan(node: dict[str, Any], max_elements: int) -> tuple:
    """An array the sandbox returned: an allowed dtype and a shape within the limit."""
    dtype = _dtype(node.get("dtype"))
    shape = _shape(node.get("shape"))
    if elements_bound(shape) > max_elements:
        raise ValueError(f"array of shape {shape} is larger than allowed")
    return ARRAY, dtype, shape, math.prod(shape)


def value_from(plan: tuple, raw: RawBytes) -> Any:
    """The value a plan describes, each array exactly its bytes, taken from `raw` in order (a fresh copy: the
    file's bytes are not kept alive by it)."""
    kind = plan[0]
    if kind == ARRAY:
        _, dtype, shape, count = plan
        start = raw.take(count * dtype.itemsize)
        return np.frombuffer(raw.data, dtype, count, start).reshape(shape).copy()
    if kind == SEQ:
        return [value_from(item, raw) for item in plan[1]]
    if kind == MAP:
        return {key: value_from(value, raw) for key, value in plan[1]}
    return plan[1]


def _items(tree: dict[str, Any], pairs: bool = False) -> list[Any]:
    """A seq's items, or a map's [key, value] pairs, as a list."""
    items = tree.get("items", [])
    if type(items) is not list or pairs and not all(type(p) is list and len(p) == 2 for p in items):
        raise ValueError("malformed items")
    return items


# ---------------------------------------------------------------- what the grader gets back


@dataclass
class Record:
    """One call's (or one value's) result: a value, an error message from student code, or missing."""

    value: Any = None
    error: str | None = None
    missing: bool = False


class ItemResult:
    """What one item gave back: its status, and its records, given as a list or, as the grader reads a job, as
    the records file's bytes, parsed the first time they are asked for (`unread`): in an exercise with gradient
    checks, their probes (most of a job's arrays there) are looked at only where a backward is wrong."""

    __slots__ = ("status", "detail", "_records", "_unread")

    def __init__(
        self,
        status: str,  # done, timeout, crashed, not-run
        detail: str = "",
        records: list[Record] | None = None,
        unread: Callable[[], list[Record]] | None = None,
    ) -> None:
        self.status, self.detail = status, detail
        self._records = records if records is not None else []
        self._unread = unread

    @property
    def records(self) -> list[Record]:
        if self._unread is not None:
            self._records, self._unread = self._unread(), None
        return self._records

    @records.setter
    def records(self, records: list[Record]) -> None:
        self._records, self._unread = records, None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ItemResult):
            return NotImplemented
        return (self.status, self.detail, self.records) == (other.status, other.detail, other.records)

    def __repr__(self) -> str:
        return f"ItemResult(status={self.status!r}, detail={self.detail!r}, records={self.records!r})"


@dataclass
class RunResult:
    key: str
    level: str = ""
    load: str = "ok"
    load_detail: str = ""
    load_errors: list[str] = field(default_factory=list)
    items: dict[str, ItemResult] = field(default_factory=dict)  # by Item.id
    output: str = ""
    output_dropped: int = 0
    forbidden_imports: list[str] = field(default_factory=list)
    grader_error: str | None = None
    seconds: float = 0.0  # wall time from handing the job over to reading its result
    cpu_s: float = 0.0  # CPU (user + system) of the job's student processes, from the kernel
    wall_s: float = 0.0  # wall time the job's student processes ran
    timings: dict[str, float] = field(default_factory=dict)  # seconds in each step (SANDBOX_STEPS), for benchmarks


# Steps of a job, each from the first mark to the second: what `RunResult.timings` holds when both were reached.
SANDBOX_STEPS = {
    "hand-over": ("handed", "supervisor"),
    "fork": ("supervisor", "forked"),
    "confine": ("forked", "confined"),
    "load": ("confined", "loaded"),
    "calls": ("loaded", "called"),
    "exit": ("called", "exited"),
    "clean-up": ("exited", "written"),
    "notice": ("written", "noticed"),
    "collect": ("noticed", "collected"),
}


def step_timings(marks: dict[str, float]) -> dict[str, float]:
    """Seconds in each step whose two marks were reached (a crash or a timeout leaves some out)."""
    return {
        step: max(0.0, marks[end] - marks[start])
        for step, (start, end) in SANDBOX_STEPS.items()
        if start in marks and end in marks
    }
