"""Naming what a write-up writes: a parsed symbol's canonical key, and the exercise's spellings of each quantity."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from grader.judge.written.parsing import Add, Index, MathSyntaxError, Neg, Num, Sym, parse_math

T = TypeVar("T")


def key(tree: Any) -> str:
    """`W_{H}` and `W_H` alike: base, hat and subscript, with the subscript's own structure (kept on a symbol)."""
    return kept_on(tree, "_key", _symbol_key) if isinstance(tree, Sym) else _key(tree)


def kept_on(node: Any, name: str, derive: Callable[[Any], T]) -> T:
    """What `derive` makes of a tree's node (a symbol, a product, a sum), made once and kept on it under `name`
    (trees are immutable): judging a derivation asks for the same symbols' keys, and what is derived from them,
    hundreds of thousands of times."""
    known = node.__dict__.get(name)
    if known is None:
        known = derive(node)
        object.__setattr__(node, name, known)
    return known


def base_key(symbol: Sym) -> str:
    """The key of the symbol without its subscript (`h` for `h_{t-1}`), kept on the symbol like its key."""
    return kept_on(symbol, "_base_key", lambda whole: key(Sym(whole.base, None, whole.hat)))


def _symbol_key(tree: Sym) -> str:
    base = ("^" if tree.hat else "") + tree.base.replace("ŷ", "^y")
    if tree.sub is None:
        return base
    return base + "_" + ",".join(key(part) for part in tree.sub)


def _key(tree: Any) -> str:
    if isinstance(tree, Num):
        return f"{tree.value:g}"
    if isinstance(tree, Neg):
        return "-" + key(tree.arg)
    if isinstance(tree, Add):
        text = "".join(("" if n == 0 or key(t).startswith("-") else "+") + key(t) for n, t in enumerate(tree.terms))
        return text
    return type(tree).__name__


@lru_cache(maxsize=64)
def _spelling_key(spelling: str) -> str | None:
    try:
        return key(parse_math(spelling))
    except MathSyntaxError:
        return None


def spellings(symbols: dict[str, list[str]], local: dict[str, list[str]] | None = None) -> dict[str, str]:
    """{canonical key: quantity name}: every spelling of every quantity (its own name included)."""
    names: dict[str, str] = {}
    for name, written in symbols.items():
        for spelling in [name, *written]:
            found = _spelling_key(spelling)
            if found is not None:
                names.setdefault(found, name)
    for name, written in (local or {}).items():
        for spelling in written:
            found = _spelling_key(spelling)
            if found is not None:
                names[found] = name
    return names


def name_of(tree: Any, names: dict[str, str]) -> str | None:
    """The quantity a symbol names, or None; an entry (`h_{t,i}`, `(W_H)_{ij}`) names the quantity it is of."""
    if isinstance(tree, Index):
        tree = tree.base
    if not isinstance(tree, Sym):
        return None
    found = names.get(key(tree))
    if found is None and tree.sub is not None and len(tree.sub) == 2 and _plain_index(tree.sub[1]):
        found = names.get(key(Sym(tree.base, tree.sub[:1], tree.hat)))
    return found


def _plain_index(tree: Any) -> bool:
    return isinstance(tree, Sym) and tree.sub is None and tree.base.isalpha() and tree.base.islower()
