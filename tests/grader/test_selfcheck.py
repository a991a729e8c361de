"""Students' pytest route: a three-line test file beside their work, run by the real pytest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).parents[1] / "corpus"
TEST_FILE = 'from grader.selfcheck import question_tests\n\ntest_question = question_tests(__file__, exercise="rnn-bptt")\n'


def run_pytest(folder: Path) -> subprocess.CompletedProcess:
    (folder / "test_my_homework.py").write_text(TEST_FILE)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                          capture_output=True, text=True, cwd=folder, timeout=120)


def test_pytest_passes_correct_work(tmp_path):
    shutil.copy(CORPUS / "correct/student02_vectorised.py", tmp_path / "rnn.py")
    shutil.copy(CORPUS / "writeups/correct/handout_notation.md", tmp_path / "derivation.md")
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "19 passed" in done.stdout


def test_pytest_fails_exactly_the_broken_question_with_its_feedback(tmp_path):
    shutil.copy(CORPUS / "wrong/mean_loss.py", tmp_path / "rnn.py")
    shutil.copy(CORPUS / "writeups/correct/handout_notation.md", tmp_path / "derivation.md")
    done = run_pytest(tmp_path)
    assert done.returncode == 1
    assert "1 failed, 18 passed" in done.stdout
    assert "test_question[rnn_loss]" in done.stdout and "average over the time steps" in done.stdout
    # readable: the verdict, then the feedback a sentence a line, as `rnn-grader check` shows it
    failure = [line.strip() for line in done.stdout.split("test_question[rnn_loss] _")[1].splitlines()[1:]]
    assert failure[0].startswith("FAIL") and failure[0].endswith("[mean-instead-of-sum]")
    assert failure[1] == "Passed 1 of 4 cases."
    assert any(line.startswith("Your loss matches the average over the time steps") for line in failure)
