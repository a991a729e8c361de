"""Exports for the platforms that run the grader: a Gradescope autograder zip, GitHub Classroom and
GitLab CI workflow files. Pure library functions (no click): `rnn-grader export` wires them."""

from __future__ import annotations

from grader.export.sources import ExportError

__all__ = ["ExportError", "build_gradescope_bundle", "write_classroom_files"]


def __getattr__(name: str):
    # Imported on first use, so `python -m grader.export.question_passed` loads nothing heavy.
    if name == "build_gradescope_bundle":
        from grader.export.gradescope_bundle import build_gradescope_bundle

        return build_gradescope_bundle
    if name == "write_classroom_files":
        from grader.export.github_classroom import write_classroom_files

        return write_classroom_files
    raise AttributeError(name)
