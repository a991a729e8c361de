"""Exercises as data, and what an exercise's author writes in Python beside the YAML.

`from exercises import Mistake` is the one public import an author's reference file needs (see FORMAT.md,
"Your first exercise"): a mistake catalogue is a list of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Mistake"]


class Mistake(NamedTuple):
    """A known wrong answer: a stable kebab-case id, a hint for the student (where to look, never the answer),
    and how to compute it (the reference's signature and return form, one slip away from it)."""

    diagnosis: str
    hint: str
    compute: Callable[..., Any]
    outputs: tuple[str, ...] = ()  # the outputs it changes, by name, when it changes only some (any when empty)
