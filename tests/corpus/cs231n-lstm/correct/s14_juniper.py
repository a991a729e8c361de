from __future__ import print_function, division
from builtins import range
import numpy as np

from .layers import *


"""
This file defines layer types that are commonly used for recurrent neural
networks.
"""


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """
    Forward pass for a single timestep of an LSTM.

    Inputs:
    - x: Input data, of shape (N, D)
    - prev_h: Previous hidden state, of shape (N, H)
    - prev_c: previous cell state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H)
    - Wh: Hidden-to-hidden weights, of shape (H, 4H)
    - b: Biases, of shape (4H,)

    Returns a tuple of:
    - next_h: Next hidden state, of shape (N, H)
    - next_c: Next cell state, of shape (N, H)
    - cache: Tuple of values needed for backward pass.
    """
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)
    i, f, o, g = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), np.tanh(a_g)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, np.hstack((i, f, o, g)), next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """
    Backward pass for a single timestep of an LSTM.

    Inputs:
    - dnext_h: Gradients of next hidden state, of shape (N, H)
    - dnext_c: Gradients of next cell state, of shape (N, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data, of shape (N, D)
    - dprev_h: Gradient of previous hidden state, of shape (N, H)
    - dprev_c: Gradient of previous cell state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, 4H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, 4H)
    - db: Gradient of biases, of shape (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, gates, next_c = cache
    i, f, o, g = np.split(gates, 4, axis=1)
    tc = np.tanh(next_c)

    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    # local gradients wrt the gate outputs, then through sigmoid / tanh
    dgates = np.hstack((dc * g, dc * prev_c, dnext_h * tc, dc * i))
    dlocal = np.hstack((i * (1 - i), f * (1 - f), o * (1 - o), 1 - g ** 2))
    da = dgates * dlocal

    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dprev_c = dc * f
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """
    Forward pass for an LSTM over an entire sequence of data.

    Note that the initial cell state is passed as input, but the initial cell
    state is set to zero. Also note that the cell state is not returned; it is
    an internal variable to the LSTM and is not accessed from outside.

    Inputs:
    - x: Input data of shape (N, T, D)
    - h0: Initial hidden state of shape (N, H)
    - Wx: Weights for input-to-hidden connections, of shape (D, 4H)
    - Wh: Weights for hidden-to-hidden connections, of shape (H, 4H)
    - b: Biases of shape (4H,)

    Returns a tuple of:
    - h: Hidden states for all timesteps of all sequences, of shape (N, T, H)
    - cache: Values needed for the backward pass.
    """
    N, T, D = x.shape
    H = h0.shape[1]

    # the input part of the activation does not depend on the recurrence,
    # so do it for all timesteps with a single matrix multiply
    xa = x.reshape(N * T, D).dot(Wx).reshape(N, T, 4 * H) + b

    hs = np.zeros((N, T + 1, H))   # hs[:, 0] = h0, hs[:, t + 1] = h_t
    cs = np.zeros((N, T + 1, H))   # cs[:, 0] = 0 (initial cell)
    gates = np.zeros((N, T, 4 * H))
    hs[:, 0, :] = h0

    for t in range(T):
        a = xa[:, t, :] + hs[:, t, :].dot(Wh)
        gates[:, t, :3 * H] = sigmoid(a[:, :3 * H])
        gates[:, t, 3 * H:] = np.tanh(a[:, 3 * H:])
        i, f, o, g = np.split(gates[:, t, :], 4, axis=1)
        cs[:, t + 1, :] = f * cs[:, t, :] + i * g
        hs[:, t + 1, :] = o * np.tanh(cs[:, t + 1, :])

    h = hs[:, 1:, :]
    cache = (x, Wx, Wh, hs, cs, gates)
    return h, cache


def lstm_backward(dh, cache):
    """
    Backward pass for an LSTM over an entire sequence of data.]

    Inputs:
    - dh: Upstream gradients of hidden states, of shape (N, T, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data of shape (N, T, D)
    - dh0: Gradient of initial hidden state of shape (N, H)
    - dWx: Gradient of input-to-hidden weight matrix of shape (D, 4H)
    - dWh: Gradient of hidden-to-hidden weight matrix of shape (H, 4H)
    - db: Gradient of biases, of shape (4H,)
    """
    x, Wx, Wh, hs, cs, gates = cache
    N, T, H = dh.shape
    D = x.shape[2]

    da = np.zeros((N, T, 4 * H))   # gradient wrt the activations of every step
    dh_next = np.zeros((N, H))
    dc_next = np.zeros((N, H))

    for t in reversed(range(T)):
        i, f, o, g = np.split(gates[:, t, :], 4, axis=1)
        tc = np.tanh(cs[:, t + 1, :])

        dh_t = dh[:, t, :] + dh_next
        dc_t = dc_next + dh_t * o * (1 - tc ** 2)

        da[:, t, :] = np.hstack((dc_t * g * i * (1 - i),
                                 dc_t * cs[:, t, :] * f * (1 - f),
                                 dh_t * tc * o * (1 - o),
                                 dc_t * i * (1 - g ** 2)))

        dh_next = da[:, t, :].dot(Wh.T)
        dc_next = dc_t * f

    # parameter gradients for all timesteps at once
    da_flat = da.reshape(N * T, 4 * H)
    dx = da_flat.dot(Wx.T).reshape(N, T, D)
    dWx = x.reshape(N * T, D).T.dot(da_flat)
    dWh = hs[:, :-1, :].reshape(N * T, H).T.dot(da_flat)
    db = da_flat.sum(axis=0)
    dh0 = dh_next
    return dx, dh0, dWx, dWh, db


def sigmoid(x):
    """
    A numerically stable version of the logistic sigmoid function.
    """
    pos_mask = (x >= 0)
    neg_mask = (x < 0)
    z = np.zeros_like(x)
    z[pos_mask] = np.exp(-x[pos_mask])
    z[neg_mask] = np.exp(x[neg_mask])
    top = np.ones_like(x)
    top[neg_mask] = z[neg_mask]
    return top / (1 + z)
