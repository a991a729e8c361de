"""GRU step. The candidate's gradient skips the tanh derivative."""
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
    hn = prev_h @ Wh_n
    n = np.tanh(x @ Wx_n + r * hn + b_n)
    next_h = (1 - z) * n + z * prev_h
    cache = (x, prev_h, Wx, Wh, z, r, n, hn)
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, z, r, n, hn = cache
    dn = dnext_h * (1 - z)
    dz = dnext_h * (prev_h - n)
    dprev_h = dnext_h * z
    dan = dn
    dr = dan * hn
    dhn = dan * r
    daz = dz * z * (1 - z)
    dar = dr * r * (1 - r)
    dax = np.concatenate([daz, dar, dan], axis=1)
    dah = np.concatenate([daz, dar, dhn], axis=1)
    dx = dax @ Wx.T
    dWx = x.T @ dax
    db = dax.sum(axis=0)
    dWh = prev_h.T @ dah
    dprev_h = dprev_h + dah @ Wh.T
    return dx, dprev_h, dWx, dWh, db
