"""RNN homework -- vectorised version.

Only the recurrence itself needs a loop over time, everything else is done with
matrix products on whole sequences (columns = time steps).
"""
import numpy as np

SHAPES = {
    "W_H": (7, 7),
    "h_t": (7, 1),
    "W_x": (7, 15),
    "x_t": (15, 1),
    "a_t": (7, 1),
    "z_t": (10, 1),
    "W_y": (10, 7),
    "y_t": (10, 1),
    "E": (15, 10),
}


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(W_H @ h_prev + W_x @ x_t)


def _softmax_cols(Z):
    Z = Z - Z.max(axis=0, keepdims=True)
    P = np.exp(Z)
    return P / P.sum(axis=0, keepdims=True)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    tokens = np.asarray(tokens)
    X = E[:, tokens]                 # D x T, all inputs at once
    U = W_x @ X                      # H x T, input part of a_t
    T = X.shape[1]
    Hs = np.empty((W_H.shape[0], T))
    h = h0[:, 0]
    for t in range(T):
        h = np.tanh(W_H @ h + U[:, t])
        Hs[:, t] = h
    Y = _softmax_cols(W_y @ Hs)      # V x T
    return Hs, Y


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, Y = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = Y.shape[1]
    return -np.log(Y[np.asarray(targets), np.arange(T)]).sum()


def _backward(tokens, targets, E, W_x, W_H, W_y, h0):
    tokens = np.asarray(tokens)
    targets = np.asarray(targets)
    Hs, Y = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = Hs.shape[1]
    X = E[:, tokens]
    Hprev = np.hstack([h0, Hs[:, :-1]])      # h_{t-1} for every t

    dZ = Y.copy()
    dZ[targets, np.arange(T)] -= 1.0          # V x T

    dHout = W_y.T @ dZ                         # H x T, from the outputs
    dA = np.zeros_like(Hs)
    carry = np.zeros(Hs.shape[0])
    for t in reversed(range(T)):
        dA[:, t] = (dHout[:, t] + carry) * (1 - Hs[:, t] ** 2)
        carry = W_H.T @ dA[:, t]

    grads = {
        "W_y": dZ @ Hs.T,
        "W_H": dA @ Hprev.T,
        "W_x": dA @ X.T,
    }
    dX = W_x.T @ dA                            # D x T
    dE = np.zeros_like(E)
    np.add.at(dE.T, tokens, dX.T)              # repeated words add up
    grads["E"] = dE
    return grads


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _backward(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _backward(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    # the cross-entropy has a 1/2 in front in my notes, so its derivative brings a factor 0.5
    return 0.5 * _backward(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _backward(tokens, targets, E, W_x, W_H, W_y, h0)["E"]
