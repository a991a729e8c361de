"""The CS231n LSTM reference, its catalogue of mistakes and its exercise file.

The reference is checked against computations that share none of its code: a plain loop over
examples and steps in column-vector form, and central finite differences. The catalogue is checked
to differ from the reference exactly where its slip matters. The corpus (tests/corpus/cs231n-lstm/)
is graded with the real grader in tests/grader/test_cs231n_lstm_corpus.py.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from exercises.bank import load_exercise, resolve
from grader.cases.draw import build_cases, draw_arrays
from grader.judge.expected import compared_part
from reference import cs231n_lstm as ref
from reference import cs231n_lstm_mistakes as mistakes

EXERCISE = load_exercise("cs231n-lstm")
QUESTIONS = {q.id: q for q in EXERCISE.questions}
CASES = build_cases(EXERCISE, secret="cs231n-lstm-reference-tests")


def test_public_cases_include_the_smallest_and_one_where_no_two_sizes_are_equal():
    public = EXERCISE.public.cases
    assert any(c["N"] == c["T"] == c["D"] == c["H"] == 1 for c in public)
    # 4*H is a size too: where it equals no other, a transposed weight gradient cannot keep its shape.
    assert any(len({*c.values(), 4 * c["H"]}) == len(c) + 1 for c in public)


@pytest.mark.parametrize("case", CASES, ids=[c.describe() for c in CASES])
def test_drawn_inputs_keep_the_gates_unsaturated(case):
    arrays = case.arrays
    step_args = [arrays[n] for n in QUESTIONS["lstm_step_forward"].args]
    _, _, step = ref.lstm_step_forward(*step_args)
    _, sequence = ref.lstm_forward(*(arrays[n] for n in QUESTIONS["lstm_forward"].args))
    # A saturated gate would make its derivative tiny and hide the slips about it.
    for cache in (step, *sequence.steps):
        assert all(np.max(np.abs(2 * gate - 1)) < 0.995 for gate in (cache.i, cache.f, cache.o))
        assert np.max(np.abs(cache.g)) < 0.995


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


def check_gradients(outputs_of, inputs, upstreams, grads, names):
    """Each of grads against central differences of Σ_k sum(outputs_of(*inputs)[k] * upstreams[k])."""

    def value():
        return sum(float(np.sum(out * up)) for out, up in zip(outputs_of(*inputs), upstreams))

    for name, array, grad in zip(names, inputs, grads):
        np.testing.assert_allclose(grad, numeric_gradient(value, array), rtol=1e-5, atol=1e-8, err_msg=name)


def logistic(v):
    return 1.0 / (1.0 + np.exp(-v))


def plain_lstm(x, h0, Wx, Wh, b):
    """h: (N, T, H) one example and one step at a time, in column-vector form, from c_0 = 0."""
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    for n in range(N):
        h_t, c_t = h0[n], np.zeros(H)
        for t in range(T):
            a = Wx.T.dot(x[n, t]) + Wh.T.dot(h_t) + b
            i, f, o, g = logistic(a[:H]), logistic(a[H : 2 * H]), logistic(a[2 * H : 3 * H]), np.tanh(a[3 * H :])
            c_t = f * c_t + i * g
            h_t = o * np.tanh(c_t)
            h[n, t] = h_t
    return h


# ---------------------------------------------------------------------------------------------
# The reference: forward passes and gradients
# ---------------------------------------------------------------------------------------------

# (N, T, D, H): one example, one step, one unit, and sizes where no two are equal.
LSTM_SIZES = [(3, 4, 5, 2), (1, 1, 1, 1), (1, 3, 2, 3), (4, 1, 3, 2), (2, 5, 3, 1), (3, 2, 1, 5)]


@pytest.mark.parametrize("N, T, D, H", LSTM_SIZES)
def test_step_forward_is_the_plain_step_and_its_backward_the_gradient(N, T, D, H):
    arrays = drawn(1, N=N, D=D, H=H)
    inputs = tuple(arrays[n] for n in ("x_step", "prev_h", "prev_c", "Wx", "Wh", "b"))
    next_h, next_c, cache = ref.lstm_step_forward(*inputs)
    # One step from (prev_h, prev_c) is the plain loop's first step when that loop starts from them.
    x, prev_h, prev_c, Wx, Wh, b = inputs
    a = x @ Wx + prev_h @ Wh + b
    np.testing.assert_allclose(next_c, logistic(a[:, H : 2 * H]) * prev_c + logistic(a[:, :H]) * np.tanh(a[:, 3 * H :]))
    np.testing.assert_allclose(next_h, logistic(a[:, 2 * H : 3 * H]) * np.tanh(next_c))
    # Both outputs carry an upstream gradient, so the backward must account for next_c's own path too.
    upstreams = (arrays["dnext_h"], arrays["dnext_c"])
    grads = ref.lstm_step_backward(*upstreams, cache)
    outputs_of = lambda *args: ref.lstm_step_forward(*args)[:2]  # noqa: E731
    check_gradients(outputs_of, inputs, upstreams, grads, ref.StepGrads._fields)


@pytest.mark.parametrize("N, T, D, H", LSTM_SIZES)
def test_lstm_forward_is_the_plain_loop_and_lstm_backward_its_gradient(N, T, D, H):
    arrays = drawn(2, N=N, T=T, D=D, H=H)
    inputs = tuple(arrays[n] for n in ("x_seq", "h0", "Wx", "Wh", "b"))
    h, cache = ref.lstm_forward(*inputs)
    np.testing.assert_allclose(h, plain_lstm(*inputs), rtol=1e-12, atol=1e-14)
    # Every hidden state receives its own upstream gradient; h0 gets one too, the zero cell state none.
    outputs_of = lambda *args: (ref.lstm_forward(*args)[0],)  # noqa: E731
    grads = ref.lstm_backward(arrays["dh"], cache)
    check_gradients(outputs_of, inputs, (arrays["dh"],), grads, ref.SequenceGrads._fields)


# ---------------------------------------------------------------------------------------------
# The catalogue of mistakes
# ---------------------------------------------------------------------------------------------

EXPECTED_IDS = {
    "lstm_step_forward": {"gate-order-wrong", "forget-gate-on-wrong-state", "missing-cell-tanh", "g-gate-sigmoid"},
    "lstm_step_backward": {"missing-cell-tanh-derivative", "cell-tanh-derivative-of-c", "dnext_c-not-added",
                           "dprev_c-without-forget-gate", "forget-gate-on-wrong-state", "sigmoid-derivative-wrong",
                           "g-derivative-wrong", "gate-order-wrong", "db-over-wrong-axis"},
    "lstm_forward": {"gate-order-wrong", "forget-gate-on-wrong-state", "missing-cell-tanh", "g-gate-sigmoid",
                     "initial-cell-from-h0", "recurrence-uses-h0", "cell-state-not-carried"},
    # dnext_c-not-added, looped, is cell-gradient-not-carried (test below): listed once, as that.
    "lstm_backward": {"cell-gradient-not-carried", "dprev_h-not-carried", "upstream-only-at-last-step",
                      "time-loop-not-reversed", "dh0-not-from-step-0", "missing-cell-tanh-derivative", "cell-tanh-derivative-of-c",
                      "dprev_c-without-forget-gate", "forget-gate-on-wrong-state", "sigmoid-derivative-wrong",
                      "g-derivative-wrong", "gate-order-wrong", "db-over-wrong-axis"},
}

# The compared outputs each slip changes, by index (a forward's cache is never compared); others stay right.
STEP_ALL, SEQUENCE_ALL = set(range(6)), set(range(5))
THROUGH_DA = {0, 1, 3, 4, 5}  # dx, dprev_h, dWx, dWh, db: everything but dprev_c
CHANGES = {
    ("lstm_step_forward", "missing-cell-tanh"): {0},  # next_c is right
    ("lstm_step_backward", "dprev_c-without-forget-gate"): {2},
    ("lstm_step_backward", "forget-gate-on-wrong-state"): THROUGH_DA,
    ("lstm_step_backward", "sigmoid-derivative-wrong"): THROUGH_DA,
    ("lstm_step_backward", "g-derivative-wrong"): THROUGH_DA,
    ("lstm_step_backward", "gate-order-wrong"): THROUGH_DA,
    ("lstm_step_backward", "db-over-wrong-axis"): {5},
    ("lstm_backward", "db-over-wrong-axis"): {4},
    ("lstm_backward", "dh0-not-from-step-0"): {1},
}
EVERY_OUTPUT = {"lstm_step_forward": {0, 1}, "lstm_step_backward": STEP_ALL, "lstm_forward": {0},
                "lstm_backward": SEQUENCE_ALL}
WRONG_SHAPE = {"db-over-wrong-axis"}  # db: (N,), where (4*H,) belongs

# Sizes at which a slip has nothing to change, so the mistake equals the reference.
ONE_STEP = {"T": 1}
VANISHES = {
    ("lstm_forward", "recurrence-uses-h0"): ONE_STEP, ("lstm_forward", "cell-state-not-carried"): ONE_STEP,
    ("lstm_backward", "cell-gradient-not-carried"): ONE_STEP, ("lstm_backward", "dprev_h-not-carried"): ONE_STEP,
    ("lstm_backward", "upstream-only-at-last-step"): ONE_STEP, ("lstm_backward", "time-loop-not-reversed"): ONE_STEP,
    ("lstm_backward", "dprev_c-without-forget-gate"): ONE_STEP,  # the last step's dprev_c goes nowhere
}

GENERIC_SIZES = {"N": 3, "T": 4, "D": 5, "H": 2}
KEBAB = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_]*(-[a-zA-Z0-9_]+)*$")
ALL_MISTAKES = [pytest.param(name, m, id=f"{name}:{m.diagnosis}:{n}")
                for name, listed in mistakes.MISTAKES.items() for n, m in enumerate(listed)]


def catalogue_case(name, sizes=None, seed=7):
    """(args, reference answer) of `name` on inputs drawn as the exercise declares them; a backward
    gets the reference forward's cache."""
    arrays = draw_arrays(EXERCISE, {**GENERIC_SIZES, **(sizes or {})}, np.random.default_rng(seed))
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
    """Indices of the outputs that differ in shape or beyond rtol (relative to the largest expected entry)."""
    return {i for i, (a, b) in enumerate(zip(parts(wrong, name), parts(right, name)))
            if a.shape != b.shape
            or np.max(np.abs(a - b), initial=0.0) > rtol * max(np.max(np.abs(b), initial=0.0), 1e-300)}


def relative_difference(wrong, right, name):
    return max(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)
               for a, b in zip(parts(wrong, name), parts(right, name)) if a.shape == b.shape)


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
    # The same type as the reference, and its shapes but where the slip is a wrong axis ...
    assert type(wrong) is type(right)
    shapes_kept = [a.shape == b.shape for a, b in zip(parts(wrong, name), parts(right, name))]
    assert all(shapes_kept) == (mistake.diagnosis not in WRONG_SHAPE)
    # ... a value no tolerance of 1e-4 could take for the right one, in exactly the outputs it touches.
    assert mistake.diagnosis in WRONG_SHAPE or relative_difference(wrong, right, name) > 1e-2
    assert differing(wrong, right, name) == CHANGES.get((name, mistake.diagnosis), EVERY_OUTPUT[name])


@pytest.mark.parametrize("name, mistake", [p for p in ALL_MISTAKES if (p.values[0], p.values[1].diagnosis) in VANISHES])
def test_mistake_equals_the_reference_where_its_slip_has_nothing_to_change(name, mistake):
    args, right = catalogue_case(name, sizes=VANISHES[name, mistake.diagnosis])
    assert differing(mistake.compute(*args), right, name) == set()


@pytest.mark.parametrize("name", list(mistakes.MISTAKES))
def test_mistakes_of_one_function_are_told_apart(name):
    args, _ = catalogue_case(name, seed=8)
    values = [(f"{m.diagnosis}#{n}", m.compute(*args)) for n, m in enumerate(mistakes.MISTAKES[name])]
    # No two entries give the same answer, so a match names one mistake.
    for (a, va), (b, vb) in itertools.combinations(values, 2):
        assert differing(va, vb, name, rtol=1e-2), (a, b)


def test_slip_helpers_without_a_slip_are_the_reference():
    # Each mistake is therefore exactly one change away from the reference.
    for name, helper in [
        ("lstm_step_forward", mistakes._step_forward(mistakes._ForwardSlip())),
        ("lstm_step_backward", mistakes._step_backward(mistakes._BackwardSlip())),
        ("lstm_forward", mistakes._forward(mistakes._SequenceSlip())),
        ("lstm_backward", mistakes._bptt(mistakes._BpttSlip())),
    ]:
        args, right = catalogue_case(name, seed=9)
        assert differing(helper(*args), right, name, rtol=1e-13) == set(), name


def test_a_step_that_ignores_dnext_c_looped_is_bptt_without_the_cell_gradient():
    # Why lstm_backward lists cell-gradient-not-carried and not dnext_c-not-added: the two are one answer.
    args, _ = catalogue_case("lstm_backward", seed=10)
    ignores = next(m for m in mistakes.LSTM_STEP_BACKWARD if m.diagnosis == "dnext_c-not-added").compute
    looped = mistakes._bptt(mistakes._BpttSlip(step=ignores))(*args)
    named = next(m for m in mistakes.LSTM_BACKWARD if m.diagnosis == "cell-gradient-not-carried").compute(*args)
    assert differing(looped, named, "lstm_backward", rtol=1e-13) == set()


def test_the_gate_order_slip_reads_the_blocks_as_written():
    # ("i", "f", "g", "o"): the student's g is the reference's third block, their o the fourth.
    x, prev_h, prev_c, Wx, Wh, b = catalogue_case("lstm_step_forward", seed=11)[0]
    a = x @ Wx + prev_h @ Wh + b
    H = prev_h.shape[1]
    slipped = mistakes._step_forward(mistakes._ForwardSlip(order=("i", "f", "g", "o")))
    _, _, cache = slipped(x, prev_h, prev_c, Wx, Wh, b)
    np.testing.assert_allclose(cache.g, np.tanh(a[:, 2 * H : 3 * H]))
    np.testing.assert_allclose(cache.o, logistic(a[:, 3 * H :]))
