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

import numpy as np

__all__ = ["forward_quantities", "one_step_jacobian", "model_writeup", "MODEL_WRITEUP"]


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
