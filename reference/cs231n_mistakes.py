"""The common wrong answers to the vanilla-RNN part of CS231n's `rnn_layers.py`, so that a wrong
answer can be named.

Each `Mistake.compute` has the signature and return form of the function of `reference.cs231n_rnn`
it stands for, and is that function with exactly one thing changed; a backward's `compute` takes
the reference's own cache. Notation as in `reference.cs231n_rnn` (N, T, D, H, V, M; row vectors).

The lists are named after the functions in upper case (`RNN_STEP_BACKWARD` for
`rnn_step_backward`); `MISTAKES` maps each function name to its list. A `diagnosis` is a stable
kebab-case id; the same id in two lists names the same slip (a slip of `rnn_step_backward` is
also listed for `rnn_backward`, which loops it). A `hint` says where to look, not what to write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference import cs231n_rnn as ref
from reference.mistakes import Mistake

__all__ = [
    "RNN_STEP_FORWARD",
    "RNN_STEP_BACKWARD",
    "RNN_FORWARD",
    "RNN_BACKWARD",
    "WORD_EMBEDDING_FORWARD",
    "WORD_EMBEDDING_BACKWARD",
    "TEMPORAL_AFFINE_FORWARD",
    "TEMPORAL_AFFINE_BACKWARD",
    "TEMPORAL_SOFTMAX_LOSS",
    "MISTAKES",
]


# ---------------------------------------------------------------------------------------------
# Forward slips: the activation, and where the recurrence starts
# ---------------------------------------------------------------------------------------------


def _sigmoid(a) -> np.ndarray:
    """The logistic function, written via tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _step_forward(activation: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Any]:
    """`rnn_step_forward` with `activation` in place of tanh."""

    def compute(x, prev_h, Wx, Wh, b):
        next_h = activation(x @ Wx + prev_h @ Wh + b)
        return next_h, ref.StepCache(x=x, prev_h=prev_h, Wx=Wx, Wh=Wh, next_h=next_h)

    return compute


def _forward(step: Callable[..., Any] = ref.rnn_step_forward, from_h0: bool = False) -> Callable[..., Any]:
    """`rnn_forward` looping `step`; with `from_h0`, every step starts from h0."""

    def compute(x, h0, Wx, Wh, b):
        h_t, hs, steps = h0, [], []
        for t in range(x.shape[1]):
            h_t, cache = step(x[:, t, :], h0 if from_h0 else h_t, Wx, Wh, b)
            hs.append(h_t)
            steps.append(cache)
        return np.stack(hs, axis=1), ref.SequenceCache(steps=tuple(steps))

    return compute


# ---------------------------------------------------------------------------------------------
# Step backward slips: each is `rnn_step_backward` with one change
# ---------------------------------------------------------------------------------------------


def _db_of_one_example(row: int) -> Callable[..., ref.StepGrads]:
    """db: (H,) from one row of da only (0: `db = da[0]`; -1: `db = da[i]` left over from a loop
    over the batch), where the rows' sum belongs."""

    def compute(dnext_h, cache: ref.StepCache) -> ref.StepGrads:
        da = ref.tanh_backward(dnext_h, cache.next_h)
        return ref.recurrence_backward(da, cache)._replace(db=da[row])

    return compute


def _dWh_transposed(dnext_h, cache: ref.StepCache) -> ref.StepGrads:
    """dWh = da.T @ prev_h: (H, H), the transpose of prev_h.T @ da."""
    grads = ref.rnn_step_backward(dnext_h, cache)
    return grads._replace(dWh=grads.dWh.T)


def _tanh_derivative_of_prev_h(dnext_h, cache: ref.StepCache) -> ref.StepGrads:
    """da = dnext_h * (1 - prev_h**2): the derivative taken at the step's input state."""
    return ref.recurrence_backward(ref.tanh_backward(dnext_h, cache.prev_h), cache)


def _without_tanh_derivative(dnext_h, cache: ref.StepCache) -> ref.StepGrads:
    """da = dnext_h: the tanh layer passed through unchanged."""
    return ref.recurrence_backward(dnext_h, cache)


def _dprev_h_with_Wh(dnext_h, cache: ref.StepCache) -> ref.StepGrads:
    """dprev_h = da @ Wh, where da @ Wh.T belongs."""
    da = ref.tanh_backward(dnext_h, cache.next_h)
    return ref.recurrence_backward(da, cache)._replace(dprev_h=da @ cache.Wh)


# ---------------------------------------------------------------------------------------------
# Backpropagation-through-time slips
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BpttSlip:
    """One departure from `rnn_backward`; the defaults are the correct loop."""

    step: Callable[..., ref.StepGrads] = ref.rnn_step_backward  # the step backward it loops
    carry: bool = True  # False: step t's upstream is dh[:, t] alone
    every_step: bool = True  # False: dh enters at the last step only, then just dprev_h flows back
    reverse: bool = True  # False: the loop runs t = 0 … T-1, carrying dprev_h forwards in time


def _bptt(slip: _BpttSlip) -> Callable[..., Any]:
    """`rnn_backward` with `slip` applied; dh0 is the last dprev_h the loop computed."""

    def compute(dh, cache: ref.SequenceCache):
        T = len(cache.steps)
        grads: list[Any] = [None] * T  # each step's StepGrads, in the order the loop reaches them
        dprev_h = np.zeros_like(dh[:, 0, :], dtype=float)
        for t in reversed(range(T)) if slip.reverse else range(T):
            upstream = dh[:, t, :] if slip.every_step or t == T - 1 else 0.0
            grads[t] = slip.step(upstream + (dprev_h if slip.carry else 0.0), cache.steps[t])
            dprev_h = grads[t].dprev_h
        return ref.SequenceGrads(
            dx=np.stack([g.dx for g in grads], axis=1),
            dh0=dprev_h,
            dWx=sum(g.dWx for g in grads),
            dWh=sum(g.dWh for g in grads),
            db=sum(g.db for g in grads),
        )

    return compute


# ---------------------------------------------------------------------------------------------
# Embedding, temporal affine and loss slips
# ---------------------------------------------------------------------------------------------


def _embedding_assigned(dout, cache: ref.EmbeddingCache) -> np.ndarray:
    """dW[x] = dout: a repeated word keeps one occurrence, the last in C order (as numpy does)."""
    dW = np.zeros(cache.W.shape)
    for word, row in zip(cache.x.reshape(-1), dout.reshape(-1, dout.shape[-1])):
        dW[word] = row
    return dW


def _affine_db_averaged(dout, cache: ref.AffineCache) -> ref.AffineGrads:
    """db = the mean of dout over N and T, where their sum belongs."""
    return ref.temporal_affine_backward(dout, cache)._replace(db=dout.mean(axis=(0, 1)))


@dataclass(frozen=True)
class _LossSlip:
    """One departure from `temporal_softmax_loss`; the defaults are the correct loss."""

    mask_loss: bool = True  # False: every step counts in the loss
    mask_dx: bool = True  # False: every step counts in dx
    divisor: str = "N"  # "N*T" or "1": what loss and dx are divided by
    onehot: bool = True  # False: dx = softmax, the target's -1 left out


def _loss(slip: _LossSlip) -> Callable[..., Any]:
    """`temporal_softmax_loss` with `slip` applied."""

    def compute(x, y, mask, verbose=False):
        N, T, V = x.shape
        scale = {"N": N, "N*T": N * T, "1": 1}[slip.divisor]
        mask = np.asarray(mask, dtype=float)
        log_p = ref.log_softmax(x)
        target = np.eye(V)[y]
        per_step = -np.sum(target * log_p, axis=-1)  # (N, T)
        loss = np.sum(per_step * (mask if slip.mask_loss else 1.0)) / scale
        dx = np.exp(log_p) - (target if slip.onehot else 0.0)
        return float(loss), dx * (mask if slip.mask_dx else np.ones_like(mask))[..., None] / scale

    return compute


# ---------------------------------------------------------------------------------------------
# The lists
# ---------------------------------------------------------------------------------------------

_STEP_HINTS = {
    "db-not-summed-over-batch": "Your db matches the gradient of a single example of the "
    "minibatch: b is added to every row, so check how all the rows contribute to db.",
    "dWh-transposed": "Your dWh is the transpose of the expected one (the same shape, since Wh is "
    "square): check the order of the factors that give dWh.",
    "tanh-derivative-from-wrong-state": "Your gradients match a tanh derivative computed from "
    "prev_h: check which of the step's hidden states the derivative of tanh belongs to.",
    "missing-tanh-derivative": "Your gradients match a backward pass without the tanh layer: "
    "check the factor ∂next_h/∂a between dnext_h and the weights.",
    "dprev_h-Wh-not-transposed": "Your dprev_h matches da multiplied by Wh as it is: check which "
    "form of Wh carries a gradient from a back to prev_h, with row vectors on the left.",
}

_ACTIVATION_HINTS = {
    "missing-tanh": "Your hidden state equals the pre-activation x Wx + prev_h Wh + b: check "
    "that the activation is applied.",
    "sigmoid-instead-of-tanh": "Your hidden state matches a sigmoid of the pre-activation: check "
    "which activation the vanilla RNN uses.",
}


# (diagnosis, slipped rnn_step_backward); an id appears twice for two forms of one slip.
_STEP_SLIPS: list[tuple[str, Callable[..., ref.StepGrads]]] = [
    ("db-not-summed-over-batch", _db_of_one_example(0)),
    ("db-not-summed-over-batch", _db_of_one_example(-1)),
    ("dWh-transposed", _dWh_transposed),
    ("tanh-derivative-from-wrong-state", _tanh_derivative_of_prev_h),
    ("missing-tanh-derivative", _without_tanh_derivative),
    ("dprev_h-Wh-not-transposed", _dprev_h_with_Wh),
]

RNN_STEP_FORWARD: list[Mistake] = [
    Mistake("missing-tanh", _ACTIVATION_HINTS["missing-tanh"], _step_forward(lambda a: a)),
    Mistake("sigmoid-instead-of-tanh", _ACTIVATION_HINTS["sigmoid-instead-of-tanh"], _step_forward(_sigmoid)),
]

RNN_STEP_BACKWARD: list[Mistake] = [Mistake(d, _STEP_HINTS[d], slip) for d, slip in _STEP_SLIPS]

RNN_FORWARD: list[Mistake] = [
    Mistake("missing-tanh", _ACTIVATION_HINTS["missing-tanh"], _forward(_step_forward(lambda a: a))),
    Mistake("sigmoid-instead-of-tanh", _ACTIVATION_HINTS["sigmoid-instead-of-tanh"], _forward(_step_forward(_sigmoid))),
    Mistake(
        "recurrence-uses-h0",
        "Every step of your forward pass starts from h0: check which hidden state feeds into step t.",
        _forward(from_h0=True),
    ),
]

RNN_BACKWARD: list[Mistake] = [
    Mistake(
        "dprev_h-not-carried",
        "Your gradients match BPTT in which each step sees only its own "
        "dh[:, t]: h_t also feeds step t+1, so check what else flows into step t.",
        _bptt(_BpttSlip(carry=False)),
    ),
    Mistake(
        "upstream-only-at-last-step",
        "Your gradients use dh only at the last step: dh holds "
        "the upstream gradient of every hidden state, so check what enters the earlier steps.",
        _bptt(_BpttSlip(every_step=False)),
    ),
    Mistake(
        "time-loop-not-reversed",
        "Your gradients match a loop that runs forwards in time: "
        "check the order in which the steps must be visited for dprev_h to be ready.",
        _bptt(_BpttSlip(reverse=False)),
    ),
    *(Mistake(d, _STEP_HINTS[d], _bptt(_BpttSlip(step=slip))) for d, slip in _STEP_SLIPS),
]

WORD_EMBEDDING_FORWARD: list[Mistake] = []

WORD_EMBEDDING_BACKWARD: list[Mistake] = [
    Mistake(
        "embedding-assigned-not-accumulated",
        "Your dW is right for words that occur once but "
        "not for a repeated word: every occurrence of a word contributes to its row of dW.",
        _embedding_assigned,
    ),
]

TEMPORAL_AFFINE_FORWARD: list[Mistake] = []

TEMPORAL_AFFINE_BACKWARD: list[Mistake] = [
    Mistake(
        "db-averaged-not-summed",
        "Your db matches the mean of dout over the batch and the time steps: check how each (n, t) contributes to db.",
        _affine_db_averaged,
    ),
]

TEMPORAL_SOFTMAX_LOSS: list[Mistake] = [
    Mistake(
        "mask-ignored",
        "Your loss and dx match a loss in which every time step counts: check "
        "what mask[n, t] = False means for that step.",
        _loss(_LossSlip(mask_loss=False, mask_dx=False)),
    ),
    Mistake(
        "dx-not-masked",
        "Your loss is right but your dx is not zero where mask is False: a step left out of the loss has no gradient.",
        _loss(_LossSlip(mask_dx=False)),
    ),
    Mistake(
        "divided-by-NT",
        "Your loss and dx are divided by N*T: check what the loss is averaged over and what it is summed over.",
        _loss(_LossSlip(divisor="N*T")),
    ),
    Mistake(
        "not-divided-by-N",
        "Your loss and dx are sums over the minibatch: check what the loss is averaged over.",
        _loss(_LossSlip(divisor="1")),
    ),
    Mistake(
        "missing-onehot-subtraction",
        "Your dx treats the softmax probabilities as ∂L/∂x: "
        "check the derivative of the cross-entropy, where the target word matters.",
        _loss(_LossSlip(onehot=False)),
    ),
]

MISTAKES: dict[str, list[Mistake]] = {
    "rnn_step_forward": RNN_STEP_FORWARD,
    "rnn_step_backward": RNN_STEP_BACKWARD,
    "rnn_forward": RNN_FORWARD,
    "rnn_backward": RNN_BACKWARD,
    "word_embedding_forward": WORD_EMBEDDING_FORWARD,
    "word_embedding_backward": WORD_EMBEDDING_BACKWARD,
    "temporal_affine_forward": TEMPORAL_AFFINE_FORWARD,
    "temporal_affine_backward": TEMPORAL_AFFINE_BACKWARD,
    "temporal_softmax_loss": TEMPORAL_SOFTMAX_LOSS,
}
