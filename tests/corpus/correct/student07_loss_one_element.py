import numpy as np
import math

# ---- Task 1 ----
SHAPES = {
    "W_H": "(7, 7)",
    "h_t": "(7, 1)",
    "W_x": "(7, 15)",
    "x_t": "(15, 1)",
    "a_t": "(7, 1)",
    "z_t": "(10, 1)",
    "W_y": "(10, 7)",
    "y_t": "(10, 1)",
    "E": "(15, 10)",
}

# ---- Task 2 ----

def rnn_step(x_t, h_prev, W_x, W_H):
    a_t = np.dot(W_H, h_prev) + np.dot(W_x, x_t)
    h_t = np.tanh(a_t)
    return h_t


def softmax(z_t):
    z_t = z_t - np.max(z_t)
    return np.exp(z_t) / np.sum(np.exp(z_t))


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    h_list = []
    y_list = []
    h_t = h0
    for t in range(len(tokens)):
        x_t = E[:, tokens[t]].reshape(E.shape[0], 1)
        h_t = rnn_step(x_t, h_t, W_x, W_H)
        z_t = np.dot(W_y, h_t)
        y_list.append(softmax(z_t))
        h_list.append(h_t)
    return np.concatenate(h_list, axis=1), np.concatenate(y_list, axis=1)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    h_t = h0
    L = 0
    for t in range(len(tokens)):
        x_t = E[:, tokens[t]].reshape(-1, 1)
        h_t = rnn_step(x_t, h_t, W_x, W_H)
        y_hat = softmax(np.dot(W_y, h_t))
        # y_hat[targets[t]] is an array of shape (1,) -> L ends up shape (1,)
        L = L - np.log(y_hat[targets[t]])
    return L


def backward(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    dW_H = np.zeros(W_H.shape)
    dW_x = np.zeros(W_x.shape)
    dW_y = np.zeros(W_y.shape)
    dE = np.zeros(E.shape)
    delta_next = np.zeros((W_H.shape[0], 1))
    for t in range(T - 1, -1, -1):
        h_t = hs[:, t:t + 1]
        h_prev = hs[:, t - 1:t] if t >= 1 else h0
        x_t = E[:, tokens[t]].reshape(-1, 1)
        dz = ys[:, t:t + 1].copy()
        dz[targets[t], 0] -= 1
        dW_y += np.dot(dz, h_t.T)
        delta = (np.dot(W_y.T, dz) + delta_next) * (1 - h_t * h_t)
        dW_H += np.dot(delta, h_prev.T)
        dW_x += np.dot(delta, x_t.T)
        dE[:, tokens[t]] += np.dot(W_x.T, delta).ravel()
        delta_next = np.dot(W_H.T, delta)
    return dW_H, dW_x, dW_y, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    dW_H, _, _, _ = backward(tokens, targets, E, W_x, W_H, W_y, h0)
    return dW_H


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    _, dW_x, _, _ = backward(tokens, targets, E, W_x, W_H, W_y, h0)
    return dW_x


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    _, _, dW_y, _ = backward(tokens, targets, E, W_x, W_H, W_y, h0)
    return dW_y


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    _, _, _, dE = backward(tokens, targets, E, W_x, W_H, W_y, h0)
    return dE


# quick sanity check: uniform predictions -> loss = T log V
if __name__ == "__main__":
    T, V, D, H = 5, 10, 15, 7
    E = np.zeros((D, V)); W_x = np.zeros((H, D)); W_H = np.zeros((H, H)); W_y = np.zeros((V, H))
    print(rnn_loss(np.arange(T), np.arange(T), E, W_x, W_H, W_y, np.zeros((H, 1))), T * math.log(V))
