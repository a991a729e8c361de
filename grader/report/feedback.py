"""The student's view of a self-check: every question with its full feedback, then what to fix.

A part in `review` is one the checker cannot verify (a written answer it cannot read or does not
recognise): it does not pass here, and a person will read it when the work is graded.
"""

from __future__ import annotations

from grader.results import GradingResults, QuestionResult, SubmissionResult

MARKS = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "timeout": "TIMEOUT",
    "missing": "MISSING",
    "review": "REVIEW",
}
NOT_VERIFIED = "Not verified here: a person will read it when your work is graded."


def render_check(results: GradingResults) -> str:
    return "\n\n".join(_submission(sub) for sub in results.submissions)


def _submission(sub: SubmissionResult) -> str:
    if sub.status == "rejected":
        return f"{sub.path}: could not be checked: {sub.reason}"
    lines = [f"{sub.path}: {_num(sub.score)}/{_num(sub.max_score)} on the public cases", ""]
    lines += [line for q in sub.questions for line in render_question(q)]
    if sub.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in sub.notes]
    lines += ["", _verdict(sub)]
    return "\n".join(lines)


def render_question(q: QuestionResult) -> list[str]:
    """One question's lines: its mark, id, score and diagnosis, then its feedback, a sentence a line."""
    head = f"{MARKS[q.status]:<8} {q.id:<16} {_num(q.score)}/{_num(q.max_score)}"
    if q.diagnosis:
        head += f"  [{q.diagnosis}]"
    if q.status == "passed":
        return [head]
    feedback = f"{NOT_VERIFIED} {q.feedback}" if q.status == "review" else q.feedback
    return [head] + [f"         {line}" for line in _sentences(feedback)]


def _sentences(text: str) -> list[str]:
    return [
        part.strip() + ("" if part.strip().endswith((".", ")", "?", ":")) else ".")
        for part in text.replace("\n", " ").split(". ")
        if part.strip()
    ]


def _verdict(sub: SubmissionResult) -> str:
    open_questions = [q.id for q in sub.questions if q.status not in ("passed", "review")]
    unverified = [q.id for q in sub.questions if q.status == "review"]
    lines = [f"Not passing yet: {', '.join(open_questions)}."] if open_questions else []
    if unverified:
        lines.append(f"Not verified here (a person will read them): {', '.join(unverified)}.")
    if not lines:
        return "Everything passes on the public cases. The grader also uses hidden cases of other sizes."
    return "\n".join(lines)


def _num(value: float) -> str:
    return f"{value:g}"
