"""The CS231n vanilla-RNN reference, its catalogue of mistakes, its exercise file and its corpus.

The reference is checked against computations that share none of its code: explicit loops over
examples and steps, and central finite differences. The catalogue is checked to differ from the
reference exactly where its slip matters. The corpus (tests/corpus/cs231n/) is graded with the real
grader in tests/grader/test_exercises_as_data.py; here only its manifest is checked for coverage.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from exercises.bank import load_exercise, resolve
from grader.cases.draw import build_cases, draw_arrays
from grader.judge.expected import compared_part
from reference import cs231n_mistakes as mistakes
from reference import cs231n_rnn as ref

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = load_exercise("cs231n-rnn")
QUESTIONS = {q.id: q for q in EXERCISE.questions}
CORPUS = ROOT / "tests/corpus/cs231n"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
CASES = build_cases(EXERCISE, secret="cs231n-reference-tests")


def test_public_cases_include_the_smallest_and_one_where_no_two_dimensions_are_equal():
    public = EXERCISE.public.cases
    assert any(c["N"] == c["T"] == c["H"] == 1 for c in public)
    assert any(len(set(c.values())) == len(c) for c in public)  # a transpose cannot keep a shape


@pytest.mark.parametrize("case", CASES, ids=[c.describe() for c in CASES])
def test_drawn_inputs_keep_tanh_unsaturated(case):
    arrays = case.arrays
    h, _ = ref.rnn_forward(arrays["x_seq"], arrays["h0"], arrays["Wx"], arrays["Wh"], arrays["b"])
    next_h, _ = ref.rnn_step_forward(*(arrays[n] for n in QUESTIONS["rnn_step_forward"].args))
    # A saturated tanh would make 1 - h^2 tiny and hide the slips about its derivative.
    assert np.max(np.abs(h)) < 0.995 and np.max(np.abs(next_h)) < 0.995


# ---------------------------------------------------------------------------------------------
# Random problems and independent computations
# ---------------------------------------------------------------------------------------------


def drawn(seed, **sizes):
    """Inputs drawn as the exercise declares them, by name; dimensions not given are 2."""
    return draw_arrays(EXERCISE, {**dict.fromkeys(EXERCISE.dimensions, 2), **sizes}, np.random.default_rng(seed))


def numeric_gradient(value_of, array, eps=1e-6):
    """Central differences of the scalar value_of() with respect to `array`, perturbed in place."""
    grad = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        kept = array[index]
        array[index] = kept + eps
        plus = value_of()
        array[index] = kept - eps
        minus = value_of()
        array[index] = kept
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(forward, inputs, upstream, grads, names):
    """Each of grads against central differences of sum(forward(*inputs) * upstream)."""
    for name, array, grad in zip(names, inputs, grads):
        expected = numeric_gradient(lambda: float(np.sum(forward(*inputs) * upstream)), array)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-8, err_msg=name)


def plain_rnn(x, h0, Wx, Wh, b):
    """h: (N, T, H) one example and one step at a time, in column-vector form."""
    N, T, _ = x.shape
    h = np.zeros((N, T, b.size))
    for n in range(N):
        h_t = h0[n]
        for t in range(T):
            h_t = np.tanh(Wx.T.dot(x[n, t]) + Wh.T.dot(h_t) + b)
            h[n, t] = h_t
    return h


def plain_loss(x, y, mask):
    """Σ over kept (n, t) of logsumexp(x[n, t]) - x[n, t, y], divided by N, with math.fsum."""
    terms = []
    for n, t in zip(*np.nonzero(mask)):
        row = [float(v) for v in x[n, t]]
        top = max(row)
        terms.append(top + math.log(math.fsum(math.exp(v - top) for v in row)) - row[y[n, t]])
    return math.fsum(terms) / x.shape[0]


# ---------------------------------------------------------------------------------------------
# The reference: forward passes and gradients
# ---------------------------------------------------------------------------------------------

# (N, T, D, H): one example, one step, one unit, and sizes where no two are equal.
RNN_SIZES = [(3, 4, 5, 6), (1, 1, 1, 1), (1, 3, 2, 4), (4, 1, 3, 2), (2, 5, 3, 1), (3, 2, 1, 5)]


@pytest.mark.parametrize("N, T, D, H", RNN_SIZES)
def test_step_backward_is_the_gradient_of_the_step(N, T, D, H):
    x, prev_h, Wx, Wh, b, dnext_h = map(drawn(1, N=N, D=D, H=H).get, ["x_step", "prev_h", "Wx", "Wh", "b", "dnext_h"])
    _, cache = ref.rnn_step_forward(x, prev_h, Wx, Wh, b)
    grads = ref.rnn_step_backward(dnext_h, cache)
    forward = lambda *args: ref.rnn_step_forward(*args)[0]  # noqa: E731
    check_gradients(forward, (x, prev_h, Wx, Wh, b), dnext_h, grads, ref.StepGrads._fields)


@pytest.mark.parametrize("N, T, D, H", RNN_SIZES)
def test_rnn_forward_is_the_plain_loop_and_rnn_backward_its_gradient(N, T, D, H):
    x, h0, Wx, Wh, b, dh = map(drawn(2, N=N, T=T, D=D, H=H).get, ["x_seq", "h0", "Wx", "Wh", "b", "dh"])
    h, cache = ref.rnn_forward(x, h0, Wx, Wh, b)
    np.testing.assert_allclose(h, plain_rnn(x, h0, Wx, Wh, b), rtol=1e-12, atol=1e-14)
    # Every hidden state receives its own upstream gradient, and h0 gets one too.
    forward = lambda *args: ref.rnn_forward(*args)[0]  # noqa: E731
    check_gradients(forward, (x, h0, Wx, Wh, b), dh, ref.rnn_backward(dh, cache), ref.SequenceGrads._fields)


@pytest.mark.parametrize("N, T, V, D", [(2, 3, 4, 5), (1, 1, 2, 1), (3, 4, 2, 3)])
def test_embedding_backward_accumulates_repeated_words(N, T, V, D):
    words, W, dout = map(drawn(3, N=N, T=T, V=V, D=D).get, ["words", "W_embed", "dout_embed"])
    assert words.size < 2 or len(np.unique(words)) < words.size  # a repeated word
    out, cache = ref.word_embedding_forward(words, W)
    np.testing.assert_array_equal(out, np.array([[W[w] for w in row] for row in words]))
    dW = ref.word_embedding_backward(dout, cache)
    check_gradients(lambda W_: ref.word_embedding_forward(words, W_)[0], (W,), dout, (dW,), ["dW"])


@pytest.mark.parametrize("N, T, D, M", [(2, 3, 4, 5), (1, 1, 1, 1), (4, 2, 3, 1)])
def test_temporal_affine_backward_is_the_gradient(N, T, D, M):
    x, w, b, dout = map(drawn(4, N=N, T=T, D=D, M=M).get, ["x_affine", "w_affine", "b_affine", "dout_affine"])
    out, cache = ref.temporal_affine_forward(x, w, b)
    np.testing.assert_allclose(out, np.einsum("ntd,dm->ntm", x, w) + b, rtol=1e-12)
    forward = lambda *args: ref.temporal_affine_forward(*args)[0]  # noqa: E731
    check_gradients(forward, (x, w, b), dout, ref.temporal_affine_backward(dout, cache), ["dx", "dw", "db"])


@pytest.mark.parametrize("N, T, V, mask", [(2, 3, 4, "mixed"), (1, 1, 2, "all"), (3, 5, 2, "mixed"),
                                           (4, 2, 6, "all"), (2, 2, 3, "none")])
def test_softmax_loss_is_the_plain_sum_and_dx_its_gradient(N, T, V, mask):
    x, y, keep = map(drawn(5, N=N, T=T, V=V).get, ["scores", "y", "mask"])
    keep = {"mixed": keep, "all": np.ones_like(keep), "none": np.zeros_like(keep)}[mask]
    loss, dx = ref.temporal_softmax_loss(x, y, keep)
    assert loss == pytest.approx(plain_loss(x, y, keep), rel=1e-12, abs=1e-14)
    expected = numeric_gradient(lambda: ref.temporal_softmax_loss(x, y, keep)[0], x)
    np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-9)
    assert not np.any(dx[~keep])  # a masked-out step has no gradient


def test_softmax_loss_sums_over_steps_and_averages_over_the_batch():
    # Equal scores over V = 2 words: every kept step costs log 2. Five kept steps, N = 2.
    mask = np.array([[True, True, True], [True, True, False]])
    loss, _ = ref.temporal_softmax_loss(np.zeros((2, 3, 2)), np.zeros((2, 3), int), mask)
    assert loss == pytest.approx(5 * math.log(2) / 2, rel=1e-14)


def test_softmax_loss_is_stable_for_large_scores():
    x, y, keep = map(drawn(6, N=2, T=3, V=4).get, ["scores", "y", "mask"])
    loss, dx = ref.temporal_softmax_loss(x + 1000.0, y, keep)
    # Shifting every score by a constant changes nothing, and nothing overflows.
    assert loss == pytest.approx(ref.temporal_softmax_loss(x, y, keep)[0], rel=1e-12)
    assert np.all(np.isfinite(dx))


# ---------------------------------------------------------------------------------------------
# The catalogue of mistakes
# ---------------------------------------------------------------------------------------------

# The ids other code depends on, per function.
EXPECTED_IDS = {
    "rnn_step_forward": {"missing-tanh", "sigmoid-instead-of-tanh"},
    "rnn_step_backward": {"db-not-summed-over-batch", "dWh-transposed", "tanh-derivative-from-wrong-state",
                          "missing-tanh-derivative", "dprev_h-Wh-not-transposed"},
    "rnn_forward": {"missing-tanh", "sigmoid-instead-of-tanh", "recurrence-uses-h0"},
    "rnn_backward": {"dprev_h-not-carried", "upstream-only-at-last-step", "time-loop-not-reversed",
                     "db-not-summed-over-batch", "dWh-transposed", "tanh-derivative-from-wrong-state",
                     "missing-tanh-derivative", "dprev_h-Wh-not-transposed"},
    "word_embedding_forward": set(),
    "word_embedding_backward": {"embedding-assigned-not-accumulated"},
    "temporal_affine_forward": set(),
    "temporal_affine_backward": {"db-averaged-not-summed"},
    "temporal_softmax_loss": {"mask-ignored", "dx-not-masked", "divided-by-NT", "not-divided-by-N",
                              "missing-onehot-subtraction"},
}

# The outputs each slip changes (a forward's cache is never compared); all others stay right.
ALL = {0, 1, 2, 3, 4}
CHANGES = {
    "missing-tanh": {0}, "sigmoid-instead-of-tanh": {0}, "recurrence-uses-h0": {0},
    "db-not-summed-over-batch": {4}, "dWh-transposed": {3}, "dprev_h-Wh-not-transposed": {1},
    "tanh-derivative-from-wrong-state": ALL, "missing-tanh-derivative": ALL,
    "dprev_h-not-carried": ALL, "upstream-only-at-last-step": ALL, "time-loop-not-reversed": ALL,
    "embedding-assigned-not-accumulated": {0}, "db-averaged-not-summed": {2},
    "mask-ignored": {0, 1}, "dx-not-masked": {1}, "divided-by-NT": {0, 1}, "not-divided-by-N": {0, 1},
    "missing-onehot-subtraction": {1},
}
# In BPTT a wrong dprev_h reaches every earlier step, and so every gradient.
CHANGES_IN = {("rnn_backward", "dprev_h-Wh-not-transposed"): ALL}

# Sizes (and mask) at which a slip has nothing to change, so the mistake equals the reference.
VANISHES = {
    "db-not-summed-over-batch": {"N": 1}, "dWh-transposed": {"H": 1},
    "dprev_h-not-carried": {"T": 1}, "upstream-only-at-last-step": {"T": 1}, "time-loop-not-reversed": {"T": 1},
    "embedding-assigned-not-accumulated": {"repeat": False, "N": 2, "T": 3}, "db-averaged-not-summed": {"N": 1, "T": 1},
    "mask-ignored": {"mask": "all"}, "dx-not-masked": {"mask": "all"}, "divided-by-NT": {"T": 1},
    "not-divided-by-N": {"N": 1},
}

GENERIC_SIZES = {"N": 3, "T": 4, "D": 5, "H": 6, "V": 7, "M": 2}
KEBAB = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_]*(-[a-zA-Z0-9_]+)*$")
ALL_MISTAKES = [pytest.param(name, m, id=f"{name}:{m.diagnosis}:{n}")
                for name, listed in mistakes.MISTAKES.items() for n, m in enumerate(listed)]


def catalogue_case(name, sizes=None, seed=7, repeat=True, mask="mixed"):
    """(args, reference answer) of `name` on inputs drawn as the exercise declares them; a backward
    gets the reference forward's cache. repeat=False: every word once; mask="all": nothing masked."""
    sizes = {**GENERIC_SIZES, **(sizes or {})}
    arrays = draw_arrays(EXERCISE, sizes, np.random.default_rng(seed))
    if not repeat:  # needs N*T <= V
        arrays["words"] = np.random.default_rng(seed).permutation(sizes["V"])[: sizes["N"] * sizes["T"]]
        arrays["words"] = arrays["words"].reshape(sizes["N"], sizes["T"])
    if mask == "all":
        arrays["mask"] = np.ones_like(arrays["mask"])
    question = QUESTIONS[name]
    args = [arrays[n].copy() for n in (question.upstream if question.kind == "backward" else question.args)]
    if question.kind == "backward":
        forward = QUESTIONS[question.forward]
        outputs = resolve(EXERCISE, forward.reference)(*(arrays[n].copy() for n in forward.args))
        args.append(outputs[forward.outputs.index(forward.cache)])
    return args, resolve(EXERCISE, question.reference)(*args)


def parts(value, name):
    """The compared outputs of a return value as float arrays (a forward's cache left out)."""
    kept = compared_part(QUESTIONS[name], value)
    return [np.asarray(item, dtype=float) for item in (kept if isinstance(kept, tuple) else (kept,))]


def differing(wrong, right, name, rtol=1e-9):
    """Indices of the outputs that differ beyond rtol (relative to the largest expected entry)."""
    return {i for i, (a, b) in enumerate(zip(parts(wrong, name), parts(right, name)))
            if np.max(np.abs(a - b), initial=0.0) > rtol * max(np.max(np.abs(b), initial=0.0), 1e-300)}


def relative_difference(wrong, right, name):
    return max(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)
               for a, b in zip(parts(wrong, name), parts(right, name)))


def test_lists_are_named_after_the_functions_and_ids_are_as_agreed():
    assert set(mistakes.MISTAKES) == set(QUESTIONS) == set(EXPECTED_IDS)
    for name, listed in mistakes.MISTAKES.items():
        assert getattr(mistakes, name.upper()) is listed
        assert {m.diagnosis for m in listed} == EXPECTED_IDS[name]
        assert all(KEBAB.match(m.diagnosis) for m in listed)


@pytest.mark.parametrize("name, mistake", ALL_MISTAKES)
def test_hint_is_one_or_two_sentences(name, mistake):
    assert mistake.hint.endswith(".") and 1 <= len(re.findall(r"[.!?](?:\s|$)", mistake.hint)) <= 2


@pytest.mark.parametrize("name, mistake", ALL_MISTAKES)
def test_mistake_has_the_reference_form_and_changes_what_its_slip_changes(name, mistake):
    args, right = catalogue_case(name)
    wrong = mistake.compute(*args)
    # The same type and shapes as the reference ...
    assert type(wrong) is type(right)
    assert [p.shape for p in parts(wrong, name)] == [p.shape for p in parts(right, name)]
    # ... a value no tolerance of 1e-4 could take for the right one, in exactly the outputs it touches.
    assert relative_difference(wrong, right, name) > 1e-2
    assert differing(wrong, right, name) == CHANGES_IN.get((name, mistake.diagnosis), CHANGES[mistake.diagnosis])


@pytest.mark.parametrize("name, mistake", [p for p in ALL_MISTAKES if p.values[1].diagnosis in VANISHES])
def test_mistake_equals_the_reference_where_its_slip_has_nothing_to_change(name, mistake):
    where = dict(VANISHES[mistake.diagnosis])
    args, right = catalogue_case(name, sizes=where, repeat=where.pop("repeat", True), mask=where.pop("mask", "mixed"))
    assert differing(mistake.compute(*args), right, name) == set()


@pytest.mark.parametrize("name", [n for n, listed in mistakes.MISTAKES.items() if len(listed) > 1])
def test_mistakes_of_one_function_are_told_apart(name):
    args, _ = catalogue_case(name, seed=8)
    values = [(f"{m.diagnosis}#{n}", m.compute(*args)) for n, m in enumerate(mistakes.MISTAKES[name])]
    # No two entries give the same answer, so a match names one mistake.
    for (a, va), (b, vb) in itertools.combinations(values, 2):
        assert relative_difference(va, vb, name) > 1e-2, (a, b)


def test_slip_helpers_without_a_slip_are_the_reference():
    # Each mistake is therefore exactly one change away from the reference.
    for name, helper in [("rnn_step_forward", mistakes._step_forward(np.tanh)), ("rnn_forward", mistakes._forward()),
                         ("rnn_backward", mistakes._bptt(mistakes._BpttSlip())),
                         ("temporal_softmax_loss", mistakes._loss(mistakes._LossSlip()))]:
        args, right = catalogue_case(name, seed=9)
        assert differing(helper(*args), right, name, rtol=1e-13) == set(), name


def test_embedding_assigned_is_what_numpy_fancy_assignment_does():
    (dout, cache), _ = catalogue_case("word_embedding_backward", seed=10)
    dW = np.zeros(cache.W.shape)
    dW[cache.x] = dout  # the student's line
    np.testing.assert_array_equal(mistakes._embedding_assigned(dout, cache), dW)


# ---------------------------------------------------------------------------------------------
# The corpus's manifest covers every file and every catalogue mistake
# ---------------------------------------------------------------------------------------------


def test_manifest_lists_every_corpus_file_and_every_question_id_exists():
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.py")}
    assert set(MANIFEST) == files
    for entry in MANIFEST.values():
        assert set(entry.get("questions", {})) <= set(QUESTIONS)


def test_every_catalogue_mistake_has_a_corpus_file_that_shows_it():
    shown = {o["diagnosis"] for e in MANIFEST.values() for o in e.get("questions", {}).values() if "diagnosis" in o}
    assert {m.diagnosis for listed in mistakes.MISTAKES.values() for m in listed} <= shown
