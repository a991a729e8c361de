"""Einstein's convention: an entry index repeated within one product, and absent from the left-hand side, is
summed over (`a^t_i = (W_H)_{ij} h^{t-1}_j` means `a_{t,i} = \\sum_j (W_H)_{ij} h_{t-1,j}`)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from typing import Any

from grader.judge.written.parsing import Add, BigOp, Index, Mul, Neg, Reading, Rel, Sym, walk


def with_implicit_sums(reading: Reading) -> Reading:
    """The reading with every implicit sum written out; a write-up that writes its sums is left as it is."""
    rows = tuple(replace(row, rel=_summed(row.rel)) if _has_entries(row.text) else row for row in reading.rows)
    return replace(reading, rows=rows)


_ENTRY_MARKS = re.compile(r",|\[|\)_|_\{[a-z]{2}\}")


def _has_entries(text: str) -> bool:
    """Whether a statement can hold an entry index at all (`h_{t,i}`, `z_t[k]`, `(W_H)_{ij}`, `W_{ij}`)."""
    return bool(_ENTRY_MARKS.search(text))


def _summed(rel: Rel) -> Rel:
    if not rel.ops or rel.ops[0] != "=":
        return rel
    free = set(_entry_letters(rel.parts[0]))
    parts = [rel.parts[0]]
    for op, part in zip(rel.ops, rel.parts[1:]):
        parts.append(_summed_terms(part, free) if op == "=" else part)
    return Rel(tuple(parts), rel.ops)


def _summed_terms(tree: Any, free: set[str]) -> Any:
    if isinstance(tree, Add):
        return Add(tuple(_summed_terms(term, free) for term in tree.terms))
    if isinstance(tree, Neg):
        return Neg(_summed_terms(tree.arg, free))
    if not isinstance(tree, Mul):
        return tree
    explicit = {node.var for node in walk(tree) if isinstance(node, BigOp)}
    counts = Counter(_entry_letters(tree))
    repeated = sorted(index for index, count in counts.items() if count >= 2 and index not in free | explicit)
    for index in repeated:
        tree = BigOp("sum", index, None, None, tree)
    return tree


def _entry_letters(tree: Any) -> list[str]:
    """Letters used as entry indices: `i` in `h_{t,i}`, `i` and `j` in `(W_H)_{ij}` or `W_{ij}`."""
    found: list[str] = []
    for node in walk(tree):
        if isinstance(node, Sym) and node.sub is not None:
            if len(node.sub) >= 2:
                found += [part.base for part in node.sub[1:] if _letter(part)]
            elif len(node.sub) == 1 and _letter(node.sub[0], 2) and node.base[:1].isupper():
                if len(node.sub[0].base) == 2 and set(node.sub[0].base) <= INDEX_LETTERS:  # `W_{ij}`, not `W_{hh}`
                    found += list(node.sub[0].base)
        elif isinstance(node, Index):
            parts = node.index if isinstance(node.index, tuple) else (node.index,)
            for part in parts:
                if _letter(part, 2):
                    found += list(part.base)
    return found


INDEX_LETTERS = set("ijklmnpqrsuvcd")


def _letter(tree: Any, most: int = 1) -> bool:
    return isinstance(tree, Sym) and tree.sub is None and 1 <= len(tree.base) <= most and tree.base.islower()
