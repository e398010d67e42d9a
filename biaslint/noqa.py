"""``# noqa`` and ``# noqa: BIA101,BIA301`` on the reported line, exactly as flake8 reads them.

flake8 is optional, so its rule is mirrored here rather than imported: the same pattern as
``flake8.defaults.NOQA_INLINE_REGEXP`` (``# noqa`` with one space, case-insensitive) and the
same comparison (codes as written; a listed prefix matches, ``BIA1`` silences ``BIA101``).
A test runs flake8 itself on the same lines to keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from biaslint.model import Finding

_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.I)
_SPLIT = re.compile(r"[,\s]")


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
    lines = source.splitlines()
    out = []
    for f in findings:
        text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        if "noqa" in text.lower() and suppressed(text, f.code):
            continue
        out.append(f)
    return out
