import numpy as np
import sys

sys.setrecursionlimit(10000)   # forward is recursive, long sequences need this


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(W_H @ h_prev + W_x @ x_t)


def _h(t, tokens, E, W_x, W_H, h0, memo):
    """h_t computed recursively (t = 0 is h0)"""
    if t == 0:
        return h0
    if t not in memo:
        memo[t] = rnn_step(E[:, [tokens[t - 1]]], _h(t - 1, tokens, E, W_x, W_H, h0, memo), W_x, W_H)
    return memo[t]


def _softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    memo = {}
    T = len(tokens)
    hs = [_h(t, tokens, E, W_x, W_H, h0, memo) for t in range(1, T + 1)]
    ys = [_softmax(W_y @ h) for h in hs]
    return np.hstack(hs), np.hstack(ys)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    return -np.sum(np.log(ys[targets, np.arange(len(tokens))]))


def _all(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    out = dict(W_H=np.zeros_like(W_H), W_x=np.zeros_like(W_x), W_y=np.zeros_like(W_y), E=np.zeros_like(E))
    delta_next = np.zeros((W_H.shape[0], 1))
    for t in range(T, 0, -1):            # 1-based like the handout
        h_t = hs[:, [t - 1]]
        h_prev = hs[:, [t - 2]] if t >= 2 else h0
        x_t = E[:, [tokens[t - 1]]]
        e_t = ys[:, [t - 1]].copy()
        e_t[targets[t - 1]] -= 1
        out["W_y"] += e_t @ h_t.T
        delta = (1 - h_t ** 2) * (W_y.T @ e_t + W_H.T @ delta_next)
        out["W_H"] += delta @ h_prev.T
        out["W_x"] += delta @ x_t.T
        out["E"][:, [tokens[t - 1]]] += W_x.T @ delta
        delta_next = delta
    return out


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _all(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _all(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _all(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _all(tokens, targets, E, W_x, W_H, W_y, h0)["E"]
