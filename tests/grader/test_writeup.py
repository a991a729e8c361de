"""shapes_from_text reads Task 1 shapes out of write-ups as students write them on paper."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.read.shapes import parse_shape
from grader.read.writeup import normalise_symbol, shapes_from_text

EXAMPLE = Path(__file__).parents[1] / "examples/student_answer_rnn_bptt.md"

SYMBOLS = {
    "W_H": ["W_H", "w_H", "W_{hh}"],
    "h_t": ["h_t"],
    "W_x": ["W_x", "W_{xh}"],
    "x_t": ["x_t"],
    "a_t": ["a_t"],
    "z_t": ["z_t"],
    "W_y": ["W_y", "W_{hy}"],
    "y_t": ["y_t", "\\hat{y}_t", "ŷ_t", "yhat_t"],
    "E": ["E"],
}


def read_shapes(text: str, symbols: dict[str, list[str]] = SYMBOLS) -> dict[str, tuple[int, ...]]:
    """What the write-up states, as the grader will read it: every answer must parse."""
    return {symbol: parse_shape(answer) for symbol, answer in shapes_from_text(text, symbols).items()}


# ---------------------------------------------------------------------------------------------
# The real student's answer


def test_real_example_reads_every_stated_shape_and_nothing_else() -> None:
    # boxed answers, plain statements, and the line of shapes under the y_t equation; the student
    # never states z_t or E ("z_t = w_H h_t" in Task 2 is an equation, not a shape)
    assert read_shapes(EXAMPLE.read_text(encoding="utf-8")) == {
        "W_H": (7, 7),
        "h_t": (7, 1),
        "W_x": (7, 15),
        "x_t": (15, 1),
        "a_t": (7, 1),
        "y_t": (10, 1),
        "W_y": (10, 7),
    }


def test_real_example_returns_the_answers_as_written() -> None:
    # the raw text goes to parse_shape; a boxed answer is preferred to the plain one before it
    answers = shapes_from_text(EXAMPLE.read_text(encoding="utf-8"), SYMBOLS)
    assert answers["W_H"] == "7 \\times 7"
    assert answers["h_t"] == "\\boxed{7 \\times 1}"
    assert answers["W_y"] == "(10 \\times 7)"


# ---------------------------------------------------------------------------------------------
# Other write-ups, in other styles

MARKDOWN_TABLE = r"""
## Task 1

| symbol | meaning | shape |
| --- | --- | --- |
| $W_H$ | hidden to hidden | $7 \times 7$ |
| `W_x` | input to hidden | 7x15 |
| **a_t** | pre-activation | (7, 1) |
| $\hat{y}_t$ | prediction | 10 × 1 |
| E | embedding | D x V |
"""

BULLET_LIST = r"""
Shapes (H = 7 hidden units):
- W_x: 7x15
- **h_t** is 7 by 1
* The shape of $x_t$ is $15 \times 1$.
1. z_t has shape (10, 1)
- E is a 15 x 10 matrix (one column per word)
- Hidden layer units : 7
"""

ALIGN_BLOCK = r"""
\begin{align*}
W_H &= 7 \times 7 \\
W_x &= 7 \times 15 \\
h_t &= 7 \times 1 \nonumber \\
z_t &: \boxed{10 \times 1}
\end{align*}
"""

INLINE_MATH = r"""The hidden state $h_t$ is $7 \times 1$, and $\hat y_t$ is $10 \times 1$;
$W_y = 10 \times 7$, $W_H = 7\times7$.
Each input $\mathbf{x}_t$: $(15, 1)$ since $x_t = E[:, w_t]$."""

REAL_SPACE = r"""
$$W_H \in \mathbb{R}^{7 \times 7}, \quad W_x \in \mathbb{R}^{7 \times 15}$$
W_y ∈ ℝ^{10×7}
$$E \in \mathbb{R}^{D \times V} = \mathbb{R}^{15 \times 10}$$
$$h_t \in \mathbb{R}^{7}$$
"""

TEX_DOCUMENT = r"""\documentclass{article}
\begin{document}
\section{Shapes}
% W_H = 1 x 7 (an old draft, commented out)
The recurrent weights:
\begin{equation}
  \mathbf{W}_{H} \in \mathbb{R}^{7 \times 7} \label{eq:wh}
\end{equation}
\begin{equation*}
  \dim(\mathbf{h}_t) = 7 \times 1
\end{equation*}
\[ E \in \mathbb{R}^{15 \times 10} \]
\begin{tabular}{|c|c|}
\hline
$W_y$ & $10 \times 7$ \\ \hline
\end{tabular}
\section{Backpropagation through time}
\begin{equation}
  \frac{\partial L}{\partial W_H} = \sum_t \delta_t h_{t-1}^T
\end{equation}
\end{document}
"""

CORRECTED_LATER = r"""
$$h_t = 1 \times 7$$
$$W_H : \boxed{7 \times 7}$$
Correction: h_t is 7 x 1, not 1 x 7.
W_H = 7 x 1
"""

UNICODE = "ŷ_t = 10×1\nW_y: 10 × 7\nh_t = 7 ⨯ 1\n"

DERIVATION_ONLY = r"""
TASK 2
$$\frac{\partial L_t}{\partial W_H}
  = \frac{\partial L_t}{\partial \hat{y}_t} \cdot \frac{\partial \hat{y}_t}{\partial z_t}$$
$$z_t = W_y h_t, \quad h_t = \tanh(a_t), \quad a_t = W_H h_{t-1} + W_x x_t$$
$$\delta_t = \hat{y}_t - y_t$$ with y_t = 1 for the target word.
Hidden layer units : 7, vocabulary : 10
"""

ANNOTATED_PLAIN = r"""
h_t = tanh(W_H h_{t-1} + W_x x_t)
(7x1) = (7x7)(7x1) + (7x15)(15x1)

z_t = W_y h_t
(10 x 1)(10 x 7)(7 x 1)
"""

ANNOTATED_ALIGN = r"""
\begin{aligned}
a_t &= W_H h_{t-1} + W_x x_t \\
&= (7 \times 7)(7 \times 1) + (7 \times 15)(15 \times 1) \\
&= (7 \times 1) + (7 \times 1)
\end{aligned}
"""

SEPARATE_COLUMNS = """
| symbol | rows | columns |
|---|---|---|
| W_H | 7 | 7 |
| `shapes.W_x` | 7 | 15 |
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a Markdown table; the shape need not be the next column, and D x V (letters) is no answer
        (MARKDOWN_TABLE, {"W_H": (7, 7), "W_x": (7, 15), "a_t": (7, 1), "y_t": (10, 1)}),
        # bullets with colons, bold, "is", "has shape", "a ... matrix (remark)"; "units : 7" is not a symbol
        (BULLET_LIST, {"W_x": (7, 15), "h_t": (7, 1), "x_t": (15, 1), "z_t": (10, 1), "E": (15, 10)}),
        # an align environment with &= and &: alignment points, and \nonumber
        (ALIGN_BLOCK, {"W_H": (7, 7), "W_x": (7, 15), "h_t": (7, 1), "z_t": (10, 1)}),
        # inline $...$ in sentences, several statements per line, \hat y_t and \mathbf{x}_t spellings
        (INLINE_MATH, {"h_t": (7, 1), "y_t": (10, 1), "W_y": (10, 7), "W_H": (7, 7), "x_t": (15, 1)}),
        # SYMBOL \in R^{...}, in LaTeX and Unicode, through R^{D x V} = R^{15 x 10}, and R^7 for a vector
        (REAL_SPACE, {"W_H": (7, 7), "W_x": (7, 15), "W_y": (10, 7), "E": (15, 10), "h_t": (7,)}),
        # a .tex document: equation environments, \[ \], dim(...), a tabular row; % comments are ignored
        (TEX_DOCUMENT, {"W_H": (7, 7), "h_t": (7, 1), "E": (15, 10), "W_y": (10, 7)}),
        # a later statement corrects an earlier one; a boxed answer beats a later unboxed one
        (CORRECTED_LATER, {"h_t": (7, 1), "W_H": (7, 7)}),
        # Unicode hat and multiplication signs
        (UNICODE, {"y_t": (10, 1), "W_y": (10, 7), "h_t": (7, 1)}),
        # derivations, equations and values (y_t = 1) state no shape
        (DERIVATION_ONLY, {}),
        # equations in plain text with a line of shapes under each: whole equation aligned
        (
            ANNOTATED_PLAIN,
            {"h_t": (7, 1), "W_H": (7, 7), "W_x": (7, 15), "x_t": (15, 1), "z_t": (10, 1), "W_y": (10, 7)},
        ),
        # shapes on the next align row fit the right-hand side only (h_{t-1} takes a slot, is not h_t);
        # the reduced row (7 x 1) + (7 x 1) fits neither side and is ignored, so a_t stays unanswered
        (ANNOTATED_ALIGN, {"W_H": (7, 7), "W_x": (7, 15), "x_t": (15, 1)}),
        # sizes in columns of their own, and the question-id spelling shapes.W_x
        (SEPARATE_COLUMNS, {"W_H": (7, 7), "W_x": (7, 15)}),
        # nothing written at all
        ("", {}),
    ],
)
def test_write_ups(text: str, expected: dict[str, tuple[int, ...]]) -> None:
    assert read_shapes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$$W_{H} = 7 \\times 7$$", {"W_H": (7, 7)}),  # braces in a subscript
        ("$$\\mathbf{W}_H = 7 \\times 7$$", {"W_H": (7, 7)}),  # bold wrapper
        ("$$\\boldsymbol{h}_{t} = 7 \\times 1$$", {"h_t": (7, 1)}),  # \boldsymbol and braced subscript
        ("$$\\vec{x}_t = 15 \\times 1$$", {"x_t": (15, 1)}),  # vector arrow
        ("$$\\mathrm{E} = 15 \\times 10$$", {"E": (15, 10)}),  # upright letter
        ("$$W_{hh} = 7 \\times 7$$", {"W_H": (7, 7)}),  # an alias given in the symbol list
        ("w_h = 7x7", {"W_H": (7, 7)}),  # case differs, and only W_H matches ignoring case
        ("W_X is 7 x 15", {"W_x": (7, 15)}),  # the same for W_x
        ("$$\\hat y_t = 10 \\times 1$$", {"y_t": (10, 1)}),  # \hat without braces
        ("yhat_t: 10x1", {"y_t": (10, 1)}),  # a plain-text alias
        ("$$\\boxed{W_y = 10 \\times 7}$$", {"W_y": (10, 7)}),  # the whole statement boxed
        ("W_H (hidden to hidden) = 7 x 7", {"W_H": (7, 7)}),  # a remark after the symbol
        ("shape(a_t) = (7, 1), x_t.shape = (15, 1)", {"a_t": (7, 1), "x_t": (15, 1)}),  # code-like forms
        # two statements in one sentence
        ("The shape of W_H is 7 x 7 whereas E is 15 by 10.", {"W_H": (7, 7), "E": (15, 10)}),
        ("$$W_H = H \\times H = 7 \\times 7$$", {"W_H": (7, 7)}),  # letters first, then the sizes
        ("$$h_{t-1} = 7 \\times 1$$", {}),  # h_{t-1} is not h_t
        ("$$W_y^T = 7 \\times 10$$", {}),  # nor is a transpose W_y
        ("$$h_t = H \\times 1$$", {}),  # letters are not resolved to sizes
        ("$$h_t = \\tanh(a_t) = 7 \\times 1$$", {"h_t": (7, 1)}),  # a definition ending in its shape
        ("$$z_t = W_y h_t : \\boxed{10 \\times 1}$$", {"z_t": (10, 1)}),  # the same, boxed after a colon
        ("$$a_t = W_H h_{t-1} + W_x x_t = z_t$$", {}),  # a definition ending in a symbol states no shape
        ("$$\\frac{\\partial L}{\\partial W_H} = 7 \\times 7$$", {}),  # a derivative's shape is not W_H's
        ("$$z_t = w_H h_t$$", {}),  # an equation between symbols
        ("E = 15", {}),  # a single bare number reads as a value, not a shape
        ("\\[ draft \\[ W_H = 7 \\times 7 \\]", {"W_H": (7, 7)}),  # an unclosed \[ does not swallow the next block
    ],
)
def test_single_statements(text: str, expected: dict[str, tuple[int, ...]]) -> None:
    assert read_shapes(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "\\[ a" * 5000,  # every \[ unclosed: each one was a scan to the end of the text
        "\\begin{equation} x " * 1100,  # every environment unclosed: the same
        "|" * 20_000,  # one table row of 20,000 empty cells: each cell copied the rest of the row
        "&" * 20_000,  # the same as a LaTeX row
        "7x1 = 7x1 7x1\n" * 1500,  # rows both equations and lines of shapes: each re-read all below it (9 s)
        "h_t=" * 5000,  # one clause with 5,000 relations: each copied the clause up to it
    ],
    ids=["unclosed-brackets", "unclosed-environments", "pipes", "ampersands", "equation-shape-lines", "relations"],
)
def test_long_write_ups_are_read_in_linear_time(text: str) -> None:
    # 20,000 characters of each worst case take milliseconds; they took from 0.1 to 9 s before
    start = time.perf_counter()
    shapes_from_text(text, SYMBOLS)
    assert time.perf_counter() - start < 2.0


def test_explicit_statement_wins_over_an_annotated_equation() -> None:
    # the line under the equation says h_t is 1x7, but the student states 7x1 outright before it
    text = "$$h_t : 7 \\times 1$$\n$$z_t = W_y h_t$$\n$$(10 \\times 1)(10 \\times 7)(1 \\times 7)$$"
    assert read_shapes(text) == {"h_t": (7, 1), "z_t": (10, 1), "W_y": (10, 7)}


def test_prose_between_equation_and_shapes_breaks_the_annotation() -> None:
    # a shape line annotates only the equation right above it
    text = (
        "$$z_t = W_y h_t$$\n"
        "so that, by the rules of matrix products,\n"
        "$$(10 \\times 1)(10 \\times 7)(7 \\times 1)$$"
    )
    assert read_shapes(text) == {}


def test_case_is_ignored_only_when_unambiguous() -> None:
    # with both W_H and W_h listed, w_h could be either: no answer rather than a guess
    symbols = {"W_H": ["W_H"], "W_h": ["W_h"]}
    assert read_shapes("w_h = 7x7", symbols) == {}
    assert read_shapes("W_h = 7x7", symbols) == {"W_h": (7, 7)}


def test_only_listed_symbols_are_reported() -> None:
    # an unlisted symbol's statement is read past, and the result keeps the listed order
    answers = shapes_from_text("b_h = 7x1\n$$W_y = 10 \\times 7$$\nW_H = 7x7", SYMBOLS)
    assert list(answers) == ["W_H", "W_y"]


@pytest.mark.parametrize(
    ("spelling", "normal"),
    [
        ("W_{H}", "W_H"),  # braces dropped
        ("\\mathbf{W}_H", "W_H"),  # bold dropped
        ("\\mathbf W_H", "W_H"),  # bold without braces
        ("\\text{W}_{H}", "W_H"),  # text wrapper
        ("\\hat{y}_t", "ŷ_t"),  # hat becomes the Unicode letter
        ("\\hat y_t", "ŷ_t"),  # with or without braces
        ("\\mathbf{\\hat{y}}_t", "ŷ_t"),  # nested wrappers
        ("y\u0302_t", "ŷ_t"),  # a combining hat composes to the same letter
        ("h_{t-1}", "h_t-1"),  # stays distinct from h_t
        (" h _ t ", "h_t"),  # spaces dropped
    ],
)
def test_normalise_symbol(spelling: str, normal: str) -> None:
    assert normalise_symbol(spelling) == normal
