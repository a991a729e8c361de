"""The common wrong answers to the LSTM part of CS231n's `rnn_layers.py`, so that a wrong answer can
be named.

Each `Mistake.compute` has the signature and return form of the function of `reference.cs231n_lstm`
it stands for, and is that function with exactly one thing changed; a backward's `compute` takes the
reference's own cache. Notation as in `reference.cs231n_lstm` (N, T, D, H; row vectors; gates i, f,
o, g from the 4H split).

The lists are named after the functions in upper case (`LSTM_STEP_BACKWARD` for
`lstm_step_backward`); `MISTAKES` maps each function name to its list. A `diagnosis` is a stable
kebab-case id; the same id in two lists names the same slip (a slip of a step function is also
listed for the sequence function that loops it). A `hint` says where to look, not what to write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference import cs231n_lstm as ref
from reference.mistakes import Mistake

__all__ = ["LSTM_STEP_FORWARD", "LSTM_STEP_BACKWARD", "LSTM_FORWARD", "LSTM_BACKWARD", "MISTAKES"]

GATES = ("i", "f", "o", "g")  # the order of the blocks of a: (N, 4H)


def _reordered(blocks: tuple[np.ndarray, ...], order: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Blocks read in `order` handed out as i, f, o, g: ("i", "f", "g", "o") takes the third block for g."""
    named = dict(zip(order, blocks))
    return tuple(named[gate] for gate in GATES)


# ---------------------------------------------------------------------------------------------
# Step forward slips: each is `lstm_step_forward` with one change
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ForwardSlip:
    """One departure from `lstm_step_forward`; the defaults are the correct step."""

    order: tuple[str, ...] = GATES  # the gates the blocks of a are taken for, in turn
    forget_prev_h: bool = False  # True: next_c = f * prev_h + i * g
    cell_tanh: bool = True  # False: next_h = o * next_c
    g_sigmoid: bool = False  # True: g = sigmoid(a_g), like the other three


def _step_forward(slip: _ForwardSlip) -> Callable[..., Any]:
    """`lstm_step_forward` with `slip` applied; the cache holds what the slipped step computed."""

    def compute(x, prev_h, prev_c, Wx, Wh, b):
        a_i, a_f, a_o, a_g = _reordered(ref.split_gates(x @ Wx + prev_h @ Wh + b), slip.order)
        i, f, o = ref.sigmoid(a_i), ref.sigmoid(a_f), ref.sigmoid(a_o)
        g = ref.sigmoid(a_g) if slip.g_sigmoid else np.tanh(a_g)
        next_c = f * (prev_h if slip.forget_prev_h else prev_c) + i * g
        next_h = o * (np.tanh(next_c) if slip.cell_tanh else next_c)
        cache = ref.StepCache(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, i=i, f=f, o=o, g=g, next_c=next_c)
        return next_h, next_c, cache

    return compute


# ---------------------------------------------------------------------------------------------
# Step backward slips: each is `lstm_step_backward` with one change
# ---------------------------------------------------------------------------------------------


def _sigmoid_derivative(s):
    return s * (1 - s)


def _tanh_derivative(t):
    return 1 - t**2


@dataclass(frozen=True)
class _BackwardSlip:
    """One departure from `lstm_step_backward`; the defaults are the correct step backward."""

    cell_tanh_derivative: bool = True  # False: dc = dnext_c + dnext_h * o
    cell_derivative_of_c: bool = False  # True: 1 - next_c**2, where 1 - tanh(next_c)**2 belongs
    add_dnext_c: bool = True  # False: dc = dnext_h * o * (1 - tanh(next_c)**2) alone
    forget_in_dprev_c: bool = True  # False: dprev_c = dc
    forget_prev_h: bool = False  # True: df = dc * prev_h
    sigmoid_derivative: Callable[[np.ndarray], np.ndarray] = _sigmoid_derivative  # of a gate's value
    sigmoid_gates: tuple[str, ...] = ("i", "f", "o")  # the gates that take `sigmoid_derivative`, the others σ'
    g_derivative: Callable[[np.ndarray], np.ndarray] = _tanh_derivative  # of g's value
    order: tuple[str, ...] = GATES  # the order the gates' gradients are put together in
    db_axis: int = 0  # 1: db summed over the gates, (N,)


def _cell_backward(slip: _BackwardSlip, dnext_h, dnext_c, cache: ref.StepCache) -> np.ndarray:
    """∂L/∂c_t with `slip` applied."""
    squashed = np.tanh(cache.next_c)
    if not slip.cell_tanh_derivative:
        through_h = dnext_h * cache.o
    else:
        through_h = dnext_h * cache.o * _tanh_derivative(cache.next_c if slip.cell_derivative_of_c else squashed)
    return (dnext_c if slip.add_dnext_c else 0.0) + through_h


def _gates_backward(slip: _BackwardSlip, dnext_h, dc, cache: ref.StepCache) -> np.ndarray:
    """∂L/∂a_t: (N, 4H) with `slip` applied."""
    i, f, o, g = cache.i, cache.f, cache.o, cache.g
    df = dc * (cache.prev_h if slip.forget_prev_h else cache.prev_c)
    di, do, dg = dc * g, dnext_h * np.tanh(cache.next_c), dc * i
    sigma = {gate: slip.sigmoid_derivative if gate in slip.sigmoid_gates else _sigmoid_derivative for gate in "ifo"}
    blocks = (di * sigma["i"](i), df * sigma["f"](f), do * sigma["o"](o), dg * slip.g_derivative(g))
    in_order = dict(zip(GATES, blocks))
    return np.concatenate([in_order[gate] for gate in slip.order], axis=1)


def _step_backward(slip: _BackwardSlip) -> Callable[..., ref.StepGrads]:
    """`lstm_step_backward` with `slip` applied."""

    def compute(dnext_h, dnext_c, cache: ref.StepCache) -> ref.StepGrads:
        dc = _cell_backward(slip, dnext_h, dnext_c, cache)
        da = _gates_backward(slip, dnext_h, dc, cache)
        dx, dprev_h, dWx, dWh, _ = ref.affine_backward(da, cache)
        dprev_c = dc * cache.f if slip.forget_in_dprev_c else dc
        return ref.StepGrads(dx=dx, dprev_h=dprev_h, dprev_c=dprev_c, dWx=dWx, dWh=dWh, db=da.sum(axis=slip.db_axis))

    return compute


# ---------------------------------------------------------------------------------------------
# Sequence slips
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SequenceSlip:
    """One departure from `lstm_forward`; the defaults are the correct loop."""

    step: Callable[..., Any] = ref.lstm_step_forward  # the step it loops
    c0_from_h0: bool = False  # True: the first cell state is h0, where zeros belong
    h_from_h0: bool = False  # True: every step starts from h0
    c_from_zeros: bool = False  # True: every step starts from a cell state of zeros


def _forward(slip: _SequenceSlip) -> Callable[..., Any]:
    """`lstm_forward` with `slip` applied."""

    def compute(x, h0, Wx, Wh, b):
        c0 = h0 if slip.c0_from_h0 else np.zeros_like(h0, dtype=float)
        h_t, c_t, hs, steps = h0, c0, [], []
        for t in range(x.shape[1]):
            prev_h, prev_c = (h0 if slip.h_from_h0 else h_t), (c0 if slip.c_from_zeros else c_t)
            h_t, c_t, step = slip.step(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
            hs.append(h_t)
            steps.append(step)
        return np.stack(hs, axis=1), ref.SequenceCache(steps=tuple(steps))

    return compute


@dataclass(frozen=True)
class _BpttSlip:
    """One departure from `lstm_backward`; the defaults are the correct loop."""

    step: Callable[..., ref.StepGrads] = ref.lstm_step_backward  # the step backward it loops
    carry_h: bool = True  # False: step t's dnext_h is dh[:, t] alone
    carry_c: bool = True  # False: step t's dnext_c is zeros
    every_step: bool = True  # False: dh enters at the last step only, then just dprev_h flows back
    reverse: bool = True  # False: the loop runs t = 0 … T-1
    dh0_from_step_0: bool = True  # False: dh0 is the dnext_h that entered step 0, not the dprev_h it gave


def _bptt(slip: _BpttSlip) -> Callable[..., Any]:
    """`lstm_backward` with `slip` applied; dh0 is the last dprev_h the loop computed."""

    def compute(dh, cache: ref.SequenceCache):
        T = len(cache.steps)
        grads: list[Any] = [None] * T  # each step's StepGrads, in the order the loop reaches them
        dprev_h = np.zeros_like(dh[:, 0, :], dtype=float)
        dprev_c = np.zeros_like(dprev_h)
        for t in reversed(range(T)) if slip.reverse else range(T):
            upstream = dh[:, t, :] if slip.every_step or t == T - 1 else 0.0
            dnext_h = upstream + (dprev_h if slip.carry_h else 0.0)
            grads[t] = slip.step(dnext_h, dprev_c if slip.carry_c else np.zeros_like(dprev_c), cache.steps[t])
            dprev_h, dprev_c = grads[t].dprev_h, grads[t].dprev_c
        return ref.SequenceGrads(
            dx=np.stack([g.dx for g in grads], axis=1),
            dh0=dprev_h if slip.dh0_from_step_0 else np.asarray(dnext_h),
            dWx=sum(g.dWx for g in grads),
            dWh=sum(g.dWh for g in grads),
            db=sum(g.db for g in grads),
        )

    return compute


# ---------------------------------------------------------------------------------------------
# The lists
# ---------------------------------------------------------------------------------------------

_FORWARD_HINTS = {
    "gate-order-wrong": "Your gates match a split of a taken in another order: check which block of "
    "columns belongs to each of i, f, o and g.",
    "forget-gate-on-wrong-state": "Your cell state matches a forget gate applied to the wrong state: check "
    "what the forget gate multiplies.",
    "missing-cell-tanh": "Your next_h matches the output gate times the cell state itself: check how next_c "
    "is squashed before the output gate.",
    "g-gate-sigmoid": "Your cell state matches a candidate g squashed like the three gates: check which "
    "activation the block g takes.",
}

_BACKWARD_HINTS = {
    "missing-cell-tanh-derivative": "Your gradients match a backward without the derivative of tanh(next_c): "
    "next_h depends on next_c through a tanh, so check the cell's gradient.",
    "cell-tanh-derivative-of-c": "Your gradients match a derivative of tanh taken as if next_c were already "
    "squashed: check what the derivative of tanh(next_c) is written in.",
    "dnext_c-not-added": "Your gradients ignore dnext_c: the cell state also flows on to the next step, so "
    "check everything that reaches next_c.",
    "dprev_c-without-forget-gate": "Your dprev_c passes the cell's gradient through unchanged: prev_c reaches "
    "next_c through a gate, so check dprev_c.",
    "forget-gate-on-wrong-state": "Your gradient of the forget gate uses the wrong state: check what the forget "
    "gate multiplies in the forward pass.",
    "sigmoid-derivative-wrong": "Your gradients match a wrong derivative of the sigmoid gates: check the "
    "derivative of the sigmoid, written in terms of the gate's value.",
    "g-derivative-wrong": "Your gradients match a wrong derivative for the block g: check which activation "
    "g takes and its derivative.",
    "gate-order-wrong": "Your gradients put the gates' blocks together in another order: check that each "
    "block of da sits where its gate was split from a.",
    "db-over-wrong-axis": "Your db is summed over the wrong axis: b is added to every row of the minibatch, "
    "so check which axis db sums over.",
}

_SEQUENCE_HINTS = {
    "initial-cell-from-h0": "Your forward pass starts the cell state from h0: check what the initial cell state is.",
    "recurrence-uses-h0": "Every step of your forward pass starts from h0: check which hidden state feeds into step t.",
    "cell-state-not-carried": "Every step of your forward pass starts from the initial cell state: check "
    "which cell state feeds into step t.",
    "cell-gradient-not-carried": "Your gradients match BPTT in which no cell gradient reaches earlier steps: "
    "check that dprev_c of step t+1 reaches step t's backward, and that the step backward uses it.",
    "dprev_h-not-carried": "Your gradients match BPTT in which each step sees only its own dh[:, t]: h_t also "
    "feeds step t+1, so check what else flows into step t.",
    "upstream-only-at-last-step": "Your gradients use dh only at the last step: dh holds the upstream gradient "
    "of every hidden state, so check what enters the earlier steps.",
    "dh0-not-from-step-0": "Your dh0 matches the upstream gradient that enters the first step: h0 is that step's "
    "previous hidden state, so check what the first step's backward gives for it.",
    "time-loop-not-reversed": "Your gradients match a loop that runs forwards in time: check the order in "
    "which the steps must be visited for dprev_h and dprev_c to be ready.",
}

# (diagnosis, slip); an id appears more than once for several forms of one slip.
_FORWARD_SLIPS: list[tuple[str, _ForwardSlip]] = [
    ("gate-order-wrong", _ForwardSlip(order=("i", "f", "g", "o"))),
    ("gate-order-wrong", _ForwardSlip(order=("f", "i", "o", "g"))),
    ("forget-gate-on-wrong-state", _ForwardSlip(forget_prev_h=True)),
    ("missing-cell-tanh", _ForwardSlip(cell_tanh=False)),
    ("g-gate-sigmoid", _ForwardSlip(g_sigmoid=True)),
]

_BACKWARD_SLIPS: list[tuple[str, _BackwardSlip]] = [
    ("missing-cell-tanh-derivative", _BackwardSlip(cell_tanh_derivative=False)),
    ("cell-tanh-derivative-of-c", _BackwardSlip(cell_derivative_of_c=True)),
    ("dnext_c-not-added", _BackwardSlip(add_dnext_c=False)),
    ("dprev_c-without-forget-gate", _BackwardSlip(forget_in_dprev_c=False)),
    ("forget-gate-on-wrong-state", _BackwardSlip(forget_prev_h=True)),
    # 1 - s**2 (tanh's, as for g) or nothing, in every sigmoid gate or in one; or σ'(s) of the gate's value s.
    *(
        ("sigmoid-derivative-wrong", _BackwardSlip(sigmoid_derivative=wrong, sigmoid_gates=gates))
        for wrong in (_tanh_derivative, np.ones_like)
        for gates in (("i", "f", "o"), ("i",), ("f",), ("o",))
    ),
    ("sigmoid-derivative-wrong", _BackwardSlip(sigmoid_derivative=lambda s: ref.sigmoid(s) * (1 - ref.sigmoid(s)))),
    ("g-derivative-wrong", _BackwardSlip(g_derivative=_sigmoid_derivative)),  # g * (1 - g)
    ("g-derivative-wrong", _BackwardSlip(g_derivative=np.ones_like)),  # left out
    ("gate-order-wrong", _BackwardSlip(order=("i", "f", "g", "o"))),
    ("db-over-wrong-axis", _BackwardSlip(db_axis=1)),
]

_SEQUENCE_SLIPS: list[tuple[str, _SequenceSlip]] = [
    ("initial-cell-from-h0", _SequenceSlip(c0_from_h0=True)),
    ("recurrence-uses-h0", _SequenceSlip(h_from_h0=True)),
    ("cell-state-not-carried", _SequenceSlip(c_from_zeros=True)),
]

_BPTT_SLIPS: list[tuple[str, _BpttSlip]] = [
    ("cell-gradient-not-carried", _BpttSlip(carry_c=False)),
    ("dprev_h-not-carried", _BpttSlip(carry_h=False)),
    ("upstream-only-at-last-step", _BpttSlip(every_step=False)),
    ("time-loop-not-reversed", _BpttSlip(reverse=False)),
    ("dh0-not-from-step-0", _BpttSlip(dh0_from_step_0=False)),
]

# In the sequence, a step backward that ignores dnext_c is BPTT without the cell's gradient carried:
# the same answer, named once, by the sequence's slip (whose hint speaks of both).
_LOOPED_BACKWARD_SLIPS = [(d, slip) for d, slip in _BACKWARD_SLIPS if d != "dnext_c-not-added"]

LSTM_STEP_FORWARD: list[Mistake] = [Mistake(d, _FORWARD_HINTS[d], _step_forward(s)) for d, s in _FORWARD_SLIPS]

LSTM_STEP_BACKWARD: list[Mistake] = [Mistake(d, _BACKWARD_HINTS[d], _step_backward(s)) for d, s in _BACKWARD_SLIPS]

LSTM_FORWARD: list[Mistake] = [
    *(Mistake(d, _FORWARD_HINTS[d], _forward(_SequenceSlip(step=_step_forward(s)))) for d, s in _FORWARD_SLIPS),
    *(Mistake(d, _SEQUENCE_HINTS[d], _forward(slip)) for d, slip in _SEQUENCE_SLIPS),
]

LSTM_BACKWARD: list[Mistake] = [
    *(Mistake(d, _SEQUENCE_HINTS[d], _bptt(slip)) for d, slip in _BPTT_SLIPS),
    *(Mistake(d, _BACKWARD_HINTS[d], _bptt(_BpttSlip(step=_step_backward(s)))) for d, s in _LOOPED_BACKWARD_SLIPS),
]

MISTAKES: dict[str, list[Mistake]] = {
    "lstm_step_forward": LSTM_STEP_FORWARD,
    "lstm_step_backward": LSTM_STEP_BACKWARD,
    "lstm_forward": LSTM_FORWARD,
    "lstm_backward": LSTM_BACKWARD,
}
