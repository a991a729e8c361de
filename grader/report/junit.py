"""JUnit XML, as GitLab's unit test reports and GitHub's JUnit report actions read it.

    <testsuites name=exercise tests failures errors skipped time>
      <testsuite name=student tests failures errors skipped time>
        <properties> path, score, max_score, status </properties>
        <testcase classname=student name=question-id time>
          <failure message=first line type=status>full feedback</failure>   (failed, missing)
          <error message=first line type=status>full feedback</error>       (error, timeout)
          <skipped message="Awaiting review…">full feedback</skipped>        (review)

What the readers need (docs.gitlab.com/ci/testing/unit_test_reports; mikepenz/action-junit-report
src/testParser.ts):
- GitLab keys a test case by `classname` + `name`, keeps only the first of duplicates and shows
  `classname` as the suite, so `classname` is the student and `name` the question id.
- GitLab shows the element *text* of failure/error, ignoring its `message` attribute; GitHub
  actions annotate with `message` and show the text as details. Both carry the feedback.
- A rejected submission is one test case named "submission" with an `error`.
- A part awaiting review (the grader could not verify it; 0 points until a person reads it) is
  `skipped`: neither passed nor failed, which GitLab shows as skipped and the GitHub actions count
  apart; its message says it awaits an instructor, and the suite's `awaiting_review` property lists them.
- No timings are measured, so every `time` is "0" (Jenkins-style schemas require the attribute).
Characters XML 1.0 cannot carry at all (most control characters) are written as `\\xNN`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from grader.report.common import with_review_note
from grader.results import GradingResults, QuestionResult, SubmissionResult, awaiting_review, shown

_ELEMENT_FOR_STATUS = {
    "failed": "failure",
    "missing": "failure",
    "error": "error",
    "timeout": "error",
    "review": "skipped",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(results: GradingResults) -> str:
    """The run as one `testsuites` document: a suite per submission, a case per question."""
    return "".join(stream(results))


def stream(results: GradingResults) -> Iterator[str]:
    """The same text in pieces, one suite at a time (the totals on `testsuites` are counted first)."""
    root = ET.Element("testsuites", name=_text(results.exercise))
    if not results.submissions:
        _set_counts(root, [])
        yield f"{_XML_DECLARATION}\n{ET.tostring(root, encoding='unicode')}\n"
        return
    for count, total in _totals(results).items():
        root.set(count, str(total))
    root.set("time", "0")
    root.text = _SUITE_INDENT
    opening = ET.tostring(root, encoding="unicode").removesuffix("</testsuites>")  # its tag, then the indent
    yield f"{_XML_DECLARATION}\n{opening}"
    separator = ""
    for sub in results.submissions:
        suite = _suite(sub)
        ET.indent(suite, level=1)
        yield separator + ET.tostring(suite, encoding="unicode")
        separator = _SUITE_INDENT
    yield "\n</testsuites>\n"


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_SUITE_INDENT = "\n  "  # what ET.indent puts between the suites of a whole document
_COUNTS = ("tests", "failures", "errors", "skipped")


def _totals(results: GradingResults) -> dict[str, int]:
    """The counts of every suite of the run, added up."""
    totals = dict.fromkeys(_COUNTS, 0)
    for sub in results.submissions:
        suite = _suite(sub)
        for count in _COUNTS:
            totals[count] += int(suite.get(count, "0"))
    return totals


def _suite(sub: SubmissionResult) -> ET.Element:
    suite = ET.Element("testsuite", name=_text(sub.student))
    suite.append(_properties(sub))
    if sub.status == "graded":
        suite.extend(_case(sub.student, q) for q in sub.questions)
    else:
        suite.append(_rejected_case(sub))
    _set_counts(suite, [suite])
    return suite


def _properties(sub: SubmissionResult) -> ET.Element:
    properties = ET.Element("properties")
    values = {"path": sub.path, "score": shown(sub.score), "max_score": shown(sub.max_score), "status": sub.status}
    if awaiting_review(sub):
        values["awaiting_review"] = ", ".join(awaiting_review(sub))
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=_text(str(value)))
    return properties


def _case(student: str, q: QuestionResult) -> ET.Element:
    case = ET.Element("testcase", classname=_text(student), name=_text(q.id), time="0")
    element = _ELEMENT_FOR_STATUS.get(q.status)
    if element:
        _outcome(case, element, q.status, _details(q))
    return case


def _rejected_case(sub: SubmissionResult) -> ET.Element:
    case = ET.Element("testcase", classname=_text(sub.student), name="submission", time="0")
    _outcome(case, "error", "rejected", sub.reason or "The submission could not be graded.")
    return case


def _outcome(case: ET.Element, tag: str, kind: str, details: str) -> None:
    """Add a `failure`, `error` or `skipped` child whose message is the first line of `details`."""
    first_line = next((line for line in details.splitlines() if line.strip()), kind)
    outcome = ET.SubElement(case, tag, message=_text(first_line.strip()))
    if tag != "skipped":  # the schemas give `skipped` a message only
        outcome.set("type", kind)
    outcome.text = _text(details)


def _details(q: QuestionResult) -> str:
    """Score, status, feedback and diagnosis of a question that lost points (or awaits review)."""
    lines = [f"{q.status}: {shown(q.score):g}/{shown(q.max_score):g} points"]
    feedback = with_review_note(q.status, q.feedback.strip())
    if feedback:
        lines.insert(0, feedback)
    if q.diagnosis:
        lines.append(f"diagnosis: {q.diagnosis}")
    return "\n".join(lines)


def _set_counts(element: ET.Element, suites: list[ET.Element]) -> None:
    """Set tests/failures/errors/skipped/time on `element` from the cases inside `suites`."""
    cases = [case for suite in suites for case in suite.findall("testcase")]
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(case.find("failure") is not None for case in cases)))
    element.set("errors", str(sum(case.find("error") is not None for case in cases)))
    element.set("skipped", str(sum(case.find("skipped") is not None for case in cases)))
    element.set("time", "0")


def _text(value: str) -> str:
    """`value` with each character XML 1.0 forbids written as `\\xNN`."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
