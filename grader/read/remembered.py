"""Pure functions of short texts, remembered: a class writes the same few symbols, shape answers and record lines
thousands of times. A longer text is worked out afresh, so what is kept stays small."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

SHORT_TEXT = 200  # characters: a symbol's spelling, a shape answer


def remembered_when_short(longest: int, kept: int = 4096) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Remembers a pure function's results for a first argument (str or bytes) of at most `longest`, the `kept`
    latest; its other arguments must be hashable. An exception is never remembered."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        remembered = functools.lru_cache(maxsize=kept)(function)

        @functools.wraps(function)
        def short_or_afresh(text: Any, *args: Any) -> T:
            return remembered(text, *args) if len(text) <= longest else function(text, *args)

        return short_or_afresh

    return decorate
