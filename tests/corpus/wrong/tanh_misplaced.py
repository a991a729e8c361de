# Task 2 written exactly like the derivation in the handout:
#
#   dL/dW_H = sum_t sum_{k<=t} dL_t/dyhat_t * dyhat_t/dz_t * dz_t/dh_t * dh_t/dh_k * dh_k/dW_H
#
# dh_t/dh_k is the product of the one-step Jacobians
#   dh_j/dh_{j-1} = diag(1 - h_j^2) W_H
# and the "immediate" part dh_k/dW_H only treats W_H inside a_k (h_{k-1} fixed).
# It is O(T^2) but T is small so who cares.

import numpy as np

SHAPES = {
    "W_H": "7 × 7",
    "h_t": "7 × 1",
    "W_x": "7 × 15",
    "x_t": "15 × 1",
    "a_t": "7 × 1",
    "z_t": "10 × 1",
    "W_y": "10 × 7",
    "y_t": "10 × 1",
    "E": "15 × 10",
}


def softmax(z):
    ez = np.exp(z - z.max())
    return ez / ez.sum()


def rnn_step(x_t, h_prev, W_x, W_H):
    # squash the memory, then add the new input
    return np.tanh(W_H.dot(h_prev)) + W_x.dot(x_t)


def forward_lists(tokens, E, W_x, W_H, W_y, h0):
    """returns lists xs, hs (hs[0] = h0 !), yhats. everything columns"""
    xs, hs, yhats = [], [h0], []
    for tok in tokens:
        x = E[:, [tok]]
        h = rnn_step(x, hs[-1], W_x, W_H)
        xs.append(x)
        hs.append(h)
        yhats.append(softmax(W_y.dot(h)))
    return xs, hs, yhats


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    xs, hs, yhats = forward_lists(tokens, E, W_x, W_H, W_y, h0)
    return np.hstack(hs[1:]), np.hstack(yhats)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, _, yhats = forward_lists(tokens, E, W_x, W_H, W_y, h0)
    return sum(-np.log(yhats[t][targets[t], 0]) for t in range(len(tokens)))


def dLt_dht(t, targets, yhats, W_y):
    # (dL_t/dyhat_t)(dyhat_t/dz_t) = (yhat_t - y_t)^T  and dz_t/dh_t = W_y
    g = yhats[t].copy()
    g[targets[t]] -= 1
    return W_y.T.dot(g)            # H x 1  (column form of the row gradient)


def jac(hs, j, W_H):
    """dh_j / dh_{j-1}, H x H   (hs[j] is h_j, hs[0] = h0)"""
    return np.diag(1 - hs[j][:, 0] ** 2).dot(W_H)


def dht_dhk(hs, t, k, W_H):
    """dh_t/dh_k = prod_{j=k+1..t} dh_j/dh_{j-1}; identity when k == t"""
    H = W_H.shape[0]
    J = np.eye(H)
    for j in range(t, k, -1):
        J = J.dot(jac(hs, j, W_H))
    return J


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    xs, hs, yhats = forward_lists(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    dW = np.zeros_like(W_H)
    for t in range(1, T + 1):              # 1-based like the handout
        g_t = dLt_dht(t - 1, targets, yhats, W_y)
        for k in range(1, t + 1):
            g_k = dht_dhk(hs, t, k, W_H).T.dot(g_t)      # dL_t/dh_k
            # immediate dh_k/dW_H: (1-h_k^2) * h_{k-1}^T
            da_k = g_k * (1 - hs[k] ** 2)
            dW += da_k.dot(hs[k - 1].T)
    return dW


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    xs, hs, yhats = forward_lists(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    dW = np.zeros_like(W_x)
    for t in range(1, T + 1):
        g_t = dLt_dht(t - 1, targets, yhats, W_y)
        for k in range(1, t + 1):
            g_k = dht_dhk(hs, t, k, W_H).T.dot(g_t)
            da_k = g_k * (1 - hs[k] ** 2)
            dW += da_k.dot(xs[k - 1].T)
    return dW


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    # no sum over k here, z_t only depends on W_y directly
    xs, hs, yhats = forward_lists(tokens, E, W_x, W_H, W_y, h0)
    dW = np.zeros_like(W_y)
    for t in range(len(tokens)):
        g = yhats[t].copy()
        g[targets[t]] -= 1
        dW += g.dot(hs[t + 1].T)
    return dW


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    xs, hs, yhats = forward_lists(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    dE = np.zeros_like(E)
    for t in range(1, T + 1):
        g_t = dLt_dht(t - 1, targets, yhats, W_y)
        for k in range(1, t + 1):
            g_k = dht_dhk(hs, t, k, W_H).T.dot(g_t)
            da_k = g_k * (1 - hs[k] ** 2)
            # x_k = E[:, tokens[k-1]] so only that column gets gradient
            dE[:, tokens[k - 1]] += W_x.T.dot(da_k)[:, 0]
    return dE
