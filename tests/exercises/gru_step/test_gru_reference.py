"""The gru-step exercise, an instructor's exercise written purely as data, checked on its own.

Nothing here imports the grader or `reference`: the instructor's reference is loaded from its file,
cases are drawn as gru.yaml declares them (normal, uniform and derived inputs, which is all it uses),
and the submissions are imported directly. What is proved:
- the reference backward agrees with central differences of the reference forward;
- gru.yaml names only things that exist and its cases satisfy its own constraints;
- every catalogue mistake is caught (differs from the reference) and named (differs from the others);
- every submission of the small corpus behaves as submissions/manifest.yaml says.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml

HERE = Path(__file__).parent
SUBMISSIONS = HERE / "submissions"
EXERCISE = yaml.safe_load((HERE / "gru.yaml").read_text())
MANIFEST = yaml.safe_load((SUBMISSIONS / "manifest.yaml").read_text())
QUESTIONS = {q["id"]: q for q in EXERCISE["questions"]}
TOLERANCE = EXERCISE["tolerance"]
GRAD_NAMES = ("x", "prev_h", "Wx", "Wh", "b")  # the forward's arguments, in the backward's output order


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file at `path` as a module called `name` (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = load_module(HERE / "gru_reference.py", "gru_step_exercise_reference")


def resolve(path: str):
    """A `file.py:name` reference of gru.yaml; only gru_reference.py is used."""
    file, name = path.split(":")
    assert file == "gru_reference.py", path
    return getattr(ref, name)


# ---------------------------------------------------------------------------------------------
# Cases, drawn as gru.yaml declares them
# ---------------------------------------------------------------------------------------------


def _number(value, sizes: dict) -> float:
    """A field that is a number or an expression over the dimensions ("0.5 / sqrt(D)")."""
    if isinstance(value, (int, float)):
        return float(value)
    return float(eval(value, {"__builtins__": {}, "sqrt": math.sqrt}, dict(sizes)))


def _draw(spec: dict, sizes: dict, rng: np.random.Generator, drawn: dict) -> np.ndarray:
    """One input of gru.yaml; the draws gru.yaml uses and no others."""
    if "derived" in spec:
        return resolve(spec["derived"])(*(drawn[a] for a in spec["args"]))
    shape = tuple(sizes[d] if isinstance(d, str) else d for d in spec["shape"])
    if spec["draw"] == "normal":
        return _number(spec.get("mean", 0), sizes) + _number(spec.get("scale", 1), sizes) * rng.standard_normal(shape)
    assert spec["draw"] == "uniform", spec
    return rng.uniform(_number(spec["low"], sizes), _number(spec["high"], sizes), shape)


def draw_case(sizes: dict, seed) -> dict:
    """Every input of gru.yaml for `sizes`, in the file's order."""
    rng, drawn = np.random.default_rng(seed), {}
    for name, spec in EXERCISE["inputs"].items():
        drawn[name] = _draw(spec, sizes, rng, drawn)
    return drawn


def satisfies_constraints(sizes: dict) -> bool:
    """gru.yaml's one constraint, distinct(N, D, H), and the dimensions' minimum of 1."""
    assert EXERCISE["constraints"] == ["distinct(N, D, H)"]
    return len(set(sizes.values())) == len(sizes) and min(sizes.values()) >= 1


def _hidden_like_sizes(count: int, seed: int = 7) -> list[dict]:
    """Sizes drawn from the dimensions' ranges and redrawn until the constraint holds, as hidden cases are."""
    rng, out = np.random.default_rng(seed), []
    ranges = {d: spec["range"] for d, spec in EXERCISE["dimensions"].items()}
    while len(out) < count:
        sizes = {d: int(rng.integers(lo, hi + 1)) for d, (lo, hi) in ranges.items()}
        out += [sizes] if satisfies_constraints(sizes) else []
    return out


PUBLIC_SIZES = EXERCISE["public"]["cases"]
CASES = [draw_case(s, [EXERCISE["public"]["seed"], i]) for i, s in enumerate(PUBLIC_SIZES)]
CASES += [draw_case(s, [99, i]) for i, s in enumerate(_hidden_like_sizes(4))]
PUBLIC_CASES = CASES[: len(PUBLIC_SIZES)]
CASE_IDS = [f"N{c['x'].shape[0]}-D{c['x'].shape[1]}-H{c['prev_h'].shape[1]}" for c in CASES]


def forward_args(case: dict) -> tuple:
    """The forward question's arguments, named in gru.yaml."""
    return tuple(case[a] for a in QUESTIONS["gru_step_forward"]["args"])


# ---------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------


def close(got, expected, rtol=TOLERANCE["rtol"], atol=TOLERANCE["atol"]) -> bool:
    """The grader's rule: same shape and max|got - expected| <= atol + rtol * max|expected|."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return False
    scale = np.max(np.abs(expected), initial=0.0)
    return bool(np.max(np.abs(got - expected), initial=0.0) <= atol + rtol * scale)


def all_close(got: tuple, expected: tuple, **tol) -> bool:
    """Every output of a multi-output answer is close."""
    return len(got) == len(expected) and all(close(g, e, **tol) for g, e in zip(got, expected))


def numeric_gradients(forward, args: tuple, dnext_h: np.ndarray, eps: float = 1e-6) -> tuple:
    """Central differences of L = sum(forward(*args)[0] * dnext_h) for each of the five arguments."""
    grads = []
    for i, arg in enumerate(args):
        grad = np.zeros_like(arg, dtype=float)
        for index in np.ndindex(arg.shape):
            shifted = [a.copy() for a in args]
            shifted[i][index] = arg[index] + eps
            up = np.sum(forward(*shifted)[0] * dnext_h)
            shifted[i][index] = arg[index] - eps
            grad[index] = (up - np.sum(forward(*shifted)[0] * dnext_h)) / (2 * eps)
        grads.append(grad)
    return tuple(grads)


# A loose tolerance for finite differences (their error is near 1e-9 here; slips are near 1e-1).
FD_TOLERANCE = {"rtol": 1e-5, "atol": 1e-7}


# ---------------------------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param({"N": 1, "D": 1, "H": 1}, id="all-one"),      # smallest: every product is a scalar
        pytest.param({"N": 1, "D": 3, "H": 2}, id="one-example"),  # no sum over the batch
        pytest.param({"N": 3, "D": 2, "H": 1}, id="one-unit"),     # one column per gate
        pytest.param({"N": 4, "D": 5, "H": 3}, id="handout"),
        pytest.param({"N": 5, "D": 2, "H": 4}, id="H-above-D"),
    ],
)
def test_reference_backward_matches_central_differences(sizes):
    case = draw_case(sizes, seed=sum(sizes.values()))
    args = forward_args(case)
    _, cache = ref.gru_step_forward(*args)
    analytic = ref.gru_step_backward(case["dnext_h"], cache)
    numeric = numeric_gradients(ref.gru_step_forward, args, case["dnext_h"])
    for name, a, n in zip(GRAD_NAMES, analytic, numeric):
        # Same shape as the input it differentiates, and the same values as finite differences.
        assert a.shape == case[name].shape, name
        assert np.allclose(a, n, rtol=1e-6, atol=1e-8), name


def test_reference_forward_follows_the_documented_formulas():
    # The docstring's convention, written out once more by hand for the handout's case.
    x, h, Wx, Wh, b = forward_args(CASES[0])
    H = h.shape[1]
    part = lambda W, k: W[..., k * H:(k + 1) * H]  # noqa: E731
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    z = sig(x @ part(Wx, 0) + h @ part(Wh, 0) + part(b, 0))
    r = sig(x @ part(Wx, 1) + h @ part(Wh, 1) + part(b, 1))
    n = np.tanh(x @ part(Wx, 2) + r * (h @ part(Wh, 2)) + part(b, 2))
    next_h, cache = ref.gru_step_forward(x, h, Wx, Wh, b)
    assert np.allclose(next_h, (1 - z) * n + z * h)
    assert np.allclose(cache.z, z) and np.allclose(cache.r, r) and np.allclose(cache.n, n)


def test_gates_are_not_saturated_by_the_declared_scales():
    # Every slip of a derivative must show: no derivative of a gate or of n is near zero.
    for case in CASES:
        _, c = ref.gru_step_forward(*forward_args(case))
        assert (c.z * (1 - c.z)).min() > 0.01 and (c.r * (1 - c.r)).min() > 0.01
        assert (1 - c.n**2).min() > 0.01


def test_shapes_agree_with_the_arrays():
    sizes = EXERCISE["handout"]
    shapes = ref.shapes(**sizes)
    case = draw_case(sizes, seed=0)
    next_h, cache = ref.gru_step_forward(*forward_args(case))
    grads = ref.gru_step_backward(case["dnext_h"], cache)
    arrays = {**case, "next_h": next_h, "z": cache.z, "r": cache.r, "n": cache.n,
              **{f"d{name}": g for name, g in zip(GRAD_NAMES, grads)}}
    for symbol, shape in shapes.items():
        assert arrays[symbol].shape == shape, symbol


# ---------------------------------------------------------------------------------------------
# gru.yaml, checked as the loader will check it
# ---------------------------------------------------------------------------------------------


def _references(node):
    """Every `file.py:name` string anywhere in gru.yaml."""
    if isinstance(node, dict):
        return [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return [node] if isinstance(node, str) and re.fullmatch(r"[\w/.-]+\.py:\w+", node) else []


def test_exercise_file_names_only_what_exists():
    refs = _references(EXERCISE)
    assert len(refs) >= 7  # shapes, pack_gates, two references, two catalogues
    assert all(resolve(r) is not None for r in refs)
    names = set(EXERCISE["inputs"])
    for q in EXERCISE["questions"]:
        # Arguments name inputs; a shape question's symbol is one the shapes callable knows.
        assert set(q.get("args", []) + q.get("upstream", [])) <= names, q["id"]
        if q["kind"] == "shape":
            assert q["symbol"] in resolve(EXERCISE["shapes"])(**EXERCISE["handout"])
    backward = QUESTIONS["gru_step_backward"]
    assert QUESTIONS[backward["forward"]]["cache"] in QUESTIONS[backward["forward"]]["outputs"]


def test_cases_satisfy_the_constraints_and_cover_the_edges():
    sizes = [EXERCISE["handout"], *PUBLIC_SIZES]
    assert all(satisfies_constraints(s) for s in sizes)
    assert EXERCISE["handout"] in PUBLIC_SIZES
    assert any(s["N"] == 1 for s in sizes) and any(s["H"] == 1 for s in sizes) and any(s["D"] == 1 for s in sizes)
    for s in sizes:
        assert all(lo <= s[d] <= hi for d, (lo, hi) in ((d, v["range"]) for d, v in EXERCISE["dimensions"].items()))


def test_references_return_what_the_questions_declare():
    # As at load time: each reference is called on the first public case and its outputs counted.
    case = PUBLIC_CASES[0]
    forward, backward = QUESTIONS["gru_step_forward"], QUESTIONS["gru_step_backward"]
    out = resolve(forward["reference"])(*forward_args(case))
    assert len(out) == len(forward["outputs"])
    grads = resolve(backward["reference"])(*(case[u] for u in backward["upstream"]), out[1])
    assert len(grads) == len(backward["outputs"])


def test_the_package_loader_accepts_the_exercise():
    # Live once exercises/ reads FORMAT.md's format; until then there is nothing to ask it.
    models = pytest.importorskip("exercises.models")
    exercise_model = getattr(models, "Exercise", None)
    if exercise_model is None or "dimensions" not in exercise_model.model_fields:
        pytest.skip("exercises/ does not read FORMAT.md's format (dimensions, inputs) yet")
    from exercises.bank import load_exercise_file

    exercise = load_exercise_file(HERE / "gru.yaml")
    assert exercise.id == "gru-step"


# ---------------------------------------------------------------------------------------------
# The mistake catalogues
# ---------------------------------------------------------------------------------------------


def forward_outputs(compute, case) -> tuple:
    """The compared part of a forward-like answer: (next_h,), the cache is never compared."""
    return (compute(*forward_args(case))[0],)


def backward_outputs(compute, case) -> tuple:
    """A backward-like answer on the reference cache."""
    _, cache = ref.gru_step_forward(*forward_args(case))
    return tuple(compute(case["dnext_h"], cache))


# Slips that equal the reference by nature on some cases, and where: with H = 1 the reset gate is a
# column, so r * (prev_h Wh_n) = (r * prev_h) Wh_n and the two textbook variants coincide.
SAME_AS_REFERENCE_WHEN = {"reset-before-product": lambda case: case["prev_h"].shape[1] == 1}

CATALOGUES = [
    pytest.param(ref.GRU_STEP_FORWARD, ref.gru_step_forward, forward_outputs, id="forward"),
    pytest.param(ref.GRU_STEP_BACKWARD, ref.gru_step_backward, backward_outputs, id="backward"),
]


def test_catalogues_have_the_promised_ids():
    ids = lambda listed: {m.diagnosis for m in listed}  # noqa: E731
    assert ids(ref.GRU_STEP_FORWARD) == {"gates-swapped", "missing-tanh", "update-gate-sign", "reset-before-product"}
    assert ids(ref.GRU_STEP_BACKWARD) == {"missing-sigmoid-derivative", "missing-tanh-derivative",
                                          "reset-gate-ignored-in-backward", "update-gate-sign", "missing-direct-path"}
    for m in ref.GRU_STEP_FORWARD + ref.GRU_STEP_BACKWARD:
        assert re.fullmatch(r"[a-z0-9_]+(-[a-z0-9_]+)*", m.diagnosis) and m.hint.strip() and callable(m.compute)


@pytest.mark.parametrize("case", PUBLIC_CASES, ids=CASE_IDS[: len(PUBLIC_CASES)])
@pytest.mark.parametrize("catalogue, reference, outputs", CATALOGUES)
def test_every_mistake_is_caught_and_named_on_every_public_case(catalogue, reference, outputs, case):
    answers = {m.diagnosis: outputs(m.compute, case) for m in catalogue}
    expected = outputs(reference, case)
    for diagnosis, answer in answers.items():
        # Caught: right shapes, wrong values (except where a slip equals the reference by nature).
        assert [a.shape for a in answer] == [e.shape for e in expected], diagnosis
        same = SAME_AS_REFERENCE_WHEN.get(diagnosis, lambda case: False)(case)
        assert all_close(answer, expected) == same, diagnosis
    for (d1, a1), (d2, a2) in itertools.combinations(answers.items(), 2):
        # Named: no two slips give the same answer, so a match names one of them.
        assert not all_close(a1, a2), (d1, d2)


# ---------------------------------------------------------------------------------------------
# The corpus, judged as the manifest says the grader must judge it
# ---------------------------------------------------------------------------------------------


def _parse_shape(answer) -> tuple[int, ...]:
    """A student's shape answer as a tuple: (5, 9), [5, 9], "5 x 9", "\\boxed{3 \\times 9}"."""
    if isinstance(answer, (tuple, list)):
        return tuple(int(a) for a in answer)
    return tuple(int(a) for a in re.findall(r"\d+", str(answer)))


def observe(module: ModuleType, case: dict) -> dict:
    """What a submission does on one case: its answers, and whether its backward fits its own forward."""
    next_h, cache = module.gru_step_forward(*forward_args(case))
    grads = tuple(module.gru_step_backward(case["dnext_h"], cache))
    numeric = numeric_gradients(module.gru_step_forward, forward_args(case), case["dnext_h"])
    return {"forward": (next_h,), "backward": grads, "self_consistent": all_close(grads, numeric, **FD_TOLERANCE)}


def _matching(catalogue, outputs, answers: list[tuple]) -> set[str]:
    """The diagnoses whose compute equals the student's answers on every case."""
    return {m.diagnosis for m in catalogue if all(all_close(a, outputs(m.compute, c)) for a, c in zip(answers, CASES))}


def _check_function(qid: str, outcome, seen: list[dict]) -> None:
    """A `function` question: full means the reference's values on every case."""
    right = all(all_close(s["forward"], forward_outputs(ref.gru_step_forward, c)) for s, c in zip(seen, CASES))
    if outcome == "full":
        assert right, f"{qid}: expected full marks"
        return
    assert outcome["status"] == "failed" and not right, qid
    named = _matching(ref.GRU_STEP_FORWARD, forward_outputs, [s["forward"] for s in seen])
    assert named == ({outcome["diagnosis"]} if "diagnosis" in outcome else set()), qid


def _check_backward(qid: str, outcome, seen: list[dict], forward_right: bool) -> None:
    """A `backward` question with gradient_check: full means the reference's values when the forward is
    right, and agreement with central differences of the student's own forward in any case."""
    right = all(all_close(s["backward"], backward_outputs(ref.gru_step_backward, c)) for s, c in zip(seen, CASES))
    consistent = all(s["self_consistent"] for s in seen)
    if outcome == "full":
        assert consistent and (right or not forward_right), f"{qid}: expected full marks"
        return
    assert outcome["status"] == "failed" and not right and not consistent, qid
    named = _matching(ref.GRU_STEP_BACKWARD, backward_outputs, [s["backward"] for s in seen])
    assert named == ({outcome["diagnosis"]} if "diagnosis" in outcome else set()), qid


def _expected_outcomes(entry: dict) -> dict:
    """Question id -> "full" or the manifest's outcome."""
    if entry.get("expect") == "full":
        return {qid: "full" for qid in QUESTIONS}
    assert entry["others"] == "full"
    return {qid: entry["questions"].get(qid, "full") for qid in QUESTIONS}


def test_manifest_lists_every_submission_and_only_known_questions():
    files = {p.relative_to(SUBMISSIONS).as_posix() for p in SUBMISSIONS.rglob("*.py")}
    assert files == set(MANIFEST)
    for entry in MANIFEST.values():
        assert set(entry.get("questions", {})) <= set(QUESTIONS)


@pytest.mark.parametrize("relpath", sorted(MANIFEST))
def test_submission_behaves_as_the_manifest_says(relpath):
    module = load_module(SUBMISSIONS / relpath, "gru_step_submission_" + re.sub(r"\W", "_", relpath))
    seen = [observe(module, case) for case in CASES]
    outcomes = _expected_outcomes(MANIFEST[relpath])
    handout_shapes = ref.shapes(**EXERCISE["handout"])
    for qid, q in QUESTIONS.items():
        if q["kind"] == "shape":
            assert outcomes[qid] == "full" and _parse_shape(module.SHAPES[q["symbol"]]) == handout_shapes[q["symbol"]]
    _check_function("gru_step_forward", outcomes["gru_step_forward"], seen)
    _check_backward("gru_step_backward", outcomes["gru_step_backward"], seen,
                    forward_right=outcomes["gru_step_forward"] == "full")


@pytest.mark.parametrize("relpath", sorted(p for p in MANIFEST if p.startswith("correct/")))
def test_correct_submissions_match_the_reference_on_every_case(relpath):
    # The plain statement for the correct files: the reference's values, output by output.
    module = load_module(SUBMISSIONS / relpath, "gru_step_correct_" + Path(relpath).stem)
    for case in CASES:
        next_h, cache = module.gru_step_forward(*forward_args(case))
        ref_next_h, ref_cache = ref.gru_step_forward(*forward_args(case))
        assert close(next_h, ref_next_h)
        got = module.gru_step_backward(case["dnext_h"], cache)
        for name, g, e in zip(GRAD_NAMES, got, ref.gru_step_backward(case["dnext_h"], ref_cache)):
            assert close(g, e), name
