"""Pydantic models of an exercise file: its dimensions, inputs and questions (one model per kind).

An exercise declares its own world (see exercises/FORMAT.md): named dimensions, input arrays
drawn in those dimensions, and questions that name inputs by key. Reference callables are named
by path ("reference.rnn:shapes", or "my_reference.py:gru_step" beside the exercise file);
expected answers are computed from them at grading time, never written here.

Checks that need nothing but the file live here (names, shapes, expressions); checks that call
the references live in `exercises.bank`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, model_validator

from exercises.expressions import FUNCTIONS, ExpressionError, check_expression, closest, evaluate, size

CALLABLE_PATH = r"^([A-Za-z_][\w.]*|[\w./\-]+\.py):[A-Za-z_]\w*$"
IDENTIFIER = r"^[A-Za-z_]\w*$"

Expression = float | str  # a number, or an expression over the dimensions ("0.9 / sqrt(H)")
Size = int | str  # a number, a dimension's name, or an expression over the dimensions ("4*H")


class FieldError(ValueError):
    """A problem with one field of an exercise file, named by its dotted path (`inputs.x.shape`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Dimension(_Strict):
    """A named size (T, N, H …)."""

    range: tuple[Size, Size] = Field(
        description="Inclusive range hidden cases draw this size from (bounds may be expressions over the "
        'dimensions declared before it: [1, "2*H"]).'
    )
    min: int = Field(default=1, ge=0, description="The smallest value any case may use.")
    doc: str = Field(default="", description="What the size counts, for humans.")

    @model_validator(mode="after")
    def _range_is_ordered(self) -> Dimension:
        low, high = self.range
        if isinstance(low, str) or isinstance(high, str):
            return self  # expressions are checked with the whole file (they read earlier dimensions)
        if not self.min <= low <= high:
            raise FieldError("range", f"must satisfy min ({self.min}) <= low <= high, got [{low}, {high}]")
        return self


class PublicCases(_Strict):
    """Cases students see in self-check; their seed is public."""

    seed: int = Field(description="Seed the public cases are drawn from.")
    cases: list[dict[str, int]] = Field(min_length=1, description="Each case's dimensions, in this order.")


class HiddenCases(_Strict):
    """Cases used only by `grade`; drawn from the instructor's secret, never echoed."""

    count: int = Field(ge=0, le=100, description="How many hidden cases to draw.")
    default_secret: str = Field(description="Secret used when the instructor passes none (grade warns).")
    detailed_feedback: bool = Field(
        default=False,
        description="Feedback on a failing hidden case also gives its sizes, the shapes that came back and the "
        "student's own error messages (never expected values); by default it says only what kind of failure.",
    )


class Tolerance(_Strict):
    """A value passes when max|got - expected| <= atol + rtol * max|expected|."""

    rtol: float = Field(default=1e-4, gt=0, lt=1, description="Relative tolerance.")
    atol: float = Field(default=1e-8, ge=0, description="Absolute tolerance.")


class Imports(_Strict):
    """What student code may import, and the course modules the exercise provides."""

    allowed: list[str] = Field(default_factory=lambda: ["numpy"], description="Packages students may import.")
    provided: list[str] = Field(
        default_factory=list,
        description="Files or folders beside the exercise, copied beside each student's files (course modules).",
    )
    package: str | None = Field(
        default=None,
        pattern=IDENTIFIER,
        description="Load student files as modules of this package, so relative imports of provided modules work.",
    )


# ---------------------------------------------------------------- inputs


class _Drawn(_Strict):
    shape: list[Size] = Field(
        default_factory=list, description='Sizes: numbers, dimension names or expressions over them ("4*H").'
    )
    dtype: str | None = Field(default=None, description="numpy dtype name; a sensible default per draw.")


class NormalInput(_Drawn):
    """Gaussian entries."""

    draw: Literal["normal"]
    scale: Expression = Field(default=1.0, description="Standard deviation.")
    mean: Expression = Field(default=0.0, description="Mean.")


class UniformInput(_Drawn):
    """Uniform entries in [low, high)."""

    draw: Literal["uniform"]
    low: Expression = Field(description="Smallest value (a number or an expression over the dimensions).")
    high: Expression = Field(description="Bound above, never reached (a number or an expression).")


class IntegersInput(_Drawn):
    """Whole numbers in [low, high); `repeat` makes one later entry equal the first (a repeated word)."""

    draw: Literal["integers"]
    low: Expression = Field(default=0, description="Smallest value.")
    high: Expression = Field(description="Bound above, never reached (a number or an expression: V).")
    repeat: bool = False


class OneHotInput(_Drawn):
    """Rows that are one-hot along the last axis."""

    draw: Literal["onehot"]


class BernoulliInput(_Drawn):
    """Booleans, True with probability p; at least one of each when there are two entries or more."""

    draw: Literal["bernoulli"]
    p: float = Field(default=0.5, gt=0, lt=1)


class DerivedInput(_Strict):
    """An input that data cannot describe: a reference callable builds it from earlier inputs."""

    derived: str = Field(pattern=CALLABLE_PATH, description="Callable path.")
    args: list[str] = Field(min_length=1, description="Earlier inputs it is called with.")


def _input_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "derived" if "derived" in value else str(value.get("draw", "normal"))
    return "derived" if isinstance(value, DerivedInput) else str(getattr(value, "draw", ""))


Input = Annotated[
    Annotated[NormalInput, Tag("normal")]
    | Annotated[UniformInput, Tag("uniform")]
    | Annotated[IntegersInput, Tag("integers")]
    | Annotated[OneHotInput, Tag("onehot")]
    | Annotated[BernoulliInput, Tag("bernoulli")]
    | Annotated[DerivedInput, Tag("derived")],
    Discriminator(_input_kind),
]
DRAWN_EXPRESSIONS = ("scale", "mean", "low", "high")


# ---------------------------------------------------------------- questions


class _Question(_Strict):
    id: str = Field(pattern=r"^[A-Za-z_][\w.\-]*$", description="Stable question id used in results.")
    points: float = Field(gt=0, description="Full marks for this question.")
    title: str = Field(default="", description="Short student-facing description.")


class ShapeQuestion(_Question):
    """The student states the shape of a symbol; the answer comes from the exercise's `shapes` callable."""

    kind: Literal["shape"]
    symbol: str = Field(description="Key in the shapes table, e.g. 'W_H'.")
    aliases: list[str] = Field(default_factory=list, description="Other spellings students use (w_H, \\hat{y}_t).")


class FunctionQuestion(_Question):
    """The student writes a function; it is called on every case and compared to the reference."""

    kind: Literal["function"]
    function: str = Field(pattern=IDENTIFIER, description="Name the student's function must have.")
    args: list[str] = Field(description="Inputs passed positionally, in this order.")
    reference: str = Field(pattern=CALLABLE_PATH, description="Reference callable with the same signature.")
    outputs: list[str] = Field(default_factory=list, description="Names of the returned values when several.")
    cache: str | None = Field(
        default=None,
        description="Which output is a layer cache: kept in the sandbox, "
        "never compared, handed to a backward question.",
    )
    mistakes: str | None = Field(default=None, pattern=CALLABLE_PATH, description="A list of known mistakes.")
    tolerance: Tolerance | None = Field(default=None, description="Overrides the exercise tolerance.")
    weights: dict[str, float] | None = Field(
        default=None,
        description="Each compared output's share of the points, relative to the others (every output named); "
        "equal shares without it.",
    )

    @model_validator(mode="after")
    def _cache_is_an_output(self) -> FunctionQuestion:
        if self.cache is not None and self.cache not in self.outputs:
            raise FieldError("cache", f"{self.cache!r} is not one of the outputs {self.outputs}")
        return self

    @property
    def compared_outputs(self) -> list[str]:
        """The outputs compared with the reference's: all but the cache."""
        return [name for name in self.outputs if name != self.cache]


class BackwardQuestion(_Question):
    """The backward of a forward/backward pair: it receives the cache the student's own forward returned."""

    kind: Literal["backward"]
    forward: str = Field(description="Id of the function question whose cache this backward takes.")
    function: str = Field(pattern=IDENTIFIER, description="Name the student's backward must have.")
    upstream: list[str] = Field(description="Inputs passed before the cache (upstream gradients).")
    reference: str = Field(pattern=CALLABLE_PATH, description="Called as reference(*upstream, reference_cache).")
    outputs: list[str] = Field(default_factory=list, description="Names of the returned gradients.")
    mistakes: str | None = Field(default=None, pattern=CALLABLE_PATH, description="Known mistakes, same signature.")
    gradient_check: bool = Field(
        default=False,
        description="Also compare with central differences of the "
        "student's own forward (gradients in the order of its float inputs).",
    )
    tolerance: Tolerance | None = Field(default=None, description="Overrides the exercise tolerance.")
    weights: dict[str, float] | None = Field(
        default=None,
        description="Each compared output's share of the points, relative to the others (every output named); "
        "equal shares without it.",
    )

    @property
    def compared_outputs(self) -> list[str]:
        """The outputs compared with the reference's: every gradient."""
        return list(self.outputs)


class NumericQuestion(_Question):
    """The student gives a number or matrix (answers-file key or code variable) for one printed case."""

    kind: Literal["numeric"]
    name: str = Field(pattern=IDENTIFIER, description="Answers-file key or variable name.")
    args: list[str] = Field(description="Inputs the reference is called with.")
    reference: str = Field(pattern=CALLABLE_PATH, description="Reference callable computing the answer.")
    case: dict[str, int] = Field(description="Dimensions of the one case the question is about.")
    seed: int = Field(description="Seed of that case; it is printed in the handout.")
    decimals: int | None = Field(default=2, ge=0, le=12, description="Inputs rounded so it can be done by hand.")
    tolerance: Tolerance | None = Field(default=None, description="Overrides the exercise tolerance.")


# ---------------------------------------------------------------- written questions (a derivation on paper)


class _WrittenQuestion(_Question):
    symbols: dict[str, list[str]] = Field(
        min_length=1,
        description="Each quantity's name (as the reference callables name it) and how a write-up may write it, "
        "in LaTeX (`w_H`, `W_{hh}`, `\\hat{y}_t`); every spelling is parsed, so `W_{H}` and `W_H` are one.",
    )
    model_answer: str | None = Field(
        default=None,
        pattern=CALLABLE_PATH,
        description="Callable returning a correct write-up (Markdown); `validate` checks it earns full marks.",
    )
    unrolled: str | None = Field(
        default=None,
        pattern=CALLABLE_PATH,
        description="Callable(**sizes) -> the model unrolled over a random sequence (per-step values, local "
        "derivatives, the gradient and what known slips give): formulas are then judged by their value.",
    )
    roles: dict[str, str] = Field(
        default_factory=dict,
        description="Which quantity plays which part (state, previous, preactivation, input, logits, prediction, "
        "recurrent, input_weight, output_weight, step_loss, loss, target), so a write-up's own names are read.",
    )


class EquationsQuestion(_WrittenQuestion):
    """The model's equations, written by the student; each is checked for meaning by evaluating both sides."""

    kind: Literal["equations"]
    reference: str = Field(
        pattern=CALLABLE_PATH,
        description="Callable(**given arrays) -> {quantity: array}: the expected value of every quantity.",
    )
    given: dict[str, list[int | str]] = Field(
        min_length=1, description="The arrays the equations start from and their shapes (dimension names)."
    )
    onehot: list[str] = Field(default_factory=list, description="Given arrays drawn one-hot (a target word).")
    equations: list[str] = Field(min_length=1, description="The quantities whose equation must be stated, in order.")
    weights: list[str] = Field(
        default_factory=list, description="Weight matrices a slip may confuse (W_H for W_y): tried as replacements."
    )
    local_symbols: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="Spellings that mean something else in one equation (y_t, the target, in L_t's).",
    )


class ChainQuestion(_WrittenQuestion):
    """The dependency chain from the loss back to a weight, arrows or a product of partial derivatives."""

    kind: Literal["chain"]
    chain: list[str] = Field(min_length=2, description="Quantities from the loss to the weight, in order.")
    recurrent: str = Field(description="The quantity whose previous step the chain must recurse through (h_t).")
    previous: str = Field(description="That quantity one step earlier, as named in `symbols` (h_prev).")


class GradientQuestion(_WrittenQuestion):
    """The gradient as a double sum over t and k <= t of the chain's factors, with dh_t/dh_k a product."""

    kind: Literal["gradient"]
    loss: str = Field(description="The total loss's quantity name (L).")
    step_loss: str = Field(description="One step's loss (L_t).")
    weight: str = Field(description="The weight differentiated (W_H).")
    chain: list[str] = Field(min_length=2, description="Quantities the summand's factors go through (L_t … h_t).")
    recurrent: str = Field(description="The recurrent state (h_t), differentiated with respect to itself at step k.")
    steps: str = Field(default="T", description="The number of steps (the outer sum's upper bound).")
    step_aliases: list[str] = Field(default_factory=lambda: ["n"], description="Other names for it (n).")
    reference: str | None = Field(
        default=None,
        pattern=CALLABLE_PATH,
        description="Callable(W_H, h_t) -> dh_t/dh_{t-1}: the one-step Jacobian, to check it when written out.",
    )


WrittenQuestion = EquationsQuestion | ChainQuestion | GradientQuestion

Question = Annotated[
    ShapeQuestion
    | FunctionQuestion
    | BackwardQuestion
    | NumericQuestion
    | EquationsQuestion
    | ChainQuestion
    | GradientQuestion,
    Field(discriminator="kind"),
]
CodeQuestion = FunctionQuestion | BackwardQuestion


class Variants(_Strict):
    """Per-student variants: each student's handout sizes and case seeds are drawn from their id."""

    seed: int = Field(description="Public seed of the draw (students recompute their own variant with it).")
    dimensions: dict[str, tuple[int, int]] = Field(
        min_length=1,
        description="Inclusive ranges a student's handout sizes are drawn from; other dimensions keep the handout's.",
    )


# ---------------------------------------------------------------- the exercise


class Exercise(_Strict):
    """One exercise: its world (dimensions, inputs), its cases and its questions."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$", description="Exercise id used on the command line.")
    title: str = Field(description="One-line title.")
    dimensions: dict[str, Dimension] = Field(min_length=1, description="Named sizes, in draw order.")
    constraints: list[str] = Field(default_factory=list, description="Expressions every case satisfies.")
    handout: dict[str, int] = Field(description="Sizes in force for shape questions and handouts.")
    public: PublicCases
    hidden: HiddenCases
    tolerance: Tolerance = Field(default_factory=Tolerance, description="Default comparison tolerance.")
    inputs: dict[str, Input] = Field(default_factory=dict, description="Arrays questions pass, in draw order.")
    shapes: str | None = Field(
        default=None,
        pattern=CALLABLE_PATH,
        description="Callable(**dimensions) -> {symbol: shape} for shape questions.",
    )
    imports: Imports = Field(default_factory=Imports)
    variants: Variants | None = Field(default=None, description="Draw sizes and seeds per student.")
    questions: list[Question] = Field(min_length=1, description="Questions, in report order.")
    _source: Path | None = PrivateAttr(default=None)  # the file it was read from: file references are relative to it

    @model_validator(mode="after")
    def _names_are_declared(self) -> Exercise:
        check_exercise(self)
        return self

    @property
    def max_score(self) -> float:
        return round(sum(q.points for q in self.questions), 6)

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)

    def forward_of(self, question: BackwardQuestion) -> FunctionQuestion:
        """The function question whose cache `question` takes (checked at load: one with a `cache`)."""
        forward = self.question(question.forward)
        if not isinstance(forward, FunctionQuestion) or forward.cache is None:
            raise ValueError(f"{question.id}: {question.forward!r} is not a function question with a `cache`")
        return forward


# ---------------------------------------------------------------- checks on the whole file
# In the order of the file, causes first: a FieldError names the field it is about.


def check_exercise(exercise: Exercise) -> None:
    """Every name a field uses is declared, every case fits the dimensions; FieldError names the field."""
    _check_dimensions(exercise)
    _check_names("handout", exercise.handout, exercise)
    for number, constraint in enumerate(exercise.constraints):
        _check_constraint(f"constraints.{number}", constraint, exercise.handout)
    _check_sizes("handout", exercise.handout, exercise)
    for number, case in enumerate(exercise.public.cases):
        _check_sizes(f"public.cases.{number}", case, exercise)
    _check_inputs(exercise)
    _check_questions(exercise)
    _check_variants(exercise)


def _check_dimensions(exercise: Exercise) -> None:
    """Names are names; a range bound written as an expression reads only the dimensions declared before it."""
    earlier: dict[str, int] = {}
    for name, dimension in exercise.dimensions.items():
        if not name.isidentifier():
            raise FieldError("dimensions", f"{name!r} is not a name")
        bounds = [_range_bound(f"dimensions.{name}.range", bound, earlier) for bound in dimension.range]
        if not dimension.min <= bounds[0] <= bounds[1]:
            raise FieldError(
                f"dimensions.{name}.range",
                f"must satisfy min ({dimension.min}) <= low <= high, got {bounds} at the handout's sizes",
            )
        earlier[name] = exercise.handout.get(name, bounds[1])


def _range_bound(where: str, bound: Size, earlier: dict[str, int]) -> int:
    later = [name for name in re.findall(r"[A-Za-z_]\w*", str(bound)) if name not in earlier and name not in FUNCTIONS]
    if later:
        before = ", ".join(earlier) or "none"
        raise FieldError(
            where, f"{bound!r} reads {later[0]}; a bound reads only the dimensions declared before it ({before})"
        )
    return _expression_value(where, bound, earlier, size)


def _check_constraint(where: str, constraint: str, sizes: dict[str, int]) -> None:
    value = _expression_value(where, constraint, sizes, evaluate)
    if not isinstance(value, bool):
        raise FieldError(where, f"{constraint!r} is not a condition (it gives {value!r}); write one with ==, <, != …")


def _expression_value(where: str, expression: Any, sizes: dict[str, int], value_of: Any) -> Any:
    """`value_of(expression, sizes)`, its problem a FieldError at `where` (checked at the handout's sizes)."""
    try:
        return value_of(expression, sizes)
    except ExpressionError as exc:
        raise FieldError(where, str(exc)) from None


def _check_names(where: str, sizes: dict[str, int], exercise: Exercise) -> None:
    declared = list(exercise.dimensions)
    missing = [name for name in declared if name not in sizes]
    unknown = [name for name in sizes if name not in declared]
    if unknown:
        raise FieldError(
            where,
            f"{unknown[0]!r} is not a dimension (dimensions: {', '.join(declared)}){closest(unknown[0], declared)}",
        )
    if missing:
        raise FieldError(where, f"gives no size for {', '.join(missing)}: a case gives every dimension")


def _check_sizes(where: str, sizes: dict[str, int], exercise: Exercise) -> None:
    """A case names every dimension and nothing else, within each minimum, satisfying the constraints."""
    declared = exercise.dimensions
    _check_names(where, sizes, exercise)
    for name, value in sizes.items():
        if value < declared[name].min:
            raise FieldError(where, f"{name}={value} is below its minimum {declared[name].min}")
    for constraint in exercise.constraints:
        if not evaluate(constraint, sizes):
            raise FieldError(
                where, f"{_sizes_text(sizes)} breaks the constraint {constraint!r} (every case must satisfy each one)"
            )


def _sizes_text(sizes: dict[str, int]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sizes.items())


def _check_inputs(exercise: Exercise) -> None:
    seen: list[str] = []
    for name, spec in exercise.inputs.items():
        if not name.isidentifier():
            raise FieldError("inputs", f"{name!r} is not a name")
        if isinstance(spec, DerivedInput):
            unknown = [arg for arg in spec.args if arg not in seen]
            if unknown:
                hint = f"inputs before it: {', '.join(seen) or 'none'}{closest(unknown[0], seen)}"
                raise FieldError(f"inputs.{name}.args", f"{unknown[0]!r} is not an earlier input ({hint})")
        else:
            check_shape(f"inputs.{name}.shape", spec.shape, exercise)
            for field in DRAWN_EXPRESSIONS:
                value = getattr(spec, field, None)
                if isinstance(value, str):
                    _expression_value(f"inputs.{name}.{field}", value, exercise.handout, check_expression)
        seen.append(name)


def check_shape(where: str, shape: list[Size], exercise: Exercise) -> None:
    """Each entry names a dimension or is an expression giving a whole size, and the array stays drawable."""
    declared = list(exercise.dimensions)
    for entry in shape:
        if isinstance(entry, str) and entry.strip().isidentifier() and entry.strip() not in declared:
            raise FieldError(
                where,
                f"{entry!r} is not a declared dimension (dimensions: {', '.join(declared)}){closest(entry, declared)}",
            )
        _expression_value(where, entry, exercise.handout, size)
    _check_size_cap(where, shape, exercise)


MAX_INPUT_ELEMENTS = 4_000_000  # what the sandbox accepts in one array (Limits.max_elements)


def _check_size_cap(where: str, shape: list[Size], exercise: Exercise) -> None:
    """An input stays drawable at the largest sizes any case may have."""
    largest = {
        name: max(
            [*_upper_bounds(name, exercise), exercise.handout[name], *(c.get(name, 0) for c in exercise.public.cases)]
        )
        for name, dim in exercise.dimensions.items()
    }
    elements = 1
    for entry in shape:
        elements *= _expression_value(where, entry, largest, size)
    if elements > MAX_INPUT_ELEMENTS:
        raise FieldError(where, f"{elements:,} entries at the largest sizes; at most {MAX_INPUT_ELEMENTS:,}")


def _upper_bounds(name: str, exercise: Exercise) -> list[int]:
    high = exercise.dimensions[name].range[1]
    return [high] if isinstance(high, int) else []  # an expression's bound is one of the cases' sizes


def _check_questions(exercise: Exercise) -> None:
    ids = [q.id for q in exercise.questions]
    for number, question in enumerate(exercise.questions):
        where = f"questions.{number}"
        if question.id in ids[:number]:
            raise FieldError(
                f"{where}.id", f"duplicate question id {question.id!r} (each question needs an id of its own)"
            )
        for field in ("args", "upstream"):
            for arg in getattr(question, field, []):
                if arg not in exercise.inputs:
                    known = list(exercise.inputs)
                    raise FieldError(
                        f"{where}.{field}",
                        f"{arg!r} is not a declared input (inputs: {', '.join(known) or 'none'}){closest(arg, known)}",
                    )
        if isinstance(question, ShapeQuestion) and exercise.shapes is None:
            raise FieldError(where, "a shape question needs the exercise's `shapes` callable (shapes: file.py:name)")
        if isinstance(question, (FunctionQuestion, BackwardQuestion)):
            _check_weights(f"{where}.weights", question)
        if isinstance(question, BackwardQuestion):
            _check_backward(where, question, exercise)
        if isinstance(question, NumericQuestion):
            _check_sizes(f"{where}.case", question.case, exercise)
        if isinstance(question, EquationsQuestion):
            _check_equations(where, question, exercise)


def _check_equations(where: str, question: EquationsQuestion, exercise: Exercise) -> None:
    for name, shape in question.given.items():
        for entry in shape:
            if isinstance(entry, str) and entry not in exercise.dimensions:
                raise FieldError(
                    f"{where}.given.{name}",
                    f"{entry!r} is not a declared dimension (written questions take dimension names only)",
                )
    for field in ("onehot", "weights"):
        for name in getattr(question, field):
            if name not in question.given:
                raise FieldError(
                    f"{where}.{field}", f"{name!r} is not one of the given arrays{closest(name, list(question.given))}"
                )


def _check_weights(where: str, question: FunctionQuestion | BackwardQuestion) -> None:
    """Weights name every compared output once, each a share above 0."""
    if question.weights is None:
        return
    outputs = question.compared_outputs
    if len(outputs) < 2:
        raise FieldError(where, f"weights split the points over several outputs; this question compares {outputs}")
    missing, extra = sorted(set(outputs) - set(question.weights)), sorted(set(question.weights) - set(outputs))
    if missing or extra:
        raise FieldError(where, f"must give every compared output and only those (missing {missing}, unknown {extra})")
    for name, weight in question.weights.items():
        if not weight > 0:
            raise FieldError(f"{where}.{name}", f"a weight must be above 0, got {weight}")


def _check_backward(where: str, question: BackwardQuestion, exercise: Exercise) -> None:
    """The forward it names is a function question with a cache (the count of `upstream` is checked when the
    forward's reference has run: an output missing there is the cause to report first)."""
    forward = next((q for q in exercise.questions if q.id == question.forward), None)
    if not isinstance(forward, FunctionQuestion) or forward.cache is None:
        candidates = [q.id for q in exercise.questions if isinstance(q, FunctionQuestion) and q.cache]
        raise FieldError(
            f"{where}.forward",
            f"{question.forward!r} is not a function question with a `cache` "
            f"(those with one: {', '.join(candidates) or 'none'}){closest(question.forward, candidates)}",
        )


def _check_variants(exercise: Exercise) -> None:
    if exercise.variants is None:
        return
    for name, (low, high) in exercise.variants.dimensions.items():
        if name not in exercise.dimensions:
            declared = list(exercise.dimensions)
            raise FieldError("variants.dimensions", f"{name!r} is not a declared dimension{closest(name, declared)}")
        if not exercise.dimensions[name].min <= low <= high:
            raise FieldError(f"variants.dimensions.{name}", "range must satisfy min <= low <= high")
