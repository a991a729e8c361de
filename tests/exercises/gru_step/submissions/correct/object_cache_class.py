"""GRU step: one matrix product per gate, a small class for the cache, np.hstack for the packed gradients."""
import numpy as np

SHAPES = {
    "Wx": "5 \\times 9",
    "Wh": "\\boxed{3 \\times 9}",
    "z": "4 by 3",
}


class Cache:
    def __init__(self, **parts):
        self.__dict__.update(parts)


def _sig(t):
    return 0.5 * (1 + np.tanh(t / 2))


def gru_step_forward(x, prev_h, Wx, Wh, b):
    H = Wh.shape[0]
    gate = lambda k: slice(k * H, (k + 1) * H)
    z = _sig(x @ Wx[:, gate(0)] + prev_h @ Wh[:, gate(0)] + b[gate(0)])
    r = _sig(x @ Wx[:, gate(1)] + prev_h @ Wh[:, gate(1)] + b[gate(1)])
    hWn = prev_h @ Wh[:, gate(2)]
    n = np.tanh(x @ Wx[:, gate(2)] + r * hWn + b[gate(2)])
    next_h = z * prev_h + (1 - z) * n
    return next_h, Cache(x=x, h=prev_h, Wx=Wx, Wh=Wh, z=z, r=r, n=n, hWn=hWn, H=H)


def gru_step_backward(dnext_h, c):
    g = lambda k: slice(k * c.H, (k + 1) * c.H)
    d_n = dnext_h * (1 - c.z) * (1 - c.n ** 2)
    d_r = d_n * c.hWn * c.r * (1 - c.r)
    d_z = dnext_h * (c.h - c.n) * c.z * (1 - c.z)
    d_hWn = d_n * c.r
    dx = d_z @ c.Wx[:, g(0)].T + d_r @ c.Wx[:, g(1)].T + d_n @ c.Wx[:, g(2)].T
    dprev_h = (dnext_h * c.z + d_z @ c.Wh[:, g(0)].T + d_r @ c.Wh[:, g(1)].T
               + d_hWn @ c.Wh[:, g(2)].T)
    dWx = np.hstack([c.x.T @ d_z, c.x.T @ d_r, c.x.T @ d_n])
    dWh = np.hstack([c.h.T @ d_z, c.h.T @ d_r, c.h.T @ d_hWn])
    db = np.hstack([d_z.sum(0), d_r.sum(0), d_n.sum(0)])
    return dx, dprev_h, dWx, dWh, db
