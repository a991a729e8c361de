# GRU step, one example at a time (1-D rows, np.outer). The cache is a list of per-example dicts.
import numpy as np

SHAPES = {"Wx": [5, 9], "Wh": "(3, 9)", "z": "4x3"}


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def gru_step_forward(x, prev_h, Wx, Wh, b):
    N, H = prev_h.shape
    next_h = np.zeros((N, H))
    cache = []
    for i in range(N):
        gx = x[i] @ Wx + b
        gh = prev_h[i] @ Wh
        z = sigmoid(gx[:H] + gh[:H])
        r = sigmoid(gx[H:2 * H] + gh[H:2 * H])
        n = np.tanh(gx[2 * H:] + r * gh[2 * H:])
        next_h[i] = (1 - z) * n + z * prev_h[i]
        cache.append(dict(x=x[i], h=prev_h[i], z=z, r=r, n=n, gh=gh))
    return next_h, [cache, Wx, Wh]


def gru_step_backward(dnext_h, cache):
    steps, Wx, Wh = cache
    H = Wh.shape[0]
    dx = np.zeros((len(steps), Wx.shape[0]))
    dprev_h = np.zeros((len(steps), H))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(3 * H)
    for i, s in enumerate(steps):
        dh = dnext_h[i]
        dgn = dh * (1 - s["z"]) * (1 - s["n"] ** 2)
        dgr = dgn * s["gh"][2 * H:] * s["r"] * (1 - s["r"])
        dgz = dh * (s["h"] - s["n"]) * s["z"] * (1 - s["z"])
        dgx = np.concatenate([dgz, dgr, dgn])
        dgh = np.concatenate([dgz, dgr, dgn * s["r"]])
        dx[i] = Wx @ dgx
        dprev_h[i] = dh * s["z"] + Wh @ dgh
        dWx += np.outer(s["x"], dgx)
        dWh += np.outer(s["h"], dgh)
        db += dgx
    return dx, dprev_h, dWx, dWh, db
