"""The HTML report: escaped, nothing staff-only, a page and a link per student, figures a real browser shows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_cases import (
    REJECT_REASON, STAFF_MARKER, TRICKY_FEEDBACK, TRICKY_STUDENT, graded, graded_questions, question, rejected, run,
)

from exercises.bank import load_exercise
from grader.pipeline import GradingOptions, grade
from grader.report.html import (
    HISTOGRAM_COLOR, HISTOGRAM_FILE, INSTALL_HINT, PASS_COLOR, QUESTIONS_FILE, ReportDependencyError, page_names,
    write_html,
)

EXAMPLES = Path(__file__).parents[3] / "examples" / "submissions"
SCRIPT_STUDENT = "<script>alert(1)</script>"
GRADER_ERROR = "KeyError in judge GRADER-ERROR-c41"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class Page(HTMLParser):
    """What a test reads of a page: links, images, the text of each table's rows, the h1, all text."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.h1 = ""
        self.text: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._in_h1 = False
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a":
            self.links.append(attributes["href"])
        elif tag == "img":
            self.images.append(attributes["src"])
        elif tag == "table":
            self._table = attributes.get("id", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_h1:
            self.h1 += data


def body_rows(page: Page, table: str) -> list[list[str]]:
    return page.tables[table][1:]


def tricky_run():
    """Every status, a script for a name, the same name twice, a rejection, a grader error."""
    with_error = graded_questions() + [question("grad_E", 0.0, 2.0, "error", grader_error=GRADER_ERROR)]
    return run(graded(SCRIPT_STUDENT), graded(), rejected(), graded(TRICKY_STUDENT, with_error), graded("Ann"))


@pytest.fixture
def report(tmp_path):
    results = tricky_run()
    return results, tmp_path, write_html(results, tmp_path)


@pytest.fixture(scope="module")
def example_report(tmp_path_factory):
    """The bundled class, graded in the real sandbox, as an HTML report."""
    results = grade([EXAMPLES], load_exercise("rnn-bptt"), GradingOptions(jobs=2))
    folder = tmp_path_factory.mktemp("class-report")
    return results, folder, write_html(results, folder)


def test_files_written(report):
    results, folder, written = report
    assert written[:3] == [folder / "index.html", folder / HISTOGRAM_FILE, folder / QUESTIONS_FILE]
    assert len(written) == 3 + len(results.submissions)
    assert all(path.is_file() and path.stat().st_size for path in written)


def test_untrusted_text_is_escaped(report):
    _, folder, written = report
    pages = [p for p in written if p.suffix == ".html"]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert SCRIPT_STUDENT not in html and "<check>" not in html and "<broken>" not in html
        assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (folder / "index.html").read_text(encoding="utf-8")
    assert Page(folder / "students/script-alert-1-script.html").h1 == SCRIPT_STUDENT


def test_control_characters_are_replaced(report):
    _, _, written = report
    for page in (p for p in written if p.suffix == ".html"):
        assert not {"\x1b", "\x00"} & set(page.read_text(encoding="utf-8"))


def test_staff_log_never_appears_and_grader_error_only_for_instructors(report):
    _, folder, written = report
    assert all(STAFF_MARKER.encode() not in path.read_bytes() for path in written)
    assert GRADER_ERROR in (folder / "index.html").read_text(encoding="utf-8")
    assert not any(GRADER_ERROR in path.read_text(encoding="utf-8") for path in (folder / "students").iterdir())


def test_every_student_has_a_page_and_a_link(report):
    results, folder, _ = report
    links = [link for link in Page(folder / "index.html").links if link.startswith("students/")]
    pages = sorted(f"students/{path.name}" for path in (folder / "students").iterdir())
    assert sorted(set(links)) == pages and len(pages) == len(results.submissions)
    for sub, name in zip(results.submissions, page_names(results.submissions)):
        page = Page(folder / "students" / name)
        assert page.h1 == sub.student and "../index.html" in page.links


def test_page_names_are_safe_and_unique():
    names = ["Ann", "ann", "ANN", "../../etc/passwd", "", "∂×", ".hidden", "Zoë O'Neil"]
    subs = [graded(name, []) for name in names]
    names = page_names(subs)
    assert names == ["ann.html", "ann-2.html", "ann-3.html", "etc-passwd.html", "student.html", "student-2.html",
                     "hidden.html", "zoe-o-neil.html"]


def test_student_page_shows_questions_feedback_diagnosis_notes(report):
    _, folder, _ = report
    page = Page(folder / "students/o-brien-bo-2.html")  # the one with a grader error
    rows = {row[0]: row for row in body_rows(page, "questions")}
    assert list(rows) == [q.id for q in graded_questions()] + ["grad_E"]
    assert rows["grad_W_H"][1:] == ["0/6", "", "failed", "missing-tanh-derivative", TRICKY_FEEDBACK]
    assert rows["bptt.b_h"][-1] == "Your submission does not answer this question."  # default for no feedback
    assert "cell 4 raised NameError" in "".join(page.text)


def test_rejected_student_page_gives_the_reason(report):
    _, folder, _ = report
    assert REJECT_REASON in "".join(Page(folder / "students/hyperlink-x.html").text)


def test_class_page_tables(report):
    _, folder, _ = report
    page = Page(folder / "index.html")
    assert page.images == [HISTOGRAM_FILE, QUESTIONS_FILE]
    questions = {row[0]: row for row in body_rows(page, "question-table")}
    assert list(questions) == [q.id for q in graded_questions()] + ["grad_E"]
    assert questions["shapes.a_t"][1:4] == ["1", "100% (4/4)", "1 (100%)"]
    assert questions["forward"][3] == "1.5 (38%)" and questions["forward"][6] == "4"  # four timeouts
    assert body_rows(page, "diagnosis-table") == [["grad_W_H", "missing-tanh-derivative", "4"]]


def test_class_page_lists_rejections_and_limits(report):
    _, folder, _ = report
    rows = body_rows(Page(folder / "index.html"), "attention-table")
    assert rows[0][:2] == ['=HYPERLINK("x")', "rejected"] and rows[0][2] == REJECT_REASON
    assert [row[0] for row in rows[1:]] == [SCRIPT_STUDENT, TRICKY_STUDENT, TRICKY_STUDENT, "Ann"]
    assert "loss error" in " ".join(rows[1][1].split()) and "forward timeout" in " ".join(rows[1][1].split())
    assert "grader error: " + GRADER_ERROR in rows[3][2]


def test_empty_run_writes_only_the_class_page(tmp_path):
    assert write_html(run(), tmp_path) == [tmp_path / "index.html"]
    assert "No submission was graded." in "".join(Page(tmp_path / "index.html").text)


def test_missing_dependency_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 now raises ImportError
    with pytest.raises(ReportDependencyError, match=INSTALL_HINT.replace("[", r"\[").replace("]", r"\]")):
        write_html(run(graded()), tmp_path)


def test_bundled_class(example_report):
    results, folder, written = example_report
    assert len(results.submissions) == 6 and len(written) == 3 + 6
    page = Page(folder / "index.html")
    # the real write-up (student_answer_rnn_bptt.md) writes z_t = w_H h_t: its written Task 2 names the slip
    assert {row[-2] for row in body_rows(page, "diagnosis-table")} == {
        "missing-tanh-derivative",
        "transposed",
        "wrong-weight-matrix",
    }
    assert len(body_rows(page, "student-table")) == 6
    assert len(body_rows(page, "question-table")) == len(results.submissions[0].questions)
    # the slowest submissions whose code ran (the write-up alone ran none), slowest first
    slow = body_rows(page, "slowest-table")
    ran = [s for s in results.submissions if s.seconds is not None]
    assert len(slow) == min(5, len(ran)) and [float(row[-1]) for row in slow] == sorted(
        (float(f"{s.seconds:.2f}") for s in ran), reverse=True)[:5]


# --- In a real browser --------------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) img.dataset.natural = img.naturalWidth + "x" + img.naturalHeight;
  document.body.dataset.probed = "yes";
});
</script>"""


def chromium(tmp_path: Path, *args: str) -> str:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def rendered(tmp_path: Path, page: Path) -> Page:
    dom = tmp_path / "dom.html"
    dom.write_text(chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()), encoding="utf-8")
    return Page(dom)


@needs_chromium
def test_chromium_renders_the_class_page(example_report, tmp_path):
    _, folder, _ = example_report
    dom = rendered(tmp_path, folder / "index.html")
    assert dom.images == [HISTOGRAM_FILE, QUESTIONS_FILE]
    assert {row[-2] for row in body_rows(dom, "diagnosis-table")} == {  # the real write-up: z_t = w_H h_t
        "missing-tanh-derivative",
        "transposed",
        "wrong-weight-matrix",
    }


@needs_chromium
def test_chromium_loads_the_figures(example_report, tmp_path):
    """Images with their natural size, read by a script in a copy of the page (the page itself forbids scripts)."""
    _, folder, _ = example_report
    html = (folder / "index.html").read_text(encoding="utf-8")
    probe = folder / "probe.html"
    html = html.replace("default-src 'none'", "script-src 'unsafe-inline'")  # img-src 'self' is kept
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dump = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    probe.unlink()
    assert 'data-probed="yes"' in dump
    sizes = [chunk.split('"')[0] for chunk in dump.split('data-natural="')[1:]]
    assert len(sizes) == 2 and all(int(w) > 300 and int(h) > 200 for w, h in (s.split("x") for s in sizes))


@needs_chromium
def test_chromium_shows_a_student_page_with_script_name_as_text(report, tmp_path):
    _, folder, _ = report
    page = folder / "students/script-alert-1-script.html"
    dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    assert "<script" not in dom.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert '<table id="questions">' in dom and "missing-tanh-derivative" in dom


@needs_chromium
def test_chromium_screenshot_shows_the_figures(example_report, tmp_path):
    from PIL import Image

    _, folder, _ = example_report
    shot = tmp_path / "class.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", (folder / "index.html").as_uri())
    with Image.open(shot) as image:
        assert image.size == (1200, 1600)
        pixels = {colour: count for count, colour in image.convert("RGB").getcolors(maxcolors=1 << 22)}
    for figure_colour in (HISTOGRAM_COLOR, PASS_COLOR):  # bars of both figures, on screen
        assert pixels.get(tuple(int(figure_colour[i:i + 2], 16) for i in (1, 3, 5)), 0) > 2000


@needs_chromium
def test_chromium_shows_wrong_answers_no_known_mistake_explains(tmp_path):
    """Beside the diagnoses, per question, the wrong answers the catalogue of mistakes lacks."""
    unexplained = question("grad_W_H", 0.0, 6.0, "failed", feedback="Passed 0 of 3 cases.")
    results = run(graded("Ann"), graded("Bo", [unexplained]), graded("Cy", [unexplained]))
    write_html(results, tmp_path / "report")
    rows = body_rows(rendered(tmp_path, tmp_path / "report" / "index.html"), "diagnosis-table")
    assert ["grad_W_H", "missing-tanh-derivative", "1"] in rows
    assert ["wrong, no known mistake", "2"] in rows  # the second row of grad_W_H's, under its rowspan
