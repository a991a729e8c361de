"""The common wrong answers to Task 2, so that a wrong answer can be named.

Each `Mistake.compute` has the signature and return form of the matching function of
`reference.solution` and is the reference's own step functions with exactly one thing changed.
Notation and sizes as in `reference.rnn` (T, V, D, H; column vectors).

The lists are named after the solution functions in upper case (`GRAD_W_H` for `grad_W_H`);
`MISTAKES` maps each function name to its list. A `diagnosis` is a stable kebab-case id; the same
id in two lists names the same slip. A `hint` tells the student where to look, not what to write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from reference import rnn

__all__ = [
    "Mistake",
    "RNN_STEP",
    "RNN_FORWARD",
    "RNN_LOSS",
    "GRAD_W_H",
    "GRAD_W_X",
    "GRAD_W_Y",
    "GRAD_E",
    "MISTAKES",
]


class Mistake(NamedTuple):
    """A known wrong answer: its id, a hint for the student, and how to compute it."""

    diagnosis: str
    hint: str
    compute: Callable[..., Any]
    outputs: tuple[str, ...] = ()  # the outputs it changes, by name, when it changes only some (any when empty)


# ---------------------------------------------------------------------------------------------
# Forward-pass slips
# ---------------------------------------------------------------------------------------------


def _step_without_tanh(x_t, h_prev, W_x, W_H) -> np.ndarray:
    """Returns a_t: (H, 1) where h_t belongs."""
    _, cache = rnn.step_forward(x_t, h_prev, W_x, W_H)
    return cache.a_t


def _step_with_sigmoid(x_t, h_prev, W_x, W_H) -> np.ndarray:
    """Returns sigmoid(a_t): (H, 1), written via tanh so that it never overflows."""
    _, cache = rnn.step_forward(x_t, h_prev, W_x, W_H)
    return 0.5 * (1.0 + np.tanh(0.5 * cache.a_t))


def _step_tanh_misplaced(x_t, h_prev, W_x, W_H) -> np.ndarray:
    """tanh applied to the recurrent term only: tanh(W_H h_prev) + W_x x_t, (H, 1)."""
    return np.tanh(W_H @ h_prev) + W_x @ x_t


@dataclass(frozen=True)
class _ForwardSlip:
    """One departure from the correct forward pass; the defaults are the correct one."""

    tanh: bool = True  # False: h_t = a_t
    softmax: bool = True  # False: y_hats hold z_t
    recurrence: bool = True  # False: every step starts from h0
    hs_start_with_h0: bool = False  # True: hs gets h0 as an extra first column
    tanh_on_recurrence_only: bool = False  # True: h_t = tanh(W_H h_{t-1}) + W_x x_t


def _forward_with(slip: _ForwardSlip, tokens, E, W_x, W_H, W_y, h0):
    """(hs: (H, T), y_hats: (V, T)) with `slip` applied."""
    h0 = np.reshape(h0, (-1, 1))
    h_prev, hs, y_hats = h0, [], []
    for word in np.asarray(tokens).astype(int).reshape(-1):
        h_t, step = rnn.step_forward(E[:, [word]], h_prev, W_x, W_H)
        h_t = h_t if slip.tanh else step.a_t
        if slip.tanh_on_recurrence_only:
            h_t = _step_tanh_misplaced(E[:, [word]], h_prev, W_x, W_H)
        y_hat_t, out = rnn.output_forward(h_t, W_y)
        hs.append(h_t)
        y_hats.append(y_hat_t if slip.softmax else out.z_t)
        h_prev = h_t if slip.recurrence else h0
    hs = [h0, *hs] if slip.hs_start_with_h0 else hs
    return np.hstack(hs), np.hstack(y_hats)


def _forward(slip: _ForwardSlip) -> Callable[..., Any]:
    """A function with `rnn_forward`'s signature computing the slipped forward pass."""

    def compute(tokens, E, W_x, W_H, W_y, h0):
        return _forward_with(slip, tokens, E, W_x, W_H, W_y, h0)

    return compute


def _loss(combine: Callable[[list[float]], float]) -> Callable[..., Any]:
    """A function with `rnn_loss`'s signature combining the per-step losses L_t with `combine`."""

    def compute(tokens, targets, E, W_x, W_H, W_y, h0):
        cache = rnn.sequence_forward(tokens, E, W_x, W_H, W_y, h0)
        targets = np.asarray(targets).astype(int).reshape(-1)
        return float(combine([rnn.output_loss(y, out) for y, out in zip(targets, cache.outputs)]))

    return compute


# ---------------------------------------------------------------------------------------------
# Backpropagation slips
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BpttSlip:
    """One departure from correct BPTT; the defaults are the correct algorithm."""

    tanh_derivative: bool = True  # False: da_t = dh_t
    through_time: bool = True  # False: nothing flows back into h_{t-1}
    onehot: bool = True  # False: dz_t = ŷ_t
    every_step: bool = True  # False: only L_T is differentiated
    h0_in_gradient: bool = True  # False: h0 taken as zero in dW_H
    dW_H_with_h_t: bool = False  # True: dW_H uses h_t where h_{t-1} belongs
    dW_y_with_h_prev: bool = False  # True: dW_y uses h_{t-1} where h_t belongs
    overwrite_E: str = ""  # "last" or "first": a repeated word's column keeps one occurrence only
    mean: bool = False  # True: every gradient divided by T


def _output_grads(slip: _BpttSlip, target: int, cache: rnn.SequenceCache, t: int) -> rnn.OutputGrads:
    """The output layer's gradients at step t, with `slip` applied."""
    out = cache.outputs[t]
    if slip.dW_y_with_h_prev:
        out = replace(out, h_t=cache.steps[t].h_prev)
    if not slip.every_step and t < len(cache.tokens) - 1:
        return rnn.logits_backward(np.zeros_like(out.z_t), out)
    dz_t = rnn.softmax_cross_entropy_backward(target, out.y_hat_t) if slip.onehot else out.y_hat_t
    return rnn.logits_backward(dz_t, out)


def _step_grads(slip: _BpttSlip, dh_t, cache: rnn.SequenceCache, t: int) -> rnn.StepGrads:
    """The recurrent step's gradients at step t, with `slip` applied."""
    step = cache.steps[t]
    if slip.dW_H_with_h_t:
        step = replace(step, h_prev=step.h_t)
    if not slip.h0_in_gradient and t == 0:
        step = replace(step, h_prev=np.zeros_like(step.h_prev))
    if slip.tanh_derivative:
        return rnn.step_backward(dh_t, step)
    return rnn.recurrence_backward(dh_t, step)


def _embedding_grad(slip: _BpttSlip, cache: rnn.SequenceCache, dxs: np.ndarray) -> np.ndarray:
    """∂L/∂E: (D, V) from the per-step dx_t, the columns of dxs: (D, T)."""
    dE = np.zeros_like(cache.E, dtype=float)
    if slip.overwrite_E:
        order = range(len(cache.tokens)) if slip.overwrite_E == "last" else reversed(range(len(cache.tokens)))
        for t in order:  # a forward loop keeps the last occurrence, a backward (BPTT) loop the first
            dE[:, cache.tokens[t]] = dxs[:, t]
        return dE
    for t, word in enumerate(cache.tokens):
        dE[:, word] += dxs[:, t]
    return dE


def _bptt_with(slip: _BpttSlip, tokens, targets, E, W_x, W_H, W_y, h0) -> dict[str, np.ndarray]:
    """Gradients "E", "W_x", "W_H", "W_y" of the summed loss, with `slip` applied."""
    cache = rnn.sequence_forward(tokens, E, W_x, W_H, W_y, h0)
    targets = np.asarray(targets).astype(int).reshape(-1)
    T = len(cache.tokens)
    grads = {name: np.zeros(np.shape(w)) for name, w in (("W_x", W_x), ("W_H", W_H), ("W_y", W_y))}
    dxs: list[Any] = [None] * T  # each step's input gradient, filled in from the last
    dh_next = np.zeros_like(cache.steps[0].h_t)
    for t in reversed(range(T)):
        out = _output_grads(slip, int(targets[t]), cache, t)
        step = _step_grads(slip, out.dh_t + dh_next, cache, t)
        grads["W_x"] += step.dW_x
        grads["W_H"] += step.dW_H
        grads["W_y"] += out.dW_y
        dxs[t] = step.dx_t
        dh_next = step.dh_prev if slip.through_time else np.zeros_like(dh_next)
    grads["E"] = _embedding_grad(slip, cache, np.hstack(dxs))
    return {name: grad / T if slip.mean else grad for name, grad in grads.items()}


def _gradient(name: str, slip: _BpttSlip) -> Callable[..., Any]:
    """A function with the signature of `grad_<name>` computing the slipped gradient."""

    def compute(tokens, targets, E, W_x, W_H, W_y, h0):
        return _remembered(("slip", slip), _bptt_with, tokens, targets, E, W_x, W_H, W_y, h0)[name].copy()

    return compute


def _truncated_bptt(depth: int, tokens, targets, E, W_x, W_H, W_y, h0) -> dict[str, np.ndarray]:
    """Gradients "E", "W_x", "W_H" when each L_t flows back only `depth` steps (k >= t - depth)."""
    by_depth = _remembered(("truncated",), _truncated_at_every_depth, tokens, targets, E, W_x, W_H, W_y, h0)
    return {name: grad.copy() for name, grad in by_depth[min(depth, len(by_depth) - 1)].items()}


def _truncated_at_every_depth(tokens, targets, E, W_x, W_H, W_y, h0) -> list[dict[str, np.ndarray]]:
    """The truncated gradients for every depth 0 … T - 1 in one pass: each step's part of the gradient is kept
    by how many steps back it flowed, and a depth's gradient sums the parts that flowed no further."""
    cache = rnn.sequence_forward(tokens, E, W_x, W_H, W_y, h0)
    targets = np.asarray(targets).astype(int).reshape(-1)
    T = len(cache.tokens)
    parts = [_Flowed(np.zeros(np.shape(W_x)), np.zeros(np.shape(W_H)), np.zeros((np.shape(E)[0], T))) for _ in range(T)]
    for t in range(T):
        dh = rnn.output_backward(int(targets[t]), cache.outputs[t]).dh_t
        for k in range(t, -1, -1):
            step = rnn.step_backward(dh, cache.steps[k])
            part = parts[t - k]
            part.W_x += step.dW_x
            part.W_H += step.dW_H
            part.dxs[:, [k]] += step.dx_t
            dh = step.dh_prev
    by_depth, total = [], _Flowed(np.zeros(np.shape(W_x)), np.zeros(np.shape(W_H)), np.zeros((np.shape(E)[0], T)))
    for part in parts:
        total = _Flowed(total.W_x + part.W_x, total.W_H + part.W_H, total.dxs + part.dxs)
        by_depth.append({"W_x": total.W_x, "W_H": total.W_H, "E": _embedding_grad(_BpttSlip(), cache, total.dxs)})
    return by_depth


@dataclass
class _Flowed:
    """Gradient parts, summed."""

    W_x: np.ndarray
    W_H: np.ndarray
    dxs: np.ndarray  # per-step input gradients, as columns


_REMEMBERED: dict[tuple, Any] = {}
REMEMBERED_MOST = 64


def _remembered(kind: tuple, compute: Callable[..., Any], *arrays: Any) -> Any:
    """`compute(*arrays)`, computed once for the same inputs: the gradients of one slip are asked for one name
    at a time (and a truncation once per depth), each from the same run of BPTT."""
    key = (*kind, *((np.shape(a), np.asarray(a).dtype.str, np.asarray(a).tobytes()) for a in arrays))
    if key not in _REMEMBERED:
        if len(_REMEMBERED) >= REMEMBERED_MOST:
            del _REMEMBERED[next(iter(_REMEMBERED))]
        _REMEMBERED[key] = compute(*kind[1:], *arrays)
    return _REMEMBERED[key]


def _truncated(name: str, hint: str, depths: range) -> list[Mistake]:
    """BPTT cut after K steps, for each K: one diagnosis, whatever the depth the student chose."""

    def at_depth(depth: int) -> Callable[..., Any]:
        def compute(tokens, targets, E, W_x, W_H, W_y, h0):
            return _truncated_bptt(depth, tokens, targets, E, W_x, W_H, W_y, h0)[name]

        compute.depth = depth  # type: ignore[attr-defined]  # at depth >= T - 1 it is BPTT itself
        return compute

    return [Mistake("truncated-bptt", hint, at_depth(depth)) for depth in depths]


TRUNCATION_DEPTHS = range(1, 16)  # k >= t - K for K = 1 … 15 (sequences up to 16 words); K = 0 is in the lists


# ---------------------------------------------------------------------------------------------
# The lists
# ---------------------------------------------------------------------------------------------

_GRADIENT_HINTS = {
    "missing-tanh-derivative": "Your gradient matches BPTT without the derivative of tanh: check the factor ∂h_t/∂a_t.",
    "truncated-bptt": "Your gradient matches BPTT that stops after one step: h_t also affects "
    "every later loss through h_{t+1}, so check the ∂h_t/∂h_k terms with k < t.",
    "mean-instead-of-sum": "Your gradient matches the gradient of the average loss per step: "
    "check whether the assignment's L is a sum or a mean over the time steps.",
    "missing-onehot-subtraction": "Your gradient treats ŷ_t as ∂L_t/∂z_t: check the derivative "
    "of the cross-entropy with respect to the logits, where the target word matters.",
    "last-step-only": "Your gradient matches that of the last step's loss alone: check that "
    "every L_t contributes to L.",
}


def _gradient_mistakes(name: str, slips: dict[str, _BpttSlip], hints=None) -> list[Mistake]:
    """Mistakes for `grad_<name>`: one per (diagnosis, slip); hints from the shared table."""
    hints = {**_GRADIENT_HINTS, **(hints or {})}
    return [Mistake(d, hints[d], _gradient(name, slip)) for d, slip in slips.items()]


RNN_STEP: list[Mistake] = [
    Mistake(
        "missing-tanh",
        "Your h_t equals the pre-activation a_t: check that the activation function is applied.",
        _step_without_tanh,
    ),
    Mistake(
        "sigmoid-instead-of-tanh",
        "Your h_t matches a sigmoid of a_t: check which activation function this RNN uses.",
        _step_with_sigmoid,
    ),
    Mistake(
        "tanh-misplaced",
        "Your h_t applies tanh to part of a_t only: the activation takes the whole sum W_H h_{t-1} + W_x x_t.",
        _step_tanh_misplaced,
    ),
]

RNN_FORWARD: list[Mistake] = [
    Mistake(
        "logits-not-softmax",
        "Your y_hats hold the raw scores z_t: each column of y_hats "
        "should be a probability distribution over the vocabulary.",
        _forward(_ForwardSlip(softmax=False)),
    ),
    Mistake(
        "missing-tanh",
        "Your hidden states equal the pre-activations a_t: check that the "
        "activation is applied at every step, before h_t is used.",
        _forward(_ForwardSlip(tanh=False)),
    ),
    Mistake(
        "recurrence-uses-h0",
        "Every step of your forward pass starts from h0: check which hidden state feeds into step t.",
        _forward(_ForwardSlip(recurrence=False)),
    ),
    Mistake(
        "includes-h0",
        "Your hs has one column too many: its first column is h0. hs should "
        "hold only the states produced by the T steps.",
        _forward(_ForwardSlip(hs_start_with_h0=True)),
    ),
    Mistake(
        "tanh-misplaced",
        "Your hidden states apply tanh to part of a_t only: the activation takes the whole sum W_H h_{t-1} + W_x x_t.",
        _forward(_ForwardSlip(tanh_on_recurrence_only=True)),
    ),
]


def _loss_after(slip: _ForwardSlip) -> Callable[..., Any]:
    """A function with `rnn_loss`'s signature whose forward pass has `slip` in it."""

    def compute(tokens, targets, E, W_x, W_H, W_y, h0):
        _, y_hats = _forward_with(slip, tokens, E, W_x, W_H, W_y, h0)
        targets = np.asarray(targets).astype(int).reshape(-1)
        return float(-np.sum(np.log(y_hats[targets, np.arange(len(targets))])))

    return compute


RNN_LOSS: list[Mistake] = [
    Mistake(
        "missing-tanh",
        "Your loss matches a forward pass without the activation: check that h_t = tanh(a_t) at every step.",
        _loss_after(_ForwardSlip(tanh=False)),
    ),
    Mistake(
        "recurrence-uses-h0",
        "Your loss matches a forward pass in which every step starts "
        "from h0: check which hidden state feeds into step t.",
        _loss_after(_ForwardSlip(recurrence=False)),
    ),
    Mistake(
        "tanh-misplaced",
        "Your loss matches a forward pass with tanh on part of a_t only: the "
        "activation takes the whole sum W_H h_{t-1} + W_x x_t.",
        _loss_after(_ForwardSlip(tanh_on_recurrence_only=True)),
    ),
    Mistake(
        "mean-instead-of-sum",
        "Your loss matches the average over the time steps: check how the assignment combines the per-step losses L_t.",
        _loss(np.mean),
    ),
    Mistake(
        "last-step-only",
        "Your loss matches the last word's loss alone: check that every time step contributes to L.",
        _loss(lambda losses: losses[-1]),
    ),
]

GRAD_W_H: list[Mistake] = _gradient_mistakes(
    "W_H",
    {
        "missing-tanh-derivative": _BpttSlip(tanh_derivative=False),
        "truncated-bptt": _BpttSlip(through_time=False),
        "mean-instead-of-sum": _BpttSlip(mean=True),
        "uses-h_t-not-h_prev": _BpttSlip(dW_H_with_h_t=True),
        "ignores-h0": _BpttSlip(h0_in_gradient=False),
        "missing-onehot-subtraction": _BpttSlip(onehot=False),
        "last-step-only": _BpttSlip(every_step=False),
    },
    {
        "uses-h_t-not-h_prev": "Your gradient pairs each step's error with h_t: check which "
        "hidden state W_H multiplies in a_t.",
        "ignores-h0": "Your gradient leaves out the first step's term: check the contribution "
        "of the initial state h0, which need not be zero.",
    },
)

GRAD_W_X: list[Mistake] = _gradient_mistakes(
    "W_x",
    {
        "missing-tanh-derivative": _BpttSlip(tanh_derivative=False),
        "truncated-bptt": _BpttSlip(through_time=False),
        "mean-instead-of-sum": _BpttSlip(mean=True),
        "missing-onehot-subtraction": _BpttSlip(onehot=False),
    },
)

GRAD_W_Y: list[Mistake] = _gradient_mistakes(
    "W_y",
    {
        "mean-instead-of-sum": _BpttSlip(mean=True),
        "missing-onehot-subtraction": _BpttSlip(onehot=False),
        "uses-h_prev-not-h_t": _BpttSlip(dW_y_with_h_prev=True),
    },
    {
        "uses-h_prev-not-h_t": "Your gradient pairs each step's output error with h_{t-1}: "
        "check which hidden state the output layer reads at step t.",
    },
)

GRAD_E: list[Mistake] = _gradient_mistakes(
    "E",
    {
        "missing-tanh-derivative": _BpttSlip(tanh_derivative=False),
        "truncated-bptt": _BpttSlip(through_time=False),
        "mean-instead-of-sum": _BpttSlip(mean=True),
        "repeated-words-overwritten": _BpttSlip(overwrite_E="last"),
        "missing-onehot-subtraction": _BpttSlip(onehot=False),
    },
    {
        "repeated-words-overwritten": "Your gradient is right for words that occur once but "
        "not for a repeated word: every occurrence of a word contributes to its column of E.",
    },
)

_TRUNCATED_HINT = (
    "Your gradient matches BPTT cut off a few steps back: every earlier state h_k (k < t) "
    "affects L_t, so the chain ∂h_t/∂h_k must go all the way back to the first step."
)
for _name, _list in (("W_H", GRAD_W_H), ("W_x", GRAD_W_X), ("E", GRAD_E)):
    _list.extend(_truncated(_name, _TRUNCATED_HINT, TRUNCATION_DEPTHS))

# The same slip made inside the backward loop, which runs t = T-1 … 0 and so keeps the first occurrence.
GRAD_E.append(
    GRAD_E[[m.diagnosis for m in GRAD_E].index("repeated-words-overwritten")]._replace(
        compute=_gradient("E", _BpttSlip(overwrite_E="first"))
    )
)

MISTAKES: dict[str, list[Mistake]] = {
    "rnn_step": RNN_STEP,
    "rnn_forward": RNN_FORWARD,
    "rnn_loss": RNN_LOSS,
    "grad_W_H": GRAD_W_H,
    "grad_W_x": GRAD_W_X,
    "grad_W_y": GRAD_W_Y,
    "grad_E": GRAD_E,
}
