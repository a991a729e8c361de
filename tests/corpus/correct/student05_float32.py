import numpy as np

# float32 like on the GPU, it's faster and precise enough
DT = np.float32

SHAPES = {"W_H": "7x7", "h_t": "7x1", "W_x": "7x15", "x_t": "15x1", "a_t": "7x1",
          "z_t": "10x1", "W_y": "10x7", "y_t": "10x1", "E": "15x10"}


def f32(*arrays):
    return [np.asarray(a, dtype=DT) for a in arrays]


def rnn_step(x_t, h_prev, W_x, W_H):
    x_t, h_prev, W_x, W_H = f32(x_t, h_prev, W_x, W_H)
    return np.tanh(W_H @ h_prev + W_x @ x_t)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    E, W_x, W_H, W_y, h0 = f32(E, W_x, W_H, W_y, h0)
    T = len(tokens)
    hs = np.zeros((W_H.shape[0], T), dtype=DT)
    ys = np.zeros((W_y.shape[0], T), dtype=DT)
    h = h0
    for t, w in enumerate(tokens):
        h = rnn_step(E[:, [w]], h, W_x, W_H)
        z = W_y @ h
        z = z - z.max()
        e = np.exp(z)
        hs[:, t:t + 1] = h
        ys[:, t:t + 1] = e / e.sum()
    return hs, ys


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    idx = np.arange(len(tokens))
    return DT(-np.sum(np.log(ys[np.asarray(targets), idx])))


def bptt(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    E, W_x, W_H, W_y, h0 = f32(E, W_x, W_H, W_y, h0)
    H, T = hs.shape
    dWH = np.zeros(W_H.shape, DT)
    dWx = np.zeros(W_x.shape, DT)
    dWy = np.zeros(W_y.shape, DT)
    dE = np.zeros(E.shape, DT)
    dnext = np.zeros((H, 1), DT)
    for t in reversed(range(T)):
        h = hs[:, [t]]
        hp = hs[:, [t - 1]] if t else h0
        dz = ys[:, [t]].copy()
        dz[targets[t]] -= 1
        dWy += dz @ h.T
        da = (W_y.T @ dz + dnext) * (1 - h ** 2)
        dWH += da @ hp.T
        dWx += da @ E[:, [tokens[t]]].T
        dE[:, [tokens[t]]] += W_x.T @ da
        dnext = W_H.T @ da
    return dWH, dWx, dWy, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)[3]
