"""A submission's code as read: the units the sandbox loads, in order.

Standard library only: the sandbox's warm process imports it too (through grader/run/protocol.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Unit:
    """One piece of code to load: a module file, or a notebook's code cells."""

    kind: str  # "module" or "cells"
    label: str  # file name relative to the submission, for messages
    path: str = ""  # module file, relative to the sandbox directory
    cells: list[str] = field(default_factory=list)  # cell sources, already made plain Python
