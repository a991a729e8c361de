from __future__ import print_function, division
from builtins import range
import numpy as np


"""
This file defines layer types that are commonly used for recurrent neural
networks.

(LSTM part of assignment 3)
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
    - cache: dict of values needed for backward pass.
    """
    N, H = prev_h.shape

    # activations, (N, 4H)
    a = x.dot(Wx) + prev_h.dot(Wh) + b

    # gates. order is i, f, o, g
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])

    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)

    cache = {
        'x': x, 'prev_h': prev_h, 'prev_c': prev_c,
        'Wx': Wx, 'Wh': Wh,
        'i': i, 'f': f, 'o': o, 'g': g,
        'next_c': next_c,
    }
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
    i, f, o, g = cache['i'], cache['f'], cache['o'], cache['g']
    prev_c = cache['prev_c']
    tanh_c = np.tanh(cache['next_c'])

    # total gradient on the new cell state (from h and from the next c)
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c ** 2)

    da_i = dc * g * i * (1.0 - i)
    da_f = dc * prev_c * f * (1.0 - f)
    da_o = dnext_h * tanh_c * o * (1.0 - o)
    da_g = dc * i * (1.0 - g ** 2)
    da = np.hstack([da_i, da_f, da_o, da_g])

    dx = da.dot(cache['Wx'].T)
    dprev_h = da.dot(cache['Wh'].T)
    dprev_c = dc * f
    dWx = cache['x'].T.dot(da)
    dWh = cache['prev_h'].T.dot(da)
    db = da.sum(axis=0)

    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
    """
    Forward pass for an LSTM over an entire sequence of data.

    The initial cell state is zero, and the cell state is not returned.

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

    h = np.zeros((N, T, H))
    c = np.zeros((N, T, H))
    gates = np.zeros((N, T, 4 * H))   # i, f, o, g after the nonlinearities

    prev_h = h0
    prev_c = np.zeros((N, H))
    for t in range(T):
        a = x[:, t, :].dot(Wx) + prev_h.dot(Wh) + b
        gates[:, t, :3 * H] = sigmoid(a[:, :3 * H])
        gates[:, t, 3 * H:] = np.tanh(a[:, 3 * H:])
        i = gates[:, t, :H]
        f = gates[:, t, H:2 * H]
        o = gates[:, t, 2 * H:3 * H]
        g = gates[:, t, 3 * H:]

        c[:, t, :] = f * prev_c + i * g
        h[:, t, :] = o * np.tanh(c[:, t, :])

        prev_h = h[:, t, :]
        prev_c = c[:, t, :]

    cache = {'x': x, 'h0': h0, 'Wx': Wx, 'Wh': Wh, 'h': h, 'c': c, 'gates': gates}
    return h, cache


def lstm_backward(dh, cache):
    """
    Backward pass for an LSTM over an entire sequence of data.

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
    x, h0, Wx, Wh = cache['x'], cache['h0'], cache['Wx'], cache['Wh']
    h, c, gates = cache['h'], cache['c'], cache['gates']
    N, T, H = dh.shape

    dx = np.zeros_like(x)
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros(4 * H)

    dnext_h = np.zeros((N, H))   # gradient coming from step t+1
    dnext_c = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        i = gates[:, t, :H]
        f = gates[:, t, H:2 * H]
        o = gates[:, t, 2 * H:3 * H]
        g = gates[:, t, 3 * H:]
        if t > 0:
            prev_h = h[:, t - 1, :]
            prev_c = c[:, t - 1, :]
        else:
            prev_h = h0
            prev_c = np.zeros((N, H))

        dh_t = dh[:, t, :] + dnext_h
        tanh_c = np.tanh(c[:, t, :])
        dc_t = dnext_c + dh_t * o * (1 - tanh_c ** 2)

        da = np.zeros((N, 4 * H))
        da[:, :H] = dc_t * g * i * (1 - i)
        da[:, H:2 * H] = dc_t * prev_c * f * (1 - f)
        da[:, 2 * H:3 * H] = dh_t * tanh_c * o * (1 - o)
        da[:, 3 * H:] = dc_t * i * (1 - g ** 2)

        dx[:, t, :] = da.dot(Wx.T)
        dWx += x[:, t, :].T.dot(da)
        dWh += prev_h.T.dot(da)
        db += da.sum(axis=0)

        dnext_h = da.dot(Wh.T)
        dnext_c = dc_t * f

    dh0 = dnext_h
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
