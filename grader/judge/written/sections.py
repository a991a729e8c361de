"""Which part of the derivation each line of a write-up belongs to, from the student's own headings
(`## Dependency chain`, `\\section{Gradient}`, `**Equations**`): a mistake is charged to the part it is in."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}\s+(?P<md>.+)|\\(?:sub)*section\*?\{(?P<tex>[^}]*)\}|\\paragraph\{(?P<par>[^}]*)\}"
    r"|\*\*(?P<bold>[^*]{3,60})\*\*[^*\n]{0,40}$|(?P<plain>[A-Za-z][A-Za-z0-9 .()/&-]{2,50}):\s*$)",
    re.MULTILINE,
)
PART_WORDS = {  # checked in this order: "chain rule" is the gradient's, "chain" alone the chain's
    "gradient": (
        "gradient",
        "chain rule",
        "derivative",
        "backprop",
        "bptt",
        "backward",
        "through time",
        "result",
        "∂l/∂",
        "dl/dw",
        "partial",
        "delta",
        "error term",
        "recursion",
    ),
    "chain": ("chain", "depend", "graph", "path"),
    "equations": ("equation", "model", "forward", "notation", "setup", "definition", "network"),
}


PLAIN_HEADING_WORDS = 4  # `Dependency chain:` heads a section; a longer sentence ending in a colon does not


@dataclass(frozen=True)
class Sections:
    starts: tuple[int, ...]  # line of each heading that names a part
    parts: tuple[str | None, ...]

    def part_at(self, line: int) -> str | None:
        """The part the nearest heading above `line` names, or None (no heading, or one naming no part)."""
        index = bisect.bisect_right(self.starts, line) - 1
        return self.parts[index] if index >= 0 else None

    def has(self, part: str) -> bool:
        return part in self.parts


def sections(text: str) -> Sections:
    starts, parts = [], []
    line, counted = 1, 0
    for match in HEADING.finditer(text):
        title = next(group for group in match.groups() if group is not None).lower()
        part = next((part for part, keywords in PART_WORDS.items() if any(w in title for w in keywords)), None)
        if match.group("plain") is not None and (part is None or len(title.split()) > PLAIN_HEADING_WORDS):
            continue  # `Thus the chain rule gives one term per state:` introduces math; it starts no section
        line, counted = line + text.count("\n", counted, match.start()), match.start()
        starts.append(line)
        parts.append(part)
    return Sections(tuple(starts), tuple(parts))
