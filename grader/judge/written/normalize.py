"""Math as students type it, made into the LaTeX the grammar reads: unicode symbols, ASCII habits
(`dL/dW_H`, `yhat_t`, `sum_{t=1}^T`, `delta_t`), and several equations on one row split apart.

Pure text to text; nothing here decides what the math means.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta iota kappa lambda mu nu xi rho sigma tau "
    "phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega"
).split()
UNICODE = {
    "ŷ": "\\hat{y}",
    "Σ": "\\sum ",
    "∑": "\\sum ",
    "∏": "\\prod ",
    "Π": "\\prod ",
    "ᵀ": "^{T}",
    "⊤": "^{T}",
    **{digit: f"^{{{n}}}" for n, digit in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},  # `h²` as `h^{2}`
    "′": "'",
    "−": "-",
    "–": "-",
    "∘": "\\circ ",
    "⊙": "\\odot ",
    "≔": ":=",
    "⟶": "\\to ",
    "→": "\\to ",
    "←": "\\leftarrow ",
    "⟹": "\\Longrightarrow ",
    "⇒": "\\Rightarrow ",
    "≈": "\\approx ",
    "∈": "\\in ",
    "…": "\\dots ",
    "⋯": "\\dots ",
    "∂": "\\partial ",
    "δ": "\\delta ",
    "ε": "\\epsilon ",
    "γ": "\\gamma ",
    "σ": "\\sigma ",
    "θ": "\\theta ",
    "λ": "\\lambda ",
    "η": "\\eta ",
    "ρ": "\\rho ",
    "ξ": "\\xi ",
    "φ": "\\phi ",
    "ψ": "\\psi ",
    "ω": "\\omega ",
    "α": "\\alpha ",
    "β": "\\beta ",
    "Δ": "\\Delta ",
}
_SYMBOL = r"(?:\\[A-Za-z]+\s*)?[A-Za-z](?:[A-Za-z]*)?(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]+)|\s*\^\s*\{[^{}]*\})*"
_OPERAND = rf"(?:\((?:[^()]|\([^()]*\))*\)(?:_\{{[^{{}}]*\}})?|{_SYMBOL})"
_ASCII_DERIVATIVE = re.compile(
    rf"(?<![A-Za-z\\])([d∂]|\\partial\s*)\s*({_OPERAND})\s*/\s*(?:[d∂]|\\partial)\s*({_OPERAND})"
)
_BRACED = r"((?=[A-Za-z\\(])(?:[^{}]|\{[^{}]*\})*)"  # a symbol, one level of groups within (`a_{t+1}`, not `_k`)
_LATEX_D = re.compile(
    rf"\\frac\s*\{{\s*(?:\\mathrm\{{d\}}|d)\s*{_BRACED}\}}\s*\{{\s*(?:\\mathrm\{{d\}}|d)\s*{_BRACED}\}}"
)
_HAT_WORD = re.compile(r"(?<![A-Za-z\\])([A-Za-z])(?:(?:hat|_hat|-hat)(?=_|\b|\[|\()|\^(?=_))")
_BIG_WORD = re.compile(r"(?<![A-Za-z\\])(sum|prod)(?=\s*_|\s*\()")
_GREEK_WORD = re.compile(r"(?<![A-Za-z\\])(" + "|".join(GREEK) + r")(?![A-Za-z])")
_DROPPED = re.compile(
    r"\\(tag|label|eqref|ref|hspace|vspace)\*?\s*\{[^{}]*\}|\\(nonumber|notag|displaystyle|limits|qedhere)\b"
    r"|\\in\s*(\\[,;:! ]\s*)*\\mathbb\s*\{?R\}?(\^\s*\{[^{}]*\}|\^\s*\S)?|\\in\s*\\\{[^{}]*\\\}"
)
_ANGLE_STEP = re.compile(  # `a^{⟨t⟩}`, `a^{⟨t-1⟩ T}`
    r"\^\s*\{\s*(?:\\langle|⟨|<)\s*([^{}<>]*?)\s*(?:\\rangle|⟩|>)\s*(T|\\top|\\intercal)?\s*\}"
)
_TIME_AND_TRANSPOSE = re.compile(  # `h^{(t-1)\\top}`: the step and a transpose in one superscript
    r"([A-Za-z}])\s*\^\s*\{\s*\(([^(){}]*)\)\s*(?:\\top|\\intercal|\\mathsf\s*\{\s*T\s*\}|T)\s*\}"
)
_TIME_SUPERSCRIPT = re.compile(r"([A-Za-z}])\s*\^\s*\{\s*\(([^(){}]*)\)\s*\}(\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?")
_COPY = re.compile(
    r"(?<![\\A-Za-z])([WUV](?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z]))?)\s*\^\s*\{\s*\(\s*[a-z](?:\s*[-+]\s*\d+)?\s*\)\s*\}"
)
_SUPER_PAIR = re.compile(
    r"(?<![\\A-Za-z])([A-Z]\s*_\s*(?:\{[^{}]*\}|[A-Za-z]))\s*\^\s*\{\s*([a-z])\s*,?\s*([a-z])\s*\}"
)
_IVERSON = re.compile(r"(?:\\mathbb\s*\{?1\}?|\\mathbf\s*\{?1\}?)?\s*\[\s*([a-z]'?)\s*=\s*([^\[\]=]{1,20}?)\s*\]")
_GLUED = re.compile(r"(?<![\\A-Za-z])([A-Z])([a-z])(?=\s*_)")
_MATH_LETTER = re.compile("[\U0001d400-\U0001d7ff\u210e]")  # a word processor's italic `𝐿_𝑡`, `ℎ`: plain letters
_LABEL = re.compile(  # `\\text{model: } a_t = …`: a label, not math
    r"^\s*(?:\\begin\s*\{[A-Za-z]+\*?\}\s*)?&?\s*\\text\s*\{[^{}]*:\s*\}\s*"
)
_RUSHED_STEP = re.compile(r"(?<![\\A-Za-z(])([A-Za-z])_([a-z])([-+])(\d)(?![\d_{.^)])")  # not `(h_t-1)`
_PAREN_SUB = re.compile(r"_\(([^()]*)\)")  # `h_(t-1)`
_CONDITION_NOTE = re.compile(  # `δ_t = … (t < T)`: for which steps a formula holds, not part of it
    r"(?:\s|\\[ ,;:!]|\\q?quad)*\(\s*(?:\\text\s*\{\s*for\s*\}\s*)?[a-z]\s*"
    r"(?:<|>|≤|≥|\\(?:le|leq|ge|geq|lt|gt|ne|neq)(?![A-Za-z]))\s*[^()]{1,20}\)\s*[.,;]?\s*$"
)
MATHJAX_INLINE = re.compile(r"(?<!\\)\\[()]")  # `\\(`, `\\)`, not `\\\\(` (a line break, then a parenthesis)
_STYLE = re.compile(r"\\(mathbf|boldsymbol|bm|pmb|vec|mathit|mathsf|mathcal|bf)(?![A-Za-z])\s*")
_IMPLIES = re.compile(r"\\(Longleftrightarrow|Longrightarrow|Rightarrow|implies|iff|Leftrightarrow)(?![A-Za-z])")
_RANGE = re.compile(r"^\s*[a-z]\s*(=|\\in)\s*([-\w{}\\ ,]*(\\[lc]?dots|\.\.\.)[-\w{}\\ ,]*|[-\w{}\\ ]+)[.,]?\s*$")
_DOTTED_RANGE = re.compile(r"_\{\s*([a-z])\s*=\s*([^{}.]+?)\s*\.\.\.?\s*([^{}.]+?)\s*\}")
_TWO_STEPS = re.compile(  # `g_t^{(k)}`, `\\gamma_k^{(t)}`: a quantity with two steps
    r"((?<![\\A-Za-z])[A-Za-z]|\\(?:" + "|".join(GREEK) + r")(?![A-Za-z]))"
    r"\s*_\s*(\{[^{}]*\}|[A-Za-z0-9])\s*\^\s*\{\s*\(([^(){}]*)\)\s*\}"
)
_STEP_SUPER = re.compile(
    r"((?<![\\A-Za-z_^])[a-z]|\\(?:" + "|".join(GREEK) + r"))\s*\^\s*(?:\{\s*([tksT](?:\s*[-+]\s*\d+)?)\s*\}|([tksT]))"
    r"(?![A-Za-z])(?!\s*\^)(\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?"
)
_SUPER_NAME = re.compile(
    r"(?<![\\A-Za-z])([A-Z])\s*\^\s*(?:\{\s*\(?\s*([A-Za-z]{1,3})\s*\)?\s*\}|([A-SU-Za-z]))(?![A-Za-z])"
    r"(\s*_\s*(?:\{[^{}]*\}|[a-z]{1,2}))?"
)
_SUPER_ENTRY = re.compile(
    r"((?:\\hat\s*\{?\s*)?(?<![\\A-Za-z])[A-Za-z]\}?\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))\s*\^\s*"
    r"(?:\{\s*(?:\\[,;: ]\s*)?([a-z]'?(?:\s*_\s*(?:\{[^{}]*\}|[a-z]))?)\s*\}|([a-z]))(?![A-Za-z{])"
)
_GROUP_ENTRY = re.compile(r"\)\s*\^\s*(?:\{\s*(?:\\[,;: ]\s*)?([a-z])\s*\}|([a-z]))(?![A-Za-z{])")
_UPRIGHT_D = re.compile(r"\\(?:mathrm|text|operatorname)\s*\{\s*d\s*\}\s*(?=[A-Za-z\\])")
_NABLA = re.compile(rf"\\nabla\s*_\s*(\{{(?:[^{{}}]|\{{[^{{}}]*\}})*\}}|[A-Za-z])\s*({_SYMBOL})")
_PLACEHOLDER = re.compile(r",\s*(?:\\cdot|\\bullet|:|\*)\s*\}")
_BRACKET_STEP = re.compile(r"(?<![\\A-Za-z_^])([A-Za-z]{1,2})\[\s*([A-Za-z]|\d+)(\s*[-+]\s*\d+)?\s*\]")
_IMMEDIATE = re.compile(r"\\partial\s*\^\s*(\{\s*\+\s*\}|\+)")
_PAIR_ENTRY = re.compile(rf"(?<![A-Za-z\\])({_SYMBOL})\[\s*([a-z])\s*,\s*([a-z])\s*\]")
_PRIMED_INDEX = re.compile(r"(?<=[_\[{,])(\s*)([a-z])'(?=\s*[\]},=])")
_UNICODE_SUB = re.compile("[ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₀₁₂₃₄₅₆₇₈₉₊₋]+")
SUBSCRIPT_LETTERS = dict(zip("ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₀₁₂₃₄₅₆₇₈₉₊₋", "aehijklmnoprstuvx0123456789+-"))
_FUNCTION_ARGUMENTS = re.compile(r"^(\s*[A-Za-z]\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))\s*\([^()=]*\)\s*(?=&?\s*=)")
_LOSS_OF_STEP = re.compile(  # `\\ell(o_t, y_t)`: d2l's loss of step t, written as a function of that step's values
    r"(\\ell|\\mathcal\s*\{?\s*L\s*\}?|(?<![\\A-Za-z])[LJl])\s*\(((?:[^()]|\([^()]*\))*?_\s*\{?\s*t\s*\}?(?![-+\w])"
    r"(?:[^()]|\([^()]*\))*)\)"
)
_GLUED_SUB = re.compile(r"(?<![\\A-Za-z])([A-Z])_([A-Za-z])([a-z])(?=\s*_)")
_WORD_SUB = re.compile(r"(?<![\\A-Za-z])([A-Z])_([a-z]{2,3})(?![A-Za-z{])")
_PHANTOM = re.compile(r"\\[hv]?phantom\s*\{")
_BOXED = re.compile(r"\\(boxed|fbox)\s*\{")
_BRACE_NOTE = re.compile(r"\\(underbrace|overbrace|underset|overset)\s*\{")


_SHAPE_NOTE = re.compile(
    r"(\s*:\s*(\\boxed\s*\{)?|\s*\(|\s+)\s*\d+\s*(\\times|×|x|\\cdot|,)\s*\d+\s*(\})?\s*\)?\s*[.,;]?\s*$"
)


def _defined_after(row: str) -> str:
    """`diag(1 - h_j^2) =: D_j` names what comes before it: read as `D_j = diag(1 - h_j^2)`."""
    before, marker, after = row.partition("=:")
    if not marker or "=:" in after or not after.strip():
        return row
    return after.strip().rstrip(".,;") + " = " + before


@lru_cache(maxsize=8)
def steps_in_prose(text: str) -> str:
    """The steps written as superscripts (`h^{(t-1)}`, `a^{⟨t⟩}`, `h^{(t-1)\\top}`) or in parentheses (`h_(t+1)`) as
    subscripts, MathJax's `\\(…\\)` as `$…$` (its parentheses are no aside) and a word processor's italic letters
    as plain ones, in a whole text, for what reads the prose around the math: its lines stay where they were."""
    text = _MATH_LETTER.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    text = _PAREN_SUB.sub(lambda m: "_{" + m.group(1) + "}", MATHJAX_INLINE.sub("$", text))
    if "^" not in text:
        return text
    text = _ANGLE_STEP.sub(_angle_step, text)
    text = _TIME_AND_TRANSPOSE.sub(r"\1_{\2}^{\\top}", text)
    return _TIME_SUPERSCRIPT.sub(_time_superscript, text)


def normalize(row: str) -> str:
    """One row of math in the grammar's LaTeX."""
    stripped = _CONDITION_NOTE.sub("", _SHAPE_NOTE.sub("", row)) if "=" in row else row
    if not stripped.rstrip().endswith("="):  # `z_t = W_y h_t : \boxed{10 \times 1}`: a shape after an equation
        row = stripped
    row = _LABEL.sub("", _MATH_LETTER.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), row))
    row = _RUSHED_STEP.sub(r"\1_{\2\3\4}", row)  # `h_t-1`, typed in a hurry, is h_{t-1}
    row = _UNICODE_SUB.sub(lambda m: "_{" + "".join(SUBSCRIPT_LETTERS[c] for c in m.group(0)) + "}", row)  # `hₜ₋₁`
    row = _FUNCTION_ARGUMENTS.sub(lambda m: m.group(1) + " ", row)  # `E_t(y_t, \\hat y_t) = …`: the loss E_t
    row = _GLUED_SUB.sub(r"\1_\2 \3", row)  # `W_Hh_{t-1}`, `W_xx_t`: LaTeX reads one letter as the subscript
    row = _WORD_SUB.sub(lambda m: f"{m.group(1)}_{{{m.group(2)}}}", row)  # `W_hh h_{t-1}`
    for symbol, latex in UNICODE.items():
        if symbol in row:
            row = row.replace(symbol, latex)
    row = _DROPPED.sub(" ", row)
    row = _erased(row, _PHANTOM)  # `\\phantom{…}`: space the width of what it holds
    row = _IMMEDIATE.sub(lambda m: "\\partial ", row)  # `\partial^{+} h_k / \partial W`: the immediate derivative
    row = _fresh_indices(row)  # `\\sum_{c'} z_t[c']`
    row = _PAIR_ENTRY.sub(_pair_entry, row)  # `W_H[i,j]`
    row = _BRACKET_STEP.sub(_bracket_step, row)  # `h[t-1]`, `p[t][i]`: the step as a subscript
    row = _PAREN_SUB.sub(lambda m: "_{" + m.group(1) + "}", row)  # `h_(t-1)`
    row = _GLUED.sub(r"\1 \2", row)  # `Ux_t + Ws_{t-1}`: a matrix times a vector, written without a space
    row = _ANGLE_STEP.sub(_angle_step, row)  # the step in angle brackets (Ng's courses), as `^{(t)}`
    row = _COPY.sub(lambda m: m.group(1) + " ", row)  # `W^{(t)}`: the copy of W used at step t, W itself
    row = _TWO_STEPS.sub(lambda m: f"{m.group(1)}_{{{_ungrouped(m.group(2))},{m.group(3)}}}", row)  # `g_t^{(k)}`
    row = _STEP_SUPER.sub(_step_super, row)  # `h^t`, `\\varepsilon^{t+1}`, `z^t_{y_t}`: the step as a superscript
    row = _TIME_AND_TRANSPOSE.sub(r"\1_{\2}^{\\top}", row)
    row = _TIME_SUPERSCRIPT.sub(_time_superscript, row)  # `h^{(t)}`, `h^{(t)}_i`
    row = _LOSS_OF_STEP.sub(lambda m: m.group(1) + "_{t} ", row)  # `\\ell(o_t, y_t)`: the loss of step t
    row = _SUPER_PAIR.sub(lambda m: f"({m.group(1)})_{{{m.group(2)}{m.group(3)}}}", row)  # `W_{hh}^{ij}`
    row = _GLUED.sub(r"\1 \2", row)  # again, for what a superscript step became: `Ux^{(t)}` is `Ux_{t}`
    row = _STYLE.sub(" ", row)
    row = _SUPER_NAME.sub(_super_name, row)  # `W^H_{ij}`, `W^{(hh)}`: a weight named by its superscript
    row = _PLACEHOLDER.sub("}", row)  # `z_{t,\\cdot}`: all entries of z_t
    row = _SUPER_ENTRY.sub(_super_entry, row)  # `h_t^i`, `\hat y_t^{\,y_t}`: an entry as a superscript
    row = _GROUP_ENTRY.sub(lambda m: ")_{" + (m.group(1) or m.group(2)) + "}", row)  # `(W_x x_t)^i`
    row = _IVERSON.sub(lambda m: "\\iverson_{" + m.group(1) + "," + m.group(2) + "}", row)  # `[k = y_t]`
    row = _bracket_groups(row)
    row = _unwrap(row, _BOXED)
    row = _unwrap(row, _BRACE_NOTE, annotated=True)
    row = _UPRIGHT_D.sub("d", row)  # `\\mathrm{d}a_t`: the same name as `da_t`
    row = _NABLA.sub(lambda m: f"\\frac{{\\partial {m.group(2)}}}{{\\partial {_ungrouped(m.group(1))}}}", row)
    row = _LATEX_D.sub(lambda m: "\\frac{\\partial " + m.group(1) + "}{\\partial " + m.group(2) + "}", row)
    row = _ASCII_DERIVATIVE.sub(_derivative, row)
    row = _WORD_SUB.sub(lambda m: f"{m.group(1)}_{{{m.group(2)}}}", row)  # again: `dL/dW_hh` is ∂L/∂W_hh now
    row = _HAT_WORD.sub(lambda m: "\\hat{" + m.group(1) + "}", row)
    row = _BIG_WORD.sub(lambda m: "\\" + m.group(1), row)
    row = _DOTTED_RANGE.sub(lambda m: f"_{{{m.group(1)}={m.group(2)}}}^{{{m.group(3)}}}", row)  # `sum_{t=1..T}`
    row = _GREEK_WORD.sub(lambda m: "\\" + m.group(1) + " ", row)
    return row


_GROUP_OPEN = re.compile(r"(\\odot|\\cdot|\\circ|\\left|[*=+\-(])\s*\[|^\s*\[")


def _angle_step(match: re.Match[str]) -> str:
    """The step in angle brackets as `^{(t)}` (Ng's courses), a transpose after it kept: `^{(t-1)\\top}`."""
    return "^{(" + match.group(1) + ")" + ("\\top" if match.group(2) else "") + "}"


def _time_superscript(match: re.Match[str]) -> str:
    entry = match.group(3)
    entry = _ungrouped(entry.strip().lstrip("_").strip()) if entry else None
    return f"{match.group(1)}_{{{match.group(2)}{',' + entry if entry else ''}}}"


def _step_super(match: re.Match[str]) -> str:
    step = (match.group(2) or match.group(3)).replace(" ", "")
    entry = match.group(4)
    entry = _ungrouped(entry.strip().lstrip("_").strip()) if entry else None
    if step == "T" and (not entry or re.search(r"[tks+-]", entry)):
        return match.group(0)  # `h^T`, `h^T_{t-1}`: a transpose; `\\varepsilon^T_i`: entry i at the last step
    return f"{match.group(1)}_{{{step}{',' + entry if entry else ''}}}"


def _super_name(match: re.Match[str]) -> str:
    letter, name, entry = match.group(1), match.group(2) or match.group(3), match.group(4)
    if name in ("T", "top", "-1") or (name.islower() and len(name) == 1 and not entry):
        return match.group(0)  # a transpose, or a power
    named = f"{letter}_{{{name}}}"
    return f"({named}){entry.strip()}" if entry else named


def _super_entry(match: re.Match[str]) -> str:
    symbol, entry = match.group(1), match.group(2) or match.group(3)
    head, _, sub = symbol.rpartition("_")
    sub = sub.strip()
    sub = sub[1:-1] if sub.startswith("{") else sub
    return f"{head}_{{{sub},{entry}}}"


def _ungrouped(text: str) -> str:
    return text[1:-1] if text.startswith("{") else text


def _fresh_indices(row: str) -> str:
    """Each primed index letter (`c'`, a second index running over what c runs over) renamed to its own letter
    that the row does not use."""
    primed = list(dict.fromkeys(match.group(2) for match in _PRIMED_INDEX.finditer(row)))
    if not primed:
        return row
    unused = [letter for letter in "uvwqrsgpm" if not re.search(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z])", row)]
    names = dict(zip(primed, unused))
    return _PRIMED_INDEX.sub(lambda m: m.group(1) + names.get(m.group(2), m.group(2) + "'"), row)


def _pair_entry(match: re.Match[str]) -> str:
    symbol = match.group(1)
    command = re.match(r"\\partial\s*", symbol)
    lead, symbol = (command.group(0), symbol[command.end() :]) if command else ("", symbol)
    return f"{lead}({symbol})_{{{match.group(2)}{match.group(3)}}}"


def _bracket_step(match: re.Match[str]) -> str:
    step = match.group(2) + (match.group(3) or "").replace(" ", "")
    return f"{match.group(1)}_{{{step}}}"


def _bracket_groups(row: str) -> str:
    """`a ⊙ [b + c]`: square brackets after an operator group, as parentheses do (`ŷ_t[y_t]` stays an index)."""
    match = _GROUP_OPEN.search(row)
    while match:
        opening = match.end() - 1
        depth, index = 0, opening
        while index < len(row):
            depth += {"[": 1, "]": -1}.get(row[index], 0)
            if depth == 0:
                break
            index += 1
        if index >= len(row):
            return row
        row = row[:opening] + "(" + row[opening + 1 : index] + ")" + row[index + 1 :]
        match = _GROUP_OPEN.search(row, opening)
    return row


def _erased(row: str, command: re.Pattern[str]) -> str:
    """The command and its brace group gone, what they hold too."""
    match = command.search(row)
    while match:
        row = row[: match.start()] + " " + row[_closing(row, match.end()) :]
        match = command.search(row)
    return row


def _unwrap(row: str, command: re.Pattern[str], annotated: bool = False) -> str:
    """`\\boxed{a = b}` as `a = b`: the command and its braces dropped, what they hold kept; with
    `annotated`, the note after it goes too (`\\underbrace{W_H}_{7×7}` is `W_H`)."""
    match = command.search(row)
    while match:
        index = _closing(row, match.end())
        rest = row[index:]
        if annotated:
            note = re.match(r"\s*[_^]\s*\{", rest)
            rest = rest[_closing(rest, note.end()) :] if note else rest
        inner = row[match.end() : index - 1]
        row = row[: match.start()] + (" {" + inner + "} " if annotated else " " + inner + " ") + rest
        match = command.search(row)
    return row


def _closing(text: str, start: int) -> int:
    """The position after the brace that closes the one opened just before `start`."""
    depth, index = 1, start
    while index < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        index += 1
    return index


def _derivative(match: re.Match[str]) -> str:
    return "\\frac{\\partial " + match.group(2) + "}{\\partial " + match.group(3) + "}"


def split_statements(row: str) -> list[str]:
    """A row holding several statements (`a_t = …, \\quad h_t = …`, `…; …`, `&&` columns, `⟹`) as pieces;
    pieces that state nothing (`t = 1, \\dots, T`, `W_H \\in \\mathbb{R}^{7×7}`) are left out."""
    if "=" in row:  # `… = … \Longrightarrow … = …`: two statements; without `=`, an arrow of a chain
        row = _IMPLIES.sub(lambda _: " \\qquad ", row)
    row = _LINKING_WORD.sub(lambda _: " \\qquad ", row)  # `h_t = \\tanh(a_t) \\text{ where } a_t = …`
    pieces = [_defined_after(piece) for piece in _split_top_level(_branches(row))]
    return [piece for piece in pieces if _states_something(piece)]


_ARROW = r"(?:\\(?:long)?(?:right|left)arrow|\\to|\\gets|->|<-)"
_NODE = r"[^\s{}()]+(?:\{[^{}]*\})?"
_BRANCH_OPEN = re.compile(rf"({_NODE})\s*({_ARROW})\s*(?:\\left\s*|\\[bB]ig{{1,2}}l?\s*)?(\\\{{|\{{|\()")
_BRANCH_CLOSE = re.compile(r"\s*(?:\\right\s*|\\[bB]ig{1,2}r?\s*)?(?:\\\}|\}|\))\s*[.,]?\s*$")


def _branches(row: str) -> str:
    """`a_t \\to (W_H, h_{t-1})` or `a_t <- \\{W_H, h_{t-1}\\}`: a chain that branches at its end, written as
    one arrow per branch (`a_t \\to W_H \\qquad a_t \\to h_{t-1}`)."""
    close = _BRANCH_CLOSE.search(row)
    if close is None:
        return row
    opens = list(_BRANCH_OPEN.finditer(row, 0, close.start() + 1))
    if not opens:
        return row
    match = opens[-1]  # the group that the row ends with
    inner = row[match.end() : close.start()]
    branches = [branch.strip() for branch in _split_top_level_commas(inner)]
    if len(branches) < 2 or not all(branches) or inner.count("(") != inner.count(")"):
        return row
    node, arrow = match.group(1), match.group(2)
    extra = "".join(f" \\qquad {node} {arrow} {branch}" for branch in branches[1:])
    return row[: match.start()] + f"{node} {arrow} {branches[0]}" + extra


def _split_top_level_commas(text: str) -> list[str]:
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"{": 1, "(": 1, "}": -1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            pieces.append(text[start:index])
            start = index + 1
    return [*pieces, text[start:]]


_LINKING_WORD = re.compile(r"\\(?:text|mathrm|textrm|mbox)\s*\{\s*(?:where|with|and|for|so|hence|i\.e\.,?)\s*\}")
SEPARATORS = ("\\qquad", "\\quad", ";", ",", "&&", "\\text{and}", "\\text{ and }", "\\;\\;", "\\text{where}")


def _split_top_level(row: str) -> list[str]:
    pieces, depth, start, index = [], 0, 0, 0
    while index < len(row):
        char = row[index]
        if char in "{([":
            depth += 1
        elif char in "})]":
            depth = max(0, depth - 1)
        elif depth == 0:
            separator = next((s for s in SEPARATORS if row.startswith(s, index)), None)
            escaped = index > 0 and row[index - 1] == "\\"  # `\,` and `\;` are spaces
            if separator is not None and not escaped and not (separator == "," and _inside_dots(row, index)):
                pieces.append(row[start:index])
                start = index = index + len(separator)
                continue
        index += 1
    pieces.append(row[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _inside_dots(row: str, index: int) -> bool:
    """`h_1, \\dots, h_T`, `L_{t+1},…,L_T`: a list, not two statements."""
    around = row[max(0, index - 8) : index + 9]
    return "dots" in around or "..." in around


STATEMENT_MARKS: tuple[str, ...] = ("=", "\\to", "->", "\\rightarrow", "\\longrightarrow", "\\partial", "\\sum")
STATEMENT_MARKS += ("\\leftarrow", "\\longleftarrow", "\\gets", "<-")


def _states_something(piece: str) -> bool:
    if _RANGE.match(piece) or piece.lstrip("&").lstrip().startswith("="):
        return False
    return any(mark in piece for mark in STATEMENT_MARKS)
