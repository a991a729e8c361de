"""Task 2's write-ups written blind: by writers given only the handout (never the reader, its tests or these
files), each asked for distinct styles, some correct and some with one realistic mistake, with the truth of
each part in `truth.yaml` (`correct`, `absent`, or `{wrong: …, line: …}`).

`blind-a` is what the reader was developed against; `blind-b` to `blind-o` were written the
same way and each measured once, held out, without changing the reader for it (their MEASURED.md). The
promises tested on all: no correct part is failed (nor called missing), no part holding a mistake passes. The
share of correct parts passed outright is a floor that can only rise. Per-part figures:

    python tests/grader/test_blind_writeups.py
"""

from __future__ import annotations

import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

pytest.importorskip("lark")

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT))

from exercises.bank import load_exercise  # noqa: E402
from grader.judge.expected import Expected  # noqa: E402
from grader.judge.questions import Evidence, judge_question  # noqa: E402
from grader.read.submission import read_submission  # noqa: E402

BLIND = ROOT / "tests" / "corpus" / "writeups"
# corpus: the share of correct parts that must pass outright
CORPORA = {
    "blind-a": 0.90,
    "blind-b": 0.85,
    "blind-c": 0.85,
    "blind-d": 0.80,
    "blind-e": 0.70,
    "blind-f": 0.75,
    "blind-g": 0.85,
    "blind-h": 0.85,
    "blind-i": 0.85,
    "blind-j": 0.85,
    "blind-k": 0.90,
    "blind-l": 0.80,
    "blind-m": 0.85,
    "blind-n": 0.75,
    "blind-o": 0.80,
}
EXERCISE = load_exercise("rnn-bptt")
PARTS = {q.id.split(".", 1)[1]: q for q in EXERCISE.questions if q.id.startswith("derivation.")}


def _truth_kind(truth: object) -> str:
    return truth if truth in ("correct", "absent") else "wrong"


@cache
def verdicts(corpus: str) -> tuple[tuple[str, str, str, str, str], ...]:
    """(file, part, truth, status, feedback) for every part of every write-up of a corpus."""
    expected = Expected(EXERCISE)
    found = []
    for truth_file in sorted((BLIND / corpus).glob("*/truth.yaml")):
        for name, parts in yaml.safe_load(truth_file.read_text()).items():
            path = truth_file.parent / name
            writeup = read_submission(path, name).writeup
            for part, question in PARTS.items():
                result = judge_question(question, Evidence(writeup=writeup), [], expected)
                label = f"{truth_file.parent.name}/{name}"
                found.append((label, part, _truth_kind(parts.get(part)), result.status, result.feedback))
    return tuple(found)


def figures(corpus: str) -> Counter:
    return Counter((truth, status) for _, _, truth, status, _ in verdicts(corpus))


def _present(corpus: str) -> bool:
    return any((BLIND / corpus).glob("*/truth.yaml"))


CORPUS_IDS = [corpus for corpus in CORPORA if _present(corpus)]


def test_the_blind_corpora_are_large_enough():
    """At least 40 write-ups (15 with a mistake) to develop on, and at least 20 in each held-out batch."""

    def files(corpus: str) -> int:
        return sum(1 for _, part, _, _, _ in verdicts(corpus) if part == "gradient")

    wrong_a = {f for f, _, truth, _, _ in verdicts("blind-a") if truth == "wrong"}
    assert files("blind-a") >= 40 and len(wrong_a) >= 15
    assert all(files(corpus) >= 20 for corpus in CORPUS_IDS if corpus != "blind-a")


@pytest.mark.parametrize("corpus", CORPUS_IDS)
def test_no_correct_part_is_failed_or_called_missing(corpus):
    wrongly = [(f, p, s, fb) for f, p, t, s, fb in verdicts(corpus) if t == "correct" and s in ("failed", "missing")]
    assert not wrongly


@pytest.mark.parametrize("corpus", CORPUS_IDS)
def test_no_part_holding_a_mistake_passes(corpus):
    assert not [(f, p, fb) for f, p, t, s, fb in verdicts(corpus) if t == "wrong" and s == "passed"]


@pytest.mark.parametrize("corpus", CORPUS_IDS)
def test_what_is_not_passed_says_why(corpus):
    for _, _, _, status, feedback in verdicts(corpus):
        if status == "review":
            assert feedback.startswith("Awaits review by a person: ") and len(feedback) > 40
        if status == "failed":
            assert "line " in feedback  # a mistake is named with its line


@pytest.mark.parametrize("corpus", CORPUS_IDS)
def test_most_correct_parts_pass_outright(corpus):
    counts = figures(corpus)
    correct = sum(n for (truth, _), n in counts.items() if truth == "correct")
    assert counts[("correct", "passed")] / correct >= CORPORA[corpus]


def main() -> None:
    for corpus in CORPUS_IDS:
        counts = figures(corpus)
        print(f"{corpus}:")
        for truth in ("correct", "wrong", "absent"):
            row = {status: counts[(truth, status)] for status in ("passed", "failed", "review", "missing")}
            if any(row.values()):
                total = sum(row.values())
                shown = ", ".join(f"{status} {n}" for status, n in row.items() if n)
                print(f"  {truth:8} parts {total:3}: {shown}")
        per_part = Counter((part, status) for _, part, truth, status, _ in verdicts(corpus) if truth == "correct")
        for part in PARTS:
            total = sum(n for (p, _), n in per_part.items() if p == part)
            print(f"  correct {part:9} passed {per_part[(part, 'passed')]}/{total}")


if __name__ == "__main__":
    main()
