"""Inside the sandbox: load the submission's code, fetch the requested items, write raw values.

Runs in the confined child process. Everything student code can touch here is its own result:
the grader reads only the records written to the files the supervisor opened for the items (protocol.record_bytes), as
data.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from grader.read.units import Unit
from grader.run.protocol import (
    DTYPE_NAMES,
    MAX_LOAD_ERROR_CHARS,
    MAX_LOAD_ERRORS,
    Item,
    Request,
    decode_array,
    elements_bound,
    record_bytes,
)

MAX_TEXT = 2_000
MAX_ITEMS = 10_000
MAX_DEPTH = 8
DISPLAY_ONLY_MODULES = ("matplotlib", "seaborn", "IPython", "plotly")


class Events:
    """The status line to the supervisor: one JSON object per line."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def send(self, **event: Any) -> None:
        self.send_all([event])

    def send_all(self, events: list[dict[str, Any]]) -> None:
        """Events that happen together, in one write: the supervisor wakes once for them."""
        lines = "".join(json.dumps(event) + "\n" for event in events).encode()
        os.write(self._fd, lines[:60_000])


# ---------------------------------------------------------------- import guards


class _ForbiddenImports(importlib.abc.MetaPathFinder):
    """Refuses the grader's own packages, reporting each attempt."""

    def __init__(self, prefixes: list[str], events: Events) -> None:
        self._prefixes = prefixes
        self._events = events

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if any(name == p or name.startswith(p + ".") for p in self._prefixes):
            self._events.send(event="forbidden-import", module=name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


class _Inert:
    """Stands in for any object of a display-only library that is not installed."""

    def __call__(self, *args: Any, **kwargs: Any) -> _Inert:
        return self

    def __getattr__(self, name: str) -> _Inert:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> _Inert:
        return self

    def __iter__(self):
        return iter((_Inert(), _Inert()))


class _InertModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on the meta path: plotting and display modules that are not installed become no-ops."""

    def find_spec(self, name: str, path: Any = None, target: Any = None):
        if name.split(".")[0] in DISPLAY_ONLY_MODULES:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        module = types.ModuleType(spec.name)
        module.__path__ = []
        vars(module)["__getattr__"] = lambda attr: _Inert()  # a module-level __getattr__ (PEP 562)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _AllowedImports(importlib.abc.MetaPathFinder):
    """Refuses, in imports the student's own code makes, packages the exercise does not allow: only the
    standard library, the allowed ones and the box's own files (the student's and the course's modules).
    An allowed package's own imports (matplotlib importing its dependencies) are its business; a module
    already loaded is refused too (see `_refusing_loaded`)."""

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = set(allowed) | set(sys.stdlib_module_names) | set(DISPLAY_ONLY_MODULES)
        self._box = os.getcwd() + os.sep

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        top = name.split(".")[0]
        if not self.refuses(top):
            return None
        if self.asked_by_student_code():
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

    def refuses(self, top: str) -> bool:
        return not (top in self.allowed or os.path.exists(top + ".py") or os.path.isdir(top))

    def asked_by_student_code(self) -> bool:
        """Whether the code asking for the import is the student's (compiled under its file's label, or in the
        box), rather than an installed library's."""
        frame: types.FrameType | None = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        filename = frame.f_code.co_filename if frame is not None else ""
        return not os.path.isabs(filename) or filename.startswith(self._box)


def guard_imports(forbidden: list[str], allowed: list[str] | None, events: Events, package: str | None) -> None:
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in forbidden):
            del sys.modules[name]
    sys.meta_path.insert(0, _ForbiddenImports(forbidden, events))
    if allowed is not None:
        finder = _AllowedImports(allowed + ([package] if package else []))
        sys.meta_path.insert(1, finder)
        builtins.__import__ = _refusing_loaded(builtins.__import__, finder)
    sys.meta_path.append(_InertModuleFinder())


def _refusing_loaded(original: Callable[..., Any], finder: _AllowedImports) -> Callable[..., Any]:
    """`import` as before, except that student code may not take a module it is not allowed because it happens to
    be loaded already (matplotlib's PIL, loaded with matplotlib by the warm process or by the student's own
    import): what a submission may import depends neither on its classmates nor on the order of its imports."""

    def guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        top = name.partition(".")[0]
        if level == 0 and top in sys.modules and finder.refuses(top) and finder.asked_by_student_code():
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return original(name, globals, locals, fromlist, level)

    return guarded_import


def make_package(name: str) -> None:
    """An empty package whose modules are the box's folder of that name and the box itself."""
    package = types.ModuleType(name)
    package.__path__ = [os.path.abspath(name), os.getcwd()]
    package.__package__ = name
    sys.modules[name] = package


# ---------------------------------------------------------------- loading


def describe_exception(exc: BaseException, student_files: set[str], here: str = "") -> str:
    """'NameError: name x is not defined (rnn.py, line 12)' — where in the student's code it happened."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in student_files:
            place = "" if frame.filename == here else f"{frame.filename}, "
            where = f" ({place}line {frame.lineno})"
            break
    message = str(exc).replace(os.getcwd() + os.sep, "")[:300]  # the sandbox's folder means nothing to them
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def load_module(unit: Unit, package: str | None = None) -> dict[str, Any]:
    """Execute a .py file as an importable module; a failure keeps what was defined before it."""
    name = module_name(unit, package)
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) == os.path.abspath(unit.path):
        return vars(existing)
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(unit.path))
    if spec is None:
        raise ImportError(f"{unit.label} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    module.__package__ = package or ""
    sys.modules[name] = module
    code = compile(Path(unit.path).read_bytes(), unit.label, "exec")
    module.__file__ = os.path.abspath(unit.path)
    exec(code, vars(module))
    return vars(module)


def module_name(unit: Unit, package: str | None) -> str:
    stem = Path(unit.path).stem
    return f"{package}.{stem}" if package else stem


def run_cells(unit: Unit, namespace: dict[str, Any], errors: list[str], files: set[str]) -> None:
    """Run a notebook's cells in order, as Jupyter would; a raising cell does not stop the rest."""
    for number, source in enumerate(unit.cells, start=1):
        label = f"{unit.label}, cell {number}"
        files.add(label)
        try:
            exec(compile(source, label, "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - any failure of student code is feedback
            errors.append(f"{label} raised {describe_exception(exc, files, here=label)}")


def load_units(units: list[Unit], package: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Namespaces in load order, and one message per piece of code that raised."""
    namespaces: list[dict[str, Any]] = []
    errors: list[str] = []
    files = {unit.label for unit in units}
    for unit in units:
        if unit.kind == "cells":
            # Not "__main__": demos under `if __name__ == "__main__":` are skipped, as for .py files.
            namespace = {"__name__": Path(unit.label).stem, "__builtins__": builtins, "__package__": package}
            namespaces.append(namespace)
            run_cells(unit, namespace, errors, files)
            continue
        try:
            namespaces.append(load_module(unit, package))
        except BaseException as exc:  # noqa: BLE001
            module = sys.modules.get(module_name(unit, package))
            if module is not None:
                namespaces.append(vars(module))
            errors.append(f"{unit.label} raised {describe_exception(exc, files, here=unit.label)}")
    return namespaces, errors


def lookup(namespaces: list[dict[str, Any]], name: str) -> Any:
    """The last definition of `name` in load order, or None."""
    for namespace in reversed(namespaces):
        if name in namespace:
            return namespace[name]
    return None


# ---------------------------------------------------------------- values out


class RawEncoder:
    """Student data as a plain tree for a record's line, its arrays' bytes apart (protocol.record_bytes); anything
    that is not numbers, text or containers is named, not kept."""

    def __init__(self, max_elements: int) -> None:
        self.max_elements = max_elements

    def encode(self, value: Any) -> tuple[dict[str, Any], list[np.ndarray]]:
        """The value's tree, and the arrays it names, in order."""
        arrays: list[np.ndarray] = []
        return self._encode(value, arrays, 0), arrays

    def _encode(self, value: Any, arrays: list[np.ndarray], depth: int) -> dict[str, Any]:
        if type(value) is np.ndarray and depth <= MAX_DEPTH:  # what most answers are, first
            return self._array(value, arrays)
        if depth > MAX_DEPTH:
            return {"t": "unsupported", "type": "nesting too deep"}
        if value is None:
            return {"t": "none"}
        if isinstance(value, (bool, int, float, np.generic)):
            return self._number(value, arrays)
        if type(value) is str:
            return {"t": "text", "v": value[:MAX_TEXT]}
        if isinstance(value, np.ndarray):
            return self._array(np.asarray(value), arrays)
        if isinstance(value, dict):
            items = list(value.items())[:MAX_ITEMS]
            return {"t": "map", "items": [[str(k)[:200], self._encode(v, arrays, depth + 1)] for k, v in items]}
        if isinstance(value, (list, tuple)):
            return {"t": "seq", "items": [self._encode(v, arrays, depth + 1) for v in list(value)[:MAX_ITEMS]]}
        if hasattr(value, "__array__"):
            return self._array(np.asarray(value), arrays)
        return {"t": "unsupported", "type": type(value).__name__[:100]}

    def _number(self, value: Any, arrays: list[np.ndarray]) -> dict[str, Any]:
        try:
            return self._array(np.asarray(value).reshape(()), arrays)
        except (TypeError, ValueError):
            return {"t": "unsupported", "type": type(value).__name__[:100]}

    def _array(self, array: np.ndarray, arrays: list[np.ndarray]) -> dict[str, Any]:
        name = DTYPE_NAMES.get(array.dtype)
        if name is None and array.dtype.kind == "O":
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                return {"t": "unsupported", "type": "array of objects"}
        if elements_bound(array.shape) > self.max_elements:  # as the grader counts it
            return {"t": "too-big", "shape": list(array.shape)}
        if name is None and array.dtype.byteorder not in "=|":  # the other byte order: sent in this machine's
            array = array.astype(array.dtype.newbyteorder("="))
        name = DTYPE_NAMES.get(array.dtype)
        if name is None:
            return {"t": "unsupported", "type": f"array of {array.dtype.name}"}
        arrays.append(array.view(np.ndarray))
        return {"t": "array", "dtype": name, "shape": list(array.shape)}


# ---------------------------------------------------------------- items


Returned = tuple[dict[str, Any], list[np.ndarray]]  # a record's tree and the arrays it names (record_bytes)


def fetch(item: Item, namespaces: list[dict[str, Any]], files: set[str], encoder: RawEncoder) -> Iterator[Returned]:
    """Yield one record per call (or one for a value): the raw value, or what went wrong."""
    target = lookup(namespaces, item.name)
    if target is None:
        yield {"missing": True}, []
    elif item.kind == "value":
        yield _guarded(lambda: encoder.encode(target), files)
    elif not callable(target):
        yield {"error": f"{item.name} is a {type(target).__name__}, not a function"}, []
    elif item.kind == "chain":
        yield from _fetch_chain(item, target, namespaces, files, encoder)
    else:
        for args in item.calls:

            def produce(args: list[dict] = args) -> tuple[dict[str, Any], list[np.ndarray]]:
                return encoder.encode(_call(target, args, item.drop))

            yield _guarded(produce, files)


def _fetch_chain(
    item: Item, backward: Callable[..., Any], namespaces: list[dict[str, Any]], files: set[str], encoder: RawEncoder
) -> Iterator[Returned]:
    """A backward fed by the student's own forward: the cache is made and used here, never sent out."""
    drop = item.drop
    if drop is None:  # the grader makes chain items only for a forward with a cache
        raise ValueError(f"chain item {item.id} does not say where the forward returns its cache")
    forward = lookup(namespaces, item.forward)
    if not callable(forward):
        yield {"error": f"needs {item.forward}, whose cache it takes, and no function {item.forward} was found"}, []
        return
    for args in item.calls:

        def produce(args: list[dict] = args) -> tuple[dict[str, Any], list[np.ndarray]]:
            return encoder.encode(_chain(forward, backward, args, item, drop))

        yield _guarded(produce, files)


def _chain(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    args: list[dict],
    item: Item,
    drop: int,
) -> Any:
    returned = _call(forward, args[: item.split], None)
    if not isinstance(returned, (tuple, list)) or len(returned) <= drop:
        raise ValueError(f"{item.forward} returned {type(returned).__name__}, not its outputs and the cache")
    upstream = [_argument(arg) for arg in args[item.split :]]
    return backward(*upstream, returned[drop])


DECODED = "decoded"  # where `decode_arguments` keeps an argument's array, beside its JSON (never from JSON itself)


def decode_arguments(items: tuple[Item, ...] | list[Item]) -> None:
    """Decode every call's arguments once, in the warm process (the grader made them: no size limit), so each job
    only copies them."""
    for item in items:
        for call in item.calls:
            for argument in call:
                argument[DECODED] = decode_array(argument, sys.maxsize)


def _argument(encoded: dict) -> np.ndarray:
    """A fresh array for one call: the student's code may change it in place."""
    return encoded[DECODED].copy()


def _call(function: Callable[..., Any], encoded_args: list[dict], drop: int | None) -> Any:
    """The function's return value; with `drop`, without the value at that index (a cache stays here)."""
    returned = function(*[_argument(arg) for arg in encoded_args])
    if drop is None or not isinstance(returned, (tuple, list)) or len(returned) <= drop:
        return returned
    kept = [part for index, part in enumerate(returned) if index != drop]
    return kept[0] if len(kept) == 1 else kept


def _guarded(produce: Callable[[], Returned], files: set[str]) -> Returned:
    try:
        tree, arrays = produce()
        return {"value": tree}, arrays
    except BaseException as exc:  # noqa: BLE001 - student code raised: that is the answer
        return {"error": describe_exception(exc, files)}, []


THREAD_STACK_BYTES = 512 * 1024


def _write_load_errors(errors_fd: int, errors: list[str]) -> None:
    """The load's messages, into the file the supervisor opened for them; what the code wrote there as it loaded
    does not count. Code that closed or replaced the descriptor loses only the messages (the grader then says
    that something raised), never the run."""
    try:
        os.ftruncate(errors_fd, 0)
        os.lseek(errors_fd, 0, os.SEEK_SET)
        with os.fdopen(errors_fd, "w", encoding="utf-8") as handle:
            json.dump([error[:MAX_LOAD_ERROR_CHARS] for error in errors[:MAX_LOAD_ERRORS]], handle)
    except (OSError, ValueError):
        pass


def serve(
    request: Request,
    first_item: int,
    events: Events,
    confinement: tuple[str, bool],
    records: dict[int, int],
    errors_fd: int | None = None,
) -> None:
    """Load once, then fetch items from `first_item` on, writing each record as soon as it exists into the
    item's file, already open (`records`: item index to descriptor). `confinement`: the level reached, and
    whether every scratch folder is private. The load's error messages go to `errors_fd` (the first run's), and
    only their number to the supervisor."""
    events.send(event="isolation", level=confinement[0], private_scratch=confinement[1])
    threading.stack_size(THREAD_STACK_BYTES)  # threads a student leaves running cost little address space
    guard_imports(request.forbidden_modules, request.allowed_modules, events, request.package)
    sys.path.insert(0, os.getcwd())
    if request.package:
        make_package(request.package)
    namespaces, errors = load_units(request.units, request.package)
    if errors_fd is not None and errors:
        _write_load_errors(errors_fd, errors)
    files = {unit.label for unit in request.units}
    files |= {f"{u.label}, cell {n}" for u in request.units for n in range(1, len(u.cells) + 1)}
    encoder = RawEncoder(request.limits.max_elements)
    ended = [{"event": "loaded", "errors": len(errors)}]  # sent with the next item's start
    for index in range(first_item, len(request.items)):
        events.send_all([*ended, {"event": "start", "item": index}])
        os.ftruncate(records[index], 0)  # what student code wrote into it before its turn does not count
        os.lseek(records[index], 0, os.SEEK_SET)
        with os.fdopen(records[index], "wb") as handle:
            for record, arrays in fetch(request.items[index], namespaces, files, encoder):
                handle.write(record_bytes(record, arrays))
                handle.flush()
        ended = [{"event": "done", "item": index}]
    events.send_all(ended)
