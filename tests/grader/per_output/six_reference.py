"""The reference of six.yaml: out = s * tanh(x Wx + h Wh + b), with N, D, H as declared there.

x: (N, D), h: (N, H), Wx: (D, H), Wh: (H, H), b: (H,), s: (H,); out and dout: (N, H).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from exercises import Mistake


class Cache(NamedTuple):
    x: np.ndarray
    h: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    s: np.ndarray
    t: np.ndarray  # tanh of the pre-activation, (N, H)
    a: np.ndarray  # the pre-activation, (N, H)


def scaled_forward(x, h, Wx, Wh, b, s):
    a = x @ Wx + h @ Wh + b
    t = np.tanh(a)
    return s * t, Cache(x, h, Wx, Wh, s, t, a)


def _backward(dout, cache, *, derivative=True, scale_of=None):
    da = dout * cache.s * ((1 - cache.t**2) if derivative else 1.0)
    ds = np.sum(dout * (cache.t if scale_of is None else scale_of(cache)), axis=0)
    return da @ cache.Wx.T, da @ cache.Wh.T, cache.x.T @ da, cache.h.T @ da, da.sum(axis=0), ds


def scaled_backward(dout, cache):
    return _backward(dout, cache)


SCALED_BACKWARD = [
    Mistake(
        "missing-tanh-derivative",
        "The gradient through tanh needs its derivative, 1 - tanh(a)**2.",
        lambda dout, cache: _backward(dout, cache, derivative=False),
    ),
    Mistake(
        "scale-times-preactivation",
        "ds multiplies dout by what s scales in the forward: tanh(a), not a.",
        lambda dout, cache: _backward(dout, cache, scale_of=lambda c: c.a),
        outputs=("ds",),
    ),
]
