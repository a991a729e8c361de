from __future__ import print_function, division
from builtins import range
import numpy as np


"""
This file defines layer types that are commonly used for recurrent neural
networks.
"""


class StepCache(object):
    """Everything one LSTM timestep needs to remember for backprop."""

    def __init__(self, x, prev_h, prev_c, Wx, Wh, i, f, o, g, c):
        self.x = x
        self.prev_h = prev_h
        self.prev_c = prev_c
        self.Wx = Wx
        self.Wh = Wh
        self.i = i
        self.f = f
        self.o = o
        self.g = g
        self.c = c
        self.tanh_c = np.tanh(c)

    def __repr__(self):
        return 'StepCache(N=%d, D=%d, H=%d)' % (self.x.shape[0], self.x.shape[1], self.c.shape[1])


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """
    Forward pass for a single timestep of an LSTM.

    The input data has dimension D, the hidden state has dimension H, and we use
    a minibatch size of N.

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
    - cache: StepCache object
    """
    H = prev_h.shape[1]
    a = x.dot(Wx) + prev_h.dot(Wh) + b

    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])

    next_c = f * prev_c + i * g
    cache = StepCache(x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    next_h = o * cache.tanh_c
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
    C = cache
    i, f, o, g = C.i, C.f, C.o, C.g

    dc = dnext_c + dnext_h * o * (1 - C.tanh_c ** 2)

    da_i = (dc * g) * i * (1 - i)
    da_f = (dc * C.prev_c) * f * (1 - f)
    da_o = (dnext_h * C.tanh_c) * o * (1 - o)
    da_g = (dc * i) * (1 - g ** 2)
    da = np.concatenate((da_i, da_f, da_o, da_g), axis=1)

    dx = da.dot(C.Wx.T)
    dprev_h = da.dot(C.Wh.T)
    dprev_c = dc * f
    dWx = C.x.T.dot(da)
    dWh = C.prev_h.T.dot(da)
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
    h = np.empty((N, T, H))
    steps = []
    h_t, c_t = h0, np.zeros((N, H))
    for t in range(T):
        h_t, c_t, step = lstm_step_forward(x[:, t, :], h_t, c_t, Wx, Wh, b)
        h[:, t, :] = h_t
        steps.append(step)
    cache = steps
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
    steps = cache
    N, T, H = dh.shape
    D = steps[0].x.shape[1]

    dx = np.empty((N, T, D))
    dWx = np.zeros((D, 4 * H))
    dWh = np.zeros((H, 4 * H))
    db = np.zeros(4 * H)
    dh_t = np.zeros((N, H))   # gradient flowing back along h
    dc_t = np.zeros((N, H))   # gradient flowing back along c

    for t in range(T - 1, -1, -1):
        out = lstm_step_backward(dh[:, t, :] + dh_t, dc_t, steps[t])
        dx[:, t, :], dh_t, dc_t = out[0], out[1], out[2]
        dWx += out[3]
        dWh += out[4]
        db += out[5]

    dh0 = dh_t
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
