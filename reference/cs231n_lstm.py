"""The model solution to the LSTM part of CS231n assignment 3 (`rnn_layers.py`).

Notation and convention as in `reference.cs231n_rnn`: row vectors, a minibatch first, a bias.

    N   minibatch size (sequences per batch)
    T   time steps per sequence
    D   input size (a word vector's size)
    H   hidden units

    a_t = x_t Wx + h_{t-1} Wh + b                 (N, 4H)  x_t: (N, D), h_{t-1}: (N, H)
    a_t = [a_i | a_f | a_o | a_g]                 four (N, H) blocks, the first H columns a_i
    i = σ(a_i)   f = σ(a_f)   o = σ(a_o)   g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g                     (N, H)   the cell state
    h_t = o ⊙ tanh(c_t)                           (N, H)

with Wx: (D, 4H), Wh: (H, 4H), b: (4H,). `lstm_forward` starts from the given h0 and a cell state of
zeros; its upstream gradient reaches the hidden states only (the cell states are not outputs).

Layers come in pure pairs with CS231n's signatures, as in `reference.cs231n_rnn`. The step backward
is built from three small pieces (the cell's gradient, the gates' pre-activation gradient and the
affine map's), so that each known mistake changes exactly one of them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "StepCache",
    "StepGrads",
    "SequenceCache",
    "SequenceGrads",
    "sigmoid",
    "split_gates",
    "lstm_step_forward",
    "cell_backward",
    "gates_backward",
    "affine_backward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
]


# ---------------------------------------------------------------------------------------------
# One step
# ---------------------------------------------------------------------------------------------


class StepCache(NamedTuple):
    """What `lstm_step_backward` needs. x: (N, D); prev_h, prev_c: (N, H); Wx: (D, 4H);
    Wh: (H, 4H); the gates i, f, o, g: (N, H) each; next_c: (N, H)."""

    x: np.ndarray
    prev_h: np.ndarray
    prev_c: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    i: np.ndarray
    f: np.ndarray
    o: np.ndarray
    g: np.ndarray
    next_c: np.ndarray


class StepGrads(NamedTuple):
    """Gradients of one step. dx: (N, D); dprev_h, dprev_c: (N, H); dWx: (D, 4H); dWh: (H, 4H); db: (4H,)."""

    dx: np.ndarray
    dprev_h: np.ndarray
    dprev_c: np.ndarray
    dWx: np.ndarray
    dWh: np.ndarray
    db: np.ndarray


def sigmoid(a) -> np.ndarray:
    """The logistic function, written via tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def split_gates(a) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four (N, H) blocks of a: (N, 4H), in the order i, f, o, g."""
    return tuple(np.split(a, 4, axis=1))  # type: ignore[return-value]


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b) -> tuple[np.ndarray, np.ndarray, StepCache]:
    """One step. x: (N, D); prev_h, prev_c: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,).
    Returns next_h, next_c: (N, H) and the cache for `lstm_step_backward`."""
    a_i, a_f, a_o, a_g = split_gates(x @ Wx + prev_h @ Wh + b)
    i, f, o, g = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), np.tanh(a_g)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = StepCache(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, i=i, f=f, o=o, g=g, next_c=next_c)
    return next_h, next_c, cache


def cell_backward(dnext_h, dnext_c, cache: StepCache) -> np.ndarray:
    """∂L/∂c_t: (N, H), the upstream dnext_c plus what reaches c_t through h_t = o ⊙ tanh(c_t)."""
    return dnext_c + dnext_h * cache.o * (1.0 - np.tanh(cache.next_c) ** 2)


def gates_backward(dnext_h, dc, cache: StepCache) -> np.ndarray:
    """∂L/∂a_t: (N, 4H) from dnext_h and the cell's gradient dc, through each gate's activation."""
    di, df, do, dg = dc * cache.g, dc * cache.prev_c, dnext_h * np.tanh(cache.next_c), dc * cache.i
    i, f, o, g = cache.i, cache.f, cache.o, cache.g
    return np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)], axis=1)


def affine_backward(da, cache: StepCache) -> tuple[np.ndarray, ...]:
    """dx, dprev_h, dWx, dWh, db of a_t = x Wx + prev_h Wh + b, given da: (N, 4H)."""
    return da @ cache.Wx.T, da @ cache.Wh.T, cache.x.T @ da, cache.prev_h.T @ da, da.sum(axis=0)


def lstm_step_backward(dnext_h, dnext_c, cache: StepCache) -> StepGrads:
    """Backward of `lstm_step_forward`. dnext_h, dnext_c: (N, H), the total upstream gradients."""
    dc = cell_backward(dnext_h, dnext_c, cache)
    dx, dprev_h, dWx, dWh, db = affine_backward(gates_backward(dnext_h, dc, cache), cache)
    return StepGrads(dx=dx, dprev_h=dprev_h, dprev_c=dc * cache.f, dWx=dWx, dWh=dWh, db=db)


# ---------------------------------------------------------------------------------------------
# The sequence: loops of the step functions
# ---------------------------------------------------------------------------------------------


class SequenceCache(NamedTuple):
    """The caches of `lstm_forward`: one StepCache per time step, in time order (T of them)."""

    steps: tuple[StepCache, ...]


class SequenceGrads(NamedTuple):
    """Gradients of a sequence. dx: (N, T, D); dh0: (N, H); dWx: (D, 4H); dWh: (H, 4H); db: (4H,)."""

    dx: np.ndarray
    dh0: np.ndarray
    dWx: np.ndarray
    dWh: np.ndarray
    db: np.ndarray


def lstm_forward(x, h0, Wx, Wh, b) -> tuple[np.ndarray, SequenceCache]:
    """Every step. x: (N, T, D); h0: (N, H); Wx, Wh, b as in `lstm_step_forward`; the initial cell
    state is zeros. Returns h: (N, T, H), the hidden states of steps 0 … T-1 (not h0), and the cache."""
    h_t, c_t, hs, steps = h0, np.zeros_like(h0, dtype=float), [], []
    for t in range(x.shape[1]):
        h_t, c_t, step = lstm_step_forward(x[:, t, :], h_t, c_t, Wx, Wh, b)
        hs.append(h_t)
        steps.append(step)
    return np.stack(hs, axis=1), SequenceCache(steps=tuple(steps))


def lstm_backward(dh, cache: SequenceCache) -> SequenceGrads:
    """Backpropagation through time. dh: (N, T, H) is the upstream gradient of every hidden state;
    step t also receives, from step t+1, its dprev_h (added to dh[:, t]) and its dprev_c."""
    grads: list[Any] = [None] * len(cache.steps)  # each step's StepGrads, filled in from the last
    dprev_h = np.zeros_like(dh[:, 0, :], dtype=float)  # nothing flows back into the last step
    dprev_c = np.zeros_like(dprev_h)
    for t in reversed(range(len(cache.steps))):
        grads[t] = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache.steps[t])
        dprev_h, dprev_c = grads[t].dprev_h, grads[t].dprev_c
    return SequenceGrads(
        dx=np.stack([g.dx for g in grads], axis=1),
        dh0=dprev_h,
        dWx=sum(g.dWx for g in grads),
        dWh=sum(g.dWh for g in grads),
        db=sum(g.db for g in grads),
    )
