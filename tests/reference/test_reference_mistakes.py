"""The catalogue of common mistakes: stable ids, the right form, and clearly wrong values."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from reference import mistakes, rnn, solution

# The ids other code depends on, per solution function.
EXPECTED_IDS = {
    "rnn_step": {"missing-tanh", "sigmoid-instead-of-tanh", "tanh-misplaced"},
    "rnn_forward": {"logits-not-softmax", "missing-tanh", "recurrence-uses-h0", "includes-h0", "tanh-misplaced"},
    "rnn_loss": {"mean-instead-of-sum", "last-step-only", "missing-tanh", "recurrence-uses-h0", "tanh-misplaced"},
    "grad_W_H": {"missing-tanh-derivative", "truncated-bptt", "mean-instead-of-sum",
                 "uses-h_t-not-h_prev", "ignores-h0", "missing-onehot-subtraction",
                 "last-step-only"},
    "grad_W_x": {"missing-tanh-derivative", "truncated-bptt", "mean-instead-of-sum",
                 "missing-onehot-subtraction"},
    "grad_W_y": {"mean-instead-of-sum", "missing-onehot-subtraction", "uses-h_prev-not-h_t"},
    "grad_E": {"missing-tanh-derivative", "truncated-bptt", "mean-instead-of-sum",
               "repeated-words-overwritten", "missing-onehot-subtraction"},
}

# Mistakes whose answer has another shape than the correct one, by their nature.
SHAPE_CHANGING = {("rnn_forward", "includes-h0")}

# Lower-case words joined by hyphens; a word may be a symbol such as h_t.
KEBAB = re.compile(r"^[a-z0-9][a-z0-9_]*(-[a-z0-9_]+)*$")

# Generic cases: T >= 3 with a repeated word (build_case repeats the first), non-zero h0.
GENERIC = [
    pytest.param((5, 10, 15, 7), id="default-sizes"),
    pytest.param((4, 6, 5, 3), id="no-two-dims-equal"),
]

ALL_MISTAKES = [
    pytest.param(name, m, id=f"{name}:{m.diagnosis}")
    for name, listed in mistakes.MISTAKES.items()
    for m in listed
]


def call(name, case):
    """Positional arguments of solution function `name` on `case`."""
    if name == "rnn_step":
        hs, _ = rnn.forward(case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0)
        return (case.E[:, [case.tokens[1]]], hs[:, [0]], case.W_x, case.W_H)
    if name == "rnn_forward":
        return (case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0)
    return case.args


def parts(value):
    """A return value as a list of float arrays (a tuple gives one per element)."""
    items = value if isinstance(value, tuple) else (value,)
    return [np.asarray(item, dtype=float) for item in items]


def relative_difference(a, b):
    """The largest ||a_i - b_i|| / ||b_i|| over the parts of two return values."""
    return max(np.linalg.norm(x - y) / max(np.linalg.norm(y), 1e-300) for x, y in zip(parts(a), parts(b)))


def _full_depth(mistake, sizes) -> bool:
    """A truncated-BPTT variant whose depth reaches back to the first step for these sizes."""
    return getattr(mistake.compute, "depth", -1) >= sizes[0] - 1


def test_truncation_at_depth_zero_is_the_one_step_slip():
    one_step = next(m for m in mistakes.GRAD_W_H if m.diagnosis == "truncated-bptt")
    deep = [m for m in mistakes.GRAD_W_H if getattr(m.compute, "depth", None) is not None]
    rng = np.random.default_rng(3)
    args = (rng.integers(0, 4, 6), rng.integers(0, 4, 6), rng.normal(size=(3, 4)), 0.5 * rng.normal(size=(2, 3)),
            0.6 * rng.normal(size=(2, 2)), rng.normal(size=(4, 2)), rng.normal(size=(2, 1)))  # tanh unsaturated
    # Depth 0 (one step) computed the long way equals the catalogue's one-step slip; each depth differs.
    np.testing.assert_allclose(mistakes._truncated_bptt(0, *args)["W_H"], one_step.compute(*args), rtol=1e-12)
    values = [m.compute(*args) for m in deep if m.compute.depth < 4]
    assert all(relative_difference(a, b) > 1e-4 for a, b in itertools.combinations(values, 2))


def test_lists_are_named_after_the_solution_functions():
    assert set(mistakes.MISTAKES) == set(solution.__all__)
    for name, listed in mistakes.MISTAKES.items():
        assert getattr(mistakes, name.upper()) is listed


@pytest.mark.parametrize("name", EXPECTED_IDS)
def test_ids_are_unique_kebab_case_and_as_agreed(name):
    ids = [m.diagnosis for m in mistakes.MISTAKES[name]]
    # An id appears twice only for the two loop directions of the overwritten-embedding slip, and for
    # truncation at several depths.
    repeated = {i for i in ids if ids.count(i) > 1}
    assert repeated <= {"repeated-words-overwritten", "truncated-bptt"}
    assert all(KEBAB.match(i) for i in ids), ids
    assert set(ids) == EXPECTED_IDS[name]


@pytest.mark.parametrize("name, mistake", ALL_MISTAKES)
def test_hint_is_one_or_two_sentences(name, mistake):
    sentences = re.findall(r"[.!?](?:\s|$)", mistake.hint)
    assert mistake.hint.strip() and mistake.hint.endswith(".")
    assert 1 <= len(sentences) <= 2, mistake.hint


@pytest.mark.parametrize("sizes", GENERIC)
@pytest.mark.parametrize("name, mistake", ALL_MISTAKES)
def test_mistake_has_the_right_form_and_a_clearly_wrong_value(make_case, sizes, name, mistake):
    case = make_case(*sizes, seed=21)
    args = call(name, case)
    right = getattr(solution, name)(*args)
    wrong = mistake.compute(*args)
    if _full_depth(mistake, sizes):  # truncation that reaches back to the first step is no truncation
        assert relative_difference(wrong, right) < 1e-12
        return
    # Same form as the correct answer: type, and shape of every array (unless the shape is the slip) ...
    assert type(wrong) is type(right)
    same_shapes = [p.shape for p in parts(wrong)] == [p.shape for p in parts(right)]
    assert same_shapes != ((name, mistake.diagnosis) in SHAPE_CHANGING)
    if not same_shapes:
        return
    # ... but a value no 1e-4 relative tolerance could mistake for it.
    assert relative_difference(wrong, right) > 1e-2


@pytest.mark.parametrize("sizes", GENERIC)
@pytest.mark.parametrize("name", EXPECTED_IDS)
def test_mistakes_of_one_function_are_told_apart(make_case, sizes, name):
    case = make_case(*sizes, seed=22)
    args = call(name, case)
    values = {m.diagnosis: m.compute(*args) for m in mistakes.MISTAKES[name]
              if (name, m.diagnosis) not in SHAPE_CHANGING}
    # No two diagnoses give the same answer, so a match names one mistake.
    values = {f"{m.diagnosis}#{n}": m.compute(*args) for n, m in enumerate(mistakes.MISTAKES[name])
              if (name, m.diagnosis) not in SHAPE_CHANGING and not _full_depth(m, sizes)}
    for (a, va), (b, vb) in itertools.combinations(values.items(), 2):
        assert relative_difference(va, vb) > 1e-2, (a, b)


@pytest.mark.parametrize("sizes", GENERIC)
def test_helpers_without_a_slip_are_the_reference(make_case, sizes):
    case = make_case(*sizes, seed=23)
    grads = mistakes._bptt_with(mistakes._BpttSlip(), *case.args)
    forward = mistakes._forward_with(mistakes._ForwardSlip(), *call("rnn_forward", case))
    # Each mistake is therefore exactly one change away from the correct algorithm.
    for key, value in grads.items():
        np.testing.assert_allclose(value, rnn.bptt(*case.args)[key], rtol=1e-12, atol=1e-14)
    for mine, ref in zip(forward, rnn.forward(*call("rnn_forward", case))):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-14)


def test_repeated_words_overwritten_is_right_for_words_seen_once(make_case):
    case = make_case(5, 10, 15, 7, seed=24)._replace(tokens=np.array([3, 1, 3, 4, 3]))
    right = solution.grad_E(*case.args)
    wrong = dict((m.diagnosis, m.compute) for m in mistakes.GRAD_E)["repeated-words-overwritten"]
    wrong = wrong(*case.args)
    # Only the repeated word's column differs; single words are untouched.
    np.testing.assert_allclose(wrong[:, [1, 4]], right[:, [1, 4]], rtol=1e-14)
    assert not np.allclose(wrong[:, 3], right[:, 3], rtol=1e-4)
