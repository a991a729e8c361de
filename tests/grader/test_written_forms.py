"""Forms of writing the derivation that the reader must take as the same mathematics: plain text typed
without LaTeX, steps in brackets, chains that branch, entries written as superscripts, a loss under another
name. Each form is checked both ways: written right it passes, with one slip in it the slip is named."""

from __future__ import annotations

import pytest

pytest.importorskip("lark")

from exercises.bank import load_exercise  # noqa: E402
from grader.judge.expected import Expected  # noqa: E402
from grader.judge.questions import Evidence, judge_question  # noqa: E402
from grader.judge.written.normalize import normalize, split_statements  # noqa: E402

EXERCISE = load_exercise("rnn-bptt")
WRITTEN = [q for q in EXERCISE.questions if q.id.startswith("derivation.")]


def _statuses(text: str) -> dict[str, tuple[str, str | None, str]]:
    expected = Expected(EXERCISE)
    results = {q.id.split(".")[1]: judge_question(q, Evidence(writeup=text), [], expected) for q in WRITTEN}
    return {part: (r.status, r.diagnosis, r.feedback) for part, r in results.items()}


PLAIN = """task 2 (no latex, sorry)

model:

    a[t]    = WH h[t-1] + Wx x[t]
    h[t]    = tanh(a[t])
    z[t]    = Wy h[t]
    p[t]    = softmax(z[t])          (p = y-hat)
    L[t]    = -log p[t][y[t]]        L = sum_{t=1..T} L[t]

chain:

    L[t] <- p[t] <- z[t] <- h[t] <- a[t] <- { WH , h[t-1] }
    h[t-1] <- a[t-1] <- { WH , h[t-2] }   and so on down to h[0]

gradient, from the back, for the whole loss:

    dh[t] := dL/dh[t] = Wy^T (p[t] - onehot(y[t])) + WH^T da[t+1]      with da[T+1] = 0
    da[t] := dL/da[t] = dh[t] * (1 - h[t]*h[t])
=> dL/dWH = sum_{t=1..T}  da[t]  h[t-1]^T                               (7x1 times 1x7)
"""


def test_plain_text_in_columns_with_bracketed_steps_is_read():
    found = _statuses(PLAIN)
    assert {part: status for part, (status, _, _) in found.items()} == {
        "equations": "passed",
        "chain": "passed",
        "gradient": "passed",
    }, found


def test_a_slip_in_plain_text_is_named():
    slip = PLAIN.replace("da[t]  h[t-1]^T", "da[t]  h[t]^T")
    status, diagnosis, feedback = _statuses(slip)["gradient"]
    assert (status, diagnosis) == ("failed", "wrong-state-in-outer-product"), feedback


SUPERSCRIPT_ENTRIES = r"""
Components: $h_t^i$ is entry $i$ of $h_t$, $W^H_{ij}$ an entry of $W_H$.

$$a_t^i = \sum_j W^H_{ij}\, h_{t-1}^j + \sum_d W^x_{id}\, x_t^d, \qquad h_t^i = \tanh(a_t^i)$$
$$z_t^v = \sum_i W^y_{vi}\, h_t^i, \qquad \hat y_t^v = \frac{\exp(z_t^v)}{\sum_u \exp(z_t^u)}$$
$$L_t = -\log \hat y_t^{\,y_t}, \qquad L = \sum_{t=1}^T L_t$$
"""


def test_entries_written_as_superscripts_are_entries():
    status, _, feedback = _statuses(SUPERSCRIPT_ENTRIES)["equations"]
    assert status == "passed", feedback
    # Wrong entry by entry: never passed; read by value, without a catalogued slip, a person looks.
    for wrong in (
        SUPERSCRIPT_ENTRIES.replace(r"h_t^i = \tanh(a_t^i)", r"h_t^i = a_t^i"),
        SUPERSCRIPT_ENTRIES.replace(r"W^H_{ij}\, h_{t-1}^j", r"W^H_{ji}\, h_{t-1}^j"),
    ):
        status, _, feedback = _statuses(wrong)["equations"]
        assert status == "review" and "not the model's" in feedback, feedback


@pytest.mark.parametrize(
    "written, meant",
    [
        (r"h_t^i", r"h_{t,i}"),
        (r"\hat y_t^{\,y_t}", r"\hat y_{t,y_t}"),
        (r"W^H_{ij}", r"(W_{H})_{ij}"),
        (r"W^{(hh)} h_{t-1}", r"W_{hh} h_{t-1}"),
        (r"(W_x x_t)^i", r"(W_x x_t)_{i}"),
        (r"h[t-1]", r"h_{t-1}"),
        (r"p[t][y[t]]", r"p_{t}[y_{t}]"),
        (r"sum_{t=1..T} x", r"\sum_{t=1}^{T} x"),
        (r"\partial^{+} h_k", r"\partial  h_k"),
    ],
)
def test_notations_mean_what_they_say(written, meant):
    assert normalize(written).replace(" ", "") == meant.replace(" ", "")


@pytest.mark.parametrize(
    "kept",
    [r"h_t^2", r"W_H^T \delta_t", r"W_H^\top", r"\sum_{k=1}^{t} x_k", r"e^{x}", r"\hat y_t[y_t]"],
)
def test_powers_transposes_and_bounds_stay_as_written(kept):
    assert "," not in normalize(kept).replace("{t,", "") or kept == r"\hat y_t[y_t]"
    assert normalize(kept).count("^") == kept.count("^")


def test_a_chain_that_branches_at_its_end_is_one_arrow_per_branch():
    pieces = split_statements(normalize(r"L_t \to a_t \to \{W_H, h_{t-1}\}"))
    assert [p.replace(" ", "") for p in pieces] == [r"L_t\toa_t\toW_H", r"a_t\toh_{t-1}"]


def test_a_loss_under_another_name_is_the_loss():
    text = r"""
$$s_t = \tanh(U x_t + W s_{t-1}), \qquad o_t = V s_t, \qquad \hat y_t = \mathrm{softmax}(o_t)$$
$$E_t = -\, y_t^\top \log \hat y_t, \qquad E = \sum_{t=1}^{T} E_t$$
"""
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback
