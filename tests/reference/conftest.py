"""Random RNN problems in the assignment's notation, shared by the reference tests."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest


class Case(NamedTuple):
    """One problem: tokens, targets (T,); E (D, V); W_x (H, D); W_H (H, H); W_y (V, H); h0 (H, 1);
    b_h (H, 1) and b_y (V, 1) or None."""

    tokens: np.ndarray
    targets: np.ndarray
    E: np.ndarray
    W_x: np.ndarray
    W_H: np.ndarray
    W_y: np.ndarray
    h0: np.ndarray
    b_h: np.ndarray | None = None
    b_y: np.ndarray | None = None

    @property
    def args(self) -> tuple:
        """The seven positional arguments of rnn_loss and the grad_* functions."""
        return (self.tokens, self.targets, self.E, self.W_x, self.W_H, self.W_y, self.h0)

    @property
    def biases(self) -> dict:
        """The keyword arguments b_h=, b_y= (empty when the case has no biases)."""
        return {k: v for k, v in (("b_h", self.b_h), ("b_y", self.b_y)) if v is not None}


def build_case(T, V, D, H, seed=0, *, biases=False, scale=0.5) -> Case:
    """A generic case: random non-symmetric weights, non-zero h0, and (for T >= 2) a repeated word."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, V, size=T)
    if T >= 2:
        tokens[-1] = tokens[0]
    targets = rng.integers(0, V, size=T)

    def normal(*shape):
        return scale * rng.standard_normal(shape)

    b_h, b_y = (normal(H, 1), normal(V, 1)) if biases else (None, None)
    return Case(tokens, targets, normal(D, V), normal(H, D), normal(H, H), normal(V, H),
                normal(H, 1), b_h, b_y)


@pytest.fixture
def make_case():
    """The factory `build_case(T, V, D, H, seed=0, *, biases=False, scale=0.5)`."""
    return build_case
