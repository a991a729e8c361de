"""Task 2, written: the derivation graded by meaning (grader/judge/written/), through the real pipeline.

tests/corpus/writeups/manifest.yaml says what each write-up must earn; the rest of this file checks
the parser on notations students use, the cases the manifest cannot say (a notebook's Markdown
cells, an unreadable line, a grader without lark), and fuzzes the whole written grading.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("lark")

from exercises.bank import load_exercise  # noqa: E402
from grader.judge.written.parsing import MathSyntaxError, parse_math, read_writeup  # noqa: E402
from grader.judge.written.symbols import key  # noqa: E402
from grader.judge.expected import Expected  # noqa: E402
from grader.pipeline import GradingOptions, grade  # noqa: E402
from grader.judge.questions import Evidence, judge_question  # noqa: E402
from grader.run.protocol import Limits  # noqa: E402
from reference.rnn_written import MODEL_WRITEUP  # noqa: E402

TESTS = Path(__file__).parents[1]
WRITEUPS = TESTS / "corpus" / "writeups"
MANIFEST = yaml.safe_load((WRITEUPS / "manifest.yaml").read_text())
REAL_ANSWER = TESTS / "examples" / "student_answer_rnn_bptt.md"
OPTIONS = GradingOptions(limits=Limits(timeout=2.0), jobs=1, secret="writeups")
EXERCISE = load_exercise("rnn-bptt")
WRITTEN = [q for q in EXERCISE.questions if q.id.startswith("derivation.")]


def _written(text: str) -> dict:
    """Each written question's result on a write-up, judged as the pipeline judges it."""
    expected = Expected(EXERCISE)
    return {q.id: judge_question(q, Evidence(writeup=text), [], expected) for q in WRITTEN}


@pytest.fixture(scope="module")
def graded():
    """The whole write-up corpus as one class, through grader.pipeline.grade."""
    paths = [(WRITEUPS / key).resolve() for key in sorted(MANIFEST)]
    results = grade(paths, EXERCISE, OPTIONS)
    return {key: result for key, result in zip(sorted(MANIFEST), results.submissions)}


@pytest.mark.parametrize("key", sorted(MANIFEST))
def test_writeups_get_their_manifest_verdicts(graded, key):
    expected, result = MANIFEST[key], graded[key]
    assert result.status == "graded", result.reason
    questions = {q.id: q for q in result.questions}
    listed = expected.get("questions", {})
    for question in WRITTEN:
        got = questions[question.id]
        outcome = listed.get(question.id)
        if outcome is None:  # full marks, whatever the notation
            assert got.status == "passed" and got.score == got.max_score, (question.id, got.feedback)
            continue
        if outcome["status"] == "review":  # what the grader cannot verify waits for a person, at no points yet
            assert got.status == "review" and got.score == 0 and "Awaits review" in got.feedback, got.feedback
        else:  # a slip loses points on its own part only, and is named
            assert got.status == outcome["status"] and 0 < got.score < got.max_score, (question.id, got.feedback)
            assert got.diagnosis == outcome["diagnosis"], (question.id, got.diagnosis, got.feedback)
        for words in outcome.get("feedback_contains", []):
            assert words in got.feedback, (question.id, got.feedback)
    # a write-up has no code: the code questions are missing, not errors
    assert questions["grad_W_H"].status == "missing"


def test_the_real_answer_loses_only_its_z_t_equation():
    results = _written(REAL_ANSWER.read_text())
    equations = results["derivation.equations"]
    # four of the five equations are right (a_t, h_t, ŷ_t by inline substitution of z_t, L_t), z_t is not
    assert equations.score == pytest.approx(equations.max_score * 4 / 5)
    assert "z_t is computed with W_y, not W_H" in equations.feedback
    # the rest of its Task 2 earns full marks; its loose ranges (k from 0 to n) are remarked on, not penalised
    assert results["derivation.chain"].score == results["derivation.chain"].max_score
    gradient = results["derivation.gradient"]
    assert gradient.score == gradient.max_score and "k > t" in gradient.feedback and "k = 0" in gradient.feedback


def test_the_model_answer_earns_full_marks():
    assert all(r.score == r.max_score for r in _written(MODEL_WRITEUP).values())


def test_a_notebooks_markdown_cells_are_read(tmp_path):
    notebook = nbformat.v4.new_notebook()
    halves = (WRITEUPS / "correct" / "handout_notation.md").read_text().split("Dependency chain")
    notebook.cells = [
        nbformat.v4.new_markdown_cell(halves[0]),
        nbformat.v4.new_code_cell("import numpy as np\nx = np.zeros(3)"),
        nbformat.v4.new_markdown_cell("Dependency chain" + halves[1]),
    ]
    path = tmp_path / "homework.ipynb"
    nbformat.write(notebook, path)
    result = grade([path], EXERCISE, OPTIONS).submissions[0]
    written = [q for q in result.questions if q.id.startswith("derivation.")]
    assert all(q.score == q.max_score for q in written), [q.feedback for q in written]


def test_code_only_has_the_written_questions_missing():
    code = Path(__file__).parents[2] / "examples" / "submissions" / "loops.py"
    result = grade([code], EXERCISE, OPTIONS).submissions[0]
    written = [q for q in result.questions if q.id.startswith("derivation.")]
    assert written and all(q.status == "missing" and "write-up" in q.feedback for q in written)


def test_an_unreadable_line_is_named_and_costs_nothing():
    text = MODEL_WRITEUP + "\n\n$$z_t = W_y h_t \\frac{ + $$\n"
    results = _written(text)
    assert all(r.score == r.max_score for r in results.values())
    line = text.count("\n", 0, text.index("\\frac{ +")) + 1
    naming = [r for r in results.values() if f"line {line}: “z_t = W_y h_t \\frac{{ +”" in r.feedback]
    assert len(naming) == 1  # named once, as written (no doubled backslashes), with its own line


def test_without_lark_the_written_questions_say_so_for_staff(monkeypatch):
    monkeypatch.setitem(sys.modules, "lark", None)  # import lark now raises ImportError
    result = _written(MODEL_WRITEUP)["derivation.equations"]
    assert result.status == "error" and "lark" in (result.grader_error or "")
    assert "not a problem in your work" in result.feedback


@pytest.mark.parametrize(
    "one, other",
    [
        ("W_H", "W_{H}"),  # braces or not
        ("\\hat{y}_t", "\\hat y_t"),  # \hat with or without braces
        ("\\hat{y}_t", "\\widehat{y}_{t}"),
        ("h_{t-1}", "h_{t - 1}"),  # spaces inside a subscript
        ("W_{hh}", "\\mathbf{W}_{hh}"),  # bold matrices
    ],
)
def test_spellings_of_one_symbol_have_one_key(one, other):
    assert key(parse_math(one)) == key(parse_math(other))


@pytest.mark.parametrize(
    "text",
    ["\\frac{a", "a_t = W_H h_{t-1", "\\sum_{k=}", "}{", "$$", "\\begin{aligned} a &= \\end{aligned}"],
)
def test_broken_math_is_a_syntax_error_not_a_crash(text):
    with pytest.raises(MathSyntaxError):
        parse_math(text)


def test_feedback_does_not_give_the_missing_term_away():
    text = (WRITEUPS / "wrong" / "missing_term.md").read_text()
    feedback = _written(text)["derivation.equations"].feedback
    assert "missing a term" in feedback and "W_x" not in feedback and "x_t" not in feedback


FRAGMENTS = [
    "$$",
    "$",
    "\\frac{",
    "}",
    "{",
    "\\partial",
    "h_{t-1}",
    "W_H",
    "=",
    "\\rightarrow",
    "\\sum_{k=1}^{t}",
    "\\prod_{j=k+1}^{t}",
    "\\\\",
    "&",
    "\\begin{aligned}",
    "\\end{aligned}",
    "\\hat{y}_t",
    "\\tanh(",
    ")",
    "\\text{softmax}",
    "^T",
    "_",
    "^",
    "[",
    "]",
    "→",
    "L_t",
    "z_t = ",
    "a_t = ",
    "\\left(",
    "\\right)",
    "\n",
    # the forms the reader normalises: ASCII, unicode, several statements a row, definitions, dots, entries
    "dL/dW_H = ",
    "delta_t = ",
    "\\delta_{t+1}",
    "δ_{T+1} = 0",
    "\\odot",
    "⊙",
    "(1 - h_t^2)",
    "W_H^\\top",
    "\\quad",
    ", ",
    "; ",
    "=:",
    "D_j",
    "\\cdots",
    "\\mathbf{h}_t",
    "\\boxed{",
    "_{t,i}",
    "(W_H)_{ij}",
    "[k = y_t]",
    "\\sum_t",
    "e_{y_t}",
    "## Dependency chain\n",
    "## Gradient\n",
    "depends on",
    "h_T",
]


@pytest.mark.parametrize("written", ["x^¹", "x_¹", "h^{⁴}_t", "W_H^⁹ h_{t-1}", "x¹", "W⁰", "x_①", "h^②_t"])
def test_digits_no_float_reads_are_read_not_a_grader_error(written):
    for result in _written(f"## Equations\n$$h_t = {written}$$\n").values():
        assert result.status != "error", result.staff_log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=40))
def test_written_grading_never_raises(pieces):
    results = _written("".join(pieces))
    for result in results.values():
        assert result.status != "error", result.staff_log
        assert 0 <= result.score <= result.max_score


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises(text):
    for result in _written(text).values():
        assert result.status != "error", result.staff_log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=40))
def test_a_part_is_never_failed_for_what_could_not_be_read(pieces):
    """A part fails only on a mistake found in what was read: with no row of math read (and no sentence saying
    what depends on what), none fails."""
    text = "".join(pieces)
    results = _written(text)
    if not read_writeup(text).rows and "depend" not in text:
        assert all(result.status != "failed" for result in results.values())
    for result in results.values():
        assert result.status in ("passed", "failed", "review", "missing")
        if result.status == "review":
            assert result.score == 0 and result.feedback.startswith("Awaits review by a person")


@pytest.mark.parametrize(
    "sentence, status",
    [
        ("Each $L_t$ depends on every hidden state $h_1, \\dots, h_T$.", "failed"),
        ("$L_t$ depends on $W_H$ through all of $h_1, h_2, \\dots, h_T$.", "failed"),
        ("So $L_t$ depends on $h_1, \\dots, h_t$; the total loss depends on all of $h_1, \\dots, h_T$.", "passed"),
        ("$L_t$ does not depend on $h_{t+1}, \\dots, h_T$, which come after it.", "passed"),
        ("$$L_t = L_t(h_t, h_{t+1}, \\dots, h_T)$$", "failed"),  # said in symbols
        ("$$L_t = L_t(h_1, \\dots, h_t)$$", "passed"),
    ],
)
def test_a_chain_through_later_states_is_named(sentence, status):
    chain = _written(MODEL_WRITEUP + "\n\n" + sentence + "\n")["derivation.chain"]
    assert chain.status == status, chain.feedback
    if status == "failed":
        assert chain.diagnosis == "later-states-in-chain" and "later states" in chain.feedback


def test_a_gradient_is_judged_by_its_value_in_any_form():
    recursion = (
        "$$\\delta_t = (1 - h_t^2) \\odot \\left(W_y^\\top(\\hat y_t - y_t) + W_H^\\top \\delta_{t+1}\\right),"
        " \\qquad \\delta_{T+1} = 0$$\n\n"
    )
    right = _written(
        MODEL_WRITEUP.split("$$\\frac")[0]
        + recursion
        + "$$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{T} \\delta_t h_{t-1}^\\top$$\n"
    )
    assert right["derivation.gradient"].status == "passed", right["derivation.gradient"].feedback
    wrong = _written(
        MODEL_WRITEUP.split("$$\\frac")[0]
        + recursion
        + "$$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{T} \\delta_t h_t^\\top$$\n"
    )
    gradient = wrong["derivation.gradient"]
    assert gradient.status == "failed" and gradient.diagnosis == "wrong-state-in-outer-product", gradient.feedback
    assert 0 < gradient.score < gradient.max_score and "line " in gradient.feedback


@pytest.mark.parametrize(
    "sentence",
    [
        "$L_t$ depends on $h_1,\\dots,h_t$, and $L_T$ depends on all of $h_1,\\dots,h_T$.",
        "$L_t$ depends on the states $h_1,\\dots,h_t$ (for $t=T$ these are $h_1,\\dots,h_T$).",
    ],
)
def test_a_later_state_in_another_clause_is_no_mistake(sentence):
    chain = _written(MODEL_WRITEUP + "\n\n" + sentence + "\n")["derivation.chain"]
    assert chain.status == "passed", chain.feedback


def test_what_cannot_be_followed_is_never_an_error():
    """Math nested too deep, numbers too large, ranges too long: review or a verdict, never a grader error."""
    nested = "$$a_t = " + "{" * 200 + "W_H" + "}" * 200 + "$$"
    huge = "$$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{" + "9" * 400 + "} \\delta_t h_{t-1}^T$$"
    long_sum = "$$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{1000000000} \\delta_t h_{t-1}^T$$"
    for text in (nested, huge, long_sum, MODEL_WRITEUP + "\n\n" + huge):
        for result in _written(text).values():
            assert result.status in ("passed", "failed", "review", "missing"), result.staff_log


def test_the_step_count_is_no_index_variable():
    base = MODEL_WRITEUP.split("$$\\frac")[0]
    text = base + (
        "$$\\delta_t = (1-h_t^2)\\odot(W_y^T(\\hat y_t-y_t)+W_H^T \\delta_{t+1})$$\n\n"
        "$$\\delta_n = (1-h_n^2)\\odot W_y^T(\\hat y_n-y_n)$$\n\n"
        "$$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{n} \\delta_t h_{t-1}^T$$\n"
    )
    assert _written(text)["derivation.gradient"].status == "passed"


def test_a_local_derivative_is_compared_at_its_own_step():
    right = MODEL_WRITEUP + "\n\n$$\\frac{\\partial h_{t-1}}{\\partial h_{t-2}} = \\mathrm{diag}(1-h_{t-1}^2) W_H$$\n"
    assert all(r.status == "passed" for r in _written(right).values())
    slip = MODEL_WRITEUP + "\n\n$$\\frac{\\partial h_{t+1}}{\\partial h_t} = \\mathrm{diag}(1-h_t^2) W_H$$\n"
    assert any(r.diagnosis == "tanh-derivative-at-wrong-step" for r in _written(slip).values())


def test_a_gradient_stated_right_and_as_a_slip_goes_to_review():
    text = MODEL_WRITEUP.split("$$\\frac")[0] + (
        "$$\\delta_t = (1-h_t^2)\\odot(W_y^T(\\hat y_t-y_t)+W_H^T \\delta_{t+1})$$\n\n"
        "$$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{T} \\delta_t h_{t-1}^T$$\n\n"
        "A common mistake would be $$\\frac{\\partial L}{\\partial W_H} = \\sum_{t=1}^{T} \\delta_t h_t^T$$\n"
    )
    assert _written(text)["derivation.gradient"].status == "review"


COMPONENTS = WRITEUPS / "blind-e" / "e2" / "s07_components.md"  # ∂L/∂W^H_{ij} with inner sums over v and m


def _only_boxed_gradient(text: str) -> str:
    """The write-up with its gradient stated once, in the boxed entry-by-entry form (its other forms dropped)."""
    stated = ("\\frac{\\partial L}{\\partial W^H_{ij}} =", "\\frac{\\partial L}{\\partial W_H} =")
    return "\n".join(
        line for line in text.splitlines() if "\\boxed" in line or not any(form in line for form in stated)
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (None, "passed"),
        (("W^H_{mi}\\rho_{t+1,m}", "W^H_{im}\\rho_{t+1,m}"), "review"),  # W_H, not its transpose: reads i in `_{im}`
        (("\\,h_{t-1,j}}", "\\,h_{t-1,i}}"), "review"),  # the outer product's column read at i
    ],
    ids=["right", "untransposed", "wrong-column"],
)
def test_an_entry_by_entry_gradient_is_judged_at_every_entry(change, status):
    # its sums over v and m read i (some only as a letter of `_{mi}`) and never j: each is worked out once per
    # (t, i) and kept for every j, never for another i
    text = _only_boxed_gradient(COMPONENTS.read_text())
    if change is not None:
        assert change[0] in text
        text = text.replace(change[0], change[1])
    gradient = _written(text)["derivation.gradient"]
    assert gradient.status == status, gradient.feedback
    assert change is None or "its value is not the gradient, nor a known slip's" in gradient.feedback


def test_the_environments_equations_are_checked_on_are_drawn_once_and_cannot_be_changed():
    # every write-up of a class is checked on the same seeded draws: drawn once, shared, so read-only
    from grader.judge.written import given_shapes
    from grader.judge.written.equations import draw_environments

    question = next(q for q in WRITTEN if q.kind == "equations")
    reference = Expected(EXERCISE).resolve(question.reference)
    given = given_shapes(question, EXERCISE.handout)
    first, second = (draw_environments(given, question.onehot, reference) for _ in range(2))
    assert all(one is other for one, other in zip(first, second)) and len(first) > 1  # drawn once
    for one, other in zip(first, second):
        assert all(np.array_equal(one[name], other[name]) for name in one)
    assert not any(value.flags.writeable for env in first for value in env.values())
    assert not np.array_equal(first[0][next(iter(given))], first[1][next(iter(given))])  # draws differ


def test_what_judging_a_formula_remembers_is_bounded(monkeypatch):
    # sums are remembered by the indices they read, up to a cap; what a node's quantity is goes with the node
    from grader.judge.written import unroll
    from grader.judge.written.context import build_context

    monkeypatch.setattr(unroll, "MAX_REMEMBERED", 50)
    question = next(q for q in WRITTEN if q.kind == "gradient")
    unrolled = build_context(question, COMPONENTS.read_text(), EXERCISE.handout, Expected(EXERCISE).resolve).unrolled
    unrolled.memo = {}
    nested = parse_math("\\sum_{a=1}^{T}\\sum_{b=1}^{T}\\sum_{c=1}^{T}\\sum_{m=1}^{7} h_{a,m} h_{b,m} h_{c,m}")
    value = unrolled.value(nested)
    assert len(unrolled.memo) == 50  # 156 sums worked out, 50 kept
    h = np.hstack([np.asarray(unrolled.model["per_step"]["h_t"][t]) for t in range(1, unrolled.count + 1)])
    assert np.isclose(float(value), float(np.einsum("ma,mb,mc->", h, h, h)))
    assert not hasattr(unrolled, "_quantities")
