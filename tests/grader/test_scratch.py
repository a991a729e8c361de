"""Nothing a submission writes outlives it: scratch folders private to each job, capped, and swept.

A hostile submission fills /dev/shm, floods /tmp with files and leaves marks in /tmp, /var/tmp and
/dev/shm; a snooping submission graded after it fails a question if it can see any mark. Both are
graded beside honest work; afterwards the machine's scratch folders hold nothing they wrote.
"""

from __future__ import annotations

import glob
import os
import shutil
import uuid
from pathlib import Path

import pytest

from exercises.bank import load_exercise
from grader.pipeline import GradingOptions, grade
from grader.run.isolation import sweep_scratch
from grader.run.protocol import Limits

CORRECT = Path(__file__).parents[1] / "corpus" / "correct" / "student02_vectorised.py"
AS_ROOT = os.geteuid() == 0

FILLER = '''
import os
TAG = "{tag}"
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(os.path.join(folder, "mark-" + TAG), "w") as handle:
            handle.write("I was here")
    except OSError:
        pass
try:  # memory through /dev/shm: far more than a job's share
    with open("/dev/shm/fill-" + TAG, "wb") as handle:
        for _ in range(200):
            handle.write(b"x" * (1 << 20))
except OSError:
    pass
try:  # files by the thousand
    os.makedirs("/tmp/many-" + TAG, exist_ok=True)
    for n in range(5000):
        open("/tmp/many-%s/%d" % (TAG, n), "w").close()
except OSError:
    pass
'''

SNOOP = '''
import glob as _glob
_right_rnn_step = rnn_step


def rnn_step(x_t, h_prev, W_x, W_H):
    seen = [p for folder in ("/tmp", "/var/tmp", "/dev/shm") for p in _glob.glob(folder + "/mark-{tag}")]
    return 0 * h_prev if seen else _right_rnn_step(x_t, h_prev, W_x, W_H)
'''


def _left_behind(tag: str) -> list[str]:
    return [p for folder in ("/tmp", "/var/tmp", "/dev/shm") for p in glob.glob(f"{folder}/*-{tag}*")]


@pytest.fixture
def tag():
    tag = uuid.uuid4().hex[:12]
    yield tag
    for path in _left_behind(tag):  # never leave the machine dirtier than the test found it
        shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)


def _class(tmp_path: Path, tag: str) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    correct = CORRECT.read_text()
    (folder / "a_filler.py").write_text(FILLER.format(tag=tag) + correct)
    (folder / "b_honest.py").write_text(correct)
    (folder / "c_snoop.py").write_text(correct + SNOOP.format(tag=tag))
    return folder


@pytest.mark.skipif(not AS_ROOT, reason="private scratch needs the uid and mount levels (root)")
@pytest.mark.parametrize("jobs", [1, 2])
def test_fillers_leave_nothing_and_no_later_student_sees_their_marks(tmp_path, tag, jobs):
    options = GradingOptions(limits=Limits(timeout=5.0), jobs=jobs, secret="scratch")
    results = grade([_class(tmp_path, tag)], load_exercise("rnn-bptt"), options)
    assert results.isolation == "user+namespaces"
    for submission in results.submissions:  # the filler's own functions are right: filling costs it nothing
        code = [q for q in submission.questions if not q.id.startswith("derivation.")]  # no write-up: missing
        assert all(q.status == "passed" for q in code), (submission.student, submission.questions)
    assert _left_behind(tag) == []


@pytest.mark.skipif(not AS_ROOT, reason="files of another uid need root")
def test_without_private_folders_a_jobs_files_are_swept_when_it_ends(tag):
    """Where a job has no mount namespace (a container without CAP_SYS_ADMIN: the `user` level), its uid's
    files in the machine's scratch folders are removed when it ends; nobody else's are touched."""
    uid, other = 1_900_000_123, 1_900_000_124
    made = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        mine, theirs = Path(folder, f"mark-{tag}"), Path(folder, f"keep-{tag}")
        mine.write_text("x")
        theirs.write_text("y")
        os.chown(mine, uid, uid)
        os.chown(theirs, other, other)
        made.append(theirs)
    tree = Path("/tmp", f"many-{tag}")
    (tree / "deeper").mkdir(parents=True)
    (tree / "deeper" / "file").write_text("z")
    for path in (tree, tree / "deeper", tree / "deeper" / "file"):
        os.chown(path, uid, uid)
    sweep_scratch(uid)
    assert sorted(_left_behind(tag)) == sorted(str(path) for path in made)


HOME_FILLER = '''
import glob
import os
CREATED = 0
try:  # files by the thousand in the working folder, the student's home
    for CREATED in range(1, 20001):
        open(os.path.join(os.environ["HOME"], "f%d" % CREATED), "w").close()
except OSError:
    pass
WHERE = os.getcwd()
SEES = sorted(os.listdir("."))
ORIGINAL_WRITABLE = 0  # its folder as the grader made it, where it is still reachable
ORIGINALS = glob.glob("/tmp/rnn-grader-*/job*/box") + glob.glob("/dev/shm/rnn-grader-*/job*/box")
for original in ORIGINALS:
    try:
        open(os.path.join(original, "written-here"), "w").close()
        ORIGINAL_WRITABLE += 1
    except OSError:
        pass
'''


@pytest.mark.skipif(not AS_ROOT, reason="private scratch needs the uid and mount levels (root)")
def test_the_working_folder_and_home_are_capped_too(tmp_path):
    """A job's code runs in a copy of its box inside its private /tmp: files it creates where it works count
    against the same cap, and the grader's folder of returned values is out of its reach."""
    from grader.run.client import Job, SandboxPool
    from grader.read.units import Unit
    from grader.run.protocol import Item

    (tmp_path / "student.py").write_text(HOME_FILLER)
    (tmp_path / "data.txt").write_text("the student's own data file comes along")
    limits = Limits(timeout=10.0, scratch_files=500)
    names = ("CREATED", "WHERE", "SEES", "ORIGINALS", "ORIGINAL_WRITABLE")
    items = [Item(id=name, kind="value", name=name) for name in names]
    unit = Unit(kind="module", label="student.py", path="student.py")
    job = Job("k", [(tmp_path / "student.py", "student.py"), (tmp_path / "data.txt", "data.txt")], [unit], items)
    with SandboxPool(limits, jobs=1) as pool:
        result = next(pool.run([job]))
    assert result.level == "user+namespaces"
    values = {name: result.items[name].records[0].value for name in names}
    # Stopped by the cap (its share, and room for the box's own two files), not after 20,000.
    assert limits.scratch_files - 10 < int(values["CREATED"]) <= limits.scratch_files + 10
    assert values["WHERE"] == "/tmp/submission"
    assert "data.txt" in values["SEES"] and "out" not in values["SEES"]
    assert len(values["ORIGINALS"]) == 1 and int(values["ORIGINAL_WRITABLE"]) == 0  # its own, read-only
