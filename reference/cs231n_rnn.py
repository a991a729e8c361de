"""The model solution to the vanilla-RNN part of CS231n assignment 3 (`rnn_layers.py`).

Notation and convention follow CS231n, not `reference.rnn`: row vectors, a minibatch first, a bias.

    N   minibatch size (sequences per batch)
    T   time steps per sequence
    D   input size (a word vector's size)
    H   hidden units
    V   vocabulary size
    M   output size of the temporal affine layer

    a_t = x_t Wx + h_{t-1} Wh + b       (N, H)   x_t: (N, D), h_{t-1}: (N, H)
    h_t = tanh(a_t)                     (N, H)

with Wx: (D, H), Wh: (H, H), b: (H,). A row of x_t, h_t is one example of the minibatch, so
weight gradients sum over the rows (and, for sequences, over the time steps).

Layers come in pure pairs with CS231n's signatures: a forward returns its output and a named
cache, a backward takes the upstream gradient and that cache and returns the gradients in the
order of the forward's inputs. `rnn_forward` and `rnn_backward` loop the step functions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "StepCache",
    "StepGrads",
    "SequenceCache",
    "SequenceGrads",
    "EmbeddingCache",
    "AffineCache",
    "AffineGrads",
    "rnn_step_forward",
    "tanh_backward",
    "recurrence_backward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "word_embedding_forward",
    "word_embedding_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "log_softmax",
    "temporal_softmax_loss",
]


# ---------------------------------------------------------------------------------------------
# One step: h_t = tanh(x_t Wx + h_{t-1} Wh + b)
# ---------------------------------------------------------------------------------------------


class StepCache(NamedTuple):
    """What `rnn_step_backward` needs. x: (N, D); prev_h: (N, H); Wx: (D, H); Wh: (H, H);
    next_h: (N, H), the step's output tanh(a_t)."""

    x: np.ndarray
    prev_h: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    next_h: np.ndarray


class StepGrads(NamedTuple):
    """Gradients of one step. dx: (N, D); dprev_h: (N, H); dWx: (D, H); dWh: (H, H); db: (H,)."""

    dx: np.ndarray
    dprev_h: np.ndarray
    dWx: np.ndarray
    dWh: np.ndarray
    db: np.ndarray


def rnn_step_forward(x, prev_h, Wx, Wh, b) -> tuple[np.ndarray, StepCache]:
    """One step. x: (N, D); prev_h: (N, H); Wx: (D, H); Wh: (H, H); b: (H,).
    Returns next_h: (N, H) and the cache for `rnn_step_backward`."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, StepCache(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, next_h=next_h)


def tanh_backward(dnext_h, next_h) -> np.ndarray:
    """∂L/∂a_t from ∂L/∂h_t, for h_t = tanh(a_t). dnext_h, next_h: (N, H); returns da: (N, H)."""
    return dnext_h * (1.0 - next_h**2)


def recurrence_backward(da, cache: StepCache) -> StepGrads:
    """Gradients of a_t = x Wx + prev_h Wh + b, given da: (N, H); the weights' sum over the batch."""
    return StepGrads(
        dx=da @ cache.Wx.T,
        dprev_h=da @ cache.Wh.T,
        dWx=cache.x.T @ da,
        dWh=cache.prev_h.T @ da,
        db=da.sum(axis=0),
    )


def rnn_step_backward(dnext_h, cache: StepCache) -> StepGrads:
    """Backward of `rnn_step_forward`. dnext_h: (N, H) is the total upstream ∂L/∂next_h."""
    return recurrence_backward(tanh_backward(dnext_h, cache.next_h), cache)


# ---------------------------------------------------------------------------------------------
# The sequence: loops of the step functions
# ---------------------------------------------------------------------------------------------


class SequenceCache(NamedTuple):
    """The caches of `rnn_forward`: one StepCache per time step, in time order (T of them)."""

    steps: tuple[StepCache, ...]


class SequenceGrads(NamedTuple):
    """Gradients of a sequence. dx: (N, T, D); dh0: (N, H); dWx: (D, H); dWh: (H, H); db: (H,)."""

    dx: np.ndarray
    dh0: np.ndarray
    dWx: np.ndarray
    dWh: np.ndarray
    db: np.ndarray


def rnn_forward(x, h0, Wx, Wh, b) -> tuple[np.ndarray, SequenceCache]:
    """Every step. x: (N, T, D); h0: (N, H); Wx, Wh, b as in `rnn_step_forward`.
    Returns h: (N, T, H), the hidden states of steps 0 … T-1 (not h0), and the cache."""
    h_t, hs, steps = h0, [], []
    for t in range(x.shape[1]):
        h_t, step = rnn_step_forward(x[:, t, :], h_t, Wx, Wh, b)
        hs.append(h_t)
        steps.append(step)
    return np.stack(hs, axis=1), SequenceCache(steps=tuple(steps))


def rnn_backward(dh, cache: SequenceCache) -> SequenceGrads:
    """Backpropagation through time. dh: (N, T, H) is the upstream gradient of every hidden
    state; step t also receives, through h_{t+1}, the dprev_h of step t+1."""
    grads: list[Any] = [None] * len(cache.steps)  # each step's StepGrads, filled in from the last
    dprev_h = np.zeros_like(dh[:, 0, :], dtype=float)  # nothing flows back into the last step
    for t in reversed(range(len(cache.steps))):
        grads[t] = rnn_step_backward(dh[:, t, :] + dprev_h, cache.steps[t])
        dprev_h = grads[t].dprev_h
    return SequenceGrads(
        dx=np.stack([g.dx for g in grads], axis=1),
        dh0=dprev_h,
        dWx=sum(g.dWx for g in grads),
        dWh=sum(g.dWh for g in grads),
        db=sum(g.db for g in grads),
    )


# ---------------------------------------------------------------------------------------------
# Word embedding: out[n, t] = W[x[n, t]]
# ---------------------------------------------------------------------------------------------


class EmbeddingCache(NamedTuple):
    """What `word_embedding_backward` needs. x: (N, T) word indices in [0, V); W: (V, D)."""

    x: np.ndarray
    W: np.ndarray


def word_embedding_forward(x, W) -> tuple[np.ndarray, EmbeddingCache]:
    """Look the words up. x: (N, T) integers in [0, V); W: (V, D). Returns out: (N, T, D)."""
    return W[x], EmbeddingCache(x=x, W=W)


def word_embedding_backward(dout, cache: EmbeddingCache) -> np.ndarray:
    """dW: (V, D) from dout: (N, T, D); a word that occurs k times gets the sum of its k rows."""
    dW = np.zeros(cache.W.shape)
    np.add.at(dW, cache.x, dout)
    return dW


# ---------------------------------------------------------------------------------------------
# Temporal affine layer: out[n, t] = x[n, t] w + b
# ---------------------------------------------------------------------------------------------


class AffineCache(NamedTuple):
    """What `temporal_affine_backward` needs. x: (N, T, D); w: (D, M)."""

    x: np.ndarray
    w: np.ndarray


class AffineGrads(NamedTuple):
    """Gradients of the temporal affine layer. dx: (N, T, D); dw: (D, M); db: (M,)."""

    dx: np.ndarray
    dw: np.ndarray
    db: np.ndarray


def temporal_affine_forward(x, w, b) -> tuple[np.ndarray, AffineCache]:
    """The same affine map at every step. x: (N, T, D); w: (D, M); b: (M,). Returns out: (N, T, M)."""
    return x @ w + b, AffineCache(x=x, w=w)


def temporal_affine_backward(dout, cache: AffineCache) -> AffineGrads:
    """Backward of `temporal_affine_forward`; dout: (N, T, M). dw and db sum over N and T."""
    D, M = cache.w.shape
    return AffineGrads(
        dx=dout @ cache.w.T,
        dw=cache.x.reshape(-1, D).T @ dout.reshape(-1, M),
        db=dout.sum(axis=(0, 1)),
    )


# ---------------------------------------------------------------------------------------------
# Temporal softmax loss: L = (1/N) Σ_{n,t} mask[n, t] · -log softmax(x[n, t])[y[n, t]]
# ---------------------------------------------------------------------------------------------


def log_softmax(x) -> np.ndarray:
    """log softmax along the last axis, shifted by the maximum so exp never overflows."""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def temporal_softmax_loss(x, y, mask, verbose=False) -> tuple[float, np.ndarray]:
    """Masked cross-entropy summed over the steps and averaged over the batch (divided by N,
    not N*T). x: (N, T, V) scores; y: (N, T) targets in [0, V); mask: (N, T) booleans.
    Returns loss and dx: (N, T, V). `verbose` is CS231n's debugging flag and changes nothing."""
    N, V = x.shape[0], x.shape[-1]
    weight = np.asarray(mask, dtype=float) / N  # (N, T)
    log_p = log_softmax(x)
    target = np.eye(V)[y]  # (N, T, V): one-hot rows
    loss = -np.sum(weight * np.sum(target * log_p, axis=-1))
    return float(loss), (np.exp(log_p) - target) * weight[..., None]
