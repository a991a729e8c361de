"""Fixtures: grading runs built from `report_cases`."""

from __future__ import annotations

import pytest
from report_cases import graded, rejected, run

from grader.results import GradingResults


@pytest.fixture
def results() -> GradingResults:
    """A graded submission with every status, then a rejected one."""
    return run(graded(), rejected())


@pytest.fixture
def one_graded() -> GradingResults:
    return run(graded())


@pytest.fixture
def one_rejected() -> GradingResults:
    return run(rejected())
