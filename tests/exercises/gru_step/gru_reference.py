"""An instructor's own reference for one GRU step (numpy only), read by the `gru-step` exercise.

Row vectors with a minibatch, as in most courses:

    N   examples in the minibatch
    D   input features
    H   hidden units

    x       (N, D)     the inputs of this step
    prev_h  (N, H)     h_{t-1}
    Wx      (D, 3H)    input weights, packed by gate as [Wx_z | Wx_r | Wx_n]
    Wh      (H, 3H)    recurrent weights, packed as [Wh_z | Wh_r | Wh_n]
    b       (3H,)      one bias per gate unit, packed as [b_z | b_r | b_n]

The convention (reset gate applied after the recurrent product, one bias per gate):

    z       = sigmoid(x Wx_z + prev_h Wh_z + b_z)         (N, H)  update gate
    r       = sigmoid(x Wx_r + prev_h Wh_r + b_r)         (N, H)  reset gate
    n       = tanh(x Wx_n + r * (prev_h Wh_n) + b_n)      (N, H)  candidate
    next_h  = (1 - z) * n + z * prev_h                    (N, H)

so z = 1 keeps the previous state. `*` is the elementwise product. The backward takes dnext_h: (N, H),
the upstream gradient ∂L/∂next_h, and returns the gradients in the order of the forward's inputs.

Everything the grader needs is here: the pair of functions, `shapes` for shape questions, and the two
mistake catalogues. Nothing from the rnn-grader package is imported: the grader only reads the
attributes `diagnosis`, `hint` and `compute` of each catalogue entry.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

__all__ = [
    "Mistake",
    "GRUCache",
    "sigmoid",
    "gru_step_forward",
    "gru_step_backward",
    "shapes",
    "pack_gates",
    "GRU_STEP_FORWARD",
    "GRU_STEP_BACKWARD",
]


class Mistake(NamedTuple):
    """A known wrong answer: a stable kebab-case id, a hint for the student, and how to compute it."""

    diagnosis: str
    hint: str
    compute: Callable[..., Any]


class GRUCache(NamedTuple):
    """What the backward needs: the inputs, the gates z, r, n: (N, H) and hn = prev_h Wh_n: (N, H)."""

    x: np.ndarray
    prev_h: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    b: np.ndarray
    z: np.ndarray
    r: np.ndarray
    n: np.ndarray
    hn: np.ndarray


def sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function, written with tanh so that it never overflows; any shape."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _split(a: np.ndarray) -> list[np.ndarray]:
    """(..., 3H) -> three (..., H) blocks in gate order z, r, n."""
    return np.split(a, 3, axis=-1)


def _gate_inputs(x, prev_h, Wx, Wh, b) -> tuple[np.ndarray, np.ndarray]:
    """(x Wx + b, prev_h Wh): both (N, 3H), the input side and the recurrent side of the gates."""
    return x @ Wx + b, prev_h @ Wh


# ---------------------------------------------------------------------------------------------
# Forward
# ---------------------------------------------------------------------------------------------


def gru_step_forward(x, prev_h, Wx, Wh, b) -> tuple[np.ndarray, GRUCache]:
    """One GRU step: x (N, D), prev_h (N, H), Wx (D, 3H), Wh (H, 3H), b (3H,) -> (next_h (N, H), cache)."""
    ax, ah = _gate_inputs(x, prev_h, Wx, Wh, b)
    (ax_z, ax_r, ax_n), (ah_z, ah_r, hn) = _split(ax), _split(ah)
    z = sigmoid(ax_z + ah_z)
    r = sigmoid(ax_r + ah_r)
    n = np.tanh(ax_n + r * hn)
    next_h = (1.0 - z) * n + z * prev_h
    return next_h, GRUCache(x, prev_h, Wx, Wh, b, z, r, n, hn)


# ---------------------------------------------------------------------------------------------
# Backward, in four steps that the mistakes replace one at a time
# ---------------------------------------------------------------------------------------------


def _through_combine(dnext_h, c: GRUCache):
    """Through next_h = (1 - z) n + z prev_h: (dn, dz, dprev_h along the direct path), each (N, H)."""
    return dnext_h * (1.0 - c.z), dnext_h * (c.prev_h - c.n), dnext_h * c.z


def _through_candidate(dn, c: GRUCache):
    """Through n = tanh(ax_n + r hn): (dan the pre-activation's, dr, dhn), each (N, H)."""
    dan = dn * (1.0 - c.n**2)
    return dan, dan * c.hn, dan * c.r


def _through_gates(dz, dr, c: GRUCache):
    """Through the two sigmoids: (daz, dar), the gradients of their pre-activations, each (N, H)."""
    return dz * c.z * (1.0 - c.z), dr * c.r * (1.0 - c.r)


def _to_inputs(daz, dar, dan, dhn, dh_direct, c: GRUCache):
    """From the gates' pre-activations to (dx (N, D), dprev_h (N, H), dWx (D, 3H), dWh (H, 3H), db (3H,))."""
    dax = np.concatenate([daz, dar, dan], axis=1)  # ∂L/∂(x Wx + b): (N, 3H)
    dah = np.concatenate([daz, dar, dhn], axis=1)  # ∂L/∂(prev_h Wh): (N, 3H)
    dprev_h = dh_direct + dah @ c.Wh.T
    return dax @ c.Wx.T, dprev_h, c.x.T @ dax, c.prev_h.T @ dah, dax.sum(axis=0)


def _backward(dnext_h, c: GRUCache, *, combine=_through_combine, candidate=_through_candidate,
              gates=_through_gates):
    """The backward built from its four steps; the defaults are the correct ones."""
    dn, dz, dh_direct = combine(dnext_h, c)
    dan, dr, dhn = candidate(dn, c)
    daz, dar = gates(dz, dr, c)
    return _to_inputs(daz, dar, dan, dhn, dh_direct, c)


def gru_step_backward(dnext_h, cache: GRUCache):
    """dnext_h (N, H) and the forward's cache -> (dx (N, D), dprev_h (N, H), dWx (D, 3H), dWh (H, 3H), db (3H,))."""
    return _backward(dnext_h, cache)


# ---------------------------------------------------------------------------------------------
# Shapes (for shape questions) and the derived input that packs the gates
# ---------------------------------------------------------------------------------------------


def shapes(N: int, D: int, H: int) -> dict[str, tuple[int, ...]]:
    """Symbol -> shape tuple for the exercise's sizes (the grader calls it with the handout's)."""
    rows = (N, H)
    return {
        "x": (N, D), "prev_h": rows, "next_h": rows, "dnext_h": rows,
        "Wx": (D, 3 * H), "Wh": (H, 3 * H), "b": (3 * H,),
        "z": rows, "r": rows, "n": rows,
        "dx": (N, D), "dprev_h": rows, "dWx": (D, 3 * H), "dWh": (H, 3 * H), "db": (3 * H,),
    }


def pack_gates(gates: np.ndarray) -> np.ndarray:
    """A derived input: per-gate blocks (..., 3, H) -> packed (..., 3H) as [z | r | n].

    Wx_gates (D, 3, H) gives Wx (D, 3H), Wh_gates (H, 3, H) gives Wh (H, 3H), b_gates (3, H) gives b (3H,).
    """
    gates = np.asarray(gates)
    return gates.reshape(*gates.shape[:-2], 3 * gates.shape[-1])


# ---------------------------------------------------------------------------------------------
# Forward slips: each has gru_step_forward's signature and returns (next_h, cache)
# ---------------------------------------------------------------------------------------------


def _swap_z_r(packed: np.ndarray) -> np.ndarray:
    """A copy of Wx (D, 3H), Wh (H, 3H) or b (3H,) with the z and r blocks exchanged."""
    z, r, n = _split(packed)
    return np.concatenate([r, z, n], axis=-1)


def _forward_gates_swapped(x, prev_h, Wx, Wh, b):
    """The first block used as the reset gate and the second as the update gate."""
    return gru_step_forward(x, prev_h, _swap_z_r(Wx), _swap_z_r(Wh), _swap_z_r(b))


def _forward_without_tanh(x, prev_h, Wx, Wh, b):
    """n = x Wx_n + r * (prev_h Wh_n) + b_n, no tanh."""
    _, c = gru_step_forward(x, prev_h, Wx, Wh, b)
    n = _split(x @ Wx + b)[2] + c.r * c.hn
    return (1.0 - c.z) * n + c.z * prev_h, c._replace(n=n)


def _forward_update_gate_sign(x, prev_h, Wx, Wh, b):
    """next_h = z * n + (1 - z) * prev_h: the roles of z and 1 - z exchanged."""
    _, c = gru_step_forward(x, prev_h, Wx, Wh, b)
    return c.z * c.n + (1.0 - c.z) * prev_h, c


def _forward_reset_before_product(x, prev_h, Wx, Wh, b):
    """n = tanh(x Wx_n + (r * prev_h) Wh_n + b_n): the other textbook variant, not this exercise's.

    With H = 1 the two variants are the same function, so this slip shows only when H >= 2.
    """
    _, c = gru_step_forward(x, prev_h, Wx, Wh, b)
    ax_n = _split(x @ Wx + b)[2]
    n = np.tanh(ax_n + (c.r * prev_h) @ _split(Wh)[2])
    return (1.0 - c.z) * n + c.z * prev_h, c._replace(n=n)


GRU_STEP_FORWARD: list[Mistake] = [
    Mistake("gates-swapped", "Your next_h matches a GRU whose update and reset gates are exchanged: "
            "check which block of the packed weights [z | r | n] feeds which gate.", _forward_gates_swapped),
    Mistake("missing-tanh", "Your next_h matches a candidate n without its activation: check that n "
            "goes through tanh.", _forward_without_tanh),
    Mistake("update-gate-sign", "Your next_h matches (z * n + (1 - z) * prev_h): check which of z and "
            "1 - z multiplies the previous state.", _forward_update_gate_sign),
    Mistake("reset-before-product", "Your candidate applies the reset gate to prev_h before the product "
            "with Wh_n: in this exercise r multiplies (prev_h Wh_n).", _forward_reset_before_product),
]


# ---------------------------------------------------------------------------------------------
# Backward slips: each has gru_step_backward's signature and receives the reference cache
# ---------------------------------------------------------------------------------------------


def _gates_without_derivative(dz, dr, c):
    """The sigmoids' derivatives left out: (dz, dr) passed on as they are."""
    return dz, dr


def _candidate_without_derivative(dn, c):
    """The tanh derivative left out: dan = dn."""
    return dn, dn * c.hn, dn * c.r


def _candidate_without_reset(dn, c):
    """Differentiated as if n = tanh(ax_n + hn): no gradient reaches r, and hn's is not scaled by r."""
    dan = dn * (1.0 - c.n**2)
    return dan, np.zeros_like(dan), dan


def _combine_update_gate_sign(dnext_h, c):
    """Differentiated as if next_h = z n + (1 - z) prev_h."""
    return dnext_h * c.z, dnext_h * (c.n - c.prev_h), dnext_h * (1.0 - c.z)


def _combine_without_direct_path(dnext_h, c):
    """The direct path next_h <- z * prev_h forgotten: dprev_h only flows through the gates."""
    dn, dz, dh_direct = _through_combine(dnext_h, c)
    return dn, dz, np.zeros_like(dh_direct)


def _slipped(**step) -> Callable[..., Any]:
    """A function with gru_step_backward's signature with one of its steps replaced."""

    def compute(dnext_h, cache):
        return _backward(dnext_h, cache, **step)

    return compute


GRU_STEP_BACKWARD: list[Mistake] = [
    Mistake("missing-sigmoid-derivative", "Your gradients match a backward that skips the gates' "
            "activations: check what the gradient crosses on its way through z and r.",
            _slipped(gates=_gates_without_derivative)),
    Mistake("missing-tanh-derivative", "Your gradients match a backward that skips the candidate's "
            "activation: check what the gradient crosses on its way through n.",
            _slipped(candidate=_candidate_without_derivative)),
    Mistake("reset-gate-ignored-in-backward", "Your gradients match a candidate without the reset gate: "
            "check how r enters n, and what r and prev_h Wh_n each receive.",
            _slipped(candidate=_candidate_without_reset)),
    Mistake("update-gate-sign", "Your gradients match next_h = z * n + (1 - z) * prev_h: check which of z "
            "and 1 - z multiplies each term.", _slipped(combine=_combine_update_gate_sign)),
    Mistake("missing-direct-path", "Your dprev_h misses a term: prev_h reaches next_h directly as well as "
            "through the gates.", _slipped(combine=_combine_without_direct_path)),
]
