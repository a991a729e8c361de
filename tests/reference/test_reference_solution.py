"""The model solution has the student contract's signatures and agrees with reference.rnn."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from reference import rnn, solution

SEVEN = ["tokens", "targets", "E", "W_x", "W_H", "W_y", "h0"]

# Task 2 of the assignment: function name -> parameter names, in calling order.
CONTRACT = {
    "rnn_step": ["x_t", "h_prev", "W_x", "W_H"],
    "rnn_forward": ["tokens", "E", "W_x", "W_H", "W_y", "h0"],
    "rnn_loss": SEVEN,
    "grad_W_H": SEVEN,
    "grad_W_x": SEVEN,
    "grad_W_y": SEVEN,
    "grad_E": SEVEN,
}


@pytest.mark.parametrize("name, params", CONTRACT.items())
def test_signatures_are_the_contract(name, params):
    assert list(inspect.signature(getattr(solution, name)).parameters) == params


@pytest.mark.parametrize(
    "T, V, D, H",
    [
        (5, 10, 15, 7),  # the default assignment
        (4, 6, 5, 3),  # no two sizes equal
        (1, 2, 1, 1),  # the smallest model
    ],
)
def test_wrappers_agree_with_the_reference(make_case, T, V, D, H):
    case = make_case(T, V, D, H, seed=11)
    hs, y_hats = solution.rnn_forward(case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0)
    ref_hs, ref_y_hats = rnn.forward(case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0)
    np.testing.assert_array_equal(hs, ref_hs)
    np.testing.assert_array_equal(y_hats, ref_y_hats)
    assert solution.rnn_loss(*case.args) == rnn.loss(*case.args)
    grads = rnn.bptt(*case.args)
    # Each grad_* returns its own key of the reference's gradient dict, nothing else.
    for name, key in [("grad_W_H", "W_H"), ("grad_W_x", "W_x"), ("grad_W_y", "W_y"), ("grad_E", "E")]:
        np.testing.assert_array_equal(getattr(solution, name)(*case.args), grads[key])


def test_rnn_step_is_one_column_of_the_forward_pass(make_case):
    case = make_case(3, 6, 5, 4, seed=12)
    hs, _ = rnn.forward(case.tokens, case.E, case.W_x, case.W_H, case.W_y, case.h0)
    x_1 = case.E[:, [case.tokens[1]]]
    h_1 = solution.rnn_step(x_1, hs[:, [0]], case.W_x, case.W_H)
    # Step 1 from h_0 reproduces column 1, as an (H, 1) column.
    assert h_1.shape == (4, 1)
    np.testing.assert_allclose(h_1, hs[:, [1]], rtol=1e-14)
    np.testing.assert_allclose(h_1, np.tanh(case.W_H @ hs[:, [0]] + case.W_x @ x_1), rtol=1e-14)
