import numpy as np

SHAPES = {
    "W_H": "7 x 7",    # hidden to hidden
    "h_t": "7x1",
    "W_x": "7x15",
    "x_t": "15x1",
    "a_t": "7x1",
    "z_t": "10x1",
    "W_y": "10x7",
    "y_t": "10x1",
    "E": "15x10",
}


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(np.matmul(W_H, h_prev) + np.matmul(W_x, x_t))


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    cols_h, cols_y = [], []
    h = h0
    for tok in tokens:
        h = rnn_step(E[:, tok:tok + 1], h, W_x, W_H)
        z = np.matmul(W_y, h)
        p = np.exp(z - np.max(z))
        p /= np.sum(p)
        cols_h.append(h)
        cols_y.append(p)
    return np.column_stack(cols_h), np.column_stack(cols_y)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, Y = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    onehot = np.zeros_like(Y)
    onehot[targets, np.arange(len(targets))] = 1
    # (1 x V) @ (V x 1) per column... I just take the trace of Y^T log Y
    total = np.sum(onehot * np.log(Y), axis=(0, 1), keepdims=True)   # shape (1, 1)
    return np.squeeze(-total)      # 0-d array


def grads(tokens, targets, E, W_x, W_H, W_y, h0):
    Hs, Y = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    onehot = np.zeros_like(Y)
    onehot[targets, np.arange(T)] = 1
    dZ = Y - onehot
    d = {"W_H": np.zeros_like(W_H), "W_x": np.zeros_like(W_x),
         "W_y": dZ @ Hs.T, "E": np.zeros_like(E)}
    dh_from_future = np.zeros((W_H.shape[0], 1))
    for t in range(T - 1, -1, -1):
        h = Hs[:, t:t + 1]
        prev = h0 if t == 0 else Hs[:, t - 1:t]
        da = (1 - h ** 2) * (W_y.T @ dZ[:, t:t + 1] + dh_from_future)
        d["W_H"] += da @ prev.T
        d["W_x"] += da @ E[:, tokens[t]:tokens[t] + 1].T
        d["E"][:, tokens[t]:tokens[t] + 1] += W_x.T @ da
        dh_from_future = W_H.T @ da
    return d


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return grads(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return grads(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return grads(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return grads(tokens, targets, E, W_x, W_H, W_y, h0)["E"]
