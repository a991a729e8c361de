"""Assignment 3: vanilla RNN, written like the cs231n layer functions
(step_forward / step_backward with a cache), then wired up to the
function names the grader wants.
"""
import numpy as np

SHAPES = {
    "W_H": "7 \\times 7",
    "h_t": "7 \\times 1",
    "W_x": "7 \\times 15",
    "x_t": "15 \\times 1",
    "a_t": "7 \\times 1",
    "z_t": "10 \\times 1",
    "W_y": "10 \\times 7",
    "y_t": "10 \\times 1",
    "E": "15 \\times 10",
}


def step_forward(x, prev_h, Wx, Wh):
    next_h = np.tanh(Wx @ x + Wh @ prev_h)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    dx = Wx.T @ da
    dprev_h = Wh.T @ da
    dWx = da @ x.T
    dWh = da @ prev_h.T
    return dx, dprev_h, dWx, dWh


def rnn_step(x_t, h_prev, W_x, W_H):
    h, _ = step_forward(x_t, h_prev, W_x, W_H)
    return h


def softmax_loss_step(z, target):
    """returns probs, loss and dz for one time step"""
    shifted = z - np.max(z)
    log_probs = shifted - np.log(np.sum(np.exp(shifted)))
    probs = np.exp(log_probs)
    loss = -log_probs[target, 0]
    dz = probs.copy()
    dz[target, 0] -= 1
    return probs, loss, dz


def _run(tokens, targets, E, W_x, W_H, W_y, h0, want_grads=True):
    caches, hs, probs_list = [], [], []
    loss = 0.0
    dzs = []
    h = h0
    for t, tok in enumerate(tokens):
        h, cache = step_forward(E[:, [tok]], h, W_x, W_H)
        caches.append(cache)
        hs.append(h)
        z = W_y @ h
        if targets is None:
            s = np.exp(z - z.max())
            probs_list.append(s / s.sum())
            continue
        probs, l, dz = softmax_loss_step(z, targets[t])
        probs_list.append(probs)
        loss += l
        dzs.append(dz)
    out = {"hs": np.hstack(hs), "y_hats": np.hstack(probs_list), "loss": loss}
    if not want_grads or targets is None:
        return out

    dWx = np.zeros_like(W_x)
    dWh = np.zeros_like(W_H)
    dWy = np.zeros_like(W_y)
    dE = np.zeros_like(E)
    dprev = np.zeros_like(h0, dtype=float)
    for t in reversed(range(len(tokens))):
        dWy += dzs[t] @ hs[t].T
        dh = W_y.T @ dzs[t] + dprev
        dx, dprev, dWx_t, dWh_t = step_backward(dh, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        dE[:, [tokens[t]]] += dx
    out.update(dW_x=dWx, dW_H=dWh, dW_y=dWy, dE=dE)
    return out


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    out = _run(tokens, None, E, W_x, W_H, W_y, h0)
    return out["hs"], out["y_hats"]


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    return _run(tokens, targets, E, W_x, W_H, W_y, h0, want_grads=False)["loss"]


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return _run(tokens, targets, E, W_x, W_H, W_y, h0)["dW_H"]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return _run(tokens, targets, E, W_x, W_H, W_y, h0)["dW_x"]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return _run(tokens, targets, E, W_x, W_H, W_y, h0)["dW_y"]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return _run(tokens, targets, E, W_x, W_H, W_y, h0)["dE"]
