"""parse_shape reads every way a student writes a shape, and says plainly what it cannot read."""

from __future__ import annotations

import re

import numpy as np
import pytest

from grader.read.shapes import ShapeParseError, describe, parse_shape


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("7x1", (7, 1)),  # the plainest form
        ("7X1", (7, 1)),  # capital X
        ("7 × 1", (7, 1)),  # Unicode multiplication sign, with spaces
        ("7×1", (7, 1)),  # Unicode sign without spaces
        ("7 by 1", (7, 1)),  # spoken form
        ("7*1", (7, 1)),  # programmer's star
        ("7 \\cdot 1", (7, 1)),  # LaTeX dot
        ("(7, 1)", (7, 1)),  # numpy-style tuple text
        ("(7,1)", (7, 1)),  # tuple text without a space
        ("[7, 1]", (7, 1)),  # list text
        ("  7 \t x \n 1  ", (7, 1)),  # any whitespace, even a line break
        ("7 \\times 1", (7, 1)),  # LaTeX \times
        ("7\\times1", (7, 1)),  # \times glued to the numbers
        ("\\boxed{7 \\times 1}", (7, 1)),  # a boxed final answer
        ("$7\\times 1$", (7, 1)),  # inline math delimiters
        ("$$ (7 \\times 1) $$", (7, 1)),  # display math around a bracketed shape
        ("\\[ 7 \\times 1 \\]", (7, 1)),  # \[ \] display math
        ("\\mathbb{R}^{7 \\times 1}", (7, 1)),  # the space the matrix lives in
        ("R^{7x1}", (7, 1)),  # the same, typed plainly
        ("ℝ^{7×1}", (7, 1)),  # the same, in Unicode
        ("\\left( 7, 1 \\right)", (7, 1)),  # \left( \right) sizing
        ("\\boxed{\\left( 7 \\times 1 \\right)}", (7, 1)),  # box around sized brackets
        ("7 \\, \\times \\, 1", (7, 1)),  # LaTeX thin spaces
        ("shape (7, 1)", (7, 1)),  # a leading "shape"
        ("Shape: 7 x 1", (7, 1)),  # "shape:" label, any case
        ("7x1.", (7, 1)),  # the full stop ending a sentence
        ("7", (7,)),  # a single size is a 1-D shape
        ("(7,)", (7,)),  # Python's one-element tuple
        ("\\mathbb{R}^7", (7,)),  # R^7, a vector
        ("2x3x4", (2, 3, 4)),  # three dimensions
        ("(2, 3, 4, 5)", (2, 3, 4, 5)),  # four dimensions
        ("15 \\times 10", (15, 10)),  # sizes of more than one digit
        ("7.0 x 1", (7, 1)),  # a whole number written with a decimal point
    ],
)
def test_text_answers_parse(answer: str, expected: tuple[int, ...]) -> None:
    assert parse_shape(answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((7, 1), (7, 1)),  # a tuple, as in SHAPES = {"a_t": (7, 1)}
        ([7, 15], (7, 15)),  # a list, as YAML and JSON give it
        (("7", "1"), (7, 1)),  # sizes as digit strings
        ((np.int64(7), np.int32(1)), (7, 1)),  # numpy integers
        (np.array([10, 7]), (10, 7)),  # a numpy array of sizes
        ((7.0, 1.0), (7, 1)),  # whole floats
        (7, (7,)),  # a bare int is a 1-D shape
        (np.int64(7), (7,)),  # so is a numpy int
        ((7,), (7,)),  # a one-element tuple
        (("7\x1f", "1"), (7, 1)),  # \x1f, a space to \s that int() refused (a bare ValueError)
    ],
)
def test_python_values_parse(answer: object, expected: tuple[int, ...]) -> None:
    assert parse_shape(answer) == expected


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("", "could not read '' as a shape: the answer is empty"),  # nothing written
        ("   ", "the answer is empty"),  # only spaces
        ("$$ $$", "the answer is empty"),  # only math delimiters
        ("7 by", "could not read '7 by' as a shape"),  # unfinished
        ("x 1", "could not read 'x 1' as a shape"),  # missing first size
        ("7 x x 1", "could not read '7 x x 1' as a shape"),  # doubled separator
        # letters are never resolved to sizes
        ("H x 1", "could not read 'H x 1' as a shape: sizes must be numbers, not letters"),
        ("7 \\times H", "sizes must be numbers, not letters"),  # a letter in LaTeX
        ("seven by one", "sizes must be numbers, not letters"),  # words
        ("-7x1", "every size must be a positive whole number"),  # negative size
        ("0 x 1", "every size must be a positive whole number"),  # zero size
        ("7.5 x 1", "7.5 is not a whole number"),  # fractional size
        ("(7 x 1)(1 x 7)", "could not read '(7 x 1)(1 x 7)' as a shape"),  # two shapes, not one
        ("(7, 1]", "could not read '(7, 1]' as a shape"),  # brackets that do not match
        ("7 1", "could not read '7 1' as a shape"),  # no separator
        # bools are not sizes, though Python counts them as ints
        ((True, 1), "could not read (True, 1) as a shape: sizes must be whole numbers, not True/False"),
        (True, "not True/False"),  # a bare bool
        ((7.5, 1), "could not read (7.5, 1) as a shape: sizes must be whole numbers"),  # non-whole float
        (("7", "a"), "sizes must be whole numbers"),  # a non-digit string in a tuple
        ((), "could not read () as a shape: the answer is empty"),  # empty tuple
        ((7, 0), "every size must be a positive whole number"),  # zero in a tuple
        (None, "could not read None as a shape: no answer was given"),  # no answer at all
        ({"rows": 7}, "could not read {'rows': 7} as a shape"),  # a mapping is not a shape
        (["9" * 5000], "sizes must be whole numbers"),  # more digits than int() reads: was a bare ValueError
    ],
)
def test_unreadable_answers_are_rejected_with_a_plain_message(answer: object, message: str) -> None:
    with pytest.raises(ShapeParseError, match=re.escape(message)) as raised:
        parse_shape(answer)
    assert "\n" not in str(raised.value)  # one line, fit for feedback


def test_a_deeply_nested_answer_gets_a_short_message() -> None:
    # the message showed the whole repr: 5,000 levels here, or a YAML billion laughs that never ends
    answer: list = []
    for _ in range(5000):
        answer = [answer]
    with pytest.raises(ShapeParseError) as raised:
        parse_shape(answer)
    assert len(str(raised.value)) < 140


def test_shape_parse_error_is_a_value_error() -> None:
    # callers that catch ValueError also catch unreadable shapes
    assert issubclass(ShapeParseError, ValueError)


def test_long_answers_are_shortened_in_the_message() -> None:
    # a pasted paragraph does not flood the feedback
    with pytest.raises(ShapeParseError) as raised:
        parse_shape("the hidden state is a column vector with seven entries " * 5)
    assert len(str(raised.value)) < 140


@pytest.mark.parametrize(
    ("shape", "text"),
    [
        ((7, 1), "7×1"),  # a column vector
        ((10, 7), "10×7"),  # a matrix
        ((7,), "7"),  # a 1-D shape
        ((2, 3, 4), "2×3×4"),  # three dimensions
        ((), "a scalar (no dimensions)"),  # no dimensions
    ],
)
def test_describe(shape: tuple[int, ...], text: str) -> None:
    assert describe(shape) == text


@pytest.mark.parametrize("answer", ["7x1", "(7, 1)", "\\boxed{7 \\times 1}", (7, 1)])
def test_describe_round_trips_through_parse_shape(answer: object) -> None:
    # what feedback shows can be read back as the same shape
    assert parse_shape(describe(parse_shape(answer))) == parse_shape(answer)
