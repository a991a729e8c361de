"""Is a student's backward the derivative of the student's own forward? Central differences, judged here.

The sandbox only calls the student's forward on inputs nudged along random directions v (each
float input on its own, ±eps·v); the directional derivatives and the comparison with what the
student's backward returned are computed in the grader's process.

For a forward f with upstream gradients g, the backward's gradient for input i should satisfy
    <d_i, v> ≈ Σ_j <(f_j(x_i + eps·v) - f_j(x_i - eps·v)) / 2eps, g_j>.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from exercises.models import Tolerance
from grader.cases.draw import Case
from grader.judge.compare import allowed_error, as_array

DIRECTIONS = 2
EPS = 1e-5
FLAT = 1e-6  # a directional derivative this small: the forward did not move
# Lenient: it tells a consistent backward from an inconsistent one, float32 forwards included. The scale is at
# least SCALE_FLOOR, so near zero the error allowed is absolute (rtol * SCALE_FLOOR). Not validated: its values are
# ours, and validating would build the exercise models' validators (they are built when first used), which a
# student's check with a kept exercise never needs.
TOLERANCE = Tolerance.model_construct(rtol=2e-3, atol=0.0)
SCALE_FLOOR = 1e-3


def gradient_check_id(question: Any) -> str:
    """The id of the item that probes the forward of a backward question."""
    return f"{question.id}#gradient-check"


def float_inputs(args: list[np.ndarray]) -> list[int]:
    """Positions of the floating-point inputs: the ones a backward returns gradients for, in order."""
    return [n for n, array in enumerate(args) if array.dtype.kind == "f"]


def probe_calls(args: list[np.ndarray], case: Case) -> list[list[np.ndarray]]:
    """Forward argument lists: for each float input and direction, the inputs nudged +eps·v, then -eps·v."""
    calls = []
    for position, direction in _probes(args, case):
        for sign in (1.0, -1.0):
            nudged = [array.copy() for array in args]
            nudged[position] = args[position] + sign * EPS * direction
            calls.append(nudged)
    return calls


def consistent(
    args: list[np.ndarray], case: Case, outputs: list[Any], upstream: list[np.ndarray], gradients: Any
) -> bool | None:
    """Does the backward's `gradients` agree with the forward's `outputs` on the probes? None: cannot tell."""
    probes = _probes(args, case)
    grads = gradients if isinstance(gradients, list) else [gradients]
    positions = float_inputs(args)
    if len(outputs) != 2 * len(probes) or len(grads) != len(positions):
        return None
    moved = False
    for number, (position, direction) in enumerate(probes):
        numeric = _directional(outputs[2 * number], outputs[2 * number + 1], upstream)
        gradient, _ = as_array(grads[positions.index(position)], args[position].shape)
        if numeric is None or gradient is None or gradient.shape != direction.shape:
            return None
        claimed = float(np.sum(gradient * direction))
        if abs(claimed - numeric) > allowed_error(TOLERANCE, max(abs(numeric), abs(claimed), SCALE_FLOOR)):
            return False
        moved = moved or abs(numeric) > FLAT
    return True if moved else None  # a forward that never moves (a stub returning zeros) proves nothing


def _directional(plus: Any, minus: Any, upstream: list[np.ndarray]) -> float | None:
    plus_parts = plus if isinstance(plus, list) and len(upstream) > 1 else [plus]
    minus_parts = minus if isinstance(minus, list) and len(upstream) > 1 else [minus]
    if len(plus_parts) != len(upstream) or len(minus_parts) != len(upstream):
        return None
    total = 0.0
    for up, high, low in zip(upstream, plus_parts, minus_parts):
        high_array, _ = as_array(high, up.shape)
        low_array, _ = as_array(low, up.shape)
        if high_array is None or low_array is None or high_array.shape != up.shape or low_array.shape != up.shape:
            return None
        total += float(np.sum((high_array - low_array) / (2 * EPS) * up))
    return total


def _probes(args: list[np.ndarray], case: Case) -> list[tuple[int, np.ndarray]]:
    """(input position, unit direction) pairs, the same every time for the same case."""
    seed = int.from_bytes(hashlib.sha256(case.describe().encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    probes = []
    for position in float_inputs(args):
        if args[position].size == 0:  # an empty input has no direction to move in
            continue
        for _ in range(DIRECTIONS):
            direction = rng.normal(size=args[position].shape)
            probes.append((position, direction / max(float(np.max(np.abs(direction))), 1e-12)))
    return probes
