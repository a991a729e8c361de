"""The reference RNN checked against independent computations.

Nothing here reuses reference code for the expected values: the forward pass, the loss and the
gradients are recomputed the plain way (an explicit loop, the handout's double sum over
Jacobian products) or numerically (central finite differences of `loss`).
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import rnn

# (T, V, D, H, biases): the sizes every check runs on.
SIZES = [
    pytest.param(5, 10, 15, 7, False, id="default-sizes"),
    pytest.param(4, 6, 5, 3, False, id="no-two-dims-equal"),
    pytest.param(3, 4, 2, 1, False, id="H=1"),  # a scalar hidden state
    pytest.param(1, 5, 4, 3, False, id="T=1"),  # no recurrence at all: only h0 -> h_0
    pytest.param(6, 2, 3, 4, False, id="V=2"),  # the smallest vocabulary, many repeats
    pytest.param(4, 6, 5, 3, True, id="with-biases"),  # b_h and b_y enter a_t and z_t
    pytest.param(1, 2, 1, 1, True, id="all-minimal-with-biases"),
]


# ---------------------------------------------------------------------------------------------
# Independent computations
# ---------------------------------------------------------------------------------------------


def plain_forward(case):
    """[h0, h_0, ..., h_{T-1}] and [ŷ_0, ...], each (H, 1) / (V, 1), by the textbook formulas."""
    H, V = case.W_H.shape[0], case.W_y.shape[0]
    b_h = np.zeros((H, 1)) if case.b_h is None else case.b_h
    b_y = np.zeros((V, 1)) if case.b_y is None else case.b_y
    hs, ys = [case.h0], []
    for word in case.tokens:
        x = case.E[:, word].reshape(-1, 1)
        h = np.tanh(case.W_H.dot(hs[-1]) + case.W_x.dot(x) + b_h)
        z = case.W_y.dot(h) + b_y
        hs.append(h)
        ys.append(np.exp(z) / np.exp(z).sum())
    return hs, ys


def double_sum_gradients(case):
    """The handout's ∂L/∂θ = Σ_t Σ_{k≤t} ∂L_t/∂h_t · ∂h_t/∂h_k · ∂h_k/∂θ, with the Jacobian
    ∂h_t/∂h_k = Π_{j=k+1..t} diag(1 - h_j²) W_H formed explicitly as an H×H matrix."""
    hs, ys = plain_forward(case)  # hs[k + 1] is h_k, hs[0] is h0
    H, V = case.W_H.shape[0], case.W_y.shape[0]
    g = {"E": np.zeros(case.E.shape), "W_x": np.zeros(case.W_x.shape), "W_H": np.zeros((H, H)),
         "W_y": np.zeros((V, H)), "b_h": np.zeros((H, 1)), "b_y": np.zeros((V, 1))}
    for t in range(len(case.tokens)):
        dz = ys[t] - np.eye(V)[:, [case.targets[t]]]
        g["W_y"] += dz.dot(hs[t + 1].T)
        g["b_y"] += dz
        dL_dh_t = case.W_y.T.dot(dz)
        jac = np.eye(H)  # ∂h_t/∂h_k, starting at k = t
        for k in range(t, -1, -1):
            tanh_prime = np.diag(1.0 - hs[k + 1][:, 0] ** 2)
            da_k = tanh_prime.dot(jac.T.dot(dL_dh_t))
            g["W_H"] += da_k.dot(hs[k].T)
            g["W_x"] += da_k.dot(case.E[:, [case.tokens[k]]].T)
            g["E"][:, [case.tokens[k]]] += case.W_x.T.dot(da_k)
            g["b_h"] += da_k
            jac = jac.dot(tanh_prime).dot(case.W_H)  # now ∂h_t/∂h_{k-1}
    return g


def finite_difference(f, array, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of `array` (in place)."""
    grad = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        up = f()
        array[index] = saved - eps
        down = f()
        array[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


# ---------------------------------------------------------------------------------------------
# Forward and loss
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T, V, D, H, biases", SIZES)
def test_forward_matches_plain_loop(make_case, T, V, D, H, biases):
    case = make_case(T, V, D, H, seed=1, biases=biases)
    hs, y_hats = rnn.forward(case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0,
                             **case.biases)
    plain_hs, plain_ys = plain_forward(case)
    # Column t is step t, with the shapes the assignment states.
    assert hs.shape == (H, T) and y_hats.shape == (V, T)
    np.testing.assert_allclose(hs, np.hstack(plain_hs[1:]), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y_hats, np.hstack(plain_ys), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("T, V, D, H, biases", SIZES)
def test_loss_is_the_summed_cross_entropy(make_case, T, V, D, H, biases):
    case = make_case(T, V, D, H, seed=2, biases=biases)
    _, ys = plain_forward(case)
    expected = -sum(np.log(ys[t][case.targets[t], 0]) for t in range(T))
    value = rnn.loss(*case.args, **case.biases)
    # A Python float equal to the sum (not the mean) of -log ŷ_t[target].
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-12)


def test_softmax_and_loss_are_stable_for_huge_logits(make_case):
    case = make_case(4, 6, 5, 3, seed=3)
    case = case._replace(W_y=1e4 * case.W_y)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        _, y_hats = rnn.forward(case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0)
        value = rnn.loss(*case.args)
    # Logits in the thousands neither overflow nor give NaN: probabilities still sum to 1.
    np.testing.assert_allclose(y_hats.sum(axis=0), 1.0)
    assert np.isfinite(value) and value >= 0


def test_accepts_plain_lists_of_tokens(make_case):
    case = make_case(4, 6, 5, 3, seed=4)
    as_lists = case._replace(tokens=list(case.tokens), targets=list(case.targets))
    # Token lists are as good as 1-D int arrays.
    assert rnn.loss(*as_lists.args) == rnn.loss(*case.args)


# ---------------------------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T, V, D, H, biases", SIZES)
def test_bptt_matches_finite_differences(make_case, T, V, D, H, biases):
    case = make_case(T, V, D, H, seed=5, biases=biases)
    grads = rnn.bptt(*case.args, **case.biases)
    params = {"E": case.E, "W_x": case.W_x, "W_H": case.W_H, "W_y": case.W_y, **case.biases}
    # Exactly the parameters passed get a gradient: biases only when given.
    assert set(grads) == set(params)
    for name, array in params.items():
        numeric = finite_difference(lambda: rnn.loss(*case.args, **case.biases), array)
        # Each analytic gradient is the derivative of the summed loss, entry by entry.
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("T, V, D, H, biases", SIZES)
def test_bptt_matches_the_explicit_double_sum(make_case, T, V, D, H, biases):
    case = make_case(T, V, D, H, seed=6, biases=biases)
    grads = rnn.bptt(*case.args, **case.biases)
    expected = double_sum_gradients(case)
    for name, grad in grads.items():
        # The recursive backward pass is the handout's Σ_t Σ_{k≤t} to rounding error.
        assert grad.shape == expected[name].shape, name
        np.testing.assert_allclose(grad, expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_repeated_word_accumulates_in_E(make_case):
    case = make_case(3, 4, 3, 2, seed=7)._replace(tokens=np.array([2, 2, 2]))
    grads = rnn.bptt(*case.args)
    # Only the one word used has a non-zero column, and it holds every occurrence's share.
    assert np.count_nonzero(np.abs(grads["E"]).sum(axis=0)) == 1
    np.testing.assert_allclose(grads["E"], double_sum_gradients(case)["E"], rtol=1e-10, atol=1e-12)


def test_inputs_are_not_modified(make_case):
    case = make_case(4, 6, 5, 3, seed=8, biases=True)
    before = [np.copy(a) for a in case]
    rnn.forward(case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0, **case.biases)
    rnn.loss(*case.args, **case.biases)
    rnn.bptt(*case.args, **case.biases)
    # The reference is pure: every argument comes back untouched.
    for original, now in zip(before, case):
        np.testing.assert_array_equal(original, now)


# ---------------------------------------------------------------------------------------------
# Shapes (Task 1)
# ---------------------------------------------------------------------------------------------

# The table of Task 1 in the assignment, for T=5, V=10, D=15, H=7.
ASSIGNMENT_TABLE = {
    "W_H": (7, 7), "h_t": (7, 1), "W_x": (7, 15), "x_t": (15, 1), "a_t": (7, 1),
    "z_t": (10, 1), "W_y": (10, 7), "y_t": (10, 1), "E": (15, 10),
}


def test_shapes_for_default_sizes_match_the_assignment_table():
    assert rnn.shapes(5, 10, 15, 7) == ASSIGNMENT_TABLE


@pytest.mark.parametrize(
    "T, V, D, H",
    [
        (4, 6, 5, 3),  # no two sizes equal: any swapped letter shows
        (1, 2, 1, 1),  # the smallest model
        (9, 3, 8, 2),  # T does not appear in any answer
    ],
)
def test_shapes_follow_the_sizes(T, V, D, H):
    expected = {"W_H": (H, H), "h_t": (H, 1), "W_x": (H, D), "x_t": (D, 1), "a_t": (H, 1),
                "z_t": (V, 1), "W_y": (V, H), "y_t": (V, 1), "E": (D, V)}
    result = rnn.shapes(T, V, D, H)
    assert result == expected
    # Plain tuples of ints, ready to compare with a parsed answer.
    assert all(type(n) is int for shape in result.values() for n in shape)


def test_shapes_rejects_empty_sizes():
    with pytest.raises(ValueError, match="at least 1"):
        rnn.shapes(0, 10, 15, 7)
