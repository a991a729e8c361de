import numpy as np


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(W_H @ h_prev + W_x @ x_t)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    hs, ys = [], []
    h = h0
    for w in tokens:
        h = rnn_step(E[:, [w]], h, W_x, W_H)
        z = W_y @ h
        p = np.exp(z - z.max())
        hs.append(h)
        ys.append(p / p.sum()
    return np.hstack(hs), np.hstack(ys)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    return -np.sum(np.log(ys[targets, np.arange(len(tokens))]))


def _bptt(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    dz_all = ys.copy()
    dz_all[targets, np.arange(T)] -= 1
    g = {"W_H": np.zeros_like(W_H), "W_x": np.zeros_like(W_x), "E": np.zeros_like(E),
         "W_y": dz_all @ hs.T}
    dh_next = np.zeros((W_H.shape[0], 1))
    for t in range(T - 1, -1, -1):
        h = hs[:, [t]]
        h_prev = hs[:, [t - 1]] if t else h0
        da = (W_y.T @ dz_all[:, [t]] + dh_next) * (1 - h ** 2)
        g["W_H"] += da @ h_prev.T
        g["W_x"] += da @ E[:, [tokens[t]]].T
        g["E"][:, [tokens[t]]] += W_x.T @ da
        dh_next = W_H.T @ da
    return g


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)["E"]
