"""The model's equations one at a time, for grading a written derivation (Task 2, written).

Column vectors, in the assignment's notation (T, V, D, H as in `reference.rnn`):

    a_t = W_H h_{t-1} + W_x x_t    (H, 1)
    h_t = tanh(a_t)                (H, 1)
    z_t = W_y h_t                  (V, 1)
    ŷ_t = softmax(z_t)             (V, 1)
    L_t = -log ŷ_t[target]         a scalar; y_t is the one-hot target (V, 1)

`forward_quantities` computes every quantity from the named arrays a write-up's equations use, so
the expected right-hand sides are never typed in by hand. `MODEL_WRITEUP` is the derivation as the
handout writes it: `rnn-grader validate` checks that the written questions give it full marks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference import rnn

__all__ = ["forward_quantities", "one_step_jacobian", "unrolled_model", "model_writeup", "MODEL_WRITEUP"]


def forward_quantities(
    W_H: np.ndarray, W_x: np.ndarray, W_y: np.ndarray, h_prev: np.ndarray, x_t: np.ndarray, y: np.ndarray
) -> dict[str, np.ndarray]:
    """a_t, h_t: (H, 1); z_t, y_hat: (V, 1); L_t: () from W_H (H, H), W_x (H, D), W_y (V, H),
    h_prev (H, 1), x_t (D, 1) and the one-hot target y (V, 1)."""
    a_t = W_H @ h_prev + W_x @ x_t
    h_t = np.tanh(a_t)
    z_t = W_y @ h_t
    shifted = np.exp(z_t - z_t.max(axis=0, keepdims=True))
    y_hat = shifted / shifted.sum(axis=0, keepdims=True)
    L_t = -np.log(float((y * y_hat).sum()))
    return {"a_t": a_t, "h_t": h_t, "z_t": z_t, "y_hat": y_hat, "L_t": np.asarray(L_t)}


def one_step_jacobian(W_H: np.ndarray, h_t: np.ndarray) -> np.ndarray:
    """∂h_t/∂h_{t-1} = diag(1 - h_t²) W_H: (H, H), from W_H (H, H) and h_t (H, 1)."""
    return (1.0 - h_t**2) * W_H


def unrolled_model(T: int, V: int, D: int, H: int, seed: int = 20261206) -> dict:
    """The model unrolled over a random sentence, for judging a written gradient by its value.

    `per_step[q][t]` is quantity q at step t (index 0 is h_0's step: only `h_t` has a value there);
    `derivatives["num/den"][t]` a local derivative at step t (the one-step Jacobian under "h_t/h_prev",
    total adjoints under "L/h_t" and "L/a_t"); `answer` is ∂L/∂W_H from `reference.rnn.bptt`;
    `mistakes` the gradient each common slip gives, and `derivative_mistakes` the same for local derivatives.
    """
    generator = np.random.default_rng(seed)
    tokens, targets = generator.integers(V, size=T), generator.integers(V, size=T)
    E, h0 = generator.normal(scale=0.8, size=(D, V)), generator.normal(scale=0.5, size=(H, 1))
    W_x, W_H, W_y = (generator.normal(scale=0.6, size=shape) for shape in ((H, D), (H, H), (V, H)))
    cache = rnn.sequence_forward(tokens, E, W_x, W_H, W_y, h0)
    h: list[Any] = [h0] + [step.h_t for step in cache.steps]
    a: list[Any] = [None] + [step.a_t for step in cache.steps]
    y_hat: list[Any] = [None] + [out.y_hat_t for out in cache.outputs]
    onehot: list[Any] = [None] + [np.eye(V)[:, [target]] for target in targets]
    errors: list[Any] = [None] + [y_hat[t] - onehot[t] for t in range(1, T + 1)]
    local: list[Any] = [None] + [W_y.T @ errors[t] for t in range(1, T + 1)]
    answer = rnn.bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]
    _, adjoint_h, adjoint_a = _backward(W_H, h, local, lambda t: 1 - h[t] ** 2, transpose=True)
    return {
        "steps": T,
        "target": "y",
        "previous": {"h_t": "h_prev"},
        "activation": {"state": "h_t", "preactivation": "a_t"},  # h_t = tanh(a_t)
        "arrays": {"W_H": W_H, "W_x": W_x, "W_y": W_y, "E": E},
        "per_step": {
            "h_t": h,
            "a_t": a,
            "x_t": [None] + [E[:, [token]] for token in tokens],
            "z_t": [None] + [out.z_t for out in cache.outputs],
            "y_hat": y_hat,
            "y": onehot,
        },
        "derivatives": {
            "L_t/z_t": errors,
            "z_t/h_t": [None] + [W_y] * T,
            "h_t/a_t": [None] + [np.diagflat(1 - h[t] ** 2) for t in range(1, T + 1)],
            "a_t/h_prev": [None] + [W_H] * T,
            "h_t/h_prev": [None] + [one_step_jacobian(W_H, h[t]) for t in range(1, T + 1)],
            "L_t/h_t": local,
            "L/h_t": adjoint_h,
            "L/a_t": adjoint_a,
        },
        "answer": answer,
        "mistakes": _gradient_mistakes(W_H, h, a, local, answer),
        "derivative_mistakes": {
            "h_t/h_prev": {
                "missing-tanh-derivative": [None] + [W_H] * T,
                "tanh-derivative-at-wrong-step": [None] + [one_step_jacobian(W_H, h[t - 1]) for t in range(1, T + 1)],
            },
            "h_t/a_t": {
                "tanh-derivative-of-wrong-quantity": [None] + [np.diagflat(1 - a[t] ** 2) for t in range(1, T + 1)]
            },
            "L_t/z_t": {"sign-flipped": [None] + [-errors[t] for t in range(1, T + 1)]},
        },
    }


def _backward(W_H, h, local, tanh_slope, *, transpose: bool, through_time: bool = True):
    """∂L/∂W_H by the δ recursion, with each slip a switch: (gradient, ∂L/∂h_t, ∂L/∂a_t) by step."""
    T = len(h) - 1
    adjoint_h: list = [None] * (T + 2)
    adjoint_a: list = [None] * (T + 2)
    later = np.zeros_like(h[0])
    gradient = np.zeros_like(W_H)
    for t in range(T, 0, -1):
        adjoint_h[t] = local[t] + ((W_H.T if transpose else W_H) @ later if through_time else 0)
        adjoint_a[t] = tanh_slope(t) * adjoint_h[t]
        gradient += adjoint_a[t] @ h[t - 1].T
        later = adjoint_a[t]
    return gradient, adjoint_h[: T + 1], adjoint_a[: T + 1]


def _gradient_mistakes(W_H, h, a, local, answer) -> dict[str, np.ndarray]:
    """The gradient as each common slip computes it (a slip that changes nothing is left out)."""
    T = len(h) - 1
    slope = lambda t: 1 - h[t] ** 2  # noqa: E731
    _, _, adjoint_a = _backward(W_H, h, local, slope, transpose=True)
    found = {
        "sign-flipped": -answer,
        "transposed": answer.T,
        "wrong-state-in-outer-product": sum(adjoint_a[t] @ h[t].T for t in range(1, T + 1)),
        "untransposed-recurrent-weight": _backward(W_H, h, local, slope, transpose=False)[0],
        "truncated-bptt": _backward(W_H, h, local, slope, transpose=True, through_time=False)[0],
        "missing-tanh-derivative": _backward(W_H, h, local, lambda t: 1.0, transpose=True)[0],
        "tanh-derivative-of-wrong-quantity": _backward(W_H, h, local, lambda t: 1 - a[t] ** 2, transpose=True)[0],
        "tanh-derivative-at-wrong-step": _backward(W_H, h, local, lambda t: 1 - h[t - 1] ** 2, transpose=True)[0],
    }
    return {name: value for name, value in found.items() if not np.allclose(value, answer)}


MODEL_WRITEUP = r"""
The model, for each step t:

$$a_t = W_H h_{t-1} + W_x x_t$$
$$h_t = \tanh(a_t)$$
$$z_t = W_y h_t$$
$$\hat{y}_t = \text{softmax}(z_t)$$
$$L_t = -\log \hat{y}_t[y_t]$$

Dependency chain:
$L_t \rightarrow \hat{y}_t \rightarrow z_t \rightarrow h_t \rightarrow h_{t-1} \rightarrow \dots \rightarrow h_1$,
and every $h_k$ depends on $W_H$.

$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \sum_{k=1}^{t} \frac{\partial L_t}{\partial \hat{y}_t}
\frac{\partial \hat{y}_t}{\partial z_t} \frac{\partial z_t}{\partial h_t} \frac{\partial h_t}{\partial h_k}
\frac{\partial h_k}{\partial W_H}$$

$$\frac{\partial h_t}{\partial h_k} = \prod_{j=k+1}^{t} \frac{\partial h_j}{\partial h_{j-1}}$$
"""


def model_writeup() -> str:
    """The handout's derivation, as a student would write it in Markdown."""
    return MODEL_WRITEUP
