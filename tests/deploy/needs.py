"""What the deploy tests need from the machine: in CI (the variable CI set) a missing tool fails the test; elsewhere
it skips."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
VENV_BIN = Path(sys.executable).parent


def require(present: bool, what: str) -> None:
    """Skip without `what` on a developer's machine; in CI, where `.ci/run` installs it, fail."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing, though .ci/run installs it")
    pytest.skip(f"needs {what} (.ci/run installs it)")
