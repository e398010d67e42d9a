r"""``# noqa`` and ``# noqa: BIA101,BIA301`` on the reported line, exactly as flake8 reads them.

flake8 is optional, so its rule is mirrored here rather than imported: the same pattern as
``flake8.defaults.NOQA_INLINE_REGEXP`` (``# noqa`` with one space, case-insensitive) and the
same comparison (codes as written; a listed prefix matches, ``BIA1`` silences ``BIA101``).
A test runs flake8 itself on the same lines to keep the two in step.

Physical lines are split as Python's tokenizer (which numbers the lines of the findings) and
flake8 split them: on ``\r\n``, ``\r`` and ``\n`` only. ``str.splitlines`` would also split on
form feed, vertical tab, ``\x1c``-``\x1e``, ``\x85``, ``\u2028`` and ``\u2029``, which are not
line ends in Python source, and so would read the ``# noqa`` of the wrong line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from biaslint.model import Finding

_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.I)
_SPLIT = re.compile(r"[,\s]")
#: the line ends of Python source (universal newlines), nothing else
_LINE_END = re.compile(r"\r\n|\r|\n")


def physical_lines(source: str) -> list[str]:
    """The physical lines of ``source``, without their ends, numbered as ``ast`` numbers them."""
    return _LINE_END.split(source)


def suppressed(line: str, code: str) -> bool:
    m = _NOQA.search(line)
    if m is None:
        return False
    codes_str = m.group("codes")
    if codes_str is None:
        return True  # no codes listed: everything on the line is silenced
    codes = {c.strip() for c in _SPLIT.split(codes_str) if c.strip()}
    return code in codes or code.startswith(tuple(codes))


def filter_noqa(findings: Iterable[Finding], source: str) -> list[Finding]:
    lines = physical_lines(source)
    out = []
    for f in findings:
        text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        if "noqa" in text.lower() and suppressed(text, f.code):
            continue
        out.append(f)
    return out
