import numpy as np

from helpers import softmax, one_hot, column, dtanh_from_output


def rnn_step(x_t, h_prev, W_x, W_H):
    a_t = W_H @ h_prev + W_x @ x_t
    return np.tanh(a_t)


def _forward_cache(tokens, E, W_x, W_H, W_y, h0):
    cache = {"x": [], "h": [h0], "y": []}
    for w in tokens:
        x = column(E, w)
        h = rnn_step(x, cache["h"][-1], W_x, W_H)
        cache["x"].append(x)
        cache["h"].append(h)
        cache["y"].append(softmax(W_y @ h))
    return cache


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    c = _forward_cache(tokens, E, W_x, W_H, W_y, h0)
    return np.hstack(c["h"][1:]), np.hstack(c["y"])


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    c = _forward_cache(tokens, E, W_x, W_H, W_y, h0)
    return float(sum(-np.log(y[k, 0]) for y, k in zip(c["y"], targets)))


def _bptt(tokens, targets, E, W_x, W_H, W_y, h0):
    c = _forward_cache(tokens, E, W_x, W_H, W_y, h0)
    V = W_y.shape[0]
    dW_H, dW_x, dW_y, dE = [np.zeros(M.shape) for M in (W_H, W_x, W_y, E)]
    dh_next = np.zeros((W_H.shape[0], 1))
    for t in reversed(range(len(tokens))):
        h, h_prev, x = c["h"][t + 1], c["h"][t], c["x"][t]
        dz = c["y"][t] - one_hot(targets[t], V)
        dW_y += dz @ h.T
        da = dtanh_from_output(h) * (W_y.T @ dz + dh_next)
        dW_H += da @ h_prev.T
        dW_x += da @ x.T
        dE[:, tokens[t]] += (W_x.T @ da)[:, 0]
        dh_next = W_H.T @ da
    return dW_H, dW_x, dW_y, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _bptt(tokens, targets, E, W_x, W_H, W_y, h0)[3]
