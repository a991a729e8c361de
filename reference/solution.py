"""The model solution of Task 2, with exactly the signatures students write.

Sizes and notation as in `reference.rnn`: T words, vocabulary V, embedding D, H hidden units;
tokens, targets: (T,) ints; E: (D, V); W_x: (H, D); W_H: (H, H); W_y: (V, H); h0: (H, 1).
Each function is a thin wrapper over the reference; no biases (the default assignment has none).
"""

from __future__ import annotations

import numpy as np

from reference import rnn

__all__ = ["rnn_step", "rnn_forward", "rnn_loss", "grad_W_H", "grad_W_x", "grad_W_y", "grad_E"]


def rnn_step(x_t, h_prev, W_x, W_H) -> np.ndarray:
    """h_t = tanh(W_H h_prev + W_x x_t). x_t: (D, 1); h_prev: (H, 1). Returns h_t: (H, 1)."""
    h_t, _ = rnn.step_forward(x_t, h_prev, W_x, W_H)
    return h_t


def rnn_forward(tokens, E, W_x, W_H, W_y, h0) -> tuple[np.ndarray, np.ndarray]:
    """Returns (hs, y_hats): hs (H, T), y_hats (V, T), column t for step t."""
    return rnn.forward(tokens, E, W_x, W_H, W_y, h0)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0) -> float:
    """The summed cross-entropy L = Σ_t -log ŷ_t[targets[t]]."""
    return rnn.loss(tokens, targets, E, W_x, W_H, W_y, h0)


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0) -> np.ndarray:
    """∂L/∂W_H: (H, H)."""
    return rnn.bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0) -> np.ndarray:
    """∂L/∂W_x: (H, D)."""
    return rnn.bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0) -> np.ndarray:
    """∂L/∂W_y: (V, H)."""
    return rnn.bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0) -> np.ndarray:
    """∂L/∂E: (D, V); a word that occurs several times collects the gradient of every occurrence."""
    return rnn.bptt(tokens, targets, E, W_x, W_H, W_y, h0)["E"]
