# Homework 3 -- RNN
# sizes from the handout
import numpy as np

T = 5    # words
V = 10   # vocab
D = 15   # embedding
H = 7    # hidden

SHAPES = {
    "W_H": f"{H}x{H}",
    "h_t": f"{H}x1",
    "W_x": f"{H}x{D}",
    "x_t": f"{D}x1",
    "a_t": f"{H}x1",
    "z_t": f"{V}x1",
    "W_y": f"{V}x{H}",
    "y_t": f"{V}x1",
    "E": f"{D}x{V}",
}


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(W_H @ h_prev + W_x @ x_t)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    hs = np.zeros((H, T))
    y_hats = np.zeros((V, T))
    h = h0.reshape(H, 1)
    for t in range(T):
        x = E[:, tokens[t]].reshape(D, 1)
        h = rnn_step(x, h, W_x, W_H)
        z = W_y @ h
        e = np.exp(z - z.max())
        hs[:, t] = h.reshape(H)
        y_hats[:, t] = (e / e.sum()).reshape(V)
    return hs, y_hats


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    loss = 0
    for t in range(T):
        loss -= np.log(y_hats[targets[t], t])
    return loss


def bptt(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    dW_H = np.zeros((H, H))
    dW_x = np.zeros((H, D))
    dW_y = np.zeros((V, H))
    dE = np.zeros((D, V))
    dh_next = np.zeros((H, 1))
    for t in range(T - 1, -1, -1):
        h = hs[:, t].reshape(H, 1)
        h_prev = hs[:, t - 1].reshape(H, 1) if t > 0 else h0.reshape(H, 1)
        x = E[:, tokens[t]].reshape(D, 1)
        dz = y_hats[:, t].reshape(V, 1).copy()
        dz[targets[t]] -= 1
        dW_y += dz @ h.T
        da = (W_y.T @ dz + dh_next) * (1 - h ** 2)
        dW_H += da @ h_prev.T
        dW_x += da @ x.T
        dE[:, tokens[t]] += (W_x.T @ da).reshape(D)
        dh_next = W_H.T @ da
    return dW_H, dW_x, dW_y, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[3]
