print("=== loading my RNN homework ===")
import numpy as np
import time

print("numpy version:", np.__version__)

SHAPES = {
    "W_H": "7x7",
    "h_t": "7 x 1",
    "W_x": (7, 15),
    "x_t": [15, 1],
    "a_t": "7 by 1",
    "z_t": "10x1",
    "W_y": "10 × 7",
    "y_t": "(10, 1)",
    "E": "15 \\times 10",
}
print("my shapes:", SHAPES)

DEBUG = True


def rnn_step(x_t, h_prev, W_x, W_H):
    a_t = W_H @ h_prev + W_x @ x_t
    if DEBUG:
        print("  rnn_step: a_t shape", a_t.shape, "max |a_t| =", np.abs(a_t).max())
    return np.tanh(a_t)


def softmax(z):
    z = z - z.max(axis=0)
    ez = np.exp(z)
    return ez / ez.sum(axis=0)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    print("rnn_forward called with T =", len(tokens))
    H, T = W_H.shape[0], len(tokens)
    hs = np.zeros((H, T))
    y_hats = np.zeros((W_y.shape[0], T))
    h = h0
    for t in range(T):
        x = E[:, [tokens[t]]]
        h = rnn_step(x, h, W_x, W_H)
        hs[:, [t]] = h
        y_hats[:, [t]] = softmax(W_y @ h)
        print("  t=%d  token=%d  argmax(y_hat)=%d" % (t, tokens[t], int(np.argmax(y_hats[:, t]))))
    return hs, y_hats


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    losses = [-np.log(y_hats[targets[t], t]) for t in range(len(tokens))]
    print("per-step losses:", np.round(losses, 4))
    L = float(np.sum(losses))
    print("total loss:", L)
    return L


def backprop(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    g = {k: np.zeros_like(v) for k, v in (("W_H", W_H), ("W_x", W_x), ("W_y", W_y), ("E", E))}
    dh_next = np.zeros_like(h0, dtype=float)
    for t in reversed(range(T)):
        dz = y_hats[:, [t]].copy()
        dz[targets[t]] -= 1
        h = hs[:, [t]]
        h_prev = hs[:, [t - 1]] if t > 0 else h0
        g["W_y"] += dz @ h.T
        da = (W_y.T @ dz + dh_next) * (1 - h ** 2)
        g["W_H"] += da @ h_prev.T
        g["W_x"] += da @ E[:, [tokens[t]]].T
        g["E"][:, [tokens[t]]] += W_x.T @ da
        dh_next = W_H.T @ da
    for k in g:
        print("grad", k, "shape", g[k].shape, "norm", np.linalg.norm(g[k]))
    return g


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return backprop(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return backprop(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return backprop(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return backprop(tokens, targets, E, W_x, W_H, W_y, h0)["E"]


# ---------------- demo (runs every time, I know) ----------------
rng = np.random.default_rng(int(time.time()) % 1000)
T, V, D, H = 5, 10, 15, 7
E_ = rng.normal(size=(D, V))
Wx_ = rng.normal(size=(H, D)) * 0.3
WH_ = rng.normal(size=(H, H)) * 0.3
Wy_ = rng.normal(size=(V, H)) * 0.3
h0_ = np.zeros((H, 1))
tok_ = rng.integers(0, V, size=T)
tgt_ = rng.integers(0, V, size=T)
print("tokens:", tok_, "targets:", tgt_)

L0 = rnn_loss(tok_, tgt_, E_, Wx_, WH_, Wy_, h0_)
G = grad_W_H(tok_, tgt_, E_, Wx_, WH_, Wy_, h0_)

# numerical check on one entry
eps = 1e-5
WH_[2, 3] += eps
Lp = rnn_loss(tok_, tgt_, E_, Wx_, WH_, Wy_, h0_)
WH_[2, 3] -= 2 * eps
Lm = rnn_loss(tok_, tgt_, E_, Wx_, WH_, Wy_, h0_)
WH_[2, 3] += eps
print("numeric dL/dW_H[2,3] =", (Lp - Lm) / (2 * eps), " analytic =", G[2, 3])
print("=== done ===")
