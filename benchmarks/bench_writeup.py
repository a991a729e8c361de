#!/usr/bin/env python3
"""Reading a written derivation: time against write-up size (Task 2, written).

    python benchmarks/bench_writeup.py          # 10 KB, 100 KB, 1 MB; median of 3

A write-up of each size is made of copies of the real student answer (tests/examples/), each copy made
distinct (its h_{t-1} indexed by the copy's number) so that no parse is served from the cache. Two times per
size, caches cleared before every round: `read`, finding and parsing all the math
(grader.judge.written.parsing.read_writeup), and `judge`, grading the three derivation.* questions of rnn-bptt
from the text (reading included). Growth should be linear, and 1 MB well under a second.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exercises.bank import load_exercise  # noqa: E402
from grader.judge.written import context, links, parsing  # noqa: E402
from grader.judge.expected import Expected  # noqa: E402
from grader.judge.questions import Evidence, judge_question  # noqa: E402

SIZES = {"10 KB": 10_000, "100 KB": 100_000, "1 MB": 1_000_000}
ROUNDS = 3


def writeup(size: int) -> str:
    answer = (ROOT / "tests" / "examples" / "student_answer_rnn_bptt.md").read_text()
    copies, total, number = [], 0, 0
    while total < size:
        copy = answer.replace("h_{t-1}", f"h_{{t-{number + 1}}}")
        copies.append(copy)
        total += len(copy.encode())
        number += 1
    return "\n\n".join(copies)


def _clear() -> None:
    parsing.read_writeup.cache_clear()
    parsing._parse_piece.cache_clear()
    context._RECENT.clear()
    links.token_tree.cache_clear()


def timed(action) -> float:
    times = []
    for _ in range(ROUNDS):
        _clear()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    exercise = load_exercise("rnn-bptt")
    expected = Expected(exercise)
    written = [q for q in exercise.questions if q.id.startswith("derivation.")]
    parsing.read_writeup("$$a = b$$")  # build the parser once, as a grading batch does
    print(f"{'size':>8} {'bytes':>10} {'rows':>6} {'read':>9} {'judge':>9} {'judge / MB':>11}")
    for label, size in SIZES.items():
        text = writeup(size)
        rows = len(parsing.read_writeup(text).rows)
        read = timed(lambda: parsing.read_writeup(text))
        judge = timed(lambda: [judge_question(q, Evidence(writeup=text), [], expected) for q in written])
        per_mb = judge / (len(text.encode()) / 1e6)
        print(f"{label:>8} {len(text.encode()):>10,} {rows:>6,} {read:>8.3f}s {judge:>8.3f}s {per_mb:>10.3f}s")


if __name__ == "__main__":
    main()
