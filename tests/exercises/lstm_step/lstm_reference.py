"""An instructor's reference for one LSTM step (numpy only), read by the `lstm-step` exercise beside it.

Row vectors with a minibatch, gates packed in one 4H-wide block, in the order i, f, o, g:

    N   examples in the minibatch
    D   input features
    H   hidden units

    x       (N, D)      the inputs of this step
    prev_h  (N, H)      h_{t-1}
    prev_c  (N, H)      c_{t-1}
    Wx      (D, 4H)     input weights, [Wx_i | Wx_f | Wx_o | Wx_g]
    Wh      (H, 4H)     recurrent weights
    b       (4H,)       biases

    a = x Wx + prev_h Wh + b                   (N, 4H), split into four (N, H) blocks
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);  g = tanh(a_g)
    next_c = f * prev_c + i * g;  next_h = o * tanh(next_c)

The backward takes dnext_h and dnext_c: (N, H) and returns the gradients in the order of the forward's inputs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from exercises import Mistake


class LSTMCache(NamedTuple):
    """What the backward needs: the inputs and the gates i, f, o, g and next_c: (N, H)."""

    x: np.ndarray
    prev_h: np.ndarray
    prev_c: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    gates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    next_c: np.ndarray


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b, cell_squash=np.tanh):
    """next_h, next_c: (N, H) and the cache; `cell_squash` is tanh (a mistake passes another)."""
    a = x @ Wx + prev_h @ Wh + b
    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)
    i, f, o, g = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), np.tanh(a_g)
    next_c = f * prev_c + i * g
    next_h = o * cell_squash(next_c)
    return next_h, next_c, LSTMCache(x, prev_h, prev_c, Wx, Wh, (i, f, o, g), next_c)


def lstm_step_backward(dnext_h, dnext_c, cache, forget_in_dprev_c=True, cell_derivative=True):
    """dx, dprev_h, dprev_c, dWx, dWh, db; the flags switch off one factor each (the listed mistakes)."""
    i, f, o, g = cache.gates
    squashed = np.tanh(cache.next_c)
    dc = dnext_c + dnext_h * o * ((1 - squashed**2) if cell_derivative else 1.0)
    da = np.concatenate(
        [dc * g * i * (1 - i), dc * cache.prev_c * f * (1 - f), dnext_h * squashed * o * (1 - o), dc * i * (1 - g**2)],
        axis=1,
    )
    dprev_c = dc * f if forget_in_dprev_c else dc
    return da @ cache.Wx.T, da @ cache.Wh.T, dprev_c, cache.x.T @ da, cache.prev_h.T @ da, da.sum(axis=0)


def _without_cell_tanh(*args):
    return lstm_step_forward(*args, cell_squash=lambda c: c)


LSTM_STEP_FORWARD = [
    Mistake("missing-cell-tanh", "Look at how next_c is squashed before the output gate.", _without_cell_tanh),
]

LSTM_STEP_BACKWARD = [
    Mistake(
        "dprev-c-without-forget-gate",
        "The cell state reaches next_c through one gate: check dprev_c.",
        lambda dnext_h, dnext_c, cache: lstm_step_backward(dnext_h, dnext_c, cache, forget_in_dprev_c=False),
    ),
    Mistake(
        "missing-cell-tanh-derivative",
        "next_h depends on next_c through a tanh: its derivative belongs in the cell's gradient.",
        lambda dnext_h, dnext_c, cache: lstm_step_backward(dnext_h, dnext_c, cache, cell_derivative=False),
    ),
]
