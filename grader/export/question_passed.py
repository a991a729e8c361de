"""`python -P -m grader.export.question_passed RESULT.json QUESTION_ID`: exit 0 only if that question passed.

RESULT.json is what `rnn-grader grade --format github-classroom` wrote. GitHub Classroom's command
grader (classroom-resources/autograding-command-grader) awards a step's `max-score` when its command
exits 0, so the "command-grader" workflow grades once and runs this once per question. The question's
feedback is printed for the Actions log. Only the standard library is used.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -P -m grader.export.question_passed RESULT.json QUESTION_ID", file=sys.stderr)
        return 2
    path, question = argv
    try:
        with open(path, encoding="utf-8") as handle:
            tests = json.load(handle)["tests"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{path}: no grading result to read ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    test = next((test for test in tests if test.get("name") == question), None)
    if test is None:  # a submission that could not be graded has one test, which says why
        reasons = [str(test.get("message") or "") for test in tests]
        print("\n".join(reason for reason in reasons if reason) or f"{question} was not graded")
        return 1
    if test.get("message"):
        print(test["message"])
    return 0 if test.get("status") == "pass" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
