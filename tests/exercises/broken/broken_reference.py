"""Callables a broken exercise names: slips an author makes in a reference file (tests/exercises/broken/)."""

from __future__ import annotations

from exercises import Mistake

# The backward's mistakes written with the forward's arguments in mind: two arguments, where the question
# passes the upstream gradients and the cache (three).
TWO_ARGUMENT_MISTAKES = [Mistake("forgot-dnext-c", "Look at dnext_c.", lambda dnext_h, cache: None)]

# A list of names where the grader expects Mistake(diagnosis, hint, compute) entries.
NOT_MISTAKES = ["dprev-c-without-forget-gate"]


def _five_gradients(dnext_h, dnext_c, cache):
    return (dnext_h,) * 5


# A mistake that forgot one of the six gradients.
SHORT_MISTAKES = [Mistake("lost-db", "Where is db?", _five_gradients)]
