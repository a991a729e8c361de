# Homework 3 -- RNN / BPTT
# shapes: I wrote them the way they are in my notes, hope that's ok

import numpy as np
import math

try:
    import matplotlib.pyplot as plt
    HAVE_PLT = True
except ImportError:          # not installed on the lab machines
    HAVE_PLT = False

SHAPES = {
    "W_H": "7 \\times 7",
    "h_t": "7x1",
    "W_x": (7, 15),
    "x_t": "15 × 1",
    "a_t": "\\boxed{7 \\times 1}",
    "z_t": "10 by 1",
    "W_y": [10, 7],
    "y_t": "[10, 1]",
    "E": "15 by 10",   # D x V (one column per word!)
}


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(W_H @ h_prev + W_x @ x_t)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    T = len(tokens)
    hs = np.zeros((W_H.shape[0], T))
    ys = np.zeros((W_y.shape[0], T))
    h = h0.copy()
    for t in range(T):
        h = rnn_step(E[:, tokens[t]][:, None], h, W_x, W_H)
        z = W_y @ h
        z = np.exp(z - z.max())
        hs[:, t] = h[:, 0]
        ys[:, t] = (z / z.sum())[:, 0]
    return hs, ys


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    return -sum(math.log(ys[targets[t], t]) for t in range(len(tokens)))


def _grads(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    dWH, dWx, dWy, dE = (np.zeros_like(M) for M in (W_H, W_x, W_y, E))
    dh_next = np.zeros(W_H.shape[0])
    for t in range(T - 1, -1, -1):
        e = ys[:, t].copy()
        e[targets[t]] -= 1
        dWy += np.outer(e, hs[:, t])
        delta = (W_y.T @ e + dh_next) * (1 - hs[:, t] ** 2)
        prev = hs[:, t - 1] if t > 0 else h0[:, 0]
        dWH += np.outer(delta, prev)
        dWx += np.outer(delta, E[:, tokens[t]])
        dE[:, tokens[t]] += W_x.T @ delta
        dh_next = W_H.T @ delta
    return dWH, dWx, dWy, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[3]


if __name__ == "__main__":
    # train a little bit on a toy sequence and plot the loss
    rng = np.random.default_rng(1)
    V, D, H = 10, 15, 7
    E = rng.normal(size=(D, V)) * 0.5
    W_x = rng.normal(size=(H, D)) * 0.2
    W_H = rng.normal(size=(H, H)) * 0.2
    W_y = rng.normal(size=(V, H)) * 0.2
    h0 = np.zeros((H, 1))
    tokens = np.array([0, 1, 2, 3, 4])
    targets = np.array([1, 2, 3, 4, 5])
    losses = []
    for it in range(100):
        losses.append(rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0))
        g = _grads(tokens, targets, E, W_x, W_H, W_y, h0)
        W_H -= 0.1 * g[0]; W_x -= 0.1 * g[1]; W_y -= 0.1 * g[2]; E -= 0.1 * g[3]
    print(losses[0], "->", losses[-1])
    if HAVE_PLT:
        plt.plot(losses)
        plt.xlabel("iteration")
        plt.ylabel("L")
        plt.show()
