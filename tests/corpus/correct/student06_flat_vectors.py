# Everything as 1-D numpy vectors, I find the (n,1) shapes annoying.
# rnn_step gives back a flat h_t and rnn_forward gives lists of flat vectors
# (the assignment says that's accepted).
import numpy as np

SHAPES = {
    "W_H": "7 by 7",
    "h_t": "7 by 1",
    "W_x": "7 by 15",
    "x_t": "15 by 1",
    "a_t": "7 by 1",
    "z_t": "10 by 1",
    "W_y": "10 by 7",
    "y_t": "10 by 1",
    "E": "15 by 10",
}


def softmax(v):
    v = v - v.max()
    return np.exp(v) / np.exp(v).sum()


def rnn_step(x_t, h_prev, W_x, W_H):
    x_t = np.ravel(x_t)
    h_prev = np.ravel(h_prev)
    return np.tanh(W_H.dot(h_prev) + W_x.dot(x_t))


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    hs = []
    y_hats = []
    h = np.ravel(h0)
    for w in tokens:
        h = rnn_step(E[:, w], h, W_x, W_H)
        hs.append(h)
        y_hats.append(softmax(W_y.dot(h)))
    return hs, y_hats


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    total = 0.0
    for y, c in zip(y_hats, targets):
        total += -np.log(y[c])
    return total


def gradients(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    h_before = [np.ravel(h0)] + hs[:-1]
    dWH = np.zeros(W_H.shape)
    dWx = np.zeros(W_x.shape)
    dWy = np.zeros(W_y.shape)
    dE = np.zeros(E.shape)
    dh_future = np.zeros(W_H.shape[0])
    for t in reversed(range(len(tokens))):
        err = y_hats[t].copy()
        err[targets[t]] -= 1.0
        dWy += np.outer(err, hs[t])
        dh = W_y.T.dot(err) + dh_future
        da = dh * (1.0 - hs[t] ** 2)
        dWH += np.outer(da, h_before[t])
        dWx += np.outer(da, E[:, tokens[t]])
        dE[:, tokens[t]] += W_x.T.dot(da)
        dh_future = W_H.T.dot(da)
    return {"W_H": dWH, "W_x": dWx, "W_y": dWy, "E": dE}


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return gradients(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return gradients(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return gradients(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return gradients(tokens, targets, E, W_x, W_H, W_y, h0)["E"]
