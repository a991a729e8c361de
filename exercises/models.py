"""Pydantic models of an exercise file: one model per question kind, keyed on `kind`.

An exercise names reference callables by dotted path ("reference.solution:grad_W_H");
expected answers are computed from them at grading time, never written here.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SIZE_LETTERS = ("T", "V", "D", "H")
DOTTED_PATH = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sizes(_Strict):
    """The four sizes of the assignment's notation."""

    T: int = Field(ge=1, le=64, description="Words in the input sequence.")
    V: int = Field(ge=2, le=256, description="Vocabulary size.")
    D: int = Field(ge=1, le=256, description="Embedding size.")
    H: int = Field(ge=1, le=256, description="Hidden units.")


class SizeRanges(_Strict):
    """Inclusive [low, high] ranges hidden cases draw their sizes from."""

    T: tuple[int, int] = Field(description="Range of sequence lengths.")
    V: tuple[int, int] = Field(description="Range of vocabulary sizes (low at least 2).")
    D: tuple[int, int] = Field(description="Range of embedding sizes.")
    H: tuple[int, int] = Field(description="Range of hidden sizes.")

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> "SizeRanges":
        for letter in SIZE_LETTERS:
            low, high = getattr(self, letter)
            if not 1 <= low <= high:
                raise ValueError(f"{letter} range must satisfy 1 <= low <= high, got [{low}, {high}]")
        if self.V[0] < 2:
            raise ValueError("V range must start at 2 or more")
        return self


class PublicCases(_Strict):
    """Cases students see in self-check; their seed is public."""

    seed: int = Field(description="Seed the public cases are generated from.")
    sizes: list[Sizes] = Field(min_length=1, description="One case per entry, in this order.")


class HiddenCases(_Strict):
    """Cases used only by `grade`; generated from the instructor's secret, never echoed."""

    count: int = Field(ge=0, le=100, description="How many hidden cases to generate.")
    ranges: SizeRanges = Field(description="Where hidden case sizes are drawn from.")
    default_secret: str = Field(
        description="Secret used when the instructor passes none; set your own with --secret."
    )


class Tolerance(_Strict):
    """A value passes when max|got - expected| <= atol + rtol * max|expected|."""

    rtol: float = Field(default=1e-4, gt=0, lt=1, description="Relative tolerance.")
    atol: float = Field(default=1e-8, ge=0, description="Absolute tolerance.")


class _Question(_Strict):
    id: str = Field(pattern=r"^[A-Za-z_][\w.\-]*$", description="Stable question id used in results.")
    points: float = Field(gt=0, description="Full marks for this question.")
    title: str = Field(default="", description="Short student-facing description.")


class ShapeQuestion(_Question):
    """The student states the shape of a symbol; the answer comes from the reference's shapes."""

    kind: Literal["shape"]
    symbol: str = Field(description="Key in the reference's shape table, e.g. 'W_H'.")
    aliases: list[str] = Field(
        default_factory=list, description="Other spellings students use for the symbol (w_H, \\hat{y}_t)."
    )


class FunctionQuestion(_Question):
    """The student writes a function; it is called on generated cases and compared to the reference."""

    kind: Literal["function"]
    function: str = Field(pattern=r"^[A-Za-z_]\w*$", description="Name the student's function must have.")
    args: list[str] = Field(min_length=1, description="Case arrays passed positionally, in this order.")
    reference: str = Field(pattern=DOTTED_PATH, description="Reference callable with the same signature.")
    mistakes: str | None = Field(
        default=None, pattern=DOTTED_PATH, description="List of known mistakes (reference.mistakes.Mistake)."
    )
    tolerance: Tolerance | None = Field(default=None, description="Overrides the exercise tolerance.")
    outputs: list[str] = Field(
        default_factory=list, description="Names of the returned values when it returns several (for messages)."
    )


class NumericQuestion(_Question):
    """The student gives a number or matrix (answers file key or code variable) for one fixed case."""

    kind: Literal["numeric"]
    name: str = Field(pattern=r"^[A-Za-z_]\w*$", description="Answers-file key or variable name.")
    args: list[str] = Field(min_length=1, description="Case arrays the reference is called with.")
    reference: str = Field(pattern=DOTTED_PATH, description="Reference callable computing the answer.")
    case: Sizes = Field(description="Sizes of the one case the question is about.")
    seed: int = Field(description="Seed of that case; it is printed in the handout.")
    tolerance: Tolerance | None = Field(default=None, description="Overrides the exercise tolerance.")


Question = Annotated[Union[ShapeQuestion, FunctionQuestion, NumericQuestion], Field(discriminator="kind")]


class Exercise(_Strict):
    """One exercise: its sizes, its cases and its questions."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$", description="Exercise id used on the command line.")
    title: str = Field(description="One-line title.")
    sizes: Sizes = Field(description="Sizes in force for shape questions.")
    shapes_reference: str = Field(
        default="reference.rnn:shapes", pattern=DOTTED_PATH, description="Callable(T, V, D, H) -> shapes."
    )
    biases: bool = Field(default=False, description="Whether cases carry b_h and b_y.")
    tolerance: Tolerance = Field(default_factory=Tolerance, description="Default comparison tolerance.")
    public: PublicCases = Field(description="Cases shown in self-check.")
    hidden: HiddenCases = Field(description="Cases only `grade` uses.")
    questions: list[Question] = Field(min_length=1, description="Questions, in report order.")

    @field_validator("questions")
    @classmethod
    def _ids_are_unique(cls, questions: list[Question]) -> list[Question]:
        seen: set[str] = set()
        for question in questions:
            if question.id in seen:
                raise ValueError(f"duplicate question id {question.id!r}")
            seen.add(question.id)
        return questions

    @property
    def max_score(self) -> float:
        return round(sum(q.points for q in self.questions), 6)
