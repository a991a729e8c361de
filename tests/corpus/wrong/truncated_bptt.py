# RNN hw
# I think the gradient only needs the current time step because W_H is shared
# and we sum over t anyway?
import numpy as np

SHAPES = {
    "W_H": (7, 7), "h_t": (7, 1), "W_x": (7, 15), "x_t": (15, 1), "a_t": (7, 1),
    "z_t": (10, 1), "W_y": (10, 7), "y_t": (10, 1), "E": (15, 10),
}


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(np.dot(W_H, h_prev) + np.dot(W_x, x_t))


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    T = len(tokens)
    hs = np.zeros((W_H.shape[0], T))
    y_hats = np.zeros((W_y.shape[0], T))
    h = h0
    for t in range(T):
        h = rnn_step(E[:, tokens[t]].reshape(-1, 1), h, W_x, W_H)
        z = np.dot(W_y, h)
        p = np.exp(z - np.max(z))
        hs[:, t] = h.ravel()
        y_hats[:, t] = (p / p.sum()).ravel()
    return hs, y_hats


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    L = 0.0
    for t in range(len(tokens)):
        L += -np.log(y_hats[targets[t], t])
    return L


def _grads(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    H = W_H.shape[0]
    dW_H = np.zeros((H, H))
    dW_x = np.zeros(W_x.shape)
    dW_y = np.zeros(W_y.shape)
    dE = np.zeros(E.shape)
    for t in range(len(tokens)):
        h = hs[:, t].reshape(-1, 1)
        h_prev = h0 if t == 0 else hs[:, t - 1].reshape(-1, 1)
        x = E[:, tokens[t]].reshape(-1, 1)
        dz = y_hats[:, t].reshape(-1, 1).copy()
        dz[targets[t]] -= 1
        dW_y += np.dot(dz, h.T)
        dh = np.dot(W_y.T, dz)                 # gradient from this step's output only
        da = dh * (1 - h ** 2)
        dW_H += np.dot(da, h_prev.T)
        dW_x += np.dot(da, x.T)
        dE[:, tokens[t]] += np.dot(W_x.T, da).ravel()
    return dW_H, dW_x, dW_y, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[3]
