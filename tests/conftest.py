"""The whole suite's cache folder is a temporary one of its own: nothing a test runs (a check that plots keeps
matplotlib's font list there) leaves files in the home folder of whoever runs the tests. No check a test runs starts
a check server (grader/selfcheck/server.py) that would outlive it; the server's own tests start theirs."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _cache_folder_of_the_session(tmp_path_factory):
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["RNN_GRADER_CHECK_SERVER"] = "0"
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous
