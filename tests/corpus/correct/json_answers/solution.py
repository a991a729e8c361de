# object oriented version, the functions at the bottom just wrap the class
import numpy as np


class VanillaRNN:
    def __init__(self, E, W_x, W_H, W_y):
        self.E, self.W_x, self.W_H, self.W_y = E, W_x, W_H, W_y

    @staticmethod
    def step(x, h, W_x, W_H):
        return np.tanh(W_H @ h + W_x @ x)

    def forward(self, tokens, h0):
        self.tokens = list(tokens)
        self.h0 = h0
        self.hs, self.ps = [], []
        h = h0
        for w in self.tokens:
            h = self.step(self.E[:, [w]], h, self.W_x, self.W_H)
            logits = self.W_y @ h
            p = np.exp(logits - logits.max())
            self.hs.append(h)
            self.ps.append(p / p.sum())
        return np.hstack(self.hs), np.hstack(self.ps)

    def loss(self, targets):
        return -sum(np.log(p[k, 0]) for p, k in zip(self.ps, targets))

    def backward(self, targets):
        self.dW_H = np.zeros_like(self.W_H)
        self.dW_x = np.zeros_like(self.W_x)
        self.dW_y = np.zeros_like(self.W_y)
        self.dE = np.zeros_like(self.E)
        dh_after = np.zeros_like(self.hs[0])
        for t in range(len(self.tokens) - 1, -1, -1):
            dlogits = self.ps[t].copy()
            dlogits[targets[t]] -= 1
            h = self.hs[t]
            h_before = self.hs[t - 1] if t > 0 else self.h0
            self.dW_y += dlogits @ h.T
            dpre = (1 - h * h) * (self.W_y.T @ dlogits + dh_after)
            self.dW_H += dpre @ h_before.T
            self.dW_x += dpre @ self.E[:, [self.tokens[t]]].T
            self.dE[:, [self.tokens[t]]] += self.W_x.T @ dpre
            dh_after = self.W_H.T @ dpre


def _model(tokens, targets, E, W_x, W_H, W_y, h0):
    m = VanillaRNN(E, W_x, W_H, W_y)
    m.forward(tokens, h0)
    m.backward(targets)
    return m


def rnn_step(x_t, h_prev, W_x, W_H):
    return VanillaRNN.step(x_t, h_prev, W_x, W_H)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    return VanillaRNN(E, W_x, W_H, W_y).forward(tokens, h0)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    m = VanillaRNN(E, W_x, W_H, W_y)
    m.forward(tokens, h0)
    return m.loss(targets)


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _model(tokens, targets, E, W_x, W_H, W_y, h0).dW_H


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _model(tokens, targets, E, W_x, W_H, W_y, h0).dW_x


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _model(tokens, targets, E, W_x, W_H, W_y, h0).dW_y


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _model(tokens, targets, E, W_x, W_H, W_y, h0).dE
