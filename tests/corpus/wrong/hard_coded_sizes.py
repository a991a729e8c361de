# HW3 - RNN forward pass + BPTT (sizes from the handout)
# I did everything with plain for loops first so I could follow the handout
# step by step. Vectorising can come later (maybe).

import numpy as np

# Task 1 (default sizes: T=5 words, V=10, D=15, H=7)
SHAPES = {
    "W_H": "7x7",
    "h_t": "7x1",
    "W_x": "7x15",
    "x_t": "15x1",
    "a_t": "7x1",
    "z_t": "10x1",
    "W_y": "10x7",
    "y_t": "10x1",
    "E": "15x10",
}


def softmax(z):
    # subtract the max so exp does not blow up
    m = np.max(z)
    e = np.exp(z - m)
    return e / np.sum(e)


def rnn_step(x_t, h_prev, W_x, W_H):
    H = 7
    D = 15
    a = np.zeros((H, 1))
    for i in range(H):
        s = 0.0
        for j in range(H):
            s += W_H[i, j] * h_prev[j, 0]
        for j in range(D):
            s += W_x[i, j] * x_t[j, 0]
        a[i, 0] = s
    h_t = np.zeros((H, 1))
    for i in range(H):
        h_t[i, 0] = np.tanh(a[i, 0])
    return h_t


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    T = 5  # T, the handout says 5 words
    H = 7
    V = 10
    hs = np.zeros((H, T))
    y_hats = np.zeros((V, T))
    h = h0.reshape(H, 1)
    for t in range(T):
        x = E[:, tokens[t]].reshape(-1, 1)
        h = rnn_step(x, h, W_x, W_H)
        z = np.zeros((V, 1))
        for i in range(V):
            for j in range(H):
                z[i, 0] += W_y[i, j] * h[j, 0]
        y = softmax(z)
        for i in range(H):
            hs[i, t] = h[i, 0]
        for i in range(V):
            y_hats[i, t] = y[i, 0]
    return hs, y_hats


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    L = 0.0
    for t in range(len(tokens)):
        L = L - np.log(y_hats[targets[t], t])
    return float(L)


def all_grads(tokens, targets, E, W_x, W_H, W_y, h0):
    T = 5  # T, the handout says 5 words
    H = 7
    D = E.shape[0]
    V = 10
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)

    dW_H = np.zeros((H, H))
    dW_x = np.zeros((H, D))
    dW_y = np.zeros((V, H))
    dE = np.zeros((D, V))
    dh_next = np.zeros(H)   # gradient coming from step t+1

    for t in range(T - 1, -1, -1):
        # dL_t/dz_t = y_hat - onehot
        dz = np.zeros(V)
        for i in range(V):
            dz[i] = y_hats[i, t]
        dz[targets[t]] -= 1.0

        if t > 0:
            h_prev = hs[:, t - 1]
        else:
            h_prev = h0.reshape(-1)

        for i in range(V):
            for j in range(H):
                dW_y[i, j] += dz[i] * hs[j, t]

        dh = np.zeros(H)
        for j in range(H):
            s = dh_next[j]
            for i in range(V):
                s += W_y[i, j] * dz[i]
            dh[j] = s

        da = np.zeros(H)
        for j in range(H):
            da[j] = dh[j] * (1.0 - hs[j, t] ** 2)   # tanh'

        x = E[:, tokens[t]]
        for i in range(H):
            for j in range(H):
                dW_H[i, j] += da[i] * h_prev[j]
            for j in range(D):
                dW_x[i, j] += da[i] * x[j]

        # dL/dx_t goes into the column of E for this word
        for j in range(D):
            s = 0.0
            for i in range(H):
                s += W_x[i, j] * da[i]
            dE[j, tokens[t]] += s

        new_next = np.zeros(H)
        for j in range(H):
            for i in range(H):
                new_next[j] += W_H[i, j] * da[i]
        dh_next = new_next

    return dW_H, dW_x, dW_y, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return all_grads(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return all_grads(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return all_grads(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return all_grads(tokens, targets, E, W_x, W_H, W_y, h0)[3]


if __name__ == "__main__":
    np.random.seed(0)
    E = np.random.randn(15, 10)
    W_x = np.random.randn(7, 15) * 0.1
    W_H = np.random.randn(7, 7) * 0.1
    W_y = np.random.randn(10, 7) * 0.1
    h0 = np.zeros((7, 1))
    tokens = np.array([1, 4, 2, 4, 9])
    targets = np.array([4, 2, 4, 9, 0])
    print("loss", rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0))
