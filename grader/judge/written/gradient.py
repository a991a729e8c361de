"""The gradient's structure: a double sum (over t, and over k <= t), the factors of the chain in the
summand, and dh_t/dh_k as the product of one-step Jacobians. Loose but harmless ranges (k up to T,
where the extra terms vanish; k from 0, where h_0 carries no weight) are accepted with a remark."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.judge.written.chain import DERIVATIVE_SLIPS
from grader.judge.written.checks import Finding, gradient_findings
from grader.judge.written.context import Context
from grader.judge.written.evaluate import NotEvaluable, evaluate
from grader.judge.written.links import partial_pair
from grader.judge.written.parsing import Add, BigOp, Mul, Neg, Num, Reading, Sym, walk
from grader.judge.written.symbols import key, name_of, spellings
from grader.judge.written.verdict import WrittenVerdict, failed, missing, passed, quoted, review


def _index(tree: Any) -> tuple[str, int] | None:
    """`t`, `t-1`, `k+1`, `1`, `T` as (variable or '', offset)."""
    if isinstance(tree, Num):
        return "", int(tree.value)
    if isinstance(tree, Sym) and tree.sub is None:
        return tree.base, 0
    if isinstance(tree, Add) and len(tree.terms) == 2 and isinstance(tree.terms[0], Sym):
        second = tree.terms[1]
        if isinstance(second, Num):
            return tree.terms[0].base, int(second.value)
        if isinstance(second, Neg) and isinstance(second.arg, Num):
            return tree.terms[0].base, -int(second.arg.value)
    return None


def _candidates(question: Any, reading: Reading, names: dict[str, str]) -> list[tuple[int, Any, bool]]:
    """(line, right-hand side, is it of the total loss?) for every `∂L/∂W_H = …` holding a sum."""
    found = []
    for row in reading.rows:
        rel = row.rel
        for index, op in enumerate(rel.ops):
            pair = partial_pair(rel.parts[index]) if op == "=" else None
            if pair is None or name_of(pair[1], names) != question.weight:
                continue
            loss = name_of(pair[0], names)
            rhs = rel.parts[index + 1]
            if loss in (question.loss, question.step_loss) and isinstance(_first_sum(rhs), BigOp):
                found.append((row.line, rhs, loss == question.loss))
    return found


def _first_sum(tree: Any) -> Any:
    for node in walk(tree):
        if isinstance(node, BigOp) and node.op == "sum":
            return node
    return None


SLIP_CREDIT = 0.5  # one named slip in an otherwise worked derivation: half the part's points
SURE = {  # structural findings certain enough to take points; anything else the reader saw goes to review
    "the inner sum runs over later steps than t, which do not affect L_t",
    "the inner sum keeps only the last step: earlier states also depend on the weight",
    "the one-step Jacobian leaves out the derivative of tanh",
}
GRADIENT_SLIPS = {
    "sign-flipped": "the gradient has the wrong sign",
    "transposed": "the gradient is the transpose of ∂L/∂W_H",
    "wrong-state-in-outer-product": "each step's term pairs the error with h_t where the weight multiplies h_{t-1}",
    "untransposed-recurrent-weight": "the error is carried back through W_H where the derivative needs its transpose",
    "truncated-bptt": "only the direct term of each step is kept: the error is not carried back through earlier states",
    "missing-tanh-derivative": "the derivative of tanh (1 - h_t^2) is missing",
    "tanh-derivative-of-wrong-quantity": "the derivative of tanh is taken of a_t: it is 1 - h_t^2 (h_t = tanh(a_t))",
    "tanh-derivative-at-wrong-step": "the derivative of tanh is taken at the wrong step",
}


def judge_gradient(
    question: Any, context: Context, handout: dict[str, int], jacobian: Callable[..., Any] | None
) -> WrittenVerdict:
    note = context.note("gradient")
    slips = context.slips("gradient")
    if slips:
        return failed(SLIP_CREDIT, [_slip(slips[0], DERIVATIVE_SLIPS)], slips[0].outcome, note)
    findings = (
        gradient_findings(context.unrolled, context.reading, question.loss, question.weight) if context.unrolled else []
    )
    right = [f for f in findings if f.outcome == "right"]
    wrong = [f for f in findings if f.outcome not in ("right", "unverified")]
    if right and wrong:  # stated both ways (a mistake shown as one to avoid?): a person decides which counts
        lines = [(f.line, f.source) for f in right + wrong]
        return review("the gradient is stated both right and, elsewhere, as a known slip", lines, note)
    if right:
        final = right[-1]
        return passed(f"The gradient ({quoted(final.line, final.source)}) is right: its value was checked.", note)
    if wrong:
        return failed(SLIP_CREDIT, [_slip(wrong[-1], GRADIENT_SLIPS)], wrong[-1].outcome, note)
    return _by_structure(question, context, handout, jacobian, findings, note)


def _slip(finding: Finding, slips: dict[str, str]) -> str:
    return f"{quoted(finding.line, finding.source)}: {slips.get(finding.outcome, finding.outcome)}."


def _by_structure(question, context: Context, handout, jacobian, findings: list[Finding], note: str) -> WrittenVerdict:
    """The double sum of the chain's factors, read by its shape when its value cannot be had."""
    reading = context.reading
    names = context.names or spellings(question.symbols)
    candidates = _candidates(question, reading, names)
    unverified = [(f.line, f.source) for f in findings]
    if not candidates:
        if not unverified and not context.attempted("gradient"):
            return missing("No derivation of the gradient was found in your write-up.")
        reasons = [f"{quoted(f.line, f.source)} could not be given a value ({f.reason})" for f in findings[-2:]]
        reason = "; ".join(reasons) or "it did not find ∂L/∂W_H written as a formula it could read"
        lines = unverified or [
            (r.line, r.source) for r in reading.rows if context.part_of(r.line, r.text) == "gradient"
        ]
        return review(reason, lines, note)
    line, rhs, total = max(candidates, key=lambda c: (c[2], c[0]))
    remarks: list[str] = []
    problems: list[tuple[str, str]] = []
    _, body, outer_var, inner_var = _check_sums(question, rhs, total, remarks, problems)
    _check_factors(question, body, outer_var, inner_var, names, problems)
    _check_jacobian(question, reading, names, jacobian, handout, remarks, problems)
    sure = [(message, diagnosis) for message, diagnosis in problems if message in SURE]
    if sure:
        return failed(SLIP_CREDIT, [f"line {line}: {message}." for message, _ in sure] + remarks, sure[0][1], note)
    if not problems:
        return passed(" ".join(["The gradient's structure is right.", *remarks]), note)
    valued = [f"{quoted(f.line, f.source)} could not be given a value ({f.reason})" for f in findings[-1:]]
    reason = "; ".join(valued + [f"read by its shape, {message}" for message, _ in problems])
    return review(reason, [(line, _source(reading, line))], note)


def _source(reading: Reading, line: int) -> str:
    return next((row.source for row in reading.rows if row.line == line), "")


def _steps(tree: Any, question: Any) -> bool:
    return isinstance(tree, Sym) and tree.sub is None and tree.base in (question.steps, *question.step_aliases)


def _check_sums(question, rhs, total, remarks, problems) -> tuple[float, Any, str | None, str | None]:
    """(fraction of the sums' share, the summand, outer index, inner index)."""
    first = _first_sum(rhs)
    inner = _first_sum(first.body)
    if inner is None:  # one sum: over k for one L_t, or over t with no k
        if total:
            problems.append(
                ("the gradient of the total loss needs a sum over the steps t and, inside it, over k", "truncated-bptt")
            )
            return 0.25, first.body, first.var, None
        remarks.append("This is the gradient of one L_t; the total loss sums it over t.")
        return 0.5 + 0.5 * _inner_range(question, first, "t", remarks, problems), first.body, "t", first.var
    score = 0.5 if _outer_range(question, first, remarks, problems) else 0.0
    score += 0.5 * _inner_range(question, inner, first.var, remarks, problems)
    return score, inner.body, first.var, inner.var


def _outer_range(question, outer: BigOp, remarks, problems) -> bool:
    low = _index(outer.low) if outer.low is not None else None
    if outer.high is None or not _steps(outer.high, question) or low not in (("", 1), ("", 0)):
        if low == ("", 0) and _index(outer.high) == (question.steps, -1):
            return True
        problems.append(("the outer sum must run over every step, from the first to the last", "wrong-sum-range"))
        return False
    if low == ("", 0):
        remarks.append("The outer sum starts at 0: with steps numbered from 1, that term does not exist.")
    return True


def _inner_range(question, inner: BigOp, outer: str | None, remarks, problems) -> float:
    low = _index(inner.low) if inner.low is not None else None
    high = _index(inner.high) if inner.high is not None else None
    if low == (outer, 0) and outer and _steps(inner.high, question):
        return 1.0  # Σ_k Σ_{t=k}^{T}: the same double sum, summed in the other order
    if low is not None and low[0] == outer and outer:
        if low[1] > 0:
            problems.append(("the inner sum runs over later steps than t, which do not affect L_t", "wrong-sum-range"))
        else:
            problems.append(
                ("the inner sum keeps only the last step: earlier states also depend on the weight", "truncated-bptt")
            )
        return 0.0
    if low not in (("", 1), ("", 0)):
        problems.append(("the inner sum does not start at the first step", "wrong-sum-range"))
        return 0.0
    if low == ("", 0):
        remarks.append("Remark: the inner sum starts at k = 0; h_0 does not depend on the weight, so that term is 0.")
    if high == (outer, 0):
        return 1.0
    if inner.high is not None and _steps(inner.high, question):
        remarks.append(
            "Remark: the inner sum runs to the last step; the terms with k > t are 0, since L_t does "
            "not depend on later states, so the sum to t says the same."
        )
        return 1.0
    problems.append(("the inner sum does not stop at t", "wrong-sum-range"))
    return 0.0


def _check_factors(question, body, outer: str | None, inner: str | None, names, problems) -> float:
    """The summand's factors telescope from L_t to the weight through h_t and h_k."""
    factors = body.factors if isinstance(body, Mul) else (body,)
    steps = []
    for factor in factors:
        pair = partial_pair(factor)
        if pair is not None:
            steps.append((_role(pair[0], names, question, outer, inner), _role(pair[1], names, question, outer, inner)))
        elif isinstance(factor, BigOp) and factor.op == "prod":
            steps.append(("h@t", "h@k"))  # ∏ ∂h_j/∂h_{j-1} in place of ∂h_t/∂h_k: checked with the Jacobian
    wanted = [question.step_loss, *question.chain[1:-1], "h@t", "h@k", question.weight]
    wanted = [w for w in wanted if w != question.recurrent]
    start = question.step_loss
    reached = start
    for numerator, denominator in steps:
        if numerator != reached:
            break
        reached = denominator
    if steps and steps[0][0] == start and reached == question.weight and "h@k" in [d for _, d in steps]:
        return 1.0
    if steps and reached == question.weight and "h@k" not in [d for _, d in steps]:
        problems.append(
            ("the summand goes from h_t straight to the weight: the factor through h_k is missing", "truncated-bptt")
        )
        return 0.5
    problems.append((f"a factor of the chain is missing after ∂{_shown(reached, question)}", "missing-chain-factor"))
    return 0.5 * (len([s for s in steps if s[0] in wanted]) / max(1, len(wanted) - 1)) if steps else 0.0


def _shown(role: str, question: Any) -> str:
    named = {"h@t": "h_t", "h@k": "h_k"}.get(role)
    return named or (question.symbols.get(role) or [role])[0]


def _role(tree: Any, names, question, outer: str | None, inner: str | None) -> str:
    if isinstance(tree, Sym) and tree.base == question.recurrent.split("_")[0] and tree.sub and not tree.hat:
        index = _index(tree.sub[0])
        if index == (outer, 0):
            return "h@t"
        if index == (inner, 0):
            return "h@k"
    return name_of(tree, names) or key(tree)


def _check_jacobian(question, reading, names, jacobian, handout, remarks, problems) -> float:
    """∂h_t/∂h_k written as ∏_{j=k+1}^{t} of one-step Jacobians, or the recursion unrolled one step at a time."""
    unrolled = False
    for row in reading.rows:
        for node in walk(row.rel.parts):
            if isinstance(node, BigOp) and node.op == "prod":
                return _check_product(question, node, names, jacobian, handout, problems)
            pair = partial_pair(node)
            if pair and _consecutive(pair, question):
                unrolled = True
    if unrolled:
        return 1.0
    problems.append(("∂h_t/∂h_k is not written in terms of one-step derivatives", "missing-jacobian-product"))
    return 0.0


def _consecutive(pair: tuple[Any, Any], question) -> bool:
    """∂h_t/∂h_{t-1} (any index): one step of the recursion."""
    base = question.recurrent.split("_")[0]
    top, bottom = pair
    if not (isinstance(top, Sym) and isinstance(bottom, Sym) and top.base == bottom.base == base):
        return False
    if not (top.sub and bottom.sub):
        return False
    high, low = _index(top.sub[0]), _index(bottom.sub[0])
    return high is not None and low is not None and high[0] == low[0] != "" and high[1] - low[1] == 1


def _check_product(question, product: BigOp, names, jacobian, handout, problems) -> float:
    low = _index(product.low) if product.low is not None else None
    high = _index(product.high) if product.high is not None else None
    if low is None or high is None or low[1] - high[1] != 1 or low[0] == high[0]:
        problems.append(("the product of one-step Jacobians does not run from step k+1 to step t", "wrong-sum-range"))
        return 0.5
    pair = partial_pair(product.body)
    if pair is not None:
        return 1.0 if _consecutive(pair, question) else 0.5
    if jacobian is None:
        return 1.0
    return _explicit_step(question, product, names, jacobian, handout, problems)


def jacobian_probe(handout: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The fixed (weight, state) a written one-step Jacobian is evaluated at: the same for every write-up."""
    size = handout.get("H", 3)
    generator = np.random.default_rng(7)
    return generator.normal(size=(size, size)), np.tanh(generator.normal(size=(size, 1)))


def _explicit_step(question, product: BigOp, names, jacobian, handout, problems) -> float:
    """The one-step Jacobian written out (`diag(1 - h_j^2) W_H`): evaluated against the reference."""
    weight, state = jacobian_probe(handout)
    local = dict(names)
    local[f"h_{product.var}"] = "__state"
    env = {question.weight: weight, "__state": state}
    try:
        got = evaluate(product.body, env, local)
    except NotEvaluable:
        problems.append(("the one-step Jacobian in the product could not be evaluated", "wrong-jacobian"))
        return 0.5
    want = np.asarray(jacobian(weight, state))
    if got.shape == want.shape and (np.allclose(got, want) or np.allclose(got, want.T)):
        return 1.0
    if got.shape == want.shape and (np.allclose(got, weight) or np.allclose(got, weight.T)):
        problems.append(("the one-step Jacobian leaves out the derivative of tanh", "missing-tanh-derivative"))
        return 0.0
    problems.append(("the one-step Jacobian in the product is not ∂h_j/∂h_{j-1}", "wrong-jacobian"))
    return 0.0
