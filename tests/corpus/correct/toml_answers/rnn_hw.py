import numpy as np

# einsum everywhere because I wanted to practise it :)


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(np.einsum("ij,jk->ik", W_H, h_prev) + np.einsum("ij,jk->ik", W_x, x_t))


def _probs(z):
    z = z - z.max(axis=0, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    X = E[:, tokens]                               # D x T
    hs = []
    h = h0[:, 0]
    for t in range(X.shape[1]):
        h = np.tanh(np.einsum("ij,j->i", W_H, h) + np.einsum("ij,j->i", W_x, X[:, t]))
        hs.append(h)
    Hs = np.stack(hs, axis=1)                      # H x T
    return Hs, _probs(np.einsum("vh,ht->vt", W_y, Hs))


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, P = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    picked = np.take_along_axis(P, np.asarray(targets)[None, :], axis=0)
    return -np.log(picked).sum()


def _grads(tokens, targets, E, W_x, W_H, W_y, h0):
    tokens = np.asarray(tokens)
    Hs, P = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = Hs.shape[1]
    X = E[:, tokens]
    Hprev = np.concatenate([h0, Hs[:, :T - 1]], axis=1)
    G = P.copy()
    G[np.asarray(targets), np.arange(T)] -= 1.0
    dHy = np.einsum("vh,vt->ht", W_y, G)
    dA = np.zeros_like(Hs)
    back = np.zeros(Hs.shape[0])
    for t in range(T - 1, -1, -1):
        dA[:, t] = (dHy[:, t] + back) * (1 - Hs[:, t] ** 2)
        back = np.einsum("ij,i->j", W_H, dA[:, t])
    dX = np.einsum("hd,ht->dt", W_x, dA)
    dE = np.zeros_like(E)
    for t in range(T):
        dE[:, tokens[t]] += dX[:, t]
    return (np.einsum("it,jt->ij", dA, Hprev),
            np.einsum("it,jt->ij", dA, X),
            np.einsum("vt,ht->vh", G, Hs),
            dE)


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _grads(tokens, targets, E, W_x, W_H, W_y, h0)[3]
