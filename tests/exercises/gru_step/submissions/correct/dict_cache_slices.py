"""GRU step with slices of the packed pre-activations; the cache is a dict."""
import numpy as np

SHAPES = {"Wx": (5, 9), "Wh": (3, 9), "z": (4, 3)}


def sigmoid(a):
    return np.exp(np.minimum(a, 0)) / (1 + np.exp(-np.abs(a)))  # never overflows


def gru_step_forward(x, prev_h, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + b          # N x 3H
    ah = prev_h @ Wh        # N x 3H
    z = sigmoid(a[:, :H] + ah[:, :H])
    r = sigmoid(a[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(a[:, 2 * H:] + r * ah[:, 2 * H:])
    next_h = (1 - z) * n + z * prev_h
    cache = {"x": x, "h": prev_h, "Wx": Wx, "Wh": Wh, "z": z, "r": r, "n": n, "ah": ah, "H": H}
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    H, z, r, n = cache["H"], cache["z"], cache["r"], cache["n"]
    h, ah = cache["h"], cache["ah"]
    da = np.zeros((dnext_h.shape[0], 3 * H))    # gradient of x Wx + b
    dah = np.zeros_like(da)                    # gradient of prev_h Wh
    dn_pre = dnext_h * (1 - z) * (1 - n * n)
    da[:, 2 * H:] = dn_pre
    dah[:, 2 * H:] = dn_pre * r
    dr_pre = dn_pre * ah[:, 2 * H:] * r * (1 - r)
    da[:, H:2 * H] = dr_pre
    dah[:, H:2 * H] = dr_pre
    dz_pre = dnext_h * (h - n) * z * (1 - z)
    da[:, :H] = dz_pre
    dah[:, :H] = dz_pre
    dx = da @ cache["Wx"].T
    dprev_h = dnext_h * z + dah @ cache["Wh"].T
    dWx = cache["x"].T @ da
    dWh = h.T @ dah
    db = np.sum(da, axis=0)
    return dx, dprev_h, dWx, dWh, db
