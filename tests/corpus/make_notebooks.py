"""Writes the notebook submissions of the corpus (run: python tests/corpus/make_notebooks.py).

The .ipynb files are kept in the repository; this script is how they were made and how to
remake them after an edit. Cells are written as a student leaves them: stale outputs, magics,
shell escapes, an error cell after the functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = Path(__file__).resolve().parent


def _stdout(text: str):
    return new_output("stream", name="stdout", text=text)


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # fixed ids, so that remaking a notebook changes nothing
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = i + 1
    return nb


# --------------------------------------------------------------------------- correct, full-featured

SHAPES_MD = r"""## Task 1: shapes

Sizes: $T = 5$ words, vocabulary $V = 10$, embedding $D = 15$, hidden $H = 7$.

$$W_H = 7 \times 7$$

$$h_t = 7 \times 1$$

$$W_x = 7 \times 15$$

$$x_t = 15 \times 1$$

$$a_t = W_H h_{t-1} + W_x x_t$$
$$(7 \times 7)(7 \times 1) + (7 \times 15)(15 \times 1) = (7 \times 1)$$

$$a_t : \boxed{7 \times 1}$$

$$z_t = W_y h_t : \boxed{10 \times 1}$$

$$W_y = 10 \times 7$$

$$y_t = \boxed{10 \times 1}$$

$$E = 15 \times 10$$
"""

STEP_CELL = '''import numpy as np

def softmax(z):
    z = z - np.max(z, axis=0, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=0, keepdims=True)

def rnn_step(x_t, h_prev, W_x, W_H):
    a_t = W_H @ h_prev + W_x @ x_t
    return np.tanh(a_t)
'''

FORWARD_CELL = '''def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    H, T = W_H.shape[0], len(tokens)
    hs = np.zeros((H, T))
    y_hats = np.zeros((W_y.shape[0], T))
    h = h0
    for t in range(T):
        h = rnn_step(E[:, [tokens[t]]], h, W_x, W_H)
        hs[:, [t]] = h
        y_hats[:, [t]] = softmax(W_y @ h)
    return hs, y_hats

def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    return float(-np.log(y_hats[targets, np.arange(T)]).sum())
'''

DEMO_DATA_CELL = '''%matplotlib inline
rng = np.random.default_rng(42)
T, V, D, H = 5, 10, 15, 7
E = rng.normal(size=(D, V))
W_x = rng.normal(size=(H, D)) * 0.3
W_H = rng.normal(size=(H, H)) * 0.3
W_y = rng.normal(size=(V, H)) * 0.3
h0 = np.zeros((H, 1))
tokens = np.array([3, 1, 4, 1, 5])
targets = np.array([1, 4, 1, 5, 9])
hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
print(hs.shape, y_hats.shape, rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0))
'''

TIMED_BPTT_CELL = '''%%time
def bptt(tokens, targets, E, W_x, W_H, W_y, h0):
    """all four gradients at once, returns a dict"""
    hs, y_hats = rnn_forward(tokens, E, W_x, W_H, W_y, h0)
    T = len(tokens)
    g = {"W_H": np.zeros_like(W_H), "W_x": np.zeros_like(W_x),
         "W_y": np.zeros_like(W_y), "E": np.zeros_like(E)}
    dh_next = np.zeros((W_H.shape[0], 1))
    for t in reversed(range(T)):
        h = hs[:, [t]]
        h_prev = hs[:, [t - 1]] if t > 0 else h0
        dz = y_hats[:, [t]].copy()
        dz[targets[t]] -= 1
        g["W_y"] += dz @ h.T
        da = (W_y.T @ dz + dh_next) * (1 - h ** 2)
        g["W_H"] += da @ h_prev.T
        g["W_x"] += da @ E[:, [tokens[t]]].T
        g["E"][:, [tokens[t]]] += W_x.T @ da
        dh_next = W_H.T @ da
    return g

grads = bptt(tokens, targets, E, W_x, W_H, W_y, h0)
print({k: v.shape for k, v in grads.items()})
'''

WRAPPERS_CELL = '''def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_H"]

def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_x"]

def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)["W_y"]

def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return bptt(tokens, targets, E, W_x, W_H, W_y, h0)["E"]
'''

MAIN_CELL = '''if __name__ == "__main__":
    # gradient check with central differences
    def num_grad(name, eps=1e-5):
        params = {"E": E, "W_x": W_x, "W_H": W_H, "W_y": W_y}
        P = params[name]
        G = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            old = P[idx]
            P[idx] = old + eps
            lp = rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0)
            P[idx] = old - eps
            lm = rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0)
            P[idx] = old
            G[idx] = (lp - lm) / (2 * eps)
        return G

    for name, f in [("W_H", grad_W_H), ("W_x", grad_W_x), ("W_y", grad_W_y), ("E", grad_E)]:
        err = np.abs(num_grad(name) - f(tokens, targets, E, W_x, W_H, W_y, h0)).max()
        print(name, "max abs error", err)
'''

TIMEIT_CELL = '''%timeit grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0)
'''

PLOT_CELL = '''import matplotlib.pyplot as plt

losses = []
lr = 0.05
for it in range(200):
    losses.append(rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0))
    g = bptt(tokens, targets, E, W_x, W_H, W_y, h0)
    W_H -= lr * g["W_H"]; W_x -= lr * g["W_x"]; W_y -= lr * g["W_y"]; E -= lr * g["E"]
plt.plot(losses)
plt.title("training loss")
plt.show()
'''

LEFTOVER_CELL = '''# TODO: remove before submitting
assert False, "stop here"
'''

NAME_ERROR_CELL = '''print(grad_W_H_numeric)
'''


def full_featured() -> nbformat.NotebookNode:
    return _notebook([
        new_markdown_cell("# Homework 3: recurrent neural network\n\nName: (student 07)"),
        new_code_cell("!pip install numpy", outputs=[_stdout("Requirement already satisfied: numpy\n")]),
        new_markdown_cell(SHAPES_MD),
        new_markdown_cell("## Task 2: forward pass and BPTT"),
        new_code_cell(STEP_CELL),
        new_code_cell(FORWARD_CELL),
        new_code_cell(DEMO_DATA_CELL, outputs=[_stdout("(7, 5) (10, 5) 12.07\n")]),
        new_markdown_cell(
            r"Backprop through time: $\delta_t = (1 - h_t^2) \odot (W_y^\top (\hat{y}_t - y_t) + W_H^\top \delta_{t+1})$"
        ),
        new_code_cell(TIMED_BPTT_CELL, outputs=[_stdout("CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms\n")]),
        new_code_cell(WRAPPERS_CELL),
        new_code_cell(MAIN_CELL, outputs=[_stdout("W_H max abs error 3.1e-10\n")]),
        new_code_cell(TIMEIT_CELL),
        new_code_cell(PLOT_CELL),
        new_code_cell(LEFTOVER_CELL, outputs=[_error("AssertionError", "stop here")]),
        new_code_cell(NAME_ERROR_CELL, outputs=[_error("NameError", "name 'grad_W_H_numeric' is not defined")]),
        new_markdown_cell("Thanks for reading!"),
    ])


# --------------------------------------------------------------------------- correct, shapes in code

SHAPES_CODE_CELL = '''# Task 1
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
SHAPES
'''

FIRST_TRY_CELL = '''import numpy as np

def rnn_step(x_t, h_prev, W_x, W_H):
    return np.tanh(W_H @ h_prev + W_x @ x_t)

def forward(tokens, E, W_x, W_H, W_y, h0):
    hs, ps = [], []
    h = h0
    for w in tokens:
        h = rnn_step(E[:, [w]], h, W_x, W_H)
        z = W_y @ h
        p = np.exp(z - z.max()); p /= p.sum()
        hs.append(h); ps.append(p)
    return hs, ps

def rnn_forward(tokens, E, W_x, W_H, W_y, h0):
    hs, ps = forward(tokens, E, W_x, W_H, W_y, h0)
    return np.hstack(hs), np.hstack(ps)

def rnn_loss(tokens, targets, E, W_x, W_H, W_y, h0):
    _, ps = forward(tokens, E, W_x, W_H, W_y, h0)
    return sum(float(-np.log(p[c, 0])) for p, c in zip(ps, targets))

# first attempt, only the last step... (gradient check says it's wrong)
def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ps = forward(tokens, E, W_x, W_H, W_y, h0)
    dz = ps[-1].copy(); dz[targets[-1]] -= 1
    da = (W_y.T @ dz) * (1 - hs[-1] ** 2)
    prev = hs[-2] if len(hs) > 1 else h0
    return da @ prev.T
'''

SECOND_TRY_CELL = '''# second attempt: full BPTT, this one passes my gradient check
def backward(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ps = forward(tokens, E, W_x, W_H, W_y, h0)
    prevs = [h0] + hs[:-1]
    dWH = np.zeros_like(W_H); dWx = np.zeros_like(W_x)
    dWy = np.zeros_like(W_y); dE = np.zeros_like(E)
    carry = np.zeros_like(h0, dtype=float)
    for t in range(len(tokens) - 1, -1, -1):
        dz = ps[t].copy(); dz[targets[t]] -= 1
        dWy += dz @ hs[t].T
        da = (1 - hs[t] ** 2) * (W_y.T @ dz + carry)
        dWH += da @ prevs[t].T
        dWx += da @ E[:, [tokens[t]]].T
        dE[:, [tokens[t]]] += W_x.T @ da
        carry = W_H.T @ da
    return dWH, dWx, dWy, dE

def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[0]

def grad_W_x(tokens, targets, E, W_x, W_H, W_y, h0):
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[1]

def grad_W_y(tokens, targets, E, W_x, W_H, W_y, h0):
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[2]

def grad_E(tokens, targets, E, W_x, W_H, W_y, h0):
    return backward(tokens, targets, E, W_x, W_H, W_y, h0)[3]
'''


def shapes_in_code() -> nbformat.NotebookNode:
    return _notebook([
        new_markdown_cell("# RNN homework"),
        new_code_cell(SHAPES_CODE_CELL),
        new_code_cell(FIRST_TRY_CELL),
        new_markdown_cell("The first `grad_W_H` was wrong, fixed version below:"),
        new_code_cell(SECOND_TRY_CELL),
        new_code_cell("grad_W_H(np.array([0, 1]), np.array([1, 0]), np.eye(3, 2), np.ones((2, 3)), np.eye(2), np.ones((2, 2)), np.zeros((2, 1)))"),
    ])


# --------------------------------------------------------------------------- wrong: last definition is truncated

TRUNCATED_CELL = '''# faster version: don't carry the gradient back through h_{t-1}
# (my gradient check was slow so I replaced the function, it's "close enough")
def grad_W_H(tokens, targets, E, W_x, W_H, W_y, h0):
    hs, ps = forward(tokens, E, W_x, W_H, W_y, h0)
    prevs = [h0] + hs[:-1]
    dWH = np.zeros_like(W_H)
    for t in range(len(tokens)):
        dz = ps[t].copy(); dz[targets[t]] -= 1
        da = (1 - hs[t] ** 2) * (W_y.T @ dz)
        dWH += da @ prevs[t].T
    return dWH
'''


def redefined_truncated() -> nbformat.NotebookNode:
    nb = shapes_in_code()
    nb.cells.insert(len(nb.cells) - 1, new_code_cell(TRUNCATED_CELL))
    return _notebook(nb.cells)


# --------------------------------------------------------------------------- wrong: not valid JSON

def broken_json_text() -> str:
    """A notebook cut off mid-file, as an interrupted upload leaves it."""
    text = json.dumps(nbformat.from_dict(full_featured()), indent=1)
    return text[: len(text) * 3 // 5]


def main() -> None:
    outputs = {
        HERE / "correct" / "notebook_homework.ipynb": full_featured(),
        HERE / "correct" / "notebook_shapes_in_code.ipynb": shapes_in_code(),
        HERE / "wrong" / "notebook_redefined_truncated.ipynb": redefined_truncated(),
    }
    for path, nb in outputs.items():
        nbformat.validate(nb)
        nbformat.write(nb, path)
    (HERE / "wrong" / "broken_notebook.ipynb").write_text(broken_json_text(), encoding="utf-8")


if __name__ == "__main__":
    main()
