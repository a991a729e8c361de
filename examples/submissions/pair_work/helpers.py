"""small helpers for the RNN homework (kept separate so rnn.py stays short)"""
import numpy as np


def softmax(z):
    z = z - np.max(z, axis=0, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=0, keepdims=True)


def one_hot(index, size):
    v = np.zeros((size, 1))
    v[index, 0] = 1.0
    return v


def column(E, word):
    """x_t = E[:, word] as a D x 1 column"""
    return E[:, word].reshape(-1, 1)


def dtanh_from_output(h):
    # d tanh(a)/da written with the output h = tanh(a)
    return 1.0 - h ** 2
