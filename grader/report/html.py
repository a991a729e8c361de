"""The HTML report (`--format html -o DIR`): a class page with figures and one page per student.

`write_html` writes `index.html` (score histogram, per-question pass rate and mean score, the class's most
common mistakes and, per question, the wrong answers no known mistake explains, the submissions that were
rejected or hit a limit, links to every student) beside its figures, and `students/<name>.html` for each
submission: its questions, scores, statuses, feedback, diagnoses and notes. Student pages hold nothing a
student may not see (no `grader_error`, never `staff_log`), so they can be handed out; the class page
shows `grader_error` to instructors. Parts awaiting review (the grader could not verify them; 0 points
until a person reads them) are counted on the class page and listed under "Needs attention"; a student's
page names them above the questions. A reviewed part's feedback starts with the instructor's score and
comment. Student text is untrusted: templates autoescape, control characters are replaced, and a
Content-Security-Policy forbids scripts.

jinja2 and matplotlib are an optional extra (`pip install 'rnn-grader[report]'`), imported only
when a report is written; figures are drawn with the Agg canvas, never through pyplot.
Timing is not in the results model, so the report cannot list the slowest submissions.
"""

from __future__ import annotations

import heapq
import re
import statistics
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from grader.report import FormatError
from grader.report.common import DEFAULT_MESSAGE
from grader.results import (
    UNDIAGNOSED,
    GradingResults,
    SubmissionResult,
    awaiting_review,
    class_counts,
)

INSTALL_HINT = "pip install 'rnn-grader[report]'"
TEMPLATES = Path(__file__).parent / "templates"
HISTOGRAM_FILE = "score-histogram.png"
QUESTIONS_FILE = "questions.png"
HISTOGRAM_COLOR = "#3a6ea5"
PASS_COLOR = "#2a9d8f"
MEAN_COLOR = "#e9a23b"
TOP_DIAGNOSES = 5
LIMIT_STATUSES = ("timeout", "error")
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


class ReportDependencyError(FormatError):
    """The HTML report needs jinja2 and matplotlib, which are not installed."""


@dataclass
class QuestionStats:
    """One question across the graded submissions that list it."""

    id: str
    max_score: float = 0.0
    scores: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def pass_rate(self) -> float:
        return 100 * self.statuses.get("passed", 0) / self.count if self.count else 0.0

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def mean_percent(self) -> float:
        return 100 * self.mean / self.max_score if self.max_score else 0.0


def write_html(results: GradingResults, folder: Path) -> list[Path]:
    """Write the class page, its figures and one page per student under `folder`; the files written."""
    jinja2, figure = _dependencies()
    folder = Path(folder)
    (folder / "students").mkdir(parents=True, exist_ok=True)
    env = _environment(jinja2)
    pages = page_names(results.submissions)
    stats = question_stats(results)
    figures = _figures(figure, results, stats, folder)
    index = folder / "index.html"
    index.write_text(_class_page(env, results, pages, stats, figures), encoding="utf-8")
    written = [index, *figures]
    template = env.get_template("student.html.j2")
    for sub, page in zip(results.submissions, pages):
        path = folder / "students" / page
        page_text = template.render(
            results=results, sub=sub, default_message=DEFAULT_MESSAGE, awaiting_review=awaiting_review(sub)
        )
        path.write_text(page_text, encoding="utf-8")
        written.append(path)
    return written


def write(results: GradingResults, folder: Path) -> str:
    """`--format html -o FOLDER`: the pages, and the line saying where they are."""
    write_html(results, folder)
    return f"wrote {Path(folder) / 'index.html'} and a page per student"


def _class_page(env, results: GradingResults, pages: list[str], stats: list[QuestionStats], figures: list[Path]) -> str:
    return env.get_template("class.html.j2").render(
        results=results,
        pages=pages,
        stats=stats,
        summary=_summary(results),
        diagnoses=_top_diagnoses(results),
        figures={path.name for path in figures},
        histogram=HISTOGRAM_FILE,
        questions_figure=QUESTIONS_FILE,
        rejected=[(i, sub) for i, sub in enumerate(results.submissions) if sub.status == "rejected"],
        limits=_limits(results),
        to_review=_to_review(results),
        slowest=slowest(results),
        default_message=DEFAULT_MESSAGE,
    )


def _dependencies():
    """jinja2 and matplotlib's Figure (on the Agg canvas), or a ReportDependencyError saying what to install."""
    try:
        import jinja2
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ReportDependencyError(
            f"the HTML report needs jinja2 and matplotlib ({error.name or error} is missing): {INSTALL_HINT}"
        ) from error

    def figure(**kwargs):
        fig = Figure(**kwargs)
        FigureCanvasAgg(fig)
        return fig

    return jinja2, figure


def _environment(jinja2):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = number
    env.filters["percent"] = lambda value: f"{value:.0f}%"
    return env


def _finalize(value):
    """Every printed string with control characters (but newline and tab) and lone surrogates replaced."""
    if not isinstance(value, str):
        return value
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" else ch for ch in value)


def number(value: float) -> str:
    """A score without float dust or a needless `.0`: 17, 0.5, 2.33."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def page_names(submissions: list[SubmissionResult]) -> list[str]:
    """One file name per submission: lower-case ASCII letters, digits, `.`, `_`, `-`; unique even
    on case-insensitive file systems (`ann.html`, `ann-2.html`)."""
    names: list[str] = []
    for sub in submissions:
        ascii_name = unicodedata.normalize("NFKD", sub.student).encode("ascii", "ignore").decode()
        base = _UNSAFE.sub("-", ascii_name.lower()).strip(".-")[:60] or "student"
        name, n = base, 1
        while f"{name}.html" in names:
            n += 1
            name = f"{base}-{n}"
        names.append(f"{name}.html")
    return names


def question_stats(results: GradingResults) -> list[QuestionStats]:
    """Per question, in first-seen order: scores and status counts over the graded submissions."""
    stats: dict[str, QuestionStats] = {}
    for sub in results.submissions:
        for q in sub.questions:
            entry = stats.setdefault(q.id, QuestionStats(q.id))
            entry.max_score = max(entry.max_score, q.max_score)
            entry.scores.append(q.score)
            entry.statuses[q.status] = entry.statuses.get(q.status, 0) + 1
    return list(stats.values())


def _summary(results: GradingResults) -> dict:
    percents: list[float] = []
    submissions = full_marks = to_review = 0
    for sub in results.submissions:
        submissions += 1
        if sub.status == "graded":
            percents.append(_percent(sub))
            full_marks += bool(sub.max_score and sub.score >= sub.max_score - 1e-9)
            to_review += len(awaiting_review(sub))
    return {
        "submissions": submissions,
        "graded": len(percents),
        "rejected": submissions - len(percents),
        "mean": statistics.fmean(percents) if percents else None,
        "median": statistics.median(percents) if percents else None,
        "full_marks": full_marks,
        "awaiting_review": to_review,
    }


def _percent(sub: SubmissionResult) -> float:
    return 100 * sub.score / sub.max_score if sub.max_score else 0.0


def _top_diagnoses(results: GradingResults) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """Per question, its rows: (kind, label, count) of its most common diagnoses, of how many more were left
    out, and of the wrong answers no known mistake explains (kinds `diagnosis`, `more`, `undiagnosed`)."""
    counts, unexplained, _ = class_counts(results)
    order = dict.fromkeys(q.id for sub in results.submissions for q in sub.questions)
    table = []
    for qid in (qid for qid in order if qid in counts or qid in unexplained):
        found = list(counts.get(qid, {}).items())
        rows = [("diagnosis", diagnosis, count) for diagnosis, count in found[:TOP_DIAGNOSES]]
        rows += [("more", f"{len(found) - TOP_DIAGNOSES} more, each rarer", 0)] if len(found) > TOP_DIAGNOSES else []
        rows += [("undiagnosed", UNDIAGNOSED, unexplained[qid])] if qid in unexplained else []
        table.append((qid, rows))
    return table


def _to_review(results: GradingResults) -> list[tuple[int, SubmissionResult, list]]:
    """(index, submission, questions awaiting review) for each submission that has some."""
    return [
        (index, sub, [q for q in sub.questions if q.status == "review"])
        for index, sub in enumerate(results.submissions)
        if awaiting_review(sub)
    ]


def _limits(results: GradingResults) -> list[tuple[int, SubmissionResult, list]]:
    """(index, submission, questions that timed out or raised) for each submission that hit a limit."""
    hits = []
    for index, sub in enumerate(results.submissions):
        questions = [q for q in sub.questions if q.status in LIMIT_STATUSES]
        if questions:
            hits.append((index, sub, questions))
    return hits


def slowest(results: GradingResults, count: int = 5) -> list[tuple[int, SubmissionResult]]:
    """(index, submission) of the submissions whose code took longest to run, slowest first (the first in the
    run's order among equals); only `count` of them are kept while the run is read."""
    timed = ((index, sub) for index, sub in enumerate(results.submissions) if sub.seconds is not None)
    return heapq.nsmallest(count, timed, key=lambda pair: -(pair[1].seconds or 0.0))


def _figures(figure, results: GradingResults, stats: list[QuestionStats], folder: Path) -> list[Path]:
    """The class page's figures as PNG files in `folder`; none when there is nothing to plot."""
    written = []
    percents = [_percent(s) for s in results.submissions if s.status == "graded"]
    if percents:
        written.append(_histogram(figure, percents, folder / HISTOGRAM_FILE))
    if stats:
        written.append(_question_bars(figure, stats, folder / QUESTIONS_FILE))
    return written


def _histogram(figure, percents: list[float], path: Path) -> Path:
    from matplotlib.ticker import MaxNLocator

    fig = figure(figsize=(5.5, 3.4), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(percents, bins=list(range(0, 101, 10)), color=HISTOGRAM_COLOR, edgecolor="white")
    ax.set(xlim=(0, 100), xlabel="score (% of the maximum)", ylabel="submissions")
    ax.set_xticks(range(0, 101, 10))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _tidy(ax, "y")
    return _save(fig, path)


def _question_bars(figure, stats: list[QuestionStats], path: Path) -> Path:
    fig = figure(figsize=(5.5, 1.2 + 0.3 * len(stats)), layout="constrained")
    ax = fig.add_subplot()
    rows = range(len(stats))
    ax.barh(
        [r - 0.2 for r in rows],
        [s.pass_rate for s in stats],
        height=0.4,
        color=PASS_COLOR,
        label="passed (% of submissions)",
    )
    ax.barh(
        [r + 0.2 for r in rows],
        [s.mean_percent for s in stats],
        height=0.4,
        color=MEAN_COLOR,
        label="mean score (% of the maximum)",
    )
    ax.set_yticks(list(rows), [s.id.replace("$", r"\$") for s in stats])
    ax.set(xlim=(0, 100), ylim=(len(stats) - 0.5, -0.5), xlabel="%")
    # One entry a line: long question ids leave the axes narrow.
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=1, frameon=False)
    _tidy(ax, "x")
    return _save(fig, path)


def _tidy(ax, grid: str) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid, alpha=0.3)
    ax.set_axisbelow(True)


def _save(fig, path: Path) -> Path:
    fig.savefig(path, format="png", dpi=150, metadata={"Software": None})
    return path
