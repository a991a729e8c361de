"""The reference RNN: forward pass, loss and backpropagation through time.

Notation and convention follow the assignment (column vectors throughout):

    T   words in the input sequence
    V   vocabulary size
    D   embedding size
    H   hidden units

    x_t   = E[:, tokens[t]]                 (D, 1)  the embedding of word t
    a_t   = W_H h_{t-1} + W_x x_t (+ b_h)   (H, 1)
    h_t   = tanh(a_t)                       (H, 1)
    z_t   = W_y h_t (+ b_y)                 (V, 1)
    ŷ_t   = softmax(z_t)                    (V, 1)
    L     = Σ_t -log ŷ_t[targets[t]]        the summed cross-entropy

with E: (D, V), W_x: (H, D), W_H: (H, H), W_y: (V, H), h0 = h_{-1}: (H, 1) and the optional
biases b_h: (H, 1), b_y: (V, 1).

Layers come in pure pairs, in the manner of cs231n: a forward returns its output and a named cache,
a backward takes the upstream gradient and that cache and returns named gradients. The sequence
functions (`forward`, `loss`, `bptt`) loop the step functions and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    "StepCache",
    "StepGrads",
    "OutputCache",
    "OutputGrads",
    "SequenceCache",
    "step_forward",
    "tanh_backward",
    "recurrence_backward",
    "step_backward",
    "output_forward",
    "output_loss",
    "softmax_cross_entropy_backward",
    "logits_backward",
    "output_backward",
    "sequence_forward",
    "sequence_backward",
    "forward",
    "loss",
    "bptt",
    "shapes",
]


# ---------------------------------------------------------------------------------------------
# One recurrent step: a_t = W_H h_prev + W_x x_t (+ b_h), h_t = tanh(a_t)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepCache:
    """What `step_backward` needs from one `step_forward`.

    x_t: (D, 1); h_prev: (H, 1); W_x: (H, D); W_H: (H, H); a_t: (H, 1); h_t: (H, 1).
    """

    x_t: np.ndarray
    h_prev: np.ndarray
    W_x: np.ndarray
    W_H: np.ndarray
    a_t: np.ndarray
    h_t: np.ndarray


class StepGrads(NamedTuple):
    """Gradients of one step, in the order of `step_forward`'s inputs.

    dx_t: (D, 1); dh_prev: (H, 1); dW_x: (H, D); dW_H: (H, H); db_h: (H, 1).
    """

    dx_t: np.ndarray
    dh_prev: np.ndarray
    dW_x: np.ndarray
    dW_H: np.ndarray
    db_h: np.ndarray


def step_forward(x_t, h_prev, W_x, W_H, b_h=None) -> tuple[np.ndarray, StepCache]:
    """One recurrent step.

    x_t: (D, 1); h_prev: (H, 1); W_x: (H, D); W_H: (H, H); b_h: (H, 1) or None.
    Returns h_t: (H, 1) and the cache for `step_backward`.
    """
    a_t = W_H @ h_prev + W_x @ x_t
    if b_h is not None:
        a_t = a_t + np.reshape(b_h, a_t.shape)
    h_t = np.tanh(a_t)
    return h_t, StepCache(x_t=x_t, h_prev=h_prev, W_x=W_x, W_H=W_H, a_t=a_t, h_t=h_t)


def tanh_backward(dh_t, h_t) -> np.ndarray:
    """∂L/∂a_t from ∂L/∂h_t, for h_t = tanh(a_t). dh_t, h_t: (H, 1); returns da_t: (H, 1)."""
    return dh_t * (1.0 - h_t**2)


def recurrence_backward(da_t, cache: StepCache) -> StepGrads:
    """Gradients of a_t = W_H h_prev + W_x x_t + b_h, given da_t: (H, 1)."""
    return StepGrads(
        dx_t=cache.W_x.T @ da_t,
        dh_prev=cache.W_H.T @ da_t,
        dW_x=da_t @ cache.x_t.T,
        dW_H=da_t @ cache.h_prev.T,
        db_h=da_t,
    )


def step_backward(dh_t, cache: StepCache) -> StepGrads:
    """Backward of `step_forward`: dh_t: (H, 1) is the total upstream ∂L/∂h_t."""
    return recurrence_backward(tanh_backward(dh_t, cache.h_t), cache)


# ---------------------------------------------------------------------------------------------
# The output layer: z_t = W_y h_t (+ b_y), ŷ_t = softmax(z_t), L_t = -log ŷ_t[target]
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputCache:
    """What the output backward needs. h_t: (H, 1); W_y: (V, H); z_t: (V, 1); y_hat_t: (V, 1)."""

    h_t: np.ndarray
    W_y: np.ndarray
    z_t: np.ndarray
    y_hat_t: np.ndarray


class OutputGrads(NamedTuple):
    """Gradients of the output layer. dh_t: (H, 1); dW_y: (V, H); db_y: (V, 1)."""

    dh_t: np.ndarray
    dW_y: np.ndarray
    db_y: np.ndarray


def _softmax(z) -> np.ndarray:
    """Numerically stable softmax of a column z: (V, 1)."""
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def output_forward(h_t, W_y, b_y=None) -> tuple[np.ndarray, OutputCache]:
    """Logits and softmax. h_t: (H, 1); W_y: (V, H); b_y: (V, 1) or None. Returns ŷ_t: (V, 1)."""
    z_t = W_y @ h_t
    if b_y is not None:
        z_t = z_t + np.reshape(b_y, z_t.shape)
    y_hat_t = _softmax(z_t)
    return y_hat_t, OutputCache(h_t=h_t, W_y=W_y, z_t=z_t, y_hat_t=y_hat_t)


def output_loss(target: int, cache: OutputCache) -> float:
    """L_t = -log ŷ_t[target], computed from z_t as logsumexp(z_t) - z_t[target] (stable)."""
    z = cache.z_t[:, 0]
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))) - z[target])


def softmax_cross_entropy_backward(target: int, y_hat_t) -> np.ndarray:
    """∂L_t/∂z_t = ŷ_t - onehot(target). y_hat_t: (V, 1); returns dz_t: (V, 1)."""
    dz_t = np.array(y_hat_t, dtype=float, copy=True)
    dz_t[target, 0] -= 1.0
    return dz_t


def logits_backward(dz_t, cache: OutputCache) -> OutputGrads:
    """Gradients of z_t = W_y h_t + b_y, given dz_t: (V, 1)."""
    return OutputGrads(dh_t=cache.W_y.T @ dz_t, dW_y=dz_t @ cache.h_t.T, db_y=dz_t)


def output_backward(target: int, cache: OutputCache) -> OutputGrads:
    """Backward of `output_forward` followed by the cross-entropy with word `target`."""
    return logits_backward(softmax_cross_entropy_backward(target, cache.y_hat_t), cache)


# ---------------------------------------------------------------------------------------------
# The sequence: loops of the step functions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceCache:
    """The caches of a whole forward pass. tokens: (T,); E: (D, V); one StepCache and one
    OutputCache per step, in time order."""

    tokens: np.ndarray
    E: np.ndarray
    steps: tuple[StepCache, ...]
    outputs: tuple[OutputCache, ...]


def sequence_forward(tokens, E, W_x, W_H, W_y, h0, *, b_h=None, b_y=None) -> SequenceCache:
    """Run every step. tokens: (T,) ints in [0, V); E: (D, V); h0: (H, 1); the rest as above."""
    tokens = np.asarray(tokens).astype(int).reshape(-1)
    h_t = np.reshape(h0, (-1, 1))
    steps, outputs = [], []
    for word in tokens:
        h_t, step = step_forward(E[:, [word]], h_t, W_x, W_H, b_h)
        _, out = output_forward(h_t, W_y, b_y)
        steps.append(step)
        outputs.append(out)
    return SequenceCache(tokens=tokens, E=E, steps=tuple(steps), outputs=tuple(outputs))


def sequence_backward(targets, cache: SequenceCache) -> dict[str, np.ndarray]:
    """Full BPTT of the summed loss. targets: (T,). Returns gradients keyed "E", "W_x", "W_H",
    "W_y", "b_h", "b_y" with the shapes of the parameters (b_h: (H, 1), b_y: (V, 1))."""
    first_step, first_out = cache.steps[0], cache.outputs[0]
    grads = _zero_grads(cache.E, first_step, first_out)
    dh_next = np.zeros_like(first_step.h_t)  # ∂L/∂h_t through h_{t+1}; none after the last step
    for t in reversed(range(len(cache.tokens))):
        out = output_backward(int(targets[t]), cache.outputs[t])
        step = step_backward(out.dh_t + dh_next, cache.steps[t])
        grads["E"][:, [cache.tokens[t]]] += step.dx_t  # accumulates when a word repeats
        grads["W_x"] += step.dW_x
        grads["W_H"] += step.dW_H
        grads["b_h"] += step.db_h
        grads["W_y"] += out.dW_y
        grads["b_y"] += out.db_y
        dh_next = step.dh_prev
    return grads


def _zero_grads(E, step: StepCache, out: OutputCache) -> dict[str, np.ndarray]:
    """Zero accumulators shaped like each parameter."""
    return {
        "E": np.zeros_like(E, dtype=float),
        "W_x": np.zeros_like(step.W_x, dtype=float),
        "W_H": np.zeros_like(step.W_H, dtype=float),
        "W_y": np.zeros_like(out.W_y, dtype=float),
        "b_h": np.zeros_like(step.a_t, dtype=float),
        "b_y": np.zeros_like(out.z_t, dtype=float),
    }


def forward(tokens, E, W_x, W_H, W_y, h0, *, b_h=None, b_y=None) -> tuple[np.ndarray, np.ndarray]:
    """The forward pass. Returns hs: (H, T) and y_hats: (V, T), column t for step t."""
    cache = sequence_forward(tokens, E, W_x, W_H, W_y, h0, b_h=b_h, b_y=b_y)
    hs = np.hstack([step.h_t for step in cache.steps])
    y_hats = np.hstack([out.y_hat_t for out in cache.outputs])
    return hs, y_hats


def loss(tokens, targets, E, W_x, W_H, W_y, h0, *, b_h=None, b_y=None) -> float:
    """L = Σ_t -log ŷ_t[targets[t]] (a sum over the T steps, not a mean). targets: (T,)."""
    cache = sequence_forward(tokens, E, W_x, W_H, W_y, h0, b_h=b_h, b_y=b_y)
    targets = np.asarray(targets).astype(int).reshape(-1)
    return float(sum(output_loss(target, out) for target, out in zip(targets, cache.outputs)))


def bptt(tokens, targets, E, W_x, W_H, W_y, h0, *, b_h=None, b_y=None) -> dict[str, np.ndarray]:
    """∂L/∂(each parameter) of the summed loss, by backpropagation through time.

    Keys "E": (D, V), "W_x": (H, D), "W_H": (H, H), "W_y": (V, H), plus "b_h" (shaped like the
    given b_h) and "b_y" (shaped like the given b_y) only when those biases are passed.
    """
    cache = sequence_forward(tokens, E, W_x, W_H, W_y, h0, b_h=b_h, b_y=b_y)
    grads = sequence_backward(np.asarray(targets).astype(int).reshape(-1), cache)
    for name, bias in (("b_h", b_h), ("b_y", b_y)):
        if bias is None:
            del grads[name]
        else:
            grads[name] = grads[name].reshape(np.shape(bias))
    return grads


# ---------------------------------------------------------------------------------------------
# Task 1: the shape of each symbol, read off a run of the model
# ---------------------------------------------------------------------------------------------


def shapes(T: int, V: int, D: int, H: int) -> dict[str, tuple[int, ...]]:
    """The shape of each symbol of the assignment for these sizes (each at least 1).

    Runs the model on zero parameters (the only place the parameter layout is written down is
    the construction below, in the assignment's convention) and reads every answer off the
    arrays that the step and output functions actually produced or consumed.
    """
    if min(T, V, D, H) < 1:
        raise ValueError(f"sizes must be at least 1, got T={T}, V={V}, D={D}, H={H}")
    E, W_x, W_H, W_y = np.zeros((D, V)), np.zeros((H, D)), np.zeros((H, H)), np.zeros((V, H))
    cache = sequence_forward(np.zeros(T, dtype=int), E, W_x, W_H, W_y, np.zeros((H, 1)))
    step, out = cache.steps[0], cache.outputs[0]
    return {
        "W_H": step.W_H.shape,
        "h_t": step.h_t.shape,
        "W_x": step.W_x.shape,
        "x_t": step.x_t.shape,
        "a_t": step.a_t.shape,
        "z_t": out.z_t.shape,
        "W_y": out.W_y.shape,
        "y_t": out.y_hat_t.shape,
        "E": cache.E.shape,
    }
