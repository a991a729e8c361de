"""GRU step, the other textbook variant: n = tanh(x Wx_n + (r * h) Wh_n + b_n).
The backward is right for that forward."""
import numpy as np

SHAPES = {"Wx": "5 x 9", "Wh": "3 x 9", "z": "4 x 3"}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def gru_step_forward(x, prev_h, Wx, Wh, b):
    Wx_z, Wx_r, Wx_n = np.split(Wx, 3, axis=1)
    Wh_z, Wh_r, Wh_n = np.split(Wh, 3, axis=1)
    b_z, b_r, b_n = np.split(b, 3)
    z = sigmoid(x @ Wx_z + prev_h @ Wh_z + b_z)
    r = sigmoid(x @ Wx_r + prev_h @ Wh_r + b_r)
    rh = r * prev_h
    n = np.tanh(x @ Wx_n + rh @ Wh_n + b_n)
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, z, r, n, rh)


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, z, r, n, rh = cache
    Wh_z, Wh_r, Wh_n = np.split(Wh, 3, axis=1)
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dan = dn * (1 - n ** 2)
    drh = dan @ Wh_n.T
    dr = drh * prev_h
    daz = dz * z * (1 - z)
    dar = dr * r * (1 - r)
    dax = np.concatenate([daz, dar, dan], axis=1)
    dx = dax @ Wx.T
    dWx = x.T @ dax
    db = dax.sum(axis=0)
    dWh = np.concatenate([prev_h.T @ daz, prev_h.T @ dar, rh.T @ dan], axis=1)
    dprev_h = dnext_h * z + drh * r + daz @ Wh_z.T + dar @ Wh_r.T
    return dx, dprev_h, dWx, dWh, db
