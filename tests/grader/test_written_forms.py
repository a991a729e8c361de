"""Forms of writing the derivation that the reader must take as the same mathematics: plain text typed
without LaTeX, steps in brackets, chains that branch, entries written as superscripts, a loss under another
name. Each form is checked both ways: written right it passes, with one slip in it the slip is named."""

from __future__ import annotations

import re
from pathlib import Path

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


def _with_model(gradient: str) -> str:
    equations = (
        "$$a_t = W_H h_{t-1} + W_x x_t, \\qquad h_t = \\tanh(a_t), \\qquad z_t = W_y h_t, \\qquad "
        "\\hat y_t = \\mathrm{softmax}(z_t), \\qquad L_t = -\\log \\hat y_t[y_t], \\qquad L = \\sum_{t=1}^{T} L_t$$\n\n"
        "$$L_t \\to \\hat y_t \\to z_t \\to h_t \\to h_{t-1} \\to \\dots \\to h_1, \\qquad h_k \\to W_H$$\n\n"
    )
    return equations + gradient


TWO_INDEX_RECURSION = r"""
\newcommand{\pd}[2]{\frac{\partial #1}{\partial #2}}
$$g_t^{(t)} := \pd{L_t}{h_t} = W_y^\top(\hat y_t - y_t)$$
$$g_t^{(k-1)} := \pd{L_t}{h_{k-1}} = W_H^\top\big((1-h_k^2)\odot g_t^{(k)}\big)$$
$$\nabla_{W_H} L = \sum_{t=1}^{T}\sum_{k=1}^{t} \big((1-h_k^2)\odot g_t^{(k)}\big)\, h_{k-1}^\top$$
"""


def test_a_quantity_with_two_step_indices_and_the_writeups_own_macros():
    """g_t^{(k)} = ∂L_t/∂h_k, defined for k = t and then backwards: each entry from its own case."""
    status, _, feedback = _statuses(_with_model(TWO_INDEX_RECURSION))["gradient"]
    assert status == "passed", feedback
    slip = TWO_INDEX_RECURSION.replace(r"g_t^{(k)}\big)\, h_{k-1}", r"g_t^{(k)}\big)\, h_{k}")
    status, diagnosis, feedback = _statuses(_with_model(slip))["gradient"]
    assert (status, diagnosis) == ("failed", "wrong-state-in-outer-product"), feedback


def test_a_name_given_after_its_formula_in_a_row_of_several():
    row = (
        r"$$\frac{\partial L_t}{\partial z_t} = \hat y_t - y_t, \qquad "
        r"\frac{\partial h_j}{\partial a_j} = \mathrm{diag}(1 - h_j^2) =: D_j, \qquad "
        r"\frac{\partial a_{j+1}}{\partial h_j} = W_H$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T}\sum_{k=1}^{t} D_k \Big(\prod_{j=k+1}^{t} W_H^\top D_j\Big)"
        r" W_y^\top(\hat y_t - y_t)\, h_{k-1}^\top$$"
    )
    status, _, feedback = _statuses(_with_model(row))["gradient"]
    assert status == "passed", feedback


def test_a_product_written_with_dots_is_empty_when_its_ends_cross():
    """`∂h_t/∂h_k = ∂h_t/∂h_{t-1} ⋯ ∂h_{k+1}/∂h_k` holds no factor at k = t: the identity, as ∂h_t/∂h_t is."""
    text = (
        r"$$\frac{\partial h_t}{\partial h_{t-1}} = \mathrm{diag}(1-h_t^2) W_H$$"
        "\n\n"
        r"$$\frac{\partial h_t}{\partial h_k} = \frac{\partial h_t}{\partial h_{t-1}}"
        r" \frac{\partial h_{t-1}}{\partial h_{t-2}} \cdots \frac{\partial h_{k+1}}{\partial h_k}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T}\sum_{k=1}^{t} \mathrm{diag}(1-h_k^2)"
        r" \Big(\frac{\partial h_t}{\partial h_k}\Big)^\top W_y^\top(\hat y_t - y_t)\, h_{k-1}^\top$$"
    )
    status, _, feedback = _statuses(_with_model(text))["gradient"]
    assert status == "passed", feedback


EINSTEIN = r"""
Time as a superscript, entries as subscripts, repeated indices summed.
$$a^t_i = (W_H)_{ij}\, h^{t-1}_j + (W_x)_{im}\, x^t_m, \qquad h^t_i = \tanh(a^t_i)$$
$$z^t_c = (W_y)_{ci}\, h^t_i, \qquad \hat y^t_c = \frac{e^{z^t_c}}{\sum_{c'} e^{z^t_{c'}}}$$
$$L_t = -\log \hat y^t_{y_t}, \qquad L = \sum_{t=1}^{T} L_t$$
"""


def test_einsteins_convention_and_time_as_a_superscript():
    status, _, feedback = _statuses(EINSTEIN)["equations"]
    assert status == "passed", feedback
    wrong = EINSTEIN.replace(r"(W_H)_{ij}\, h^{t-1}_j", r"(W_H)_{ij}\, h^{t-1}_i")  # no sum over j left
    status, _, feedback = _statuses(wrong)["equations"]
    assert status != "passed", feedback


def test_a_weights_name_is_no_pair_of_indices_to_sum():
    """`W_{hh} h^{t-1}`: hh names the weight, it is no repeated index to sum over."""
    text = (
        r"$$a^t = W_{hh} h^{t-1} + W_{xh} x^t, \qquad h^t = \tanh(a^t), \qquad z^t = W_{hy} h^t,"
        r" \qquad \hat y^t = \mathrm{softmax}(z^t), \qquad L_t = -\log \hat y^t_{y_t}$$"
    )
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback


def test_an_upright_d_names_the_same_quantity():
    text = (
        r"$$\mathrm{d}a_{T+1} := 0, \qquad \mathrm{d}h_t = W_y^\top(\hat y_t - y_t) + W_H^\top \mathrm{d}a_{t+1},"
        r" \qquad \mathrm{d}a_t = (1-h_t^2)\odot \mathrm{d}h_t$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \mathrm{d}a_t\, h_{t-1}^\top$$"
    )
    status, _, feedback = _statuses(_with_model(text))["gradient"]
    assert status == "passed", feedback


def test_line_numbers_are_the_files_own(tmp_path):
    """Feedback quotes a write-up's lines by the numbers the student sees in their editor."""
    from grader.read.submission import read_submission

    path = tmp_path / "derivation.md"
    path.write_text("# Task 2\n\nChain: L_t → ŷ_t → z_t → h_t\n\n$$a_t = W_H h_{t-1} + \\oops{$$\n")
    writeup = read_submission(path, path.name).writeup
    assert writeup.split("\n")[2].startswith("Chain:")
    results = _statuses(writeup)
    assert "line 5" in results["equations"][2], results["equations"][2]


def test_two_chains_in_one_sentence_are_both_read():
    text = "Chain: L_t → ŷ_t → z_t → h_t → a_t → W_H, and also a_t → h_{t-1} → a_{t-1} → W_H → … → h_1 → W_H.\n"
    status, _, feedback = _statuses(text)["chain"]
    assert status == "passed", feedback


@pytest.mark.parametrize(
    "product, status",
    [
        (r"\prod_{j=k+1}^{t} \mathrm{diag}(1-h_j^2)\, W_H", "passed"),
        (r"\prod_{j=k}^{t} \mathrm{diag}(1-h_j^2)\, W_H", "failed"),  # one factor too many
        (r"\prod_{j=k+1}^{t} W_H\, \mathrm{diag}(1-h_j^2)\, W_H", "review"),  # wrong, and no known slip
    ],
)
def test_a_derivative_across_steps_in_the_chain_is_worked_out(product, status):
    chain = (
        "## Chain\n\n$$L_t \\to \\hat y_t \\to z_t \\to h_t \\to h_{t-1} \\to \\dots \\to h_1, \\qquad h_k \\to W_H$$\n\n"
        f"$$\\frac{{\\partial h_t}}{{\\partial h_k}} = {product}$$\n"
    )
    found, diagnosis, feedback = _statuses(_with_model("") + chain)["chain"]
    assert found == status, feedback
    if status == "failed":
        assert diagnosis == "jacobian-product-off-by-one"


@pytest.mark.parametrize(
    "sentence, status",
    [
        (
            r"$$h_t \to h_{t+1} \to \dots \to h_T, \quad\text{so } L_t \text{ reaches } W_H \text{ through } "
            r"a_t, a_{t+1}, \dots, a_T$$",
            "failed",
        ),
        (r"$$\text{so } L_t \text{ reaches } W_H \text{ through } a_t, a_{t-1}, \dots, a_1$$", "passed"),
        (r"Each $h_t$ reaches $L_t, L_{t+1}, \dots, L_T$ through $a_{t+1}, \dots, a_T$.", "passed"),
    ],
)
def test_a_chain_through_later_steps_is_named_whatever_the_verb(sentence, status):
    found, diagnosis, feedback = _statuses(_with_model(sentence + "\n"))["chain"]
    assert found == status, feedback
    if status == "failed":
        assert diagnosis == "later-states-in-chain"


def test_the_students_own_j_is_a_jacobian_not_the_exercises_loss():
    """`J_t` spells the step loss in some courses; a write-up defining `J_j := ∂h_j/∂h_{j-1}` means its own."""
    text = (
        r"$$J_j := \frac{\partial h_j}{\partial h_{j-1}} = \mathrm{diag}(1-h_j^2)\, W_H$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T}\sum_{k=1}^{t} \mathrm{diag}(1-h_k^2)\,"
        r" J_{k+1}^\top \cdots J_t^\top\, W_y^\top(\hat y_t - y_t)\, h_{k-1}^\top$$"
    )
    status, _, feedback = _statuses(_with_model(text))["gradient"]
    assert status == "passed", feedback


def test_a_weight_copy_per_step_is_the_weight():
    text = (
        r"$$a^{(t)} = W^{(t)} h^{(t-1)} + U x^{(t)}, \qquad h^{(t)} = \tanh(a^{(t)}), \qquad o^{(t)} = V h^{(t)},"
        r" \qquad \hat y^{(t)} = \mathrm{softmax}(o^{(t)}), \qquad L^{(t)} = -\log \hat y^{(t)}_{y_t}$$"
    )
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback


@pytest.mark.parametrize(
    "written, meant",
    [
        ("aₜ = W_H hₜ₋₁", "a_{t} = W_H h_{t-1}"),
        (r"E_t(y_t,\hat y_t) = -y_t^\top \log \hat y_t", r"E_t = -y_t^\top \log \hat y_t"),
        ("a_t = W_hh h_{t-1} + W_xh x_t", "a_t = W_{hh} h_{t-1} + W_{xh} x_t"),
        (r"\sum_{c'} e^{z_t[c']}", r"\sum_{u} e^{z_t[u]}"),
        (r"\sum_{m'=1}^{V} e^{z_{t,m'}}", r"\sum_{u=1}^{V} e^{z_{t,u}}"),
    ],
)
def test_more_habits_mean_what_they_say(written, meant):
    assert normalize(written).replace(" ", "") == meant.replace(" ", "")


def test_a_derivative_prime_and_a_transpose_prime_stay():
    assert normalize(r"\tanh'(a_t) h' W").count("'") == 2


def test_a_list_of_later_states_after_a_colon_is_a_later_states_claim():
    sentence = (
        "- Since the states are chained, $L_t$ depends on $W_H$ through every hidden state of the sentence: "
        "$h_1, h_2, \\dots, h_T$ (before and after step $t$).\n"
    )
    status, diagnosis, feedback = _statuses(_with_model(sentence))["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback


def test_a_derivative_with_respect_to_an_entry_is_defined_and_used_entry_by_entry():
    text = (
        r"$\dfrac{\partial L}{\partial h_{t,i}} = \sum_{m=1}^{V} (W_y)_{mi}\,(\hat y_{t,m} - [m=y_t])"
        r" + \sum_{m=1}^{H} (W_H)_{mi}\,\delta_{t+1,m}$"
        "\n\n"
        r"$\delta_{t,i} := \dfrac{\partial L}{\partial a_{t,i}} = (1 - h_{t,i}^2)\,\dfrac{\partial L}{\partial h_{t,i}}$,"
        r" $\quad \delta_{T+1} = 0$"
        "\n\n"
        r"i.e. $\partial L/\partial W_H = \sum_t \delta_t h_{t-1}^T$."
    )
    status, _, feedback = _statuses(_with_model(text))["gradient"]
    assert status == "passed", feedback
    slip = text.replace(r"(W_H)_{mi}\,\delta_{t+1,m}", r"(W_H)_{im}\,\delta_{t+1,m}")
    status, diagnosis, feedback = _statuses(_with_model(slip))["gradient"]
    assert (status, diagnosis) == ("failed", "untransposed-recurrent-weight"), feedback


def test_a_chain_that_lists_later_states_is_named():
    row = r"$$L_t \;\leftarrow\; \hat y_t \;\leftarrow\; z_t \;\leftarrow\; h_t,\, h_{t+1},\, \dots,\, h_T$$" + "\n"
    status, diagnosis, feedback = _statuses(_with_model(row))["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback
    shifted = r"$$L_t \longrightarrow \hat y_t \longrightarrow z_t \longrightarrow h_{t+1} \longrightarrow a_t$$" + "\n"
    assert _statuses(_with_model(shifted))["chain"][1] != "later-states-in-chain"


def test_plain_text_index_notation_with_glued_weight_names():
    text = """model, entry by entry:

    a_t[i] = sum_j WH[i,j] h_{t-1}[j] + sum_d Wx[i,d] x_t[d]
    h_t[i] = tanh(a_t[i])
    z_t[k] = sum_i Wy[k,i] h_t[i]
    yhat_t = softmax(z_t)
    L_t = -log yhat_t[y_t]
"""
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback


@pytest.mark.parametrize("verb", ["is a function of", "involves", "uses", "needs"])
def test_later_states_named_with_other_verbs(verb):
    sentence = f"So $L_t$ {verb} all the hidden states $h_1, \\dots, h_T$ of the sentence.\n"
    status, diagnosis, feedback = _statuses(_with_model(sentence))["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback


def test_a_sentence_ending_in_a_colon_starts_no_section():
    """A mistake under `## Dependency chain`, after `… one Jacobian:`, is the chain's, not the gradient's."""
    text = _with_model("") + (
        "## Dependency chain\n\nEach step back in time contributes one Jacobian:\n\n"
        "$$\\frac{\\partial h_j}{\\partial h_{j-1}} = \\mathrm{diag}(1-h_{j-1}^2)\\, W_H$$\n\n"
        "## Gradient\n\n$$\\delta_t = (1-h_t^2)\\odot(W_y^\\top(\\hat y_t - y_t) + W_H^\\top \\delta_{t+1})$$\n\n"
        "$$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{T} \\delta_t h_{t-1}^\\top$$\n"
    )
    found = _statuses(text)
    assert found["chain"][:2] == ("failed", "tanh-derivative-at-wrong-step"), found["chain"]
    assert found["gradient"][0] == "passed", found["gradient"]


@pytest.mark.parametrize(
    "slope, outcome",
    [
        ("1 - h_t^2", "passed"),
        ("h_t (1 - h_t)", "sigmoid-derivative-for-tanh"),
        ("1 - a_t^2", "tanh-derivative-of-wrong-quantity"),
    ],
)
def test_a_writeups_own_derivative_of_tanh_is_the_one_used(slope, outcome):
    text = (
        f"$$\\tanh'(a_t) = {slope}$$\n\n"
        r"$$\delta_t = \tanh'(a_t) \odot \big(W_y^\top(\hat y_t - y_t) + W_H^\top \delta_{t+1}\big), \qquad \delta_{T+1} = 0$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \delta_t h_{t-1}^\top$$"
    )
    status, diagnosis, feedback = _statuses(_with_model(text))["gradient"]
    assert (status if status == "passed" else diagnosis) == outcome, feedback


def test_a_named_quantity_is_judged_by_its_computation_not_its_name():
    """`δ_t := ∂L/∂a_t` names δ; the recursion computing it (here without the transpose) is what is judged."""
    text = (
        r"Let $\delta_t := \dfrac{\partial L}{\partial a_t}$, with $\delta_{T+1} = 0$."
        "\n\n"
        r"$$\frac{\partial L}{\partial h_t} = W_y^\top(\hat y_t - y_t) + W_H \delta_{t+1}$$"
        "\n\n"
        r"$$\delta_t = \frac{\partial L}{\partial h_t} \odot (1 - h_t \odot h_t)$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \delta_t h_{t-1}^\top$$"
    )
    status, diagnosis, feedback = _statuses(_with_model(text))["gradient"]
    assert (status, diagnosis) == ("failed", "untransposed-recurrent-weight"), feedback


def test_a_later_states_claim_after_a_clause_about_feeding_states_is_named():
    sentence = (
        "Since $h_t$ is also fed into $h_{t+1},\\dots,h_T$, the loss $L_t$ depends on $W_H$ through every hidden "
        "state $h_1,\\dots,h_T$.\n"
    )
    status, diagnosis, feedback = _statuses(_with_model(sentence))["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback


def test_an_entry_defined_as_a_vector_goes_to_review_quickly():
    text = (
        r"$$\delta_{t,i} = (1-h_t^2)\odot(W_y^T(\hat y_t - y_t) + W_H^T \delta_{t+1})$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \delta_t h_{t-1}^T$$"
    )
    assert _statuses(_with_model(text))["gradient"][0] == "review"


@pytest.mark.parametrize(
    "sentence",
    [
        "Every hidden state feeds into $L_t$, which depends on $h_{t+1}$ and so on up to $h_T$.\n",
        "The gradient flows back into $L_t$, which depends on $h_1, \\dots, h_T$.\n",
    ],
)
def test_a_later_states_claim_in_a_relative_clause_is_named(sentence):
    status, diagnosis, feedback = _statuses(_with_model(sentence))["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback


def test_the_kept_grammar_tables_are_the_grammars():
    """The derivation parser is loaded from tables kept with the code: they must be this grammar's, built with these
    options (after a change to either, remake them as grammar_tables.py's docstring says); made by another lark,
    they are not used and the parser is built."""
    import lark

    from grader.judge.written import grammar_tables, parsing
    from grader.judge.written.grammar import GRAMMAR

    assert grammar_tables.GRAMMAR_SHA256 == parsing._digest(GRAMMAR), "grammar.py changed: remake grammar_tables.py"
    kept = parsing._saved_parser(GRAMMAR)
    assert (kept is not None) is (grammar_tables.LARK_VERSION == lark.__version__)


@pytest.mark.parametrize("damage", ["no module", "another grammar", "tables lark cannot read", "a broken module"])
def test_a_parser_is_built_whatever_is_wrong_with_the_kept_tables(monkeypatch, damage):
    import sys

    from grader.judge.written import grammar_tables, parsing
    from grader.judge.written.grammar import GRAMMAR

    if damage == "no module":
        monkeypatch.setitem(sys.modules, "grader.judge.written.grammar_tables", None)
        monkeypatch.delattr(sys.modules["grader.judge.written"], "grammar_tables")
    elif damage == "another grammar":
        monkeypatch.setattr(grammar_tables, "GRAMMAR_SHA256", "0" * 64)
    elif damage == "tables lark cannot read":
        monkeypatch.setitem(grammar_tables.TABLES, "memo", {"not": "tables"})
    else:
        monkeypatch.delattr(grammar_tables, "LARK_VERSION")
    monkeypatch.setattr(parsing, "_parser", parsing._parser.__wrapped__)  # not the parser this process keeps
    assert parsing._saved_parser(GRAMMAR) is None
    assert parsing.parse_rows(r"h_t = \tanh(W_H h_{t-1})")


def test_the_kept_parser_reads_every_row_of_the_corpus_as_a_parser_built_from_the_grammar():
    import lark

    from grader.judge.written import grammar_tables, parsing
    from grader.judge.written.grammar import GRAMMAR

    kept = parsing._saved_parser(GRAMMAR)
    if kept is None:  # tables made by another lark are not used (the parser is built): nothing kept to compare
        assert grammar_tables.LARK_VERSION != lark.__version__
        return
    built = parsing.built_parser(GRAMMAR)
    corpus = Path(__file__).parents[1] / "corpus" / "writeups"
    rows = [
        row.strip()
        for path in sorted(corpus.rglob("*.md"))
        for block in re.findall(r"\$\$(.+?)\$\$|\$([^$\n]+)\$", path.read_text(encoding="utf-8"), flags=re.S)
        for row in "".join(block).split("\\\\")
        if row.strip()
    ]
    assert len(rows) > 2000
    for row in rows:
        assert _read(kept, row) == _read(built, row), row


def _read(parser, text):
    try:
        return parser.parse(text)
    except Exception as exc:  # noqa: BLE001 - which error it is, and where, compared as well (not its wording,
        return type(exc).__name__, getattr(exc, "line", None), getattr(exc, "column", None)  # which lists a set)


LOSS_AS_A_SUM = r"""
$$a_t = W_H h_{t-1} + W_x x_t, \qquad h_t = \tanh(a_t), \qquad z_t = W_y h_t, \qquad \hat y_t = \operatorname{softmax}(z_t)$$
$$L = \sum_{t=1}^{T} -\log \hat y_t[y_t]$$
"""


@pytest.mark.parametrize(
    "loss",
    [
        r"L = \sum_{t=1}^{T} -\log \hat y_t[y_t]",
        r"L = -\sum_{t=1}^{T} \log \hat y_t[y_t]",
        r"L = \sum_t L_t = -\sum_{t=1}^{T} \log \hat y_t[y_t]",
        r"L = -\sum_{k=1}^{T} \log \hat y_k[y_k]",
    ],
)
def test_a_loss_given_only_as_the_total_states_each_steps_loss(loss):
    text = LOSS_AS_A_SUM.replace(r"L = \sum_{t=1}^{T} -\log \hat y_t[y_t]", loss)
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback


@pytest.mark.parametrize(
    "loss",
    [
        r"L = \sum_{t=1}^{T} \log \hat y_t[y_t]",  # the sign lost
        r"L = -\sum_{t=1}^{T} \log \hat y_t[h_t]",  # the wrong entry
    ],
)
def test_a_wrong_total_loss_is_not_passed(loss):
    text = LOSS_AS_A_SUM.replace(r"L = \sum_{t=1}^{T} -\log \hat y_t[y_t]", loss)
    status, _, feedback = _statuses(text)["equations"]
    assert status != "passed", feedback


JACOBIAN_NAMED_J = r"""
$$a_t = W_H h_{t-1} + W_x x_t, \qquad h_t = \tanh(a_t), \qquad z_t = W_y h_t, \qquad \hat y_t = \operatorname{softmax}(z_t)$$
$$L_t = -\log \hat y_t[y_t], \qquad L = \sum_t L_t$$

With $D_t = \operatorname{diag}(1 - h_t \odot h_t)$, the Jacobians between hidden states:
$$J_{t,k} := \frac{\partial h_t}{\partial h_k} = D_t W_H\, D_{t-1} W_H \cdots D_{k+1} W_H, \qquad J_{t,t} = I$$
"""


def test_a_jacobian_named_like_a_loss_is_not_read_as_the_loss():
    """`J_t` may spell the step's loss, but a student who defines `J_{t,k}` as a derivative means their own."""
    status, _, feedback = _statuses(JACOBIAN_NAMED_J)["equations"]
    assert status == "passed", feedback
    slipped = JACOBIAN_NAMED_J.replace(r"z_t = W_y h_t", r"z_t = W_H h_t")
    assert _statuses(slipped)["equations"][0] == "failed"


def test_bars_for_gradients_keep_the_quantities_they_decorate():
    """`\\bar h_t := ∂L/∂h_t` is the student's own derivative; `h_t` stays the hidden state."""
    text = LOSS_AS_A_SUM + r"""
$$\bar h_t = \partial L/\partial h_t, \qquad \bar a_t = \bar h_t \odot (1 - h_t \odot h_t)$$
"""
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback


MODEL = r"""
$$a_t = W_H h_{t-1} + W_x x_t, \qquad h_t = \tanh(a_t), \qquad z_t = W_y h_t, \qquad \hat y_t = \operatorname{softmax}(z_t), \qquad L_t = -\log \hat y_t[y_t]$$
"""


@pytest.mark.parametrize(
    "chain",
    [
        # a chain against the flow, and the weight's way in with the flow, in one row
        r"$$L_t \leftarrow \hat y_t \leftarrow z_t \leftarrow h_t \leftarrow a_t \leftarrow h_{t-1} \leftarrow \cdots,"
        r"\qquad W_H \to a_k \text{ for every } k \le t$$",
        # the weight's way in said in words, either way round
        r"$L_t \to \hat y_t \to z_t \to h_t \to a_t \to h_{t-1} \to a_{t-1} \to \dots$, with $W_H$ entering every $a_k$.",
        r"$L_t \to \hat y_t \to z_t \to h_t \to a_t \to h_{t-1} \to \dots$, and each $a_k$ contains $W_H$.",
        # the values' flow throughout
        r"$$W_H \to a_t \to h_t \to z_t \to \hat y_t \to L_t, \qquad h_{t-1} \to a_t$$",
    ],
)
def test_a_chain_is_read_whichever_way_its_arrows_point(chain):
    status, _, feedback = _statuses(MODEL + "\n**Chain.** " + chain + "\n")["chain"]
    assert status == "passed", feedback


@pytest.mark.parametrize(
    "chain",
    [
        r"$L_t \to \hat y_t \to z_t \to h_t \to a_t$, with $W_H$ entering $a_t$.",  # never back through h_{t-1}
        r"$L_t \to h_t \to z_t \to \hat y_t$, with $W_H$ entering $a_t$, $a_t$ contains $h_{t-1}$.",  # out of order
    ],
)
def test_a_chain_turned_around_is_still_not_passed_when_it_is_wrong(chain):
    status, _, feedback = _statuses(MODEL + "\n**Chain.** " + chain + "\n")["chain"]
    assert status != "passed", feedback


CASES_CHAIN = MODEL + r"""
**Chain.**
\[
  L_t \;\longrightarrow\; \hat y_t \;\longrightarrow\; z_t \;\longrightarrow\; h_t \;\longrightarrow\; a_t
  \;\longrightarrow\;
  \begin{cases}
    W_H & \text{(directly)},\\[2pt]
    \bm{h}_{t-1} \longrightarrow \bm{a}_{t-1} \longrightarrow \bigl\{W_H,\ \bm{h}_{t-2} \longrightarrow \cdots \longrightarrow W_H\bigr\}.
  \end{cases}
\]
"""


def test_a_chain_that_branches_in_cases_keeps_its_branches_together():
    status, _, feedback = _statuses(CASES_CHAIN)["chain"]
    assert status == "passed", feedback
    stops = CASES_CHAIN.split(r"\bm{h}_{t-1}")[0] + r"\end{cases}" + "\n" + r"\]"
    assert _statuses(stops.replace(r"\text{(directly)},\\[2pt]", r"\text{(directly)}"))["chain"][0] != "passed"


@pytest.mark.parametrize(
    "claim",
    [
        # the arrow row's L_t and the sentence's L_t are two claims: the first must not swallow the second
        "$L_t \\to \\hat y_t \\to z_t \\to h_t \\to a_t \\to W_H$\n\n"
        "So $L_t$ depends on $W_H$ through the hidden states $h_t, h_{t+1}, \\dots, h_T$.",
        # the loss under the write-up's own name
        "$E_t \\to \\hat y_t \\to z_t \\to h_t \\to a_t \\to W_H$. "
        "The states are linked both ways, so $E_t$ depends on all hidden states $h_1, \\dots, h_T$.",
    ],
)
def test_a_claim_that_the_loss_depends_on_later_states_is_found(claim):
    model = MODEL.replace("L_t = ", "E_t = ") if "E_t" in claim else MODEL
    status, diagnosis, feedback = _statuses(model + "\n" + claim + "\n")["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback


ALIGNAT = r"""
\begin{alignat}{2}
  a_t &= W_H h_{t-1} + W_x x_t, &\qquad h_t &= \tanh(a_t), \\
  z_t &= W_y h_t, &\qquad \hat y_t &= \operatorname{softmax}(z_t), \\
  L_t &= -\log \hat y_t[y_t] & &
\end{alignat}
"""


def test_an_alignat_environment_is_read():
    status, _, feedback = _statuses(ALIGNAT)["equations"]
    assert status == "passed", feedback
    assert _statuses(ALIGNAT.replace("W_y h_t", "W_H h_t"))["equations"][0] == "failed"


NAMED_RECURSION = MODEL + r"""
Let $\delta_t := \partial L/\partial a_t$, with $\delta_{T+1} = 0$:
$$\delta_t = (1 - h_t^2) \odot \left[ W_y^\top(\hat y_t - \mathbb 1_{y_t}) + W_H^\top \delta_{t+1} \right] \ \ (t \le T)$$
$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \delta_t\, h_{t-1}^\top$$
"""


def test_a_recursion_with_a_bracket_after_a_product_sign_and_its_steps_noted_is_read_and_checked():
    assert _statuses(NAMED_RECURSION)["gradient"][0] == "passed"
    slipped = NAMED_RECURSION.replace(r"W_H^\top \delta_{t+1}", r"W_H \delta_{t+1}")
    status, diagnosis, feedback = _statuses(slipped)["gradient"]
    assert (status, diagnosis) == ("failed", "untransposed-recurrent-weight"), feedback


def test_a_symbol_whose_computation_could_not_be_read_is_not_taken_at_its_names_value():
    """`δ_t := ∂L/∂a_t` names what δ_t should be; what the student computed for it is on a row the grader could not
    read. Taking δ_t at its name's value would pass a wrong recursion, so a person looks, right or wrong."""
    unreadable = NAMED_RECURSION.replace(r"\ \ (t \le T)$$", r"~!$$")
    for text in (unreadable, unreadable.replace(r"W_H^\top \delta_{t+1}", r"W_H \delta_{t+1}")):
        status, _, feedback = _statuses(text)["gradient"]
        assert status == "review", feedback
        assert "could not be read" in feedback


def test_a_later_form_of_an_equality_states_the_quantity_too():
    """`E_t = -\\sum_k y_{tk} \\ln ŷ_{tk} = -\\ln ŷ_t[y_t]`: the first form is not read, the second is right."""
    text = MODEL.replace(
        r"L_t = -\log \hat y_t[y_t]", r"L_t = -\sum_{k=1}^{10} y_{tk} \ln \hat y_{tk} = -\ln \hat y_t[y_t]"
    )
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback
    slipped = text.replace(r"= -\ln \hat y_t[y_t]", r"= -\ln \hat y_t[y_t] = W_H h_{t-1} + W_x x_t")
    assert _statuses(slipped)["equations"][0] != "passed"


MIN_CHAR = r"""
$$h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t), \qquad y_t = W_{hy} h_t, \qquad p_t = \mathrm{softmax}(y_t)$$
$$L_t = -\log p_t[c_t], \qquad L = \sum_t L_t$$
"""


def test_logits_named_y_are_the_logits_when_the_prediction_is_their_softmax():
    status, _, feedback = _statuses(MIN_CHAR)["equations"]
    assert status == "passed", feedback
    assert _statuses(MIN_CHAR.replace(r"y_t = W_{hy} h_t", r"y_t = W_{hh} h_t"))["equations"][0] == "failed"


def test_the_prediction_written_without_its_softmax_is_still_a_mistake():
    text = MODEL.replace(r"\hat y_t = \operatorname{softmax}(z_t)", r"y_t = W_y h_t")
    status, _, feedback = _statuses(text)["equations"]
    assert status != "passed", feedback


TOTAL_DERIVATIVES = MODEL + r"""
$$\frac{dL}{dW_H} = \sum_{t=1}^{T}\Big[(1-h_t\odot h_t)\odot\Big(W_y^\top(\hat y_t-e_{y_t}) + W_H^\top\frac{dL}{da_{t+1}}\Big)\Big]\,h_{t-1}^\top$$
"""

TWO_STEP_SYMBOL = MODEL + r"""
Let $\delta_k^{(t)} := \partial L_t/\partial a_k$ for $k \le t$:
$$\delta_t^{(t)} = (1 - h_t \odot h_t) \odot W_y^\top(\hat y_t - e_{y_t}), \qquad \delta_k^{(t)} = (1 - h_k \odot h_k) \odot \left(W_H^\top \delta_{k+1}^{(t)}\right)$$
$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T}\sum_{k=1}^{t} \delta_k^{(t)}\, h_{k-1}^\top$$
"""


@pytest.mark.parametrize(
    "text, slipped_statuses",
    [(TOTAL_DERIVATIVES, ("review",)), (TWO_STEP_SYMBOL, ("failed",))],
    ids=["d-over-d", "two-steps"],
)
def test_gradients_in_total_derivatives_or_with_a_symbol_of_two_steps_are_checked_by_value(text, slipped_statuses):
    """Right, they pass by value; with the transpose left out, never (a named slip, or a value a person looks at:
    the total derivative written in the formula is taken at its name's value, so the whole is no catalogued slip)."""
    status, _, feedback = _statuses(text)["gradient"]
    assert status == "passed", feedback
    slipped = text.replace(r"W_H^\top", r"W_H", 1)
    assert _statuses(slipped)["gradient"][0] in slipped_statuses


NG = r"""
$$u^{\langle t\rangle} = W_{aa}\,a^{\langle t-1\rangle} + W_{ax}\,x^{\langle t\rangle}, \qquad a^{\langle t\rangle} = \tanh\left(u^{\langle t\rangle}\right)$$
$$z^{\langle t\rangle} = W_{ya}\,a^{\langle t\rangle}, \qquad \hat y^{\langle t\rangle} = \mathrm{softmax}\left(z^{\langle t\rangle}\right), \qquad \ell(z^{\langle t\rangle}, y^{\langle t\rangle}) = -\log \hat y^{\langle t\rangle}[y^{\langle t\rangle}]$$

Chain: $\ell(z^{\langle t\rangle}, y^{\langle t\rangle}) \rightarrow \hat y^{\langle t\rangle} \rightarrow z^{\langle t\rangle} \rightarrow a^{\langle t\rangle} \rightarrow u^{\langle t\rangle} \rightarrow \{W_{aa}, a^{\langle t-1\rangle}\}$,
and $a^{\langle t-1\rangle} \rightarrow u^{\langle t-1\rangle} \rightarrow \{W_{aa}, a^{\langle t-2\rangle}\}$, and so on.
"""


def test_steps_in_angle_brackets_with_the_state_named_a_and_a_loss_of_the_steps_values():
    """Ng's courses: `a^{<t>}` is the hidden state (the exercise's `a_t` is the pre-activation, here `u`), and
    d2l's `\\ell(o_t, y_t)` is the loss of step t."""
    found = _statuses(NG)
    assert (found["equations"][0], found["chain"][0]) == ("passed", "passed"), found
    swapped = NG.replace(r"z^{\langle t\rangle} = W_{ya}\,a^{\langle t\rangle}", r"z^{\langle t\rangle} = W_{aa}\,a^{\langle t\rangle}")
    assert _statuses(swapped)["equations"][0] == "failed"


GOODFELLOW = r"""
$$a^{(t)} = W_H h^{(t-1)} + W_x x^{(t)}, \qquad h^{(t)} = \tanh(a^{(t)}), \qquad z^{(t)} = W_y h^{(t)}, \qquad \hat y^{(t)} = \operatorname{softmax}(z^{(t)})$$
$$\nabla_{h^{(t)}} L = W_y^\top (\hat y^{(t)} - e_{y^{(t)}}) + W_H^\top \operatorname{diag}\big(1 - (h^{(t+1)})^2\big)\, \nabla_{h^{(t+1)}} L$$
$$\nabla_{W_H} L = \sum_{t=1}^{T} \operatorname{diag}\big(1 - (h^{(t)})^2\big)\,\big(\nabla_{h^{(t)}} L\big)\, h^{(t-1)\top}$$
"""


def test_a_step_and_a_transpose_in_one_superscript():
    """Goodfellow et al. write `h^{(t-1)\\top}`: the state at t-1, transposed."""
    status, _, feedback = _statuses(GOODFELLOW)["gradient"]
    assert status == "passed", feedback
    status, diagnosis, _ = _statuses(GOODFELLOW.replace(r"h^{(t-1)\top}", r"h^{(t)\top}"))["gradient"]
    assert (status, diagnosis) == ("failed", "wrong-state-in-outer-product")


# What a review of the forms above tried against them: correct parts that must not fail, mistakes that must not pass.

M = MODEL + "\n"
NG_MODEL = r"""
$$u^{\langle t\rangle} = W_{aa}a^{\langle t-1\rangle} + W_{ax}x^{\langle t\rangle}, \qquad a^{\langle t\rangle} = \tanh(u^{\langle t\rangle})$$
$$z^{\langle t\rangle} = W_{ya}a^{\langle t\rangle}, \qquad \hat y^{\langle t\rangle} = \mathrm{softmax}(z^{\langle t\rangle}), \qquad \mathcal{L}^{\langle t\rangle} = -\log \hat y^{\langle t\rangle}[y^{\langle t\rangle}]$$
"""
NG_ROW = r"$$\mathcal{L}^{\langle t\rangle} \rightarrow \hat y^{\langle t\rangle} \rightarrow z^{\langle t\rangle} \rightarrow a^{\langle t\rangle} \rightarrow u^{\langle t\rangle} \rightarrow W_{aa}$$"
TRUNCATED = M + r"$$L_t \rightarrow \hat y_t \rightarrow z_t \rightarrow h_t \rightarrow W_H$$" + "\n"

CORRECT_CHAINS = {
    "recursion in words, angle brackets": NG_MODEL
    + "## Dependency chain\n"
    + NG_ROW
    + r" and $u^{\langle t\rangle}$ also contains $a^{\langle t-1\rangle}$, which was itself computed with $W_{aa}$"
    r" from $a^{\langle t-2\rangle}$, and so on down to $a^{\langle 0\rangle}$.",
    "later losses, truly": M
    + r"$$L_t \rightarrow \hat y_t \rightarrow z_t \rightarrow h_t \rightarrow W_H, \qquad h_t \rightarrow h_{t-1}"
    r" \rightarrow \dots \rightarrow h_1$$"
    + "\n"
    + r"Since $h_t$ affects $L_t, L_{t+1}, \dots, L_T$, the gradient $\frac{\partial L}{\partial h_t}$ depends on"
    r" $\frac{\partial L}{\partial h_{t+1}}$ as well.",
}


@pytest.mark.parametrize("text", CORRECT_CHAINS.values(), ids=CORRECT_CHAINS.keys())
def test_a_correct_chain_in_the_new_forms_passes(text):
    status, _, feedback = _statuses(text)["chain"]
    assert status == "passed", feedback


WRONG_CHAINS = {
    "held back, contains": TRUNCATED + r"Here $h_{t-1}$ is treated as a constant input, so $h_t$ contains $W_H$ only directly.",
    "held back, uses": TRUNCATED + r"The formula uses $h_t$ and $h_{t-1}$ from the forward pass.",
    "held back, appears": TRUNCATED + r"$W_H$ appears in $h_t$; we hold $h_{t-1}$ fixed.",
    "later, contains": M
    + r"$L_t$ contains $\hat y_t$, which contains $z_t$, which contains $h_t$, which contains $W_H$ and $h_{t-1}$."
    r" So $L_t$ contains $W_H$ through $h_t, h_{t+1}, \dots, h_T$.",
    "later, angle brackets": NG_MODEL
    + NG_ROW
    + "\n"
    + r"$$a^{\langle t\rangle} \rightarrow a^{\langle t-1\rangle} \rightarrow \dots$$"
    + "\n"
    + r"So $\mathcal{L}^{\langle t\rangle}$ depends on $W_{aa}$ through all the hidden states $a^{\langle t\rangle},"
    r" a^{\langle t+1\rangle}, \dots, a^{\langle T_x\rangle}$.",
    "later, a branch": M
    + r"$$L_t \rightarrow \hat y_t \rightarrow z_t \rightarrow h_t \rightarrow \begin{cases} W_H \\ h_{t-1} \\ h_{t+1}"
    r" \end{cases}$$",
    "later, arrows with the flow": M
    + r"$$W_H \to h_t \to h_{t+1} \to \dots \to h_T \to L_t, \qquad h_{t-1} \to h_t$$",
    "later, arrows through the output": M + r"$$h_{t-1} \to h_t \to h_{t+1} \to \hat y_t \to L_t$$",
    "later, arrows against the flow": M + r"$$L_t \leftarrow h_{t+1} \leftarrow h_t \leftarrow h_{t-1}$$",
}


@pytest.mark.parametrize("kind", WRONG_CHAINS)
def test_a_wrong_chain_in_the_new_forms_is_never_passed(kind):
    """Held back, a person looks (the chain stops at h_t and the sentence gives no recursion); later states are
    named."""
    status, diagnosis, feedback = _statuses(WRONG_CHAINS[kind])["chain"]
    expected = ("review", None) if kind.startswith("held back") else ("failed", "later-states-in-chain")
    assert (status, diagnosis) == expected, feedback


M4 = MODEL.split(r"\qquad L_t")[0] + "$$\n"
WRONG_EQUATIONS = {
    "loss from step 2": M4 + r"$$L = -\sum_{t=2}^T \log \hat{y}_t[y_t]$$",
    "loss to step T-1": M4 + r"$$L = -\sum_{t=1}^{T-1} \log \hat{y}_t[y_t]$$",
    "loss to step t": M4 + r"$$L = -\sum_{k=1}^{t} \log \hat{y}_k[y_k]$$",
    "loss not of the step summed": M4 + r"$$L = -\sum_{k=1}^{T} \log \hat{y}_t[y_t]$$",
    "loss summed over entries": M4 + r"$$L = -\sum_i \log \hat y_t[y_t]$$",
    "tanh twice": r"$$a_t = \tanh(W_H a_{t-1} + W_x x_t)$$ $$h_t = \tanh(a_t)$$ $$z_t = W_y h_t$$"
    r" $$\hat y_t = \operatorname{softmax}(z_t)$$ $$L_t = -\log \hat y_t[y_t]$$",
    "logits in the loss": r"$$a_t = W_H h_{t-1} + W_x x_t, \quad h_t = \tanh(a_t), \quad y_t = W_y h_t, \quad"
    r" p_t = \text{softmax}(y_t), \quad L_t = -y_t^\top \log p_t$$",
    "an entry's later form": MODEL.replace(
        r"\hat y_t = \operatorname{softmax}(z_t)",
        r"\hat y_{t,k} = \frac{e^{z_{t,k}}}{\sum_j e^{z_{t,j}}} = \frac{e^{z_{t,k}}}{\sum_j e^{h_{t,j}}}",
    ),
}


@pytest.mark.parametrize("text", WRONG_EQUATIONS.values(), ids=WRONG_EQUATIONS.keys())
def test_wrong_equations_in_the_new_forms_are_never_passed(text):
    status, _, feedback = _statuses(text)["equations"]
    assert status != "passed", feedback


def test_a_recursion_of_a_derivative_that_could_not_be_read_is_not_taken_at_its_names_value():
    text = M + (
        r"$$\frac{\partial L}{\partial h_t} = W_y^\top(\hat y_t - e_{y_t}) + W_H \{(1-h_{t+1}^2) \odot"
        r" \frac{\partial L}{\partial h_{t+1}}\} ~!$$"
        "\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \Big[(1 - h_t^2) \odot \frac{\partial L}{\partial h_t}\Big]"
        r" h_{t-1}^\top$$"
    )
    status, _, feedback = _statuses(text)["gradient"]
    assert status != "passed", feedback


def test_a_claim_about_later_states_between_mathjax_delimiters_is_found():
    """`\\(h_1, \\dots, h_T\\)`: MathJax's parentheses are math, not an aside that ends the claim."""
    text = M + (
        r"\(L_t\) depends on \(\hat y_t\), which depends on \(z_t\), which depends on \(h_t\)."
        "\n"
        r"\[ L_t \to \hat y_t \to z_t \to h_t \to a_t \to h_{t-1} \to \dots \to h_1 \]"
        "\n"
        r"So \(L_t\) depends on \(W_H\) through all the hidden states of the sentence, \(h_1, h_2, \dots, h_T\)."
    )
    status, diagnosis, feedback = _statuses(text)["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback
    assert _statuses(text.replace(r"h_1, h_2, \dots, h_T", r"h_1, h_2, \dots, h_t"))["chain"][0] == "passed"


def test_steps_in_parentheses_in_plain_prose():
    """Plain text's `h_(t-1)`: the recursion said in words is seen, and so is a claim about later states."""
    chain = "L_t -> yhat_t -> z_t -> h_t -> a_t -> W_H\n\n"
    recursion = "a_t also uses h_(t-1), which depends on W_H too, and so on back to h_0.\n"
    later = "h_t is also needed to compute h_(t+1), ..., h_T, so L_t also depends on W_H through h_(t+1), ..., h_T.\n"
    assert _statuses(M + chain + recursion)["chain"][0] == "passed"
    status, diagnosis, feedback = _statuses(M + chain + later)["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback


# A second review's cases: correct parts that must not fail, mistakes that must not pass.


@pytest.mark.parametrize("word", [r"\text{ where }", r"\text{ with }", r"\;\text{for}\;"])
def test_an_equation_continued_by_a_word_is_two_equations(word):
    """`h_t = \\tanh(a_t) \\text{ where } a_t = …` is not `h_t = … = W_H h_{t-1} + W_x x_t`."""
    text = MODEL.replace(r"a_t = W_H h_{t-1} + W_x x_t, \qquad h_t = \tanh(a_t)", r"h_t = \tanh(a_t) " + word + r" a_t = W_H h_{t-1} + W_x x_t")
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback


def test_an_aside_after_an_inline_chain_is_not_a_branch():
    text = M + (
        r"$L_t \to \hat y_t \to z_t \to h_t \to a_t \to \{W_H, h_{t-1}\}$, and $h_{t-1} \to a_{t-1} \to \{W_H,"
        r" h_{t-2}\}$ and so on (the next state $h_{t+1}$ does not influence $L_t$)."
    )
    status, _, feedback = _statuses(text)["chain"]
    assert status == "passed", feedback


def test_states_numbered_one_ahead_still_cannot_reach_the_last():
    """With `h_{t+1} = \\tanh(a_t)`, `h_{t+1}` is the state of step t; `h_T` is still a later one."""
    ahead = r"""
$$a_t = W_H h_t + W_x x_t, \qquad h_{t+1} = \tanh(a_t), \qquad z_t = W_y h_{t+1}, \qquad \hat y_t = \operatorname{softmax}(z_t)$$
$$L_t \to \hat y_t \to z_t \to h_{t+1} \to a_t \to \{W_H, h_t\}, \qquad h_t \to a_{t-1} \to \dots$$
"""
    assert _statuses(ahead)["chain"][1] != "later-states-in-chain"
    claim = ahead + r"So $L_t$ depends on $W_H$ through all the hidden states $h_1, \dots, h_T$."
    assert _statuses(claim)["chain"][:2] == ("failed", "later-states-in-chain")


@pytest.mark.parametrize(
    "sentence",
    [
        r"…but $h_{t-1}$ is detached from the graph.",
        r"$h_{t-1}$ enters $a_t$ as a given input.",
        r"$h_{t-1}$ enters it as data.",
        r"$h_{t-1}$ contains $L_t$.",
    ],
)
def test_a_sentence_saying_where_something_enters_gives_no_recursion(sentence):
    status, _, feedback = _statuses(TRUNCATED + sentence)["chain"]
    assert status != "passed", feedback


@pytest.mark.parametrize("relation", [r"\triangleq", r"\leftarrow", r"\gets"])
def test_a_recursion_in_an_unread_row_with_any_relation_is_not_taken_at_its_names_value(relation):
    text = M + (
        r"Let $\delta_t := \partial L/\partial a_t$, with $\delta_{T+1} = 0$:"
        "\n"
        rf"$$\delta_t {relation} (1 - h_t^2) \odot \left[ W_y^\top(\hat y_t - \mathbb 1_{{y_t}}) + W_H \delta_{{t+1}} \right] ~!$$"
        "\n"
        r"$$\frac{\partial L}{\partial W_H} = \sum_{t=1}^{T} \delta_t\, h_{t-1}^\top$$"
    )
    status, _, feedback = _statuses(text)["gradient"]
    assert status == "review", feedback


def test_two_letters_for_the_state_go_to_a_person():
    """`a_t = \\tanh(W_H a_{t-1} + …)` and `z_t = W_y h_t`: the state is a or h, not both."""
    text = r"""
$$a_t = \tanh(W_H a_{t-1} + W_x x_t)$$ $$z_t = W_y h_t$$ $$\hat y_t = \operatorname{softmax}(z_t)$$
$$L_t = -\log \hat y_t[y_t]$$
"""
    assert _statuses(text)["equations"][0] != "passed"


@pytest.mark.parametrize(
    "old, new",
    [
        (r"a_t = W_H h_{t-1} + W_x x_t", r"a_t = W_H h_t-1 + W_x x_t"),  # typed in a hurry
        (r"a_t = W_H h_{t-1} + W_x x_t", r"\text{model: } a_t = W_H h_{t-1} + W_x x_t"),  # a label before it
        (r"a_t = W_H h_{t-1} + W_x x_t", "𝑎_𝑡 = 𝑊_𝐻 ℎ_(𝑡−1) + 𝑊_𝑥 𝑥_𝑡"),  # a word processor's italic letters
    ],
    ids=["h_t-1", "label", "italic"],
)
def test_rushed_labelled_or_italic_equations_are_read(old, new):
    text = MODEL.replace(old, new)
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback
    assert _statuses(text.replace(r"W_y h_t", r"W_H h_t"))["equations"][0] == "failed"


def test_a_step_and_a_transpose_in_angle_brackets():
    """Ng's `a^{⟨t-1⟩ T}`: the state at t-1, transposed."""
    text = NG_MODEL + (
        r"$$\delta^{\langle t\rangle} = \big(1 - (a^{\langle t\rangle})^2\big) \ast \big(W_{ya}^\top(\hat y^{\langle t\rangle}"
        r" - e_{y^{\langle t\rangle}}) + W_{aa}^\top \delta^{\langle t+1\rangle}\big), \qquad \delta^{\langle T+1\rangle} = 0$$"
        "\n"
        r"$$\frac{\partial \mathcal{L}}{\partial W_{aa}} = \sum_{t=1}^{5} \delta^{\langle t\rangle}\, a^{\langle t-1\rangle T}$$"
    )
    status, _, feedback = _statuses(text)["gradient"]
    assert status == "passed", feedback
    status, diagnosis, _ = _statuses(text.replace(r"a^{\langle t-1\rangle T}", r"a^{\langle t\rangle T}"))["gradient"]
    assert (status, diagnosis) == ("failed", "wrong-state-in-outer-product")


@pytest.mark.parametrize("apostrophe", ["'", "’"])
def test_a_claim_of_later_states_after_not_only_is_found(apostrophe):
    """`L_t doesn't only depend on the past, it also depends on h_{t+1}, …`: "not only" says both."""
    chain = r"$$L_t \to \hat y_t \to z_t \to h_t \to a_t \to \{W_H, h_{t-1}\}, \qquad h_{t-1} \to a_{t-1} \to \dots$$" + "\n"
    claim = (
        f"Something easy to forget: $L_t$ doesn{apostrophe}t only depend on the past, it also depends on the later"
        r" hidden states $h_{t+1}, \dots, h_T$."
    )
    status, diagnosis, feedback = _statuses(M + chain + claim)["chain"]
    assert (status, diagnosis) == ("failed", "later-states-in-chain"), feedback
    denied = f"$L_t$ doesn{apostrophe}t depend on the later hidden states $h_{{t+1}}, \\dots, h_T$."
    assert _statuses(M + chain + denied)["chain"][0] == "passed"


@pytest.mark.parametrize("name", [r"\varphi", r"\phi", r"\sigma"])
def test_a_general_activation_put_to_tanh_is_tanh(name):
    """`h_t = \\varphi(a_t)`, with `\\varphi = \\tanh` in the homework: strong students derive for any activation."""
    general = MODEL.replace(r"h_t = \tanh(a_t)", f"h_t = {name}(a_t)")
    assert _statuses(general)["equations"][0] == "review"  # which activation, the write-up does not say
    stated = general + f"\nI keep the activation general and put ${name} = \\tanh$ in at the end.\n"
    status, _, feedback = _statuses(stated)["equations"]
    assert status == "passed", feedback
    assert _statuses(stated.replace(r"z_t = W_y h_t", r"z_t = W_H h_t"))["equations"][0] == "failed"


def test_d2l_loss_named_l_of_the_steps_values():
    text = MODEL.replace(r"L_t = -\log \hat y_t[y_t]", r"l(\hat y_t, y_t) = -\log \hat y_t[y_t]")
    text += "\n" + r"$$L = \sum_{t=1}^{T} l(\hat y_t, y_t)$$" + "\n"
    status, _, feedback = _statuses(text)["equations"]
    assert status == "passed", feedback
    assert _statuses(text.replace(r"= -\log \hat y_t[y_t]", r"= \log \hat y_t[y_t]"))["equations"][0] != "passed"


def test_a_chain_in_words_with_the_write_ups_own_macros():
    """`\\h{t}` defined by `\\newcommand`: the prose around the math reads it expanded, like the math."""
    text = (
        r"\newcommand{\h}[1]{h_{#1}}" "\n" + MODEL + "\n"
        r"$L_t$ depends on $\hat y_t$, which depends on $z_t$, which depends on $\h{t}$. Then $\h{t}$ depends on"
        r" $a_t$, and $a_t$ depends on $W_H$ and on $\h{t-1}$, which again depends on $W_H$ through $a_{t-1}$."
    )
    status, _, feedback = _statuses(text)["chain"]
    assert status == "passed", feedback
    later = text + "\n" + r"So $L_t$ depends on $W_H$ through $\h{t+1}, \dots, \h{T}$ too."
    assert _statuses(later)["chain"][:2] == ("failed", "later-states-in-chain")


# A third review's cases.


@pytest.mark.parametrize(
    "note",
    [
        r"with $\sigma$ the logistic sigmoid. (In a GRU the candidate state would use $\sigma = \tanh$ instead.)",
        r"(Were $\sigma = \tanh$ the factor would be $1-h_t^2$.)",
        r"Does the result change if $\sigma = \tanh$?",
        r"The handout takes $\sigma = \tanh$; I derive it for another one instead, $\sigma(x) = 1/(1+e^{-x})$.",
    ],
)
def test_an_activation_is_tanh_only_when_the_write_up_says_so_outright(note):
    text = MODEL.replace(r"h_t = \tanh(a_t)", r"h_t = \sigma(a_t)") + "\n" + note + "\n"
    status, _, feedback = _statuses(text)["equations"]
    assert status == "review", feedback


def test_a_claim_in_a_word_processors_italics_is_read():
    text = M + (
        "$$𝐿_𝑡 → 𝑦̂_𝑡 → 𝑧_𝑡 → ℎ_𝑡 → 𝑎_𝑡 → {𝑊_𝐻, ℎ_{𝑡−1}}$$\n"
        "Note that 𝐿_𝑡 depends on ℎ_𝑡 and on ℎ_{𝑡+1} as well.\n"
    )
    assert _statuses(text)["chain"][:2] == ("failed", "later-states-in-chain")


@pytest.mark.parametrize("apostrophe", ["'", "’"])
def test_a_denial_counts_only_before_the_later_state(apostrophe):
    chain = M + r"$$L_t \to \hat y_t \to z_t \to h_t \to a_t \to \{W_H, h_{t-1}\}, \qquad h_{t-1} \to a_{t-1} \to \dots$$" + "\n"
    claim = chain + f"$L_t$ depends on $h_{{t+1}}$ too, so I can{apostrophe}t stop the chain at $h_t$."
    assert _statuses(claim)["chain"][:2] == ("failed", "later-states-in-chain")
    denial = chain + f"$L_t$ doesn{apostrophe}t depend on $h_{{t+1}}$."
    assert _statuses(denial)["chain"][0] == "passed"


@pytest.mark.parametrize(
    "sentence",
    [
        r"Note that $L_t$ is not just independent of $h_{t+1}$; it does not depend on any later state.",
        r"$L_t$ does not just ignore $h_{t+1}$, it cannot depend on it at all.",
    ],
)
def test_not_just_without_also_still_denies(sentence):
    chain = M + r"$$L_t \to \hat y_t \to z_t \to h_t \to a_t \to \{W_H, h_{t-1}\}, \qquad h_{t-1} \to a_{t-1} \to \dots$$" + "\n"
    status, _, feedback = _statuses(chain + sentence)["chain"]
    assert status != "failed", feedback


def test_a_subtraction_in_parentheses_is_not_a_step():
    text = MODEL.replace(r"a_t = W_H h_{t-1} + W_x x_t", r"a_t = W_H (h_t-1) + W_x x_t")
    assert _statuses(text)["equations"][0] != "passed"
