"""The format registry, per-student rendering, and what no format may ever show."""

from __future__ import annotations

import json

import pytest
from report_cases import STAFF_MARKER, graded, rejected, run

from grader.report import FORMATS, gradescope, render_each

PER_SUBMISSION_FORMATS = sorted(name for name, entry in FORMATS.items() if entry.output == "per-submission")
# Formats made from the results alone, as text (html writes a folder; canvas reads a roster and an assignment)
TEXT_FROM_RESULTS = sorted(name for name, entry in FORMATS.items() if entry.output != "folder" and not entry.reads)


def test_cli_names():
    assert set(FORMATS) == {"table", "json", "gradescope", "junit", "csv", "github-classroom", "html", "canvas"}
    assert PER_SUBMISSION_FORMATS == ["github-classroom", "gradescope"]
    assert TEXT_FROM_RESULTS == ["csv", "github-classroom", "gradescope", "json", "junit", "table"]
    assert FORMATS["html"].output == "folder" and FORMATS["canvas"].reads == ("roster", "assignment")


@pytest.mark.parametrize("fmt", TEXT_FROM_RESULTS)
def test_staff_log_never_appears(fmt, results, one_graded, one_rejected):
    # staff_log holds grader tracebacks; no format, single or per student, may show it
    texts = [FORMATS[fmt].render(one_graded), FORMATS[fmt].render(one_rejected)]
    texts += list(render_each(fmt, results).values())
    if fmt not in PER_SUBMISSION_FORMATS:
        texts.append(FORMATS[fmt].render(results))
    assert all(STAFF_MARKER not in text for text in texts)


@pytest.mark.parametrize("fmt", PER_SUBMISSION_FORMATS)
def test_per_submission_formats_refuse_a_batch(fmt, results):
    with pytest.raises(ValueError):
        FORMATS[fmt].render(results)


def test_render_each_keys_by_student(results):
    texts = render_each("gradescope", results)
    assert list(texts) == [sub.student for sub in results.submissions]
    sub = results.submissions[0]
    assert texts[sub.student] == gradescope.render_submission(sub, results)


def test_render_each_keeps_same_named_students_apart():
    texts = render_each("github-classroom", run(graded("ann"), rejected("ann"), graded("ann")))
    assert list(texts) == ["ann", "ann-2", "ann-3"]
    assert json.loads(texts["ann-2"])["status"] == "error"


def test_render_each_unknown_format(results):
    with pytest.raises(ValueError, match="unknown format"):
        render_each("xlsx", results)
